//! The Fréchet distance between two sets of feature vectors, each summarised by a Gaussian
//! (the 2-Wasserstein distance of the two fitted normals, as in the FID of Heusel et al. 2017):
//!
//! `d² = |μ₁ − μ₂|² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½`
//!
//! The matrix square roots come from symmetric eigendecompositions by cyclic Jacobi rotations:
//! the judge's features are 64 wide, where Jacobi converges in a handful of sweeps and needs
//! no linear-algebra crate (ndarray-linalg would bring a system LAPACK; nalgebra a second
//! matrix type for one function). `Σ₁^½ Σ₂ Σ₁^½` is symmetric positive semi-definite, so its
//! square root's trace is the sum of the square roots of its eigenvalues.

use ndarray::{Array1, Array2, ArrayView2, Axis};

/// Mean `[d]` and sample covariance `[d, d]` (divided by n − 1) of the rows of `x` `[n, d]`.
pub fn mean_and_covariance(x: ArrayView2<f32>) -> (Array1<f64>, Array2<f64>) {
    let x = x.mapv(f64::from);
    let n = x.nrows();
    let mean = x.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(x.ncols()));
    let centred = &x - &mean;
    let cov = centred.t().dot(&centred) / (n.saturating_sub(1).max(1)) as f64;
    (mean, cov)
}

/// The Fréchet distance (squared, as FID reports it) between Gaussians fitted to the rows of
/// `a` and of `b` (same width).
pub fn frechet_distance(a: ArrayView2<f32>, b: ArrayView2<f32>) -> f64 {
    assert_eq!(a.ncols(), b.ncols(), "frechet_distance: widths differ");
    let (mu1, s1) = mean_and_covariance(a);
    let (mu2, s2) = mean_and_covariance(b);
    let diff = &mu1 - &mu2;
    let root1 = psd_sqrt(&s1);
    let middle = root1.dot(&s2).dot(&root1);
    let cross: f64 = symmetric_eigenvalues(&middle).iter().map(|&l| l.max(0.0).sqrt()).sum();
    (diff.dot(&diff) + s1.diag().sum() + s2.diag().sum() - 2.0 * cross).max(0.0)
}

/// The square root of a symmetric positive semi-definite matrix (negative eigenvalues, which
/// only rounding makes, are taken as 0).
pub fn psd_sqrt(m: &Array2<f64>) -> Array2<f64> {
    let (values, vectors) = symmetric_eigen(m);
    let roots = values.mapv(|l| l.max(0.0).sqrt());
    (&vectors * &roots).dot(&vectors.t())
}

/// Eigenvalues of a symmetric matrix (in no particular order).
pub fn symmetric_eigenvalues(m: &Array2<f64>) -> Array1<f64> {
    symmetric_eigen(m).0
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix, by cyclic Jacobi rotations
/// until the off-diagonal mass is below 1e-22 of the total (or 100 sweeps; the method
/// converges quadratically, and 64 × 64 covariances need fewer than 10).
pub fn symmetric_eigen(m: &Array2<f64>) -> (Array1<f64>, Array2<f64>) {
    let n = m.nrows();
    assert_eq!(n, m.ncols(), "symmetric_eigen: not square");
    let mut a = m.clone();
    let mut v = Array2::<f64>::eye(n);
    let total: f64 = a.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
    for _ in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|p| (0..n).filter(move |&q| q != p).map(move |q| (p, q)))
            .map(|(p, q)| a[[p, q]] * a[[p, q]])
            .sum();
        if off <= 1e-22 * total {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[[p, q]];
                if apq == 0.0 {
                    continue;
                }
                // The rotation that zeroes a[p][q] (Golub & Van Loan, Algorithm 8.5.1).
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[[k, p]], a[[k, q]]);
                    a[[k, p]] = c * akp - s * akq;
                    a[[k, q]] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[[p, k]], a[[q, k]]);
                    a[[p, k]] = c * apk - s * aqk;
                    a[[q, k]] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    (a.diag().to_owned(), v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    #[test]
    fn eigenvalues_of_a_known_matrix() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3; [[4,1,0],[1,4,1],[0,1,4]]: 4, 4 ± √2.
        let mut l = symmetric_eigenvalues(&array![[2.0, 1.0], [1.0, 2.0]]).to_vec();
        l.sort_by(f64::total_cmp);
        assert!((l[0] - 1.0).abs() < 1e-12 && (l[1] - 3.0).abs() < 1e-12, "{l:?}");
        let mut l =
            symmetric_eigenvalues(&array![[4.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 4.0]])
                .to_vec();
        l.sort_by(f64::total_cmp);
        let r = 2f64.sqrt();
        for (got, want) in l.iter().zip([4.0 - r, 4.0, 4.0 + r]) {
            assert!((got - want).abs() < 1e-12, "{l:?}");
        }
    }

    #[test]
    fn square_root_squares_back() {
        let m = array![[5.0, 2.0, 0.5], [2.0, 3.0, 0.1], [0.5, 0.1, 1.0]];
        let r = psd_sqrt(&m);
        let back = r.dot(&r);
        for (a, b) in back.iter().zip(m.iter()) {
            assert!((a - b).abs() < 1e-10, "{back:?}");
        }
    }

    #[test]
    fn frechet_distance_of_shifted_and_scaled_gaussians_matches_the_formula() {
        // Sample covariances are exact for the data themselves, so the closed form for
        // commuting covariances applies to the fitted Gaussians without sampling error:
        // b = 2a + 3 gives Σ_b = 4Σ_a, μ_b = 2μ_a + 3 and
        // d² = |μ_a − μ_b|² + tr Σ_a + 4 tr Σ_a − 2·2 tr Σ_a = |μ_a − μ_b|² + tr Σ_a.
        let mut rng = crate::seed::Rng::seed_from_u64(3);
        let normal = Normal::new(0.0f32, 1.0).unwrap();
        let a = Array2::from_shape_fn((500, 4), |_| normal.sample(&mut rng));
        let b = a.mapv(|x| 2.0 * x + 3.0);
        let (mu_a, s_a) = mean_and_covariance(a.view());
        let (mu_b, _) = mean_and_covariance(b.view());
        let want = (&mu_a - &mu_b).mapv(|d| d * d).sum() + s_a.diag().sum();
        let got = frechet_distance(a.view(), b.view());
        // The data are f32 (b rounded once per element, ~6e-8 relative): 1e-5 leaves room.
        assert!((got - want).abs() < 1e-5 * want, "{got} vs {want}");
        assert!(frechet_distance(a.view(), a.view()).abs() < 1e-9);
    }
}
