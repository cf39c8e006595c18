//! Anneal time → Monte Carlo work: how long the emulator's simulated annealing runs for an
//! anneal of `t` µs, and at which inverse temperatures.
//!
//! # What the chip does
//! A D-Wave anneal lowers the transverse field while the problem's energy scale rises. Early on
//! every spin flips freely; near the quantum critical point the ordering sets in and defects
//! (kinks in a ferromagnetic chain) are frozen in at a density set by how fast that point is
//! crossed; afterwards the environment still lets defects move and annihilate until the
//! dynamics freeze out altogether, well before the end of the anneal. King et al. 2022
//! (Nat. Phys. 18, 1324) measured it on a 2000-qubit ring: kinks per coupler fall only as
//! about t^−0.36 above 1 µs (0.0095 at 3.2 µs, 0.0044 at 26 µs, J = −1.4), so even a 5 µs
//! anneal leaves strong chains nearly intact, and a longer one is colder but never at
//! equilibrium on a hard problem.
//!
//! # What the emulator does
//! Metropolis sweeps whose β rises geometrically from `β_eff · beta_start_fraction` to the
//! device's hidden β_eff over the first `ramp_fraction` of the sweeps, then holds at β_eff.
//! Two choices make it behave like the chip:
//! - **Where the work is spent.** Kinks are created only early in the ramp, while β·|J| is of
//!   order one; past that point a kink can no longer be created, only moved (a free move for
//!   a wall in zero field) and annihilated with another. Half the sweeps are spent there, at
//!   β_eff: walls wander through the random fields of the ICE noise and annihilate, or leave a
//!   chain by its free ends. That coarsening slows as the walls thin out, which is what makes
//!   the kink density fall as a weak power of the work, as the chip's falls with time; short
//!   chains (the K60 embedding's 16 qubits) heal completely, long rings keep their kinks.
//! - **How much work a µs buys.**
//!   `sweeps(t) = sweeps_at_reference · (t / reference_time)^exponent`. On the ring the
//!   emulator's kink density falls as about sweeps^−0.36 between 150 and 800 sweeps, the
//!   chip's as t^−0.36, so the exponent is 1 for the 2000Q (5 µs and up); below a few µs the
//!   chip's density flattens, so the Advantage profiles (0.5 µs and up) grow their sweeps as
//!   t^0.67. `sweeps_at_reference` sets the level. Both are calibrated per solver profile with
//!   `make calibrate` (the ring experiment through the public API; figures in README.md,
//!   "Anneal time") or `calibrate --device CONFIG.json` (in-process).
//!
//! A classical sampler cannot freeze the way the chip does (a wall in zero field moves for free
//! at any β), so the shape of the schedule does not carry the physics by itself: the
//! calibrated amount of coarsening does.

use serde::{Deserialize, Serialize};

use crate::sampler;

/// How anneal time becomes sweeps and a β schedule (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnealModel {
    /// Sweeps of an anneal of `reference_time` µs.
    pub sweeps_at_reference: f64,
    /// µs.
    pub reference_time: f64,
    /// Sweeps grow as (t / reference_time)^exponent.
    pub exponent: f64,
    /// Fraction of the sweeps spent ramping β (geometrically) to β_eff; the rest hold there.
    pub ramp_fraction: f64,
    /// The ramp starts at β_eff × this.
    pub beta_start_fraction: f64,
}

impl AnnealModel {
    /// The DW_2000Q_5 profile: 30 sweeps per µs. No kink measurement of a 2000Q is published;
    /// calibrated to King et al.'s Advantage ring at J = −1.4, times their ×1.3 for J = −1 (the
    /// 2000Q's j_range ends at −1), at the chip's points inside the 2000Q's 5–2000 µs range
    /// (6.4, 13 and 26 µs), with DW_2000Q_5's noise and β_eff range.
    pub fn dw_2000q() -> Self {
        AnnealModel {
            sweeps_at_reference: 150.0,
            reference_time: 5.0,
            exponent: 1.0,
            ramp_fraction: 0.5,
            beta_start_fraction: 0.05,
        }
    }

    /// The Advantage2_system1.5 profile: 225 sweeps at 5 µs, growing as t^0.67. Calibrated to
    /// King et al.'s ring at J = −1.4 (an Advantage's; no Advantage2 kink data is published)
    /// at all seven of the chip's points inside the 0.5–2000 µs range (0.7 … 26 µs), with the
    /// profile's noise and β_eff range, on a ring of 4544 qubits of the recorded working graph
    /// (`calibrate --device` with device seed 7, 200 reads): emulator/chip between 0.93 and 1.05;
    /// at J = −1 (chip × 1.3) between 0.77 and 0.91. Below a few µs the chip's kink density
    /// flattens (0.015 at 0.7 µs, 0.016 at 0.3 µs) while the emulator's keeps falling as the
    /// sweeps grow; an exponent of 0.67 gives short anneals the work that matches the chip at
    /// both ends, where the 2000Q profile (5 µs and up) could take work linear in time.
    pub fn advantage2() -> Self {
        AnnealModel {
            sweeps_at_reference: 225.0,
            reference_time: 5.0,
            exponent: 0.67,
            ramp_fraction: 0.5,
            beta_start_fraction: 0.05,
        }
    }

    /// The emulated Pegasus Advantage profile: the Advantage2 model, checked on this profile's
    /// own ring (5623 qubits, the same calibration run) against King et al.'s data, which is an
    /// Advantage's: emulator/chip between 0.94 and 1.08 at J = −1.4 (0.7 … 26 µs), between
    /// 0.79 and 0.95 at J = −1 (chip × 1.3).
    pub fn advantage() -> Self {
        Self::advantage2()
    }

    /// Checks every value once; the error names the field and the allowed range.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !(positive(self.sweeps_at_reference) && self.sweeps_at_reference <= 1e6) {
            return Err((
                "anneal.sweeps_at_reference",
                format!("{} is outside (0, 1e6]", self.sweeps_at_reference),
            ));
        }
        if !positive(self.reference_time) {
            return Err((
                "anneal.reference_time",
                format!("{} is not a positive time", self.reference_time),
            ));
        }
        if !(self.exponent.is_finite() && (0.0..=2.0).contains(&self.exponent)) {
            return Err(("anneal.exponent", format!("{} is outside [0, 2]", self.exponent)));
        }
        if !(self.ramp_fraction > 0.0 && self.ramp_fraction <= 1.0) {
            return Err((
                "anneal.ramp_fraction",
                format!("{} is outside (0, 1]", self.ramp_fraction),
            ));
        }
        if !(self.beta_start_fraction > 0.0 && self.beta_start_fraction <= 1.0) {
            return Err((
                "anneal.beta_start_fraction",
                format!("{} is outside (0, 1]", self.beta_start_fraction),
            ));
        }
        Ok(())
    }

    /// Monte Carlo sweeps for an anneal of `annealing_time` µs (at least one).
    pub fn sweeps(&self, annealing_time: f64) -> usize {
        let ratio = annealing_time / self.reference_time;
        ((self.sweeps_at_reference * ratio.powf(self.exponent)).round() as usize).max(1)
    }

    /// The β of each sweep: a geometric ramp to `beta_final`, then a hold.
    pub fn schedule(&self, annealing_time: f64, beta_final: f64) -> Vec<f64> {
        let sweeps = self.sweeps(annealing_time);
        let ramp = ((sweeps as f64 * self.ramp_fraction).ceil() as usize).clamp(1, sweeps);
        let mut betas =
            sampler::geometric_betas(beta_final * self.beta_start_fraction, beta_final, ramp);
        betas.resize(sweeps, beta_final);
        betas
    }
}

impl Default for AnnealModel {
    fn default() -> Self {
        Self::dw_2000q()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_ramps_then_holds_at_the_final_beta() {
        let model = AnnealModel {
            sweeps_at_reference: 1.0,
            reference_time: 1.0,
            exponent: 1.0,
            ramp_fraction: 0.5,
            beta_start_fraction: 0.05,
        };
        let betas = model.schedule(20.0, 10.0);
        assert_eq!(betas.len(), 20);
        assert!((betas[0] - 0.5).abs() < 1e-12);
        assert!(betas.windows(2).all(|w| w[0] <= w[1]));
        assert!(betas[9..].iter().all(|&b| (b - 10.0).abs() < 1e-12));
        assert_eq!(model.schedule(5.0, 10.0).len(), 5);
    }

    #[test]
    fn sweeps_grow_as_the_power_of_anneal_time() {
        let model = AnnealModel {
            sweeps_at_reference: 40.0,
            reference_time: 5.0,
            exponent: 0.5,
            ..AnnealModel::dw_2000q()
        };
        assert_eq!(model.sweeps(5.0), 40);
        assert_eq!(model.sweeps(20.0), 80);
        assert_eq!(model.sweeps(1e-9), 1, "never less than one sweep");
    }
}
