//! Resampling images by exact area averaging, and grey values to [−1, +1].

use ndarray::{Array2, Array3, ArrayView3};

/// One-dimensional area-averaging weights `[n_out, n_in]`.
///
/// Output cell `o` covers the input interval `[o·n_in/n_out, (o+1)·n_in/n_out)`; its weight on
/// input cell `i` (covering `[i, i+1)`) is the length of their overlap divided by the output cell's
/// length `n_in/n_out`. Every row sums to 1. Overlaps are computed exactly in integers, in units of
/// `1/n_out` input cells, so 28 → 16 gives weights that are multiples of 1/28.
///
/// # Panics
/// If `n_in` or `n_out` is zero.
pub fn area_weights(n_in: usize, n_out: usize) -> Array2<f32> {
    assert!(n_in > 0 && n_out > 0, "area_weights needs non-empty sizes, got {n_in} -> {n_out}");
    let mut w = Array2::<f32>::zeros((n_out, n_in));
    for o in 0..n_out {
        // In units of 1/n_out input cells: output o spans [o·n_in, (o+1)·n_in),
        // input i spans [i·n_out, (i+1)·n_out).
        let (lo, hi) = (o * n_in, (o + 1) * n_in);
        let first = lo / n_out;
        let last = (hi - 1) / n_out;
        for i in first..=last {
            let overlap = hi.min((i + 1) * n_out) - lo.max(i * n_out);
            w[[o, i]] = (overlap as f64 / n_in as f64) as f32;
        }
    }
    w
}

/// Downsamples (or upsamples) images `[n, H, W]` to `[n, h, w]` by exact area averaging: each output
/// pixel is the area-weighted mean of the input pixels it covers, computed separably as
/// `R · X · Cᵀ` with `R = area_weights(H, h)` and `C = area_weights(W, w)`.
pub fn downsample_area(images: ArrayView3<f32>, h: usize, w: usize) -> Array3<f32> {
    let (n, rows, cols) = images.dim();
    let r = area_weights(rows, h);
    let c_t = area_weights(cols, w).reversed_axes(); // [W, w]
    let mut out = Array3::<f32>::zeros((n, h, w));
    for (img, mut dst) in images.outer_iter().zip(out.outer_iter_mut()) {
        let tmp = r.dot(&img); // [h, W]
        ndarray::linalg::general_mat_mul(1.0, &tmp, &c_t, 0.0, &mut dst);
    }
    out
}

/// Maps a grey value in [0, 255] linearly to [−1, +1] (0 → −1, 255 → +1), clamping round-off.
#[inline]
pub fn grey_to_pm1(g: f32) -> f32 {
    (g / 127.5 - 1.0).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn area_weights_rows_sum_to_one_and_match_hand_values() {
        let w = area_weights(28, 16);
        assert_eq!(w.dim(), (16, 28));
        for row in w.outer_iter() {
            // Exact rational weights rounded to f32 once each: sum within a few ulps of 1.
            assert_abs_diff_eq!(row.sum(), 1.0, epsilon = 1e-6);
        }
        // Output 0 covers [0, 1.75): all of input 0 and 3/4 of input 1, over length 1.75.
        assert_abs_diff_eq!(w[[0, 0]], 1.0 / 1.75, epsilon = 1e-7);
        assert_abs_diff_eq!(w[[0, 1]], 0.75 / 1.75, epsilon = 1e-7);
        assert_eq!(w[[0, 2]], 0.0);
        // Output 1 covers [1.75, 3.5): 1/4 of input 1, all of 2, half of 3.
        assert_abs_diff_eq!(w[[1, 1]], 0.25 / 1.75, epsilon = 1e-7);
        assert_abs_diff_eq!(w[[1, 2]], 1.0 / 1.75, epsilon = 1e-7);
        assert_abs_diff_eq!(w[[1, 3]], 0.5 / 1.75, epsilon = 1e-7);
        // Integer factor: plain block averaging; identity size: identity.
        let w2 = area_weights(4, 2);
        assert_eq!(w2, ndarray::array![[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5]]);
        assert_eq!(area_weights(5, 5), Array2::<f32>::eye(5));
        // Upsampling 2 → 3: the middle output straddles both inputs equally.
        let up = area_weights(2, 3);
        assert_eq!(up.row(1).to_vec(), vec![0.5, 0.5]);
        assert_eq!(up.row(0).to_vec(), vec![1.0, 0.0]);
    }

    #[test]
    fn downsampling_matches_a_brute_force_area_integral() {
        // Brute force: split every input pixel into n_out × n_out sub-cells (so every output
        // boundary falls on a sub-cell boundary) and average the sub-cells inside each output pixel.
        let (h_in, w_in, h, w) = (7usize, 5usize, 3usize, 2usize);
        let img = Array3::from_shape_fn((2, h_in, w_in), |(n, i, j)| {
            ((n * 31 + i * 7 + j * 13) % 17) as f32
        });
        let fast = downsample_area(img.view(), h, w);
        for n in 0..2 {
            for o in 0..h {
                for p in 0..w {
                    let mut sum = 0.0f64;
                    let mut count = 0usize;
                    // Sub-cell (a, b) at resolution h_in*h × w_in*w.
                    for a in o * h_in..(o + 1) * h_in {
                        for b in p * w_in..(p + 1) * w_in {
                            sum += img[[n, a / h, b / w]] as f64;
                            count += 1;
                        }
                    }
                    // f32 matrix products of values < 17 with weights summing to 1: error ≲ 1e-5.
                    assert_abs_diff_eq!(fast[[n, o, p]] as f64, sum / count as f64, epsilon = 1e-5);
                }
            }
        }
    }

    #[test]
    fn an_integer_ratio_is_the_block_mean() {
        // 4 → 2: each output pixel is the mean of its 2 × 2 block.
        let img = Array3::from_shape_fn((1, 4, 4), |(_, i, j)| ((i * 5 + j * 3) % 7) as f32);
        let out = downsample_area(img.view(), 2, 2);
        for (o, p) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let block: f32 = (0..2)
                .flat_map(|a| (0..2).map(move |b| (2 * o + a, 2 * p + b)))
                .map(|(i, j)| img[[0, i, j]])
                .sum();
            assert_abs_diff_eq!(out[[0, o, p]], block / 4.0, epsilon = 1e-6);
        }
    }

    #[test]
    fn a_fractional_ratio_weighs_the_covered_areas() {
        // 3 → 2: output 0 covers input [0, 1.5) (all of pixel 0, half of pixel 1), output 1
        // covers [1.5, 3): weights 2/3, 1/3 per axis. By hand for 1..9 row-major:
        // (0,0) = (4·1 + 2·2 + 2·4 + 5)/9 = 7/3, (0,1) = 11/3, (1,0) = 19/3, (1,1) = 23/3.
        let w = area_weights(3, 2);
        let by_hand = [[2.0 / 3.0, 1.0 / 3.0, 0.0], [0.0, 1.0 / 3.0, 2.0 / 3.0]];
        for (o, row) in by_hand.iter().enumerate() {
            for (i, &x) in row.iter().enumerate() {
                assert_abs_diff_eq!(w[[o, i]], x, epsilon = 1e-7);
            }
        }
        let img = Array3::from_shape_fn((1, 3, 3), |(_, i, j)| (3 * i + j + 1) as f32);
        let out = downsample_area(img.view(), 2, 2);
        let by_hand = [[7.0 / 3.0, 11.0 / 3.0], [19.0 / 3.0, 23.0 / 3.0]];
        for (o, row) in by_hand.iter().enumerate() {
            for (p, &x) in row.iter().enumerate() {
                assert_abs_diff_eq!(out[[0, o, p]], x, epsilon = 1e-5);
            }
        }
    }

    #[test]
    fn area_averaging_preserves_the_mass() {
        // Sum of the output × the area of an output pixel (in input pixels) = sum of the input,
        // for any ratio: 28 → 16 (MNIST), 16 → 7, 5 → 3.
        for (n_in, n_out) in [(28, 16), (16, 7), (5, 3)] {
            let img = Array3::from_shape_fn((2, n_in, n_in), |(n, i, j)| {
                ((n * 101 + i * 37 + j * 59) % 256) as f32
            });
            let out = downsample_area(img.view(), n_out, n_out);
            let area = (n_in * n_in) as f64 / (n_out * n_out) as f64;
            for n in 0..2 {
                let mass_in: f64 =
                    img.index_axis(ndarray::Axis(0), n).iter().map(|&x| f64::from(x)).sum();
                let mass_out: f64 =
                    out.index_axis(ndarray::Axis(0), n).iter().map(|&x| f64::from(x)).sum();
                // f32 sums of ≲ 800 values < 256: relative error ≲ 1e-6.
                assert_abs_diff_eq!(mass_out * area, mass_in, epsilon = 1e-5 * mass_in);
            }
        }
    }

    #[test]
    fn constant_images_stay_constant_and_scale_to_pm1() {
        for g in [0.0f32, 255.0, 100.0] {
            let img = Array3::from_elem((1, 28, 28), g);
            let small = downsample_area(img.view(), 16, 16);
            for &x in small.iter() {
                assert_abs_diff_eq!(x, g, epsilon = 1e-3);
            }
        }
        assert_eq!(grey_to_pm1(0.0), -1.0);
        assert_eq!(grey_to_pm1(255.0), 1.0);
        assert_eq!(grey_to_pm1(255.0 * 1.000_001), 1.0);
    }
}
