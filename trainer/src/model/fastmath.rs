//! Fast, branch-free (hence auto-vectorised) single-precision elementary functions for the hot
//! elementwise loops; `f32::tanh` from libm is 10× slower and does not vectorise. The polynomial
//! coefficients are the classic Cephes single-precision minimax ones (S. L. Moshier); accuracy is
//! checked against f64 in the tests (a few ulp).

// Coefficients are written as published; some carry digits beyond f32 precision.
#![allow(clippy::excessive_precision)]

/// How the functions evaluate `a·b + c`. [`Fused`] rounds once and is one instruction on CPUs
/// with fused multiply-add (the multiversioned kernels pick it for their FMA builds);
/// [`Unfused`] multiplies then adds, for builds without it, where `f32::mul_add` would be a
/// slow library call. The two differ in the last bit or so; each is deterministic.
pub trait MulAdd {
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

/// `a·b + c` with one rounding.
pub enum Fused {}

/// `a·b + c` as a product, rounded, then a sum.
pub enum Unfused {}

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

impl MulAdd for Unfused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split for Cody–Waite range reduction: `LN2_HI` has few significant bits, so
/// `n · LN2_HI` is exact for |n| ≤ 2⁸.
const LN2_HI: f32 = 0.693_359_375;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 · 2²³: adding and subtracting it rounds to the nearest integer (|x| < 2²²).
const ROUNDER: f32 = 12_582_912.0;

/// `e^x` for x ∈ [−87, 88] (clamped outside), relative error ≲ 2 ulp.
#[inline(always)]
pub fn exp<M: MulAdd>(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let t = M::mul_add(x, LOG2E, ROUNDER);
    let n = t - ROUNDER;
    let k = t.to_bits() as i32 - ROUNDER.to_bits() as i32; // the integer n, in [−126, 127]
    let r = M::mul_add(-n, LN2_LO, M::mul_add(-n, LN2_HI, x)); // |r| ≤ ln2/2
    let p = 1.987_569_1e-4_f32;
    let p = M::mul_add(p, r, 1.398_199_9e-3);
    let p = M::mul_add(p, r, 8.333_452e-3);
    let p = M::mul_add(p, r, 4.166_579_6e-2);
    let p = M::mul_add(p, r, 1.666_666_5e-1);
    let p = M::mul_add(p, r, 5.000_000_1e-1);
    let er = M::mul_add(p * r, r, r) + 1.0;
    er * f32::from_bits(((k + 127) << 23) as u32)
}

/// `tanh |x|` given `ax = |x|` and `e = e^{−2|x|}`: an odd minimax polynomial below 0.625
/// (where `(1 − e)/(1 + e)` would cancel), `(1 − e)/(1 + e)` above.
#[inline(always)]
fn tanh_abs<M: MulAdd>(ax: f32, e: f32) -> f32 {
    let big = (1.0 - e) / (1.0 + e);
    if ax < 0.625 { tanh_small::<M>(ax) } else { big }
}

/// `tanh x` for 0 ≤ x < 0.625: an odd minimax polynomial.
#[inline(always)]
fn tanh_small<M: MulAdd>(ax: f32) -> f32 {
    let z = ax * ax;
    let p = -5.704_988_7e-3_f32;
    let p = M::mul_add(p, z, 2.063_908_9e-2);
    let p = M::mul_add(p, z, -5.373_971_6e-2);
    let p = M::mul_add(p, z, 1.333_144_2e-1);
    let p = M::mul_add(p, z, -3.333_328_2e-1);
    M::mul_add(p * z, ax, ax)
}

/// `tanh x`, absolute and relative error ≲ 3 ulp.
#[inline(always)]
pub fn tanh<M: MulAdd>(x: f32) -> f32 {
    let ax = x.abs();
    tanh_abs::<M>(ax, exp::<M>(-2.0 * ax)).copysign(x)
}

/// `ln(1 + u)` for u ∈ [0, 1]: `2 atanh(w)` with `w = u/(2 + u)` ∈ [0, 1/3], series to w¹³
/// (truncation < 1e-8).
#[inline(always)]
pub fn ln_1p_unit<M: MulAdd>(u: f32) -> f32 {
    atanh_series::<M>(u / (2.0 + u))
}

/// `2 atanh(w)` for w ∈ [0, 1/3], series to w¹³.
#[inline(always)]
fn atanh_series<M: MulAdd>(w: f32) -> f32 {
    let z = w * w;
    let p = 1.0 / 13.0_f32;
    let p = M::mul_add(p, z, 1.0 / 11.0);
    let p = M::mul_add(p, z, 1.0 / 9.0);
    let p = M::mul_add(p, z, 1.0 / 7.0);
    let p = M::mul_add(p, z, 1.0 / 5.0);
    let p = M::mul_add(p, z, 1.0 / 3.0);
    2.0 * M::mul_add(w * z, p, w)
}

/// `(tanh a, ℓ(y, a))` where `ℓ(y, a) = log σ(2a) − (1 − y) a` (see [`super::log_lik`]),
/// sharing one exponential: `log σ(2a) = min(2a, 0) − ln(1 + e^{−2|a|})`.
///
/// One division serves both quotients, `(1 − e)/(1 + e)` for tanh and `e/(2 + e)` for the
/// logarithm (division is the slowest vector instruction here): with `r = 1/((1 + e)(2 + e))`,
/// `1/(1 + e) = (2 + e) r` and `1/(2 + e) = (1 + e) r`; each costs an ulp or two.
#[inline(always)]
pub fn tanh_and_log_lik<M: MulAdd>(y: f32, a: f32) -> (f32, f32) {
    let ax = a.abs();
    let e = exp::<M>(-2.0 * ax);
    let (one_e, two_e) = (1.0 + e, 2.0 + e);
    let r = 1.0 / (one_e * two_e);
    let big = (1.0 - e) * (two_e * r);
    let t = if ax < 0.625 { tanh_small::<M>(ax) } else { big }.copysign(a);
    let ln_1p_e = atanh_series::<M>(e * (one_e * r));
    let ll = M::mul_add(y - 1.0, a, (2.0 * a).min(0.0) - ln_1p_e);
    (t, ll)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Maximum errors against f64 over a dense grid; both ways of evaluating `a·b + c` must
    /// meet the same bounds (f32's ulp is 2⁻²³ ≈ 1.2e-7 relative: a few ulp of slack each).
    fn agree_with_f64_std<M: MulAdd>() {
        // |x| ≤ 20 covers tanh's whole non-saturated range; beyond ±9 tanh is ±1 in f32.
        let (mut e_exp, mut e_tanh, mut e_ln) = (0.0f64, 0.0f64, 0.0f64);
        let (mut e_t, mut e_l) = (0.0f64, 0.0f64);
        for i in 0..=400_000 {
            let x = (-20.0 + 40.0 * f64::from(i) / 400_000.0) as f32;
            let xd = f64::from(x);
            e_exp = e_exp.max((f64::from(exp::<M>(x)) / xd.exp() - 1.0).abs());
            e_tanh = e_tanh.max((f64::from(tanh::<M>(x)) - xd.tanh()).abs());
            let u = (f64::from(i) / 400_000.0) as f32;
            e_ln = e_ln.max((f64::from(ln_1p_unit::<M>(u)) - f64::from(u).ln_1p()).abs());
            // The delta kernel's fused tanh and log-likelihood (one shared division); ℓ's
            // error relative to 1 + |ℓ|, as it is summed with terms of that size.
            for y in [-1.0f32, 0.3, 1.0] {
                let (t, l) = tanh_and_log_lik::<M>(y, x);
                let yd = f64::from(y);
                let l_ref = (2.0 * xd).min(0.0) - (-2.0 * xd.abs()).exp().ln_1p() - (1.0 - yd) * xd;
                e_t = e_t.max((f64::from(t) - xd.tanh()).abs());
                e_l = e_l.max((f64::from(l) - l_ref).abs() / (1.0 + l_ref.abs()));
            }
        }
        assert!(e_exp < 4e-7, "exp relative error {e_exp}");
        assert!(e_tanh < 3e-7, "tanh absolute error {e_tanh}");
        assert!(e_ln < 2e-7, "ln_1p absolute error {e_ln}");
        assert!(e_t < 4e-7, "fused tanh absolute error {e_t}");
        // Measured ≈ 4 ulp: the shared division rounds twice more.
        assert!(e_l < 6e-7, "fused log-likelihood relative error {e_l}");
        // Near zero tanh must be accurate relatively too (it is the whole signal there).
        for x in [1e-6f32, -3e-4, 0.01, 0.3, 0.62, 0.63] {
            let rel = (f64::from(tanh::<M>(x)) / f64::from(x).tanh() - 1.0).abs();
            assert!(rel < 3e-7, "tanh({x}) relative error {rel}");
        }
        // Saturation and clamping.
        assert_eq!(tanh::<M>(50.0), 1.0);
        assert_eq!(tanh::<M>(-1e30), -1.0);
        assert_eq!(exp::<M>(0.0), 1.0);
        assert!(exp::<M>(-1000.0) >= 0.0 && exp::<M>(-1000.0) < 1e-37);
    }

    #[test]
    fn fused_maths_agree_with_f64_std() {
        agree_with_f64_std::<Fused>();
    }

    #[test]
    fn unfused_maths_agree_with_f64_std() {
        agree_with_f64_std::<Unfused>();
    }
}
