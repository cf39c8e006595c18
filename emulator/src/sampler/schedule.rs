//! Annealing schedules.

/// Inverse temperatures for `sweeps` sweeps, geometric from `beta_start` to `beta_end` inclusive:
/// `β_k = β_start · (β_end / β_start)^(k / (sweeps − 1))` for `k = 0..sweeps`, like
/// `numpy.geomspace` and dwave-samplers' `beta_schedule_type="geometric"`.
///
/// A single sweep is spent at `beta_end` (dwave-samplers does the same: "one sweep in the target
/// model"); zero sweeps give an empty schedule. The end points are returned exactly.
///
/// Both ends must be positive and finite (a geometric schedule through zero is undefined); the
/// caller validates its parameters before calling.
pub fn geometric_betas(beta_start: f64, beta_end: f64, sweeps: usize) -> Vec<f64> {
    debug_assert!(
        beta_start > 0.0 && beta_end > 0.0 && beta_start.is_finite() && beta_end.is_finite(),
        "geometric schedule needs positive finite end points"
    );
    match sweeps {
        0 => Vec::new(),
        1 => vec![beta_end],
        _ => {
            let last = (sweeps - 1) as f64;
            let log_ratio = (beta_end / beta_start).ln();
            let mut betas: Vec<f64> =
                (0..sweeps).map(|k| beta_start * (log_ratio * k as f64 / last).exp()).collect();
            betas[0] = beta_start;
            betas[sweeps - 1] = beta_end;
            betas
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn geometric_schedule_has_exact_ends_and_constant_ratio() {
        let betas = geometric_betas(0.1, 5.0, 100);
        assert_eq!(betas.len(), 100);
        assert_eq!(betas[0], 0.1);
        assert_eq!(betas[99], 5.0);
        let ratio = (5.0f64 / 0.1).powf(1.0 / 99.0);
        for w in betas.windows(2) {
            // exp/ln round trips are accurate to a few ulps.
            assert_relative_eq!(w[1] / w[0], ratio, max_relative = 1e-12);
        }
    }

    #[test]
    fn degenerate_lengths() {
        assert!(geometric_betas(0.1, 5.0, 0).is_empty());
        assert_eq!(geometric_betas(0.1, 5.0, 1), vec![5.0]);
        assert_eq!(geometric_betas(0.1, 5.0, 2), vec![0.1, 5.0]);
    }
}
