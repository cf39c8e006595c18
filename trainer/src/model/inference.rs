//! Using a machine: reconstruction, generation, class scores and classification, inpainting.

use ndarray::{Array2, ArrayView2, Axis};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::machine::HelmholtzMachine;
use super::pieces::mean_of;

/// A reconstruction `v → u1 → u2 → u1' → v̂`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reconstruction {
    /// Visible means `[batch, visible]`: pixels, then class-bit means.
    pub visible: Array2<f32>,
    /// Mean squared pixel error against the input.
    pub pixel_mse: f32,
}

impl HelmholtzMachine {
    fn reconstruction(&self, v: ArrayView2<f32>, visible: Array2<f32>) -> Reconstruction {
        let p = self.sizes.pixels;
        let mut se = 0.0f64;
        for (a, b) in v.rows().into_iter().zip(visible.rows()) {
            let row: f32 = a.iter().zip(b.iter()).take(p).map(|(x, y)| (x - y) * (x - y)).sum();
            se += f64::from(row);
        }
        Reconstruction { pixel_mse: mean_of(se, v.nrows() * p), visible }
    }

    /// Mean-field reconstruction `v → m1 → m2 → m1' → v̂` (all units replaced by their means).
    pub fn reconstruct(&self, v: ArrayView2<f32>) -> Reconstruction {
        assert_eq!(v.ncols(), self.sizes.visible(), "reconstruct: visible width");
        let (_, m2) = self.recognition.mean_field(v);
        let visible = self.generator.generate_mean_field(m2.view());
        self.reconstruction(v, visible)
    }

    /// Stochastic reconstruction: `u1, u2 ~ Q(· | v)`, `u1' ~ P(u1 | u2)`, v̂ = means of P(v | u1').
    pub fn reconstruct_sampled<R: Rng + ?Sized>(
        &self,
        v: ArrayView2<f32>,
        rng: &mut R,
    ) -> Reconstruction {
        assert_eq!(v.ncols(), self.sizes.visible(), "reconstruct: visible width");
        let (_, u2) = self.recognition.sample(v, rng);
        let visible = self.generator.generate(u2.view(), rng);
        self.reconstruction(v, visible)
    }

    /// Generated visible means for prior samples `u2` `[batch, hidden2]`
    /// (see [`Generator::generate`](super::Generator::generate)): pixels, then class-bit means.
    pub fn generate<R: Rng + ?Sized>(&self, u2: ArrayView2<f32>, rng: &mut R) -> Array2<f32> {
        assert_eq!(u2.ncols(), self.sizes.hidden2, "generate: prior sample width");
        self.generator.generate(u2, rng)
    }

    /// Visible vectors for classification: the pixels, class bits 0 ("unknown").
    fn unlabelled(&self, pixels: ArrayView2<f32>) -> Array2<f32> {
        assert_eq!(pixels.ncols(), self.sizes.pixels, "classify: pixel width");
        let mut v = Array2::zeros((pixels.nrows(), self.sizes.visible()));
        v.view_mut().split_at(Axis(1), self.sizes.pixels).0.assign(&pixels);
        v
    }

    /// Class-bit means `[batch, classes]` for pixels `[batch, pixels]`: a mean-field recognition
    /// pass with the class bits set to 0, then down through the generator.
    pub fn class_scores(&self, pixels: ArrayView2<f32>) -> Array2<f32> {
        let v = self.unlabelled(pixels);
        let visible = self.reconstruct(v.view()).visible;
        visible.view().split_at(Axis(1), self.sizes.pixels).1.to_owned()
    }

    /// Class-bit means averaged over `n_samples` stochastic passes (Q samples, then P(u1 | u2));
    /// zeros if `n_samples` is 0.
    pub fn class_scores_sampled<R: Rng + ?Sized>(
        &self,
        pixels: ArrayView2<f32>,
        n_samples: usize,
        rng: &mut R,
    ) -> Array2<f32> {
        let v = self.unlabelled(pixels);
        let mut acc = Array2::zeros((pixels.nrows(), self.sizes.classes));
        for _ in 0..n_samples {
            let visible = self.reconstruct_sampled(v.view(), rng).visible;
            acc += &visible.view().split_at(Axis(1), self.sizes.pixels).1;
        }
        if n_samples > 0 {
            acc /= n_samples as f32;
        }
        acc
    }

    /// Predicted classes (argmax of [`class_scores`](Self::class_scores), ties to the lowest).
    ///
    /// # Panics
    /// If the machine has no class units.
    pub fn classify(&self, pixels: ArrayView2<f32>) -> Vec<u8> {
        argmax_rows(self.class_scores(pixels).view())
    }
}

/// Index of the largest entry of each row (first on ties).
///
/// # Panics
/// If rows are empty or longer than 256.
pub fn argmax_rows<T: PartialOrd + Copy>(scores: ArrayView2<T>) -> Vec<u8> {
    assert!(scores.ncols() > 0 && scores.ncols() <= 256, "argmax over 1..=256 columns");
    scores
        .rows()
        .into_iter()
        .map(|r| {
            let mut best = 0;
            for (j, &x) in r.iter().enumerate() {
                if x > r[best] {
                    best = j;
                }
            }
            best as u8
        })
        .collect()
}

/// A part of a square image to hide for [`HelmholtzMachine::inpaint`]: one half of the rows or
/// of the columns (see [`region_mask`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// Rows `0..side/2`.
    Top,
    /// Rows `side/2..side`.
    Bottom,
    /// Columns `0..side/2`.
    Left,
    /// Columns `side/2..side`.
    Right,
}

impl Region {
    /// The regions' names, as serde and the command line spell them.
    pub const NAMES: &'static [&'static str] = &["top", "bottom", "left", "right"];

    pub fn from_name(name: &str) -> Option<Self> {
        [Region::Top, Region::Bottom, Region::Left, Region::Right]
            .into_iter()
            .zip(Self::NAMES)
            .find_map(|(r, n)| (*n == name).then_some(r))
    }
}

/// Which pixels of a `side × side` image (row-major) `region` hides: `true` = hidden,
/// `side²` entries.
pub fn region_mask(region: Region, side: usize) -> Vec<bool> {
    (0..side * side)
        .map(|p| {
            let (y, x) = (p / side, p % side);
            match region {
                Region::Top => y < side / 2,
                Region::Bottom => y >= side / 2,
                Region::Left => x < side / 2,
                Region::Right => x >= side / 2,
            }
        })
        .collect()
}

/// What [`HelmholtzMachine::inpaint`] was shown and what it made of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Inpainting {
    /// The input images with every hidden pixel set to 0, `[batch, pixels]`.
    pub corrupted: Array2<f32>,
    /// The visible pixels as given and the hidden ones restored, `[batch, pixels]`.
    pub restored: Array2<f32>,
}

impl HelmholtzMachine {
    /// Inpainting: restores the `hidden` pixels of images `pixels` `[batch, pixels]`. They start
    /// at 0; each of `passes` mean-field reconstructions (class bits 0, as in
    /// [`class_scores`](Self::class_scores)) replaces them with its pixel means, while the
    /// visible pixels stay clamped to the input. With `passes` 0 nothing is restored.
    ///
    /// # Panics
    /// If `pixels` is not `[batch, pixels]` or `hidden` has not one entry per pixel.
    pub fn inpaint(&self, pixels: ArrayView2<f32>, hidden: &[bool], passes: usize) -> Inpainting {
        assert_eq!(pixels.ncols(), self.sizes.pixels, "inpaint: pixel width");
        assert_eq!(hidden.len(), self.sizes.pixels, "inpaint: one flag per pixel");
        let mut corrupted = pixels.to_owned();
        for mut row in corrupted.outer_iter_mut() {
            for (value, &h) in row.iter_mut().zip(hidden) {
                if h {
                    *value = 0.0;
                }
            }
        }
        let mut restored = corrupted.clone();
        for _ in 0..passes {
            let v = self.unlabelled(restored.view());
            let visible = self.reconstruct(v.view()).visible;
            for (mut row, new) in restored.outer_iter_mut().zip(visible.outer_iter()) {
                for ((value, &h), &n) in row.iter_mut().zip(hidden).zip(new.iter()) {
                    if h {
                        *value = n;
                    }
                }
            }
        }
        Inpainting { corrupted, restored }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LayerSizes;
    use crate::model::test_util::rng;
    use approx::assert_abs_diff_eq;
    use ndarray::{Array1, s};

    #[test]
    fn region_masks_hide_one_half() {
        let shown = |region| {
            let mask = region_mask(region, 4);
            let rows: Vec<String> = mask
                .chunks(4)
                .map(|row| row.iter().map(|&h| if h { '#' } else { '.' }).collect())
                .collect();
            rows.join("/")
        };
        assert_eq!(shown(Region::Top), "####/####/..../....");
        assert_eq!(shown(Region::Bottom), "..../..../####/####");
        assert_eq!(shown(Region::Left), "##../##../##../##..");
        assert_eq!(shown(Region::Right), "..##/..##/..##/..##");
        // An odd side: the middle row or column counts as bottom or right.
        assert_eq!(
            region_mask(Region::Bottom, 3),
            [false, false, false, true, true, true, true, true, true]
        );
        assert_eq!(region_mask(Region::Left, 3).iter().filter(|&&h| h).count(), 3);
        assert_eq!(serde_json::to_string(&Region::Left).unwrap(), "\"left\"");
        assert_eq!(serde_json::from_str::<Region>("\"bottom\"").unwrap(), Region::Bottom);
        assert_eq!(Region::from_name("top"), Some(Region::Top));
        assert_eq!(Region::from_name("Top"), None);
    }

    /// The mean-field reconstruction of `v` computed naively in f64 from the weights.
    fn mean_field_f64(m: &HelmholtzMachine, v: &Array2<f32>) -> Array2<f64> {
        let mean = |layer: &crate::model::Layer, x: &Array2<f64>| {
            let (w, b): (Array2<f64>, Array1<f64>) =
                (layer.w.mapv(f64::from), layer.b.mapv(f64::from));
            (x.dot(&w.t()) + &b).mapv(f64::tanh)
        };
        let m1 = mean(&m.recognition.v_to_u1, &v.mapv(f64::from));
        let m2 = mean(&m.recognition.u1_to_u2, &m1);
        let m1 = mean(&m.generator.u2_to_u1, &m2);
        mean(&m.generator.u1_to_v, &m1)
    }

    #[test]
    fn inpainting_restores_the_hidden_pixels_and_keeps_the_visible_ones() {
        let sizes = LayerSizes { pixels: 16, classes: 3, hidden1: 7, hidden2: 5 };
        let mut r = rng(31);
        let m = HelmholtzMachine::new(sizes, 0.5, &mut r).unwrap();
        let pixels = Array2::from_shape_simple_fn((6, 16), || r.random_range(-1.0f32..=1.0));
        let hidden = region_mask(Region::Bottom, 4);

        let one = m.inpaint(pixels.view(), &hidden, 1);
        let mut v = Array2::zeros((6, sizes.visible()));
        v.slice_mut(s![.., ..16]).assign(&one.corrupted);
        let expected = mean_field_f64(&m, &v);
        for ((i, j), &x) in pixels.indexed_iter() {
            if hidden[j] {
                assert_eq!(one.corrupted[[i, j]], 0.0);
                assert_ne!(one.restored[[i, j]], 0.0, "({i}, {j})");
                // Four f32 layers of ≤ 16 inputs each and the kernels' tanh (a few ulp) against
                // f64: agree to well within 1e-5.
                assert_abs_diff_eq!(
                    f64::from(one.restored[[i, j]]),
                    expected[[i, j]],
                    epsilon = 1e-5
                );
            } else {
                assert_eq!((one.corrupted[[i, j]], one.restored[[i, j]]), (x, x), "({i}, {j})");
            }
        }

        // Bit for bit what a plain loop over `reconstruct` computes (the CLI's former code).
        let passes = 4;
        let mut naive = pixels.clone();
        for mut row in naive.outer_iter_mut() {
            for (value, &h) in row.iter_mut().zip(&hidden) {
                if h {
                    *value = 0.0;
                }
            }
        }
        for _ in 0..passes {
            let mut v = Array2::zeros((6, sizes.visible()));
            v.slice_mut(s![.., ..16]).assign(&naive);
            let out = m.reconstruct(v.view()).visible;
            for ((i, j), value) in naive.indexed_iter_mut() {
                if hidden[j] {
                    *value = out[[i, j]];
                }
            }
        }
        let many = m.inpaint(pixels.view(), &hidden, passes);
        assert_eq!(many.corrupted, one.corrupted);
        assert_eq!(many.restored, naive);
        assert_ne!(many.restored, one.restored);
        assert_eq!(m.inpaint(pixels.view(), &hidden, 0).restored, one.corrupted);
    }
}
