//! How a phase splits its batch across threads, and batch averages.
//!
//! A batch is cut into row pieces by a rule that depends on the number of rows alone
//! ([`row_pieces`]), never on the number of threads. Each piece draws from its own generator,
//! seeded from the caller's in piece order before any piece starts, and writes its own rows of
//! the outputs; the pieces' gradients and objective sums are then added in piece order
//! ([`sum_fits`]). So rayon may run the pieces on any threads in any order and the results are
//! still bit for bit the same, on one thread or many.

use ndarray::{Array2, ArrayViewMut2, Axis};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::kernels::FitSums;
use super::layer::LayerGradient;

/// `1/n`, or 0 for an empty batch.
pub(super) fn inverse_count(n: usize) -> f32 {
    if n == 0 { 0.0 } else { 1.0 / n as f32 }
}

pub(super) fn mean_of(sum: f64, n: usize) -> f32 {
    if n == 0 { 0.0 } else { (sum / n as f64) as f32 }
}

/// A phase splits its batch into pieces of at least this many rows...
const PIECE_MIN_ROWS: usize = 50;
/// ...and into at most this many pieces.
const MAX_PIECES: usize = 8;

/// The row ranges a batch of `n` is split into. They depend on `n` alone, never on the number
/// of threads, so results are the same on every machine.
pub(super) fn row_pieces(n: usize) -> Vec<std::ops::Range<usize>> {
    let k = (n / PIECE_MIN_ROWS).clamp(1, MAX_PIECES);
    (0..k).map(|i| (i * n / k)..((i + 1) * n / k)).collect()
}

/// Runs `f` on every piece of a batch of `n` rows, in parallel, each with its own generator
/// seeded from `rng` in piece order; returns the results in piece order.
pub(super) fn map_row_pieces<T, R, F>(n: usize, rng: &mut R, f: F) -> Vec<T>
where
    T: Send,
    R: Rng + ?Sized,
    F: Fn(std::ops::Range<usize>, &mut Xoshiro256PlusPlus) -> T + Sync,
{
    let unit = vec![(); row_pieces(n).len()];
    map_row_pieces_with(n, rng, unit, |rows, rng, ()| f(rows, rng))
}

/// [`map_row_pieces`] handing each piece its own item of `parts` (one per piece, in order),
/// typically its rows of an output array.
pub(super) fn map_row_pieces_with<P, T, R, F>(n: usize, rng: &mut R, parts: Vec<P>, f: F) -> Vec<T>
where
    P: Send,
    T: Send,
    R: Rng + ?Sized,
    F: Fn(std::ops::Range<usize>, &mut Xoshiro256PlusPlus, P) -> T + Sync,
{
    let pieces = row_pieces(n);
    assert_eq!(parts.len(), pieces.len(), "one part per piece");
    let seeds: Vec<u64> = pieces.iter().map(|_| rng.next_u64()).collect();
    pieces
        .into_par_iter()
        .zip(seeds)
        .zip(parts)
        .map(|((rows, seed), part)| f(rows, &mut Xoshiro256PlusPlus::seed_from_u64(seed), part))
        .collect()
}

/// `a`'s rows split as [`row_pieces`] splits a batch of `a.nrows()`, mutably and in order: each
/// piece fills its own rows of a shared output (stacking the pieces' rows afterwards would
/// copy them all on one thread).
pub(super) fn piece_rows_mut(a: &mut Array2<f32>) -> Vec<ArrayViewMut2<'_, f32>> {
    let mut rest = a.view_mut();
    let mut parts = Vec::new();
    let mut start = 0;
    for rows in row_pieces(rest.nrows()) {
        let (head, tail) = rest.split_at(Axis(0), rows.end - start);
        parts.push(head);
        (rest, start) = (tail, rows.end);
    }
    parts
}

/// The sum of the pieces' gradients and objective sums, added in piece order.
pub(super) fn sum_fits<'a>(mut pieces: impl Iterator<Item = &'a Fit>) -> Fit {
    let (first, first_sums) = pieces.next().expect("a batch has at least one piece");
    let (mut grad, mut sums) = (first.clone(), *first_sums);
    for (g, s) in pieces {
        grad.accumulate(g);
        sums.accumulate(s);
    }
    (grad, sums)
}

/// A layer's fit to one piece of a batch: its gradient and objective sums.
pub(super) type Fit = (LayerGradient, FitSums);

/// [`sum_fits`] of each side of the pieces' pairs of fits (a phase fits two layers per piece).
pub(super) fn sum_fit_pairs(pieces: &[(Fit, Fit)]) -> (Fit, Fit) {
    (sum_fits(pieces.iter().map(|p| &p.0)), sum_fits(pieces.iter().map(|p| &p.1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::HelmholtzMachine;
    use crate::model::test_util::{pm1, rng, small_sizes};
    use approx::assert_abs_diff_eq;

    #[test]
    fn row_pieces_cover_the_batch_in_order() {
        assert_eq!(row_pieces(0), vec![0..0]);
        assert_eq!(row_pieces(99), vec![0..99]);
        assert_eq!(row_pieces(100), vec![0..50, 50..100]);
        let big = row_pieces(8000);
        assert_eq!(big.len(), MAX_PIECES);
        assert!(big.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!((big[0].start, big[MAX_PIECES - 1].end), (0, 8000));
    }

    #[test]
    fn a_batch_split_into_pieces_has_the_whole_batch_gradient() {
        // 230 rows → 4 pieces processed in parallel; the gradient must be the batch mean of the
        // delta rule over the samples the pieces drew (recomputed here in one piece).
        let sizes = small_sizes();
        let mut r = rng(21);
        let m = HelmholtzMachine::new(sizes, 0.5, &mut r).unwrap();
        let v = pm1(230, sizes.visible(), &mut r);
        let (g, s) = m.wake_gradient(v.view(), &mut rng(22));
        assert_eq!((s.u1.nrows(), s.u2.nrows()), (230, 230));
        let (top, _) = m.generator.u2_to_u1.fit(s.u2.view(), s.u1.view(), sizes.hidden1);
        let (bottom, _) = m.generator.u1_to_v.fit(s.u1.view(), v.view(), sizes.pixels);
        // Sums of 230 O(1) terms in a different order: agree to a few f32 ulps of the total.
        for (a, b) in [(&g.u2_to_u1, &top), (&g.u1_to_v, &bottom)] {
            for (x, y) in a.dw.iter().zip(&b.dw).chain(a.db.iter().zip(&b.db)) {
                assert_abs_diff_eq!(x, y, epsilon = 1e-5);
            }
        }
        // Same seed, same pieces, same result: bit for bit.
        let (g2, _) = m.wake_gradient(v.view(), &mut rng(22));
        assert_eq!(g, g2);
    }
}
