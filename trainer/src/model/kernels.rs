//! The hot loops of the networks: matrix products (the `gemm` crate) split across threads, and
//! the elementwise passes (tanh, the delta rule with its objective sums, ±1 sampling).
//!
//! The elementwise loops are compiled for several instruction sets (`multiversion`) and the best
//! the CPU has is picked at run time: the default x86-64 target only has SSE2, which halves
//! their vector width, and no fused multiply-add, which their polynomials are made of.
//!
//! Every result is bit-for-bit independent of the thread count: the work is split by a rule that
//! depends only on the shapes, each output element is computed by the same sequence of IEEE
//! operations whichever thread computes it, and every sum has a fixed order. Across machines,
//! results agree bit for bit between CPUs with the same instruction set; a CPU without FMA
//! rounds `a·b + c` twice, and the matrix products' kernels and blocking depend on the CPU.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis, Zip};
use rand::Rng;

use multiversion::multiversion;
use multiversion::target::target_cfg_f;

use super::fastmath::{self, Fused, MulAdd, Unfused};

/// Below this many elements, elementwise work stays on the calling thread.
const PAR_MIN_ELEMS: usize = 1 << 13;
/// A product of activations is split in two (by rows of the output) while it has at least
/// twice this many multiply-adds. Every piece packs the whole right-hand matrix again, so
/// pieces must be large; the training phases get their parallelism from splitting the batch
/// instead, and this only serves the large mean-field passes (evaluation, classification).
const PAR_MIN_MACS: usize = 1 << 24;
/// Nor is a product split below this many output rows per piece (a few register tiles).
const PAR_MIN_ROWS: usize = 64;

/// `c ← α a b + β c` on the calling thread (`c` is not read when `β = 0`), any strides.
///
/// By the `gemm` crate rather than ndarray's `general_mat_mul` (matrixmultiply): its AVX-512
/// kernels double the throughput on CPUs that have them (2.1× on the trainer's shapes,
/// measured on a Xeon), and it falls back to AVX2/FMA or scalar kernels elsewhere. For given
/// shapes and CPU the order of every sum is fixed, so results are deterministic.
///
/// The workspace's one `unsafe` block: `gemm` takes raw pointers and strides.
#[allow(unsafe_code)]
pub(crate) fn mat_mul(
    alpha: f32,
    a: ArrayView2<f32>,
    b: ArrayView2<f32>,
    beta: f32,
    mut c: ArrayViewMut2<f32>,
) {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert!(k == k2 && c.dim() == (m, n), "mat_mul shapes {m}x{k} · {k2}x{n} → {:?}", c.dim());
    let ([a_rs, a_cs], [b_rs, b_cs]) = (strides(&a), strides(&b));
    let (c_rs, c_cs) = (c.strides()[0], c.strides()[1]);
    // SAFETY: the three pointers and their strides describe the views' elements exactly
    // (m × k, k × n and m × n); `c` is borrowed mutably, so it aliases neither `a` nor `b`;
    // no threads are started. `gemm` computes dst := α_g·dst + β_g·lhs·rhs, reading dst only
    // when told to, hence the swapped coefficients.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs,
            c_rs,
            beta != 0.0,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            beta,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Row and column strides of a view, in elements.
fn strides(x: &ArrayView2<f32>) -> [isize; 2] {
    [x.strides()[0], x.strides()[1]]
}

/// `c ← α a b + β c` ([`mat_mul`]), split by rows of `a` and `c` across rayon threads for large
/// products (whose right-hand side `b` is small next to `a`: it is packed once per piece).
pub(crate) fn gemm_split_rows(
    alpha: f32,
    a: ArrayView2<f32>,
    b: ArrayView2<f32>,
    beta: f32,
    c: ArrayViewMut2<f32>,
) {
    let work = a.nrows() * a.ncols() * b.ncols();
    if work < 2 * PAR_MIN_MACS || a.nrows() < 2 * PAR_MIN_ROWS {
        mat_mul(alpha, a, b, beta, c);
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

/// `a ← tanh(a + b)` over one row, `b` its biases.
#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512bw+avx512dq+avx2+fma",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
    "aarch64+neon",
))]
fn tanh_biased_row(a: &mut [f32], b: &[f32]) {
    let row = a.iter_mut().zip(b);
    if target_cfg_f!(any(target_feature = "fma", target_arch = "aarch64")) {
        row.for_each(|(x, &b)| *x = fastmath::tanh::<Fused>(*x + b));
    } else {
        row.for_each(|(x, &b)| *x = fastmath::tanh::<Unfused>(*x + b));
    }
}

/// `a ← tanh(a + b)` with the biases `b` added to every row: the layer's means from its
/// weighted inputs, adding the biases on the way instead of in a pass of their own.
pub(crate) fn tanh_biased_in_place(mut a: ArrayViewMut2<f32>, b: &[f32]) {
    assert_eq!(a.ncols(), b.len(), "one bias per column");
    let row = |mut r: ndarray::ArrayViewMut1<f32>| match r.as_slice_mut() {
        Some(r) => tanh_biased_row(r, b),
        // A strided row goes through the same kernel, so it gets the same values.
        None => {
            let mut copy = r.to_vec();
            tanh_biased_row(&mut copy, b);
            r.iter_mut().zip(copy).for_each(|(x, t)| *x = t);
        }
    };
    if a.len() >= PAR_MIN_ELEMS {
        Zip::from(a.rows_mut()).par_for_each(row);
    } else {
        a.rows_mut().into_iter().for_each(row);
    }
}

/// Per-element log-likelihood of target `y` under a ±1 unit with activation `a`:
/// `ℓ(y, a) = log σ(2a) − (1 − y) a`, equal to log((1 + y tanh a)/2) for y = ±1 and to the
/// soft-target cross-entropy for y ∈ [−1, 1]. Its derivative in `a` is `y − tanh a`.
#[inline]
pub fn log_lik(y: f32, a: f32) -> f32 {
    fastmath::tanh_and_log_lik::<Unfused>(y, a).1
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

/// Lanes of the delta kernel: one AVX-512 vector, two AVX2 ones.
const LANES: usize = 16;

/// One contiguous run of a row: `a ← y − tanh(a + b)`, returning the sums of ℓ(y, a + b) and of
/// the squared deltas.
/// Sixteen independent accumulators let the loop vectorise; their order of summation is fixed.
/// The last partial chunk goes through the same vector code padded to a full one (a scalar
/// tail costs as much as the rest of a 266-wide row), its padding lanes masked out of the sums.
#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512bw+avx512dq+avx2+fma",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
    "aarch64+neon",
))]
fn delta_segment(a: &mut [f32], y: &[f32], b: &[f32]) -> (f32, f32) {
    if target_cfg_f!(any(target_feature = "fma", target_arch = "aarch64")) {
        delta_run::<Fused>(a, y, b)
    } else {
        delta_run::<Unfused>(a, y, b)
    }
}

/// [`delta_segment`]'s body, inlined into each of its builds.
#[inline(always)]
fn delta_run<M: MulAdd>(a: &mut [f32], y: &[f32], b: &[f32]) -> (f32, f32) {
    debug_assert!(a.len() == y.len() && a.len() == b.len());
    let mut sums = ([0.0f32; LANES], [0.0f32; LANES]);
    let mut a_chunks = a.chunks_exact_mut(LANES);
    let mut y_chunks = y.chunks_exact(LANES);
    let mut b_chunks = b.chunks_exact(LANES);
    for ((ca, cy), cb) in (&mut a_chunks).zip(&mut y_chunks).zip(&mut b_chunks) {
        let ca: &mut [f32; LANES] = ca.try_into().expect("chunks are LANES long");
        let cy: &[f32; LANES] = cy.try_into().expect("chunks are LANES long");
        let cb: &[f32; LANES] = cb.try_into().expect("chunks are LANES long");
        delta_lanes::<M>(ca, cy, cb, &mut sums, LANES);
    }
    let a_rest = a_chunks.into_remainder();
    if !a_rest.is_empty() {
        let n = a_rest.len();
        let (mut pa, mut py, mut pb) = ([0.0f32; LANES], [0.0f32; LANES], [0.0f32; LANES]);
        pa[..n].copy_from_slice(a_rest);
        py[..n].copy_from_slice(y_chunks.remainder());
        pb[..n].copy_from_slice(b_chunks.remainder());
        delta_lanes::<M>(&mut pa, &py, &pb, &mut sums, n);
        a_rest.copy_from_slice(&pa[..n]);
    }
    (sums.0.iter().sum(), sums.1.iter().sum())
}

/// The delta of one chunk, adding the first `valid` lanes' ℓ and squared delta to `sums`.
#[inline(always)]
fn delta_lanes<M: MulAdd>(
    a: &mut [f32; LANES],
    y: &[f32; LANES],
    b: &[f32; LANES],
    (ll, se): &mut ([f32; LANES], [f32; LANES]),
    valid: usize,
) {
    for k in 0..LANES {
        let (t, l) = fastmath::tanh_and_log_lik::<M>(y[k], a[k] + b[k]);
        let d = y[k] - t;
        // A branch-free mask: 1 for real lanes, 0 for padding.
        let keep = if k < valid { 1.0 } else { 0.0 };
        ll[k] += keep * l;
        se[k] += keep * (d * d);
        a[k] = d;
    }
}

/// In place `a ← y − tanh(a + b)` (the delta, from weighted inputs `a` and biases `b` added to
/// every row), returning [`FitSums`] split at column `split`. Rows are processed in parallel;
/// the per-row sums are reduced in row order (deterministic).
pub(crate) fn delta_in_place(
    a: &mut Array2<f32>,
    y: ArrayView2<f32>,
    b: &[f32],
    split: usize,
) -> FitSums {
    assert_eq!(a.dim(), y.dim(), "targets must be [batch, n_out]");
    assert_eq!(a.ncols(), b.len(), "one bias per column");
    let split = split.min(a.ncols());
    let y = y.as_standard_layout();
    let (b0, b1) = b.split_at(split);
    let row = |mut a_row: ndarray::ArrayViewMut1<f32>, y_row: ndarray::ArrayView1<f32>| {
        let a_row = a_row.as_slice_mut().expect("activations are standard layout");
        let y_row = y_row.to_slice().expect("targets made standard layout");
        let (a0, a1) = a_row.split_at_mut(split);
        let (y0, y1) = y_row.split_at(split);
        let (ll0, se0) = delta_segment(a0, y0, b0);
        let (ll1, se1) = delta_segment(a1, y1, b1);
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
/// (1 + m)/2, else −1. The uniforms are 24-bit, two from each 64-bit draw (high bits first),
/// in row-major order.
pub fn sample_pm1_in_place<R: Rng + ?Sized>(mut means: ArrayViewMut2<f32>, rng: &mut R) {
    let mut uniforms = Uniforms24 { rng, pending: None };
    let mut buf = [0u32; 256];
    for mut row in means.rows_mut() {
        match row.as_slice_mut() {
            Some(row) => {
                // Draw a block of uniforms, then compare in a loop the compiler vectorises
                // (drawing and comparing in one loop serialises both on the generator).
                for chunk in row.chunks_mut(buf.len()) {
                    let bits = &mut buf[..chunk.len()];
                    uniforms.fill(bits);
                    for (m, &u) in chunk.iter_mut().zip(bits.iter()) {
                        *m = pm1_draw(*m, u);
                    }
                }
            }
            None => {
                for m in row.iter_mut() {
                    let mut u = [0u32];
                    uniforms.fill(&mut u);
                    *m = pm1_draw(*m, u[0]);
                }
            }
        }
    }
}

/// +1 if the 24-bit uniform `u` falls below (1 + m)/2, else −1.
#[inline(always)]
fn pm1_draw(m: f32, u: u32) -> f32 {
    const UNIT: f32 = 1.0 / (1u32 << 24) as f32;
    if (u as f32) * UNIT < 0.5 * (1.0 + m) { 1.0 } else { -1.0 }
}

/// 24-bit uniform integers, two from each 64-bit draw of `rng`, high bits first; a half left
/// over at the end of one `fill` starts the next.
struct Uniforms24<'a, R: ?Sized> {
    rng: &'a mut R,
    pending: Option<u32>,
}

impl<R: Rng + ?Sized> Uniforms24<'_, R> {
    fn fill(&mut self, out: &mut [u32]) {
        let mut out = out;
        if let (Some(first), Some(u)) = (out.first_mut(), self.pending) {
            *first = u;
            self.pending = None;
            out = &mut out[1..];
        }
        let mut pairs = out.chunks_exact_mut(2);
        for pair in &mut pairs {
            let bits = self.rng.next_u64();
            pair[0] = (bits >> 40) as u32;
            pair[1] = ((bits >> 8) & 0xFF_FFFF) as u32;
        }
        if let [last] = pairs.into_remainder() {
            let bits = self.rng.next_u64();
            *last = (bits >> 40) as u32;
            self.pending = Some(((bits >> 8) & 0xFF_FFFF) as u32);
        }
    }
}

/// ±1 samples `[batch, n]` with the given means (see [`sample_pm1_in_place`]).
pub fn sample_pm1<R: Rng + ?Sized>(means: ArrayView2<f32>, rng: &mut R) -> Array2<f32> {
    let mut out = means.to_owned();
    sample_pm1_in_place(out.view_mut(), rng);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::{Array2, s};
    use rand::{RngCore, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn rng(seed: u64) -> Xoshiro256PlusPlus {
        Xoshiro256PlusPlus::seed_from_u64(seed)
    }

    fn uniform(rows: usize, cols: usize, scale: f32, r: &mut Xoshiro256PlusPlus) -> Array2<f32> {
        Array2::from_shape_simple_fn((rows, cols), || scale * r.random_range(-1.0f32..1.0))
    }

    /// `c ← α a b + β c` in f64, naively.
    fn naive(
        alpha: f32,
        a: ArrayView2<f32>,
        b: ArrayView2<f32>,
        beta: f32,
        c: &Array2<f32>,
    ) -> Array2<f64> {
        Array2::from_shape_fn(c.dim(), |(i, j)| {
            let dot: f64 =
                (0..a.ncols()).map(|k| f64::from(a[[i, k]]) * f64::from(b[[k, j]])).sum();
            let old = if beta == 0.0 { 0.0 } else { f64::from(beta) * f64::from(c[[i, j]]) };
            f64::from(alpha) * dot + old
        })
    }

    #[test]
    fn mat_mul_agrees_with_a_naive_product_for_any_layout() {
        let mut r = rng(1);
        let a = uniform(37, 23, 1.0, &mut r);
        let b = uniform(23, 19, 1.0, &mut r);
        let at = a.t().to_owned(); // [23, 37]: at.t() is `a` with swapped strides
        let reversed = a.slice(s![..;-1, ..]).to_owned(); // reversed rows, viewed back below
        let cases: Vec<(ArrayView2<f32>, &str)> = vec![
            (a.view(), "row-major"),
            (at.t(), "transposed"),
            (reversed.slice(s![..;-1, ..]), "negative row stride"),
        ];
        for (lhs, layout) in cases {
            for (alpha, beta) in [(1.0f32, 0.0f32), (0.5, 1.0), (-2.0, 0.25)] {
                // β = 0 must not read `c`: NaN there would poison the result.
                let mut c = if beta == 0.0 {
                    Array2::from_elem((37, 19), f32::NAN)
                } else {
                    uniform(37, 19, 1.0, &mut r)
                };
                let expected = naive(alpha, lhs, b.view(), beta, &c);
                mat_mul(alpha, lhs, b.view(), beta, c.view_mut());
                for (got, want) in c.iter().zip(expected.iter()) {
                    // 23 products of O(1) terms in f32: error ≲ 23 · 2⁻²⁴ · |terms| ≈ 1e-5.
                    assert!((f64::from(*got) - want).abs() < 1e-4, "{layout}: {got} vs {want}");
                }
            }
        }
        // A column-major destination and empty dimensions.
        let mut c = Array2::<f32>::zeros((19, 37));
        mat_mul(1.0, b.t(), a.t(), 0.0, c.view_mut().reversed_axes().reversed_axes());
        let expected = naive(1.0, b.t(), a.t(), 0.0, &c);
        assert!(c.iter().zip(expected.iter()).all(|(g, w)| (f64::from(*g) - w).abs() < 1e-4));
        let mut empty_k = Array2::from_elem((3, 4), 7.0f32);
        mat_mul(
            1.0,
            Array2::zeros((3, 0)).view(),
            Array2::zeros((0, 4)).view(),
            0.5,
            empty_k.view_mut(),
        );
        assert!(empty_k.iter().all(|&x| x == 3.5), "k = 0 leaves β c");
        mat_mul(
            1.0,
            Array2::zeros((0, 5)).view(),
            Array2::zeros((5, 4)).view(),
            0.0,
            Array2::zeros((0, 4)).view_mut(),
        );
    }

    #[test]
    fn delta_kernel_pads_the_last_chunk_exactly_and_sums_each_side_of_the_split() {
        let mut r = rng(2);
        // Widths around the 16-lane chunks, split anywhere (also at 0 and at the end).
        for (cols, split) in [(1, 0), (15, 15), (16, 3), (17, 16), (33, 20), (120, 120), (266, 256)]
        {
            let a = uniform(5, cols, 4.0, &mut r);
            let y = Array2::from_shape_fn((5, cols), |(_, j)| match j < split {
                true => r.random_range(-1.0f32..1.0),
                false if r.random::<bool>() => 1.0,
                false => -1.0,
            });
            let bias = Array1::from_shape_simple_fn(cols, || r.random_range(-1.0f32..1.0));
            let mut delta = a.clone();
            let sums = delta_in_place(&mut delta, y.view(), bias.as_slice().unwrap(), split);
            // The same values at the start of rows a whole number of chunks wide, unsplit,
            // where every one of them falls in a full chunk: the padded tails must compute
            // exactly what full chunks do.
            let wide_cols = cols.div_ceil(LANES) * LANES;
            let widen = |x: &Array2<f32>| {
                let mut wide = Array2::zeros((5, wide_cols));
                wide.slice_mut(s![.., ..cols]).assign(x);
                wide
            };
            let mut full = widen(&a);
            let mut wide_bias = Array1::zeros(wide_cols);
            wide_bias.slice_mut(s![..cols]).assign(&bias);
            delta_in_place(&mut full, widen(&y).view(), wide_bias.as_slice().unwrap(), wide_cols);
            assert_eq!(delta, full.slice(s![.., ..cols]), "width {cols}");
            let (mut ll, mut se) = ([0.0f64; 2], [0.0f64; 2]);
            for ((i, j), &d) in delta.indexed_iter() {
                let activation = a[[i, j]] + bias[j];
                let l = f64::from(log_lik(y[[i, j]], activation));
                let t = f64::from(activation).tanh();
                // The kernel's delta is y − tanh a to a few ulp.
                assert!((f64::from(d) - (f64::from(y[[i, j]]) - t)).abs() < 1e-6, "{cols}");
                let side = usize::from(j >= split);
                ll[side] += l;
                se[side] += f64::from(d) * f64::from(d);
            }
            for side in 0..2 {
                // ≤ 266 · 5 terms of size ≤ 8 summed in f32 lanes: 1e-4 relative is ample.
                let near = |got: f64, want: f64| (got - want).abs() <= 1e-4 * (1.0 + want.abs());
                assert!(near(sums.log_lik[side], ll[side]), "{cols}: log-likelihood");
                assert!(near(sums.sq_err[side], se[side]), "{cols}: squared error");
            }
        }
    }

    /// The sampler written plainly: one uniform per entry in row-major order, two per draw,
    /// no draw beyond the last entry's.
    fn sample_one_by_one(mut means: ArrayViewMut2<f32>, rng: &mut Xoshiro256PlusPlus) {
        const UNIT: f32 = 1.0 / (1u32 << 24) as f32;
        let mut entries = means.iter_mut().peekable();
        while entries.peek().is_some() {
            let bits = rng.next_u64();
            for u in [(bits >> 40) as u32, ((bits >> 8) & 0xFF_FFFF) as u32] {
                let Some(m) = entries.next() else { return };
                *m = if (u as f32) * UNIT < 0.5 * (1.0 + *m) { 1.0 } else { -1.0 };
            }
        }
    }

    /// A view of a test array to sample in place.
    type ViewOf = fn(&mut Array2<f32>) -> ArrayViewMut2<'_, f32>;

    #[test]
    fn block_sampling_draws_the_same_stream_as_one_by_one() {
        let mut r = rng(3);
        let means = uniform(9, 301, 1.0, &mut r); // odd width: draws straddle rows; > 256 columns
        let transposed = means.t().to_owned();
        let views: [(&str, ViewOf); 4] = [
            ("whole", |m| m.view_mut()),
            ("column slice", |m| m.slice_mut(s![.., 5..])),
            ("strided columns", |m| m.slice_mut(s![.., ..;3])),
            ("transposed", |m| m.view_mut().reversed_axes()),
        ];
        for (name, view) in views {
            for source in [&means, &transposed] {
                let (mut ours, mut theirs) = (source.clone(), source.clone());
                let (mut r1, mut r2) = (rng(4), rng(4));
                sample_pm1_in_place(view(&mut ours), &mut r1);
                sample_one_by_one(view(&mut theirs), &mut r2);
                assert_eq!(ours, theirs, "{name}");
                assert_eq!(r1.next_u64(), r2.next_u64(), "{name}: generators left in step");
            }
        }
    }

    #[test]
    fn log_lik_is_log_of_bernoulli_probability_and_stable() {
        for &a in &[-3.0f32, -0.7, 0.0, 0.2, 2.5] {
            for &y in &[-1.0f32, 1.0] {
                let direct = ((1.0 + y * a.tanh()) / 2.0).ln();
                // Direct formula is accurate to f32 round-off for |a| ≤ 3 (probabilities ≥ 2.5e-3).
                assert_abs_diff_eq!(log_lik(y, a), direct, epsilon = 1e-5);
            }
        }
        // Saturated activations stay finite: log P(−1 | a = 50) = −100 (up to e^{−100}).
        assert_abs_diff_eq!(log_lik(-1.0, 50.0), -100.0, epsilon = 1e-4);
        assert_abs_diff_eq!(log_lik(1.0, 50.0), 0.0, epsilon = 1e-6);
    }

    #[test]
    fn sampling_is_unbiased_and_saturates() {
        let means = Array2::from_shape_fn((20_000, 3), |(_, j)| [-1.0, 0.4, 1.0][j]);
        let s = sample_pm1(means.view(), &mut rng(7));
        let avg = s.mean_axis(Axis(0)).unwrap();
        assert_eq!(avg[0], -1.0);
        assert_eq!(avg[2], 1.0);
        // Mean of 20,000 ±1 draws with mean 0.4: std (1 − 0.16)^½/√20000 ≈ 0.0065; 5σ ≈ 0.033.
        assert_abs_diff_eq!(avg[1], 0.4, epsilon = 0.033);
    }
}
