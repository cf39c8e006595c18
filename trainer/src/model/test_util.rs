//! Test helpers shared by the model's rooms.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::LayerSizes;

pub(super) type TestRng = Xoshiro256PlusPlus;

pub(super) fn rng(seed: u64) -> TestRng {
    TestRng::seed_from_u64(seed)
}

pub(super) fn small_sizes() -> LayerSizes {
    LayerSizes { pixels: 6, classes: 3, hidden1: 5, hidden2: 4 }
}

/// Random ±1 matrix.
pub(super) fn pm1(rows: usize, cols: usize, r: &mut TestRng) -> Array2<f32> {
    Array2::from_shape_simple_fn((rows, cols), || if r.random::<bool>() { 1.0 } else { -1.0 })
}
