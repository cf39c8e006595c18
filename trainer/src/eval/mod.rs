//! What a model is measured by: reconstruction error, accuracy through the model, confusion,
//! nearest training images, inpainting, novelty, a judge's view of generated digits and,
//! where the prior allows it, the test log-likelihood ([`likelihood`]) ([`evaluate`], the
//! report of `trainer eval`). Pure functions of a machine and data; nothing here draws from a
//! training stream.

mod frechet;
mod judge;
pub mod likelihood;
mod novelty;
mod probe;
mod report;

pub use frechet::{frechet_distance, mean_and_covariance, psd_sqrt, symmetric_eigen};
pub use judge::{Judge, JudgeOrigin, JudgeSettings, Verdict, cache_dir, cache_key, load_or_train};
pub use likelihood::{
    AisSettings, LikelihoodOptions, LikelihoodReport, LogPartition, NoDensity, PriorDensity,
};
pub use novelty::{class_histogram, entropy_bits, nearest_distances, nearest_other_distances};
pub use probe::{SoftmaxProbe, recognition_accuracy};
pub use report::{
    AccuracyReport, DEFAULT_AIS, DEFAULT_CLASS_SAMPLES, DEFAULT_INPAINT_PASSES, DEFAULT_LL_IMAGES,
    DEFAULT_LL_SAMPLES, DEFAULT_READS_PER_CALL, DEFAULT_SAMPLES, EvalOptions, EvalReport,
    InpaintingReport, JudgeReport, NoveltyReport, evaluate, hidden_mse,
};

use ndarray::{Array2, ArrayView2, Axis};

use crate::data::Dataset;
use crate::model::HelmholtzMachine;

/// Rows used for an evaluation on `n` images with subset size `size` (0 = all).
fn subset(n: usize, size: usize) -> Vec<usize> {
    let k = if size == 0 { n } else { size.min(n) };
    (0..k).collect()
}

/// Mean-field reconstruction pixel MSE over the first `size` images of `data` (0 = all).
pub fn reconstruction_error(machine: &HelmholtzMachine, data: &Dataset, size: usize) -> f32 {
    let visible = data.select(&subset(data.len(), size)).visible();
    machine.reconstruct(visible.view()).pixel_mse
}

/// Fraction of `data` whose class the model infers correctly (class bits hidden, one
/// mean-field pass).
pub fn accuracy(machine: &HelmholtzMachine, data: &Dataset) -> f64 {
    accuracy_of(&machine.classify(data.pixels()), data.labels())
}

/// Fraction of predictions equal to the labels.
pub fn accuracy_of(predicted: &[u8], labels: &[u8]) -> f64 {
    let correct = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    correct as f64 / labels.len().max(1) as f64
}

/// Confusion matrix `[true][predicted]`.
pub fn confusion_of(predicted: &[u8], labels: &[u8]) -> [[u32; 10]; 10] {
    let mut m = [[0u32; 10]; 10];
    for (&p, &l) in predicted.iter().zip(labels) {
        if (p as usize) < 10 && (l as usize) < 10 {
            m[l as usize][p as usize] += 1;
        }
    }
    m
}

/// Index of the nearest row of `pool` (Euclidean distance over the first `width` columns)
/// for each row of `queries`.
pub fn nearest_neighbours(
    queries: ArrayView2<f32>,
    pool: ArrayView2<f32>,
    width: usize,
) -> Vec<usize> {
    let q = queries.slice(ndarray::s![.., ..width]);
    let p = pool.slice(ndarray::s![.., ..width]);
    // |q − p|² = |q|² − 2 q·p + |p|²; |q|² is constant per query, so drop it.
    let pool_norms: Vec<f32> = p.outer_iter().map(|r| r.dot(&r)).collect();
    let cross: Array2<f32> = q.dot(&p.t());
    cross
        .outer_iter()
        .map(|row| {
            row.iter()
                .zip(&pool_norms)
                .map(|(&c, &n)| n - 2.0 * c)
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i)
                .unwrap_or(0)
        })
        .collect()
}

/// Mean over rows of the squared difference of the first `width` columns.
pub fn mean_squared_error(a: ArrayView2<f32>, b: ArrayView2<f32>, width: usize) -> f32 {
    let d = &a.slice(ndarray::s![.., ..width]) - &b.slice(ndarray::s![.., ..width]);
    d.mapv(|x| x * x).sum_axis(Axis(1)).mean().unwrap_or(0.0) / width as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn nearest_neighbour_is_the_closest_row() {
        let pool = array![[0.0, 0.0], [1.0, 1.0], [-1.0, 1.0]];
        let queries = array![[0.9, 0.8], [-0.7, 0.9], [0.1, -0.1]];
        assert_eq!(nearest_neighbours(queries.view(), pool.view(), 2), vec![1, 2, 0]);
    }

    #[test]
    fn confusion_counts_true_rows_and_predicted_columns() {
        let m = confusion_of(&[1, 1, 2], &[1, 2, 2]);
        assert_eq!((m[1][1], m[2][1], m[2][2], m[1][2]), (1, 1, 1, 0));
        assert_eq!(accuracy_of(&[1, 1, 2], &[1, 2, 2]), 2.0 / 3.0);
    }
}
