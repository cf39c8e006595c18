//! Fast, branch-free (hence auto-vectorised) single-precision elementary functions for the hot
//! elementwise loops; `f32::tanh` from libm is 10× slower and does not vectorise. The polynomial
//! coefficients are the classic Cephes single-precision minimax ones (S. L. Moshier); accuracy is
//! checked against f64 in the tests (a few ulp).

// Coefficients are written as published; some carry digits beyond f32 precision.
#![allow(clippy::excessive_precision)]

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split for Cody–Waite range reduction: `LN2_HI` has few significant bits, so
/// `n · LN2_HI` is exact for |n| ≤ 2⁸.
const LN2_HI: f32 = 0.693_359_375;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 · 2²³: adding and subtracting it rounds to the nearest integer (|x| < 2²²).
const ROUNDER: f32 = 12_582_912.0;

/// `e^x` for x ∈ [−87, 88] (clamped outside), relative error ≲ 2 ulp.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let t = x * LOG2E + ROUNDER;
    let n = t - ROUNDER;
    let k = t.to_bits() as i32 - ROUNDER.to_bits() as i32; // the integer n, in [−126, 127]
    let r = x - n * LN2_HI - n * LN2_LO; // |r| ≤ ln2/2
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5.000_000_1e-1;
    let er = p * r * r + r + 1.0;
    er * f32::from_bits(((k + 127) << 23) as u32)
}

/// `tanh |x|` given `ax = |x|` and `e = e^{−2|x|}`: an odd minimax polynomial below 0.625
/// (where `(1 − e)/(1 + e)` would cancel), `(1 − e)/(1 + e)` above.
#[inline(always)]
fn tanh_abs(ax: f32, e: f32) -> f32 {
    let z = ax * ax;
    let p = -5.704_988_7e-3_f32;
    let p = p * z + 2.063_908_9e-2;
    let p = p * z - 5.373_971_6e-2;
    let p = p * z + 1.333_144_2e-1;
    let p = p * z - 3.333_328_2e-1;
    let small = p * z * ax + ax;
    let big = (1.0 - e) / (1.0 + e);
    if ax < 0.625 { small } else { big }
}

/// `tanh x`, absolute and relative error ≲ 3 ulp.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let ax = x.abs();
    tanh_abs(ax, exp(-2.0 * ax)).copysign(x)
}

/// `ln(1 + u)` for u ∈ [0, 1]: `2 atanh(w)` with `w = u/(2 + u)` ∈ [0, 1/3], series to w¹³
/// (truncation < 1e-8).
#[inline(always)]
pub fn ln_1p_unit(u: f32) -> f32 {
    let w = u / (2.0 + u);
    let z = w * w;
    let p = 1.0 / 13.0_f32;
    let p = p * z + 1.0 / 11.0;
    let p = p * z + 1.0 / 9.0;
    let p = p * z + 1.0 / 7.0;
    let p = p * z + 1.0 / 5.0;
    let p = p * z + 1.0 / 3.0;
    2.0 * (w + w * z * p)
}

/// `(tanh a, ℓ(y, a))` where `ℓ(y, a) = log σ(2a) − (1 − y) a` (see [`super::log_lik`]),
/// sharing one exponential: `log σ(2a) = min(2a, 0) − ln(1 + e^{−2|a|})`.
#[inline(always)]
pub fn tanh_and_log_lik(y: f32, a: f32) -> (f32, f32) {
    let ax = a.abs();
    let e = exp(-2.0 * ax);
    let t = tanh_abs(ax, e).copysign(a);
    let ll = (2.0 * a).min(0.0) - ln_1p_unit(e) - (1.0 - y) * a;
    (t, ll)
}
