//! Generating digits from a model: prior samples (viewing draws, so a live run is not
//! affected) through the generator network.

use ndarray::{Array2, Axis, s};

use super::{HelmholtzMachine, argmax_rows};
use crate::prior::{Prior, PriorError};
use crate::seed;

/// Generated digits.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// Pixel means `[n, pixels]` in (−1, 1).
    pub pixels: Array2<f32>,
    /// Class-bit means `[n, classes]` in (−1, 1).
    pub class_means: Array2<f32>,
    /// The most probable class of each (argmax of the class-bit means).
    pub labels: Vec<u8>,
}

/// Digits generated in blocks of at most this many (bounds the generator passes' memory).
const BLOCK: usize = 10_000;

/// `n` digits: prior samples drawn in annealer calls of `reads_per_call` reads (each call has
/// its own control errors), `u1 ~ P(u1 | u2)`, then the visible means. Reproducible given
/// `seed` (see [`crate::seed::generate_prior`] and [`crate::seed::generate_network`]).
pub fn generate(
    machine: &HelmholtzMachine,
    prior: &mut dyn Prior,
    n: usize,
    reads_per_call: usize,
    seed: u64,
) -> Result<Generated, PriorError> {
    let mut rng = seed::generate_network(seed);
    let p = machine.sizes.pixels;
    let mut pixels = Array2::<f32>::zeros((0, p));
    let mut class_means = Array2::<f32>::zeros((0, machine.sizes.classes));
    let mut labels = Vec::with_capacity(n);
    let mut block = 0u64;
    while pixels.nrows() < n {
        let want = (n - pixels.nrows()).min(BLOCK);
        let units = prior.view(want, reads_per_call, seed::generate_prior(seed, block))?;
        block += 1;
        let visible = machine.generate(units.view(), &mut rng);
        labels.extend(argmax_rows(visible.slice(s![.., p..])));
        pixels.append(Axis(0), visible.slice(s![.., ..p])).expect("rows of one width");
        class_means.append(Axis(0), visible.slice(s![.., p..])).expect("rows of one width");
    }
    Ok(Generated { pixels, class_means, labels })
}
