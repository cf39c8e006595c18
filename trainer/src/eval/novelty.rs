//! Novelty of generated digits (the paper's Fig. 2d): how far each lies from the training set
//! and from the other generated digits, and how the generated classes spread.

use ndarray::{ArrayView1, ArrayView2, s};

/// Euclidean distance from each row of `queries` to its nearest row of `pool`, over the first
/// `width` columns.
pub fn nearest_distances(
    queries: ArrayView2<f32>,
    pool: ArrayView2<f32>,
    width: usize,
) -> Vec<f32> {
    nearest(queries, pool, width, false)
}

/// Euclidean distance from each row of `set` to its nearest other row of `set` (a row is not
/// its own neighbour; identical copies are, at distance 0). `NaN` for a set of one row.
pub fn nearest_other_distances(set: ArrayView2<f32>, width: usize) -> Vec<f32> {
    nearest(set, set, width, true)
}

fn nearest(
    queries: ArrayView2<f32>,
    pool: ArrayView2<f32>,
    width: usize,
    skip_self: bool,
) -> Vec<f32> {
    let q = queries.slice(s![.., ..width]);
    let p = pool.slice(s![.., ..width]);
    // The expanded form finds the candidate fast; its cancellation can misjudge near-equal
    // distances by rounding only, and the reported distance is recomputed exactly.
    let pool_norms: Vec<f32> = p.outer_iter().map(|r| r.dot(&r)).collect();
    let cross = q.dot(&p.t());
    cross
        .outer_iter()
        .enumerate()
        .map(|(i, row)| {
            let best = row
                .iter()
                .zip(&pool_norms)
                .map(|(&c, &n)| n - 2.0 * c)
                .enumerate()
                .filter(|&(j, _)| !(skip_self && j == i))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            best.map_or(f32::NAN, |(j, _)| distance(q.row(i), p.row(j)))
        })
        .collect()
}

fn distance(a: ArrayView1<f32>, b: ArrayView1<f32>) -> f32 {
    a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
}

/// How many of `labels` fall in each of `classes` classes (labels at or above `classes` are
/// not counted).
pub fn class_histogram(labels: &[u8], classes: usize) -> Vec<u64> {
    let mut counts = vec![0u64; classes];
    for &l in labels {
        if let Some(c) = counts.get_mut(l as usize) {
            *c += 1;
        }
    }
    counts
}

/// Shannon entropy in bits of the distribution `counts` describes: log2(classes) when every
/// class is equally frequent, 0 when one class takes everything (or nothing is counted).
pub fn entropy_bits(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total as f64;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn nearest_distance_is_the_distance_to_the_closest_pool_row() {
        let pool = array![[0.0, 0.0], [3.0, 4.0], [-1.0, 0.0]];
        let queries = array![[3.0, 0.0], [0.0, 0.0], [-1.0, 2.0]];
        let d = nearest_distances(queries.view(), pool.view(), 2);
        assert_eq!(d, vec![3.0, 0.0, 2.0]);
    }

    #[test]
    fn nearest_distance_uses_only_the_first_width_columns() {
        let pool = array![[0.0, 100.0]];
        let queries = array![[2.0, -100.0]];
        assert_eq!(nearest_distances(queries.view(), pool.view(), 1), vec![2.0]);
    }

    #[test]
    fn nearest_other_distance_excludes_the_row_itself() {
        let set = array![[0.0, 0.0], [0.0, 1.0], [5.0, 0.0]];
        assert_eq!(nearest_other_distances(set.view(), 2), vec![1.0, 1.0, 5.0]);
    }

    #[test]
    fn nearest_other_distance_of_a_duplicate_is_zero() {
        let set = array![[1.0, 2.0], [1.0, 2.0], [9.0, 9.0]];
        assert_eq!(nearest_other_distances(set.view(), 2)[..2], [0.0, 0.0]);
    }

    #[test]
    fn nearest_other_distance_of_a_single_row_is_nan() {
        let set = array![[1.0, 2.0]];
        assert!(nearest_other_distances(set.view(), 2)[0].is_nan());
    }

    #[test]
    fn histogram_counts_labels_per_class() {
        assert_eq!(class_histogram(&[0, 2, 2, 9, 12], 10), vec![1, 0, 2, 0, 0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn entropy_of_a_uniform_histogram_is_log2_of_the_classes() {
        assert!((entropy_bits(&[7; 10]) - 10f64.log2()).abs() < 1e-12);
        assert!((entropy_bits(&[3, 3, 3, 3]) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn entropy_of_a_one_class_histogram_is_zero() {
        assert_eq!(entropy_bits(&[0, 0, 40, 0]), 0.0);
        assert_eq!(entropy_bits(&[0; 10]), 0.0);
    }
}
