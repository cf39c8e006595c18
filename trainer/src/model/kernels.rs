//! The hot loops of the networks: matrix products split across threads, and the elementwise
//! passes (tanh, the delta rule with its objective sums, ±1 sampling).
//!
//! The elementwise loops are compiled for several instruction sets (`multiversion`) and the best
//! the CPU has is picked at run time: the default x86-64 target only has SSE2, which halves
//! their vector width.
//!
//! Every result is bit-for-bit independent of the thread count and of the CPU's vector width:
//! the work is split by a rule that depends only on the shapes, each output element is computed
//! by the same sequence of IEEE operations whichever thread or instruction set computes it
//! (Rust never contracts `a * b + c` into an FMA on its own), and every sum has a fixed order.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis, Zip};
use rand::Rng;

use multiversion::multiversion;

use super::fastmath;

/// Below this many elements, elementwise work stays on the calling thread.
const PAR_MIN_ELEMS: usize = 1 << 13;
/// A product of activations is split in two (by rows of the output) while it has at least
/// twice this many multiply-adds. Every piece packs the whole right-hand matrix again, so
/// pieces must be large; the training phases get their parallelism from splitting the batch
/// instead, and this only serves the large mean-field passes (evaluation, classification).
const PAR_MIN_MACS: usize = 1 << 24;
/// Nor is a product split below this many output rows per piece (a few register tiles).
const PAR_MIN_ROWS: usize = 64;

/// `c ← α a b + β c`, split by rows of `a` and `c` across rayon threads for large products
/// (whose right-hand side `b` is small next to `a`: it is packed once per piece).
pub(crate) fn gemm_split_rows(
    alpha: f32,
    a: ArrayView2<f32>,
    b: ArrayView2<f32>,
    beta: f32,
    mut c: ArrayViewMut2<f32>,
) {
    let work = a.nrows() * a.ncols() * b.ncols();
    if work < 2 * PAR_MIN_MACS || a.nrows() < 2 * PAR_MIN_ROWS {
        general_mat_mul(alpha, &a, &b, beta, &mut c);
        return;
    }
    let mid = a.nrows() / 2;
    let (a0, a1) = a.split_at(Axis(0), mid);
    let (c0, c1) = c.split_at(Axis(0), mid);
    rayon::join(
        || gemm_split_rows(alpha, a0, b, beta, c0),
        || gemm_split_rows(alpha, a1, b, beta, c1),
    );
}

/// `a ← tanh(a)` over a slice.
#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512bw+avx512dq+avx2+fma",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
    "aarch64+neon",
))]
fn tanh_slice(a: &mut [f32]) {
    for x in a.iter_mut() {
        *x = fastmath::tanh(*x);
    }
}

/// `a ← tanh(a)` elementwise.
pub(crate) fn tanh_in_place(a: &mut Array2<f32>) {
    let Some(slice) = a.as_slice_memory_order_mut() else {
        a.mapv_inplace(fastmath::tanh);
        return;
    };
    if slice.len() >= PAR_MIN_ELEMS {
        use rayon::prelude::*;
        slice.par_chunks_mut(PAR_MIN_ELEMS / 2).for_each(tanh_slice);
    } else {
        tanh_slice(slice);
    }
}

/// Per-element log-likelihood of target `y` under a ±1 unit with activation `a`:
/// `ℓ(y, a) = log σ(2a) − (1 − y) a`, equal to log((1 + y tanh a)/2) for y = ±1 and to the
/// soft-target cross-entropy for y ∈ [−1, 1]. Its derivative in `a` is `y − tanh a`.
#[inline]
pub fn log_lik(y: f32, a: f32) -> f32 {
    fastmath::tanh_and_log_lik(y, a).1
}

/// Sums of the delta-rule objective and squared error over a batch, for the output columns
/// before and after a split point (pixels | class bits); each sum is over rows and columns.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct FitSums {
    pub log_lik: [f64; 2],
    pub sq_err: [f64; 2],
}

impl FitSums {
    /// `self += other`.
    pub fn accumulate(&mut self, other: &FitSums) {
        for k in 0..2 {
            self.log_lik[k] += other.log_lik[k];
            self.sq_err[k] += other.sq_err[k];
        }
    }
}

/// One contiguous run of a row: `a ← y − tanh(a)`, returning `(Σ ℓ(y, a), Σ (y − tanh a)²)`.
/// Eight independent accumulators let the loop vectorise; their order of summation is fixed.
#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512bw+avx512dq+avx2+fma",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
    "aarch64+neon",
))]
fn delta_segment(a: &mut [f32], y: &[f32]) -> (f32, f32) {
    const LANES: usize = 8;
    debug_assert_eq!(a.len(), y.len());
    let (mut ll, mut se) = ([0.0f32; LANES], [0.0f32; LANES]);
    let mut a_chunks = a.chunks_exact_mut(LANES);
    let mut y_chunks = y.chunks_exact(LANES);
    for (ca, cy) in (&mut a_chunks).zip(&mut y_chunks) {
        for k in 0..LANES {
            let (t, l) = fastmath::tanh_and_log_lik(cy[k], ca[k]);
            let d = cy[k] - t;
            ll[k] += l;
            se[k] += d * d;
            ca[k] = d;
        }
    }
    for (a, &y) in a_chunks.into_remainder().iter_mut().zip(y_chunks.remainder()) {
        let (t, l) = fastmath::tanh_and_log_lik(y, *a);
        let d = y - t;
        ll[0] += l;
        se[0] += d * d;
        *a = d;
    }
    (ll.iter().sum(), se.iter().sum())
}

/// In place `a ← y − tanh(a)` (the delta), returning [`FitSums`] split at column `split`.
/// Rows are processed in parallel; the per-row sums are reduced in row order (deterministic).
pub(crate) fn delta_in_place(a: &mut Array2<f32>, y: ArrayView2<f32>, split: usize) -> FitSums {
    assert_eq!(a.dim(), y.dim(), "targets must be [batch, n_out]");
    let split = split.min(a.ncols());
    let y = y.as_standard_layout();
    let row = |mut a_row: ndarray::ArrayViewMut1<f32>, y_row: ndarray::ArrayView1<f32>| {
        let a_row = a_row.as_slice_mut().expect("activations are standard layout");
        let y_row = y_row.to_slice().expect("targets made standard layout");
        let (a0, a1) = a_row.split_at_mut(split);
        let (y0, y1) = y_row.split_at(split);
        let (ll0, se0) = delta_segment(a0, y0);
        let (ll1, se1) = delta_segment(a1, y1);
        [ll0, ll1, se0, se1]
    };
    let per_row: Array1<[f32; 4]> = if a.len() >= PAR_MIN_ELEMS {
        Zip::from(a.rows_mut()).and(y.rows()).par_map_collect(row)
    } else {
        Zip::from(a.rows_mut()).and(y.rows()).map_collect(row)
    };
    let mut sums = FitSums::default();
    for r in per_row.iter() {
        for k in 0..2 {
            sums.log_lik[k] += f64::from(r[k]);
            sums.sq_err[k] += f64::from(r[2 + k]);
        }
    }
    sums
}

/// Samples ±1 units with the given means in place: each entry `m` becomes +1 with probability
/// (1 + m)/2, else −1. The uniforms are 24-bit, two from each 64-bit draw, in row-major order.
pub fn sample_pm1_in_place<R: Rng + ?Sized>(mut means: ArrayViewMut2<f32>, rng: &mut R) {
    const UNIT: f32 = 1.0 / (1u32 << 24) as f32;
    let mut entries = means.iter_mut();
    loop {
        let bits = rng.next_u64();
        for u in [(bits >> 40) as u32, ((bits >> 8) & 0xFF_FFFF) as u32] {
            let Some(m) = entries.next() else { return };
            *m = if (u as f32) * UNIT < 0.5 * (1.0 + *m) { 1.0 } else { -1.0 };
        }
    }
}

/// ±1 samples `[batch, n]` with the given means (see [`sample_pm1_in_place`]).
pub fn sample_pm1<R: Rng + ?Sized>(means: ArrayView2<f32>, rng: &mut R) -> Array2<f32> {
    let mut out = means.to_owned();
    sample_pm1_in_place(out.view_mut(), rng);
    out
}
