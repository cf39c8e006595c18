//! The judge: a classifier trained once per data set on its training split, which scores
//! generated digits the way a reader would (is it a recognisable digit, which one, how sure),
//! and whose penultimate layer gives the features of the Fréchet distance.
//!
//! A plain multilayer perceptron, `[pixels] → 256 ReLU → 64 ReLU → classes` (softmax),
//! trained by minibatch Adam on the cross-entropy with ±1-pixel random shifts of the training
//! images (a digit moved by a pixel is the same digit; on the shipped MNIST-10k the shifts
//! take the test accuracy from 0.957 to 0.964, measured with the test below). Nothing in it
//! depends on the Helmholtz machine: it sees only images, so it judges every prior alike.
//!
//! Training is deterministic given the data (its seed is fixed: a judge is a function of the
//! data set, not of a run), so a judge is trained once and kept in the cache directory
//! ([`cache_dir`]) under a key made of the data's bytes and the judge's settings.

use std::fs;
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2, ArrayView2, Axis, s};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::seed;

/// Bumped whenever training changes, so cached judges of an older rule are not reused.
const JUDGE_VERSION: u32 = 1;

/// How a judge is trained. The defaults are the judge `trainer eval` uses.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct JudgeSettings {
    /// Units of the first hidden layer.
    pub hidden: usize,
    /// Units of the second hidden layer: the features of the Fréchet distance.
    pub features: usize,
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per Adam step.
    pub batch: usize,
    /// Adam's step size at the start (decayed linearly to 5 % of it by the last epoch).
    pub lr: f32,
    /// Decoupled weight decay per step, relative to the step size (AdamW).
    pub weight_decay: f32,
    /// Largest random shift of a training image, in pixels (0 = none).
    pub max_shift: usize,
}

impl Default for JudgeSettings {
    fn default() -> Self {
        JudgeSettings {
            hidden: 256,
            features: 64,
            epochs: 30,
            batch: 64,
            lr: 1e-3,
            weight_decay: 1e-4,
            max_shift: 1,
        }
    }
}

/// A trained judge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Judge {
    pub version: u32,
    pub settings: JudgeSettings,
    /// Side of the square images it reads.
    pub side: usize,
    pub classes: usize,
    /// Its accuracy on the data set's test split.
    pub test_accuracy: f64,
    layers: [Dense; 3],
}

/// One affine layer `y = x w + b`, `w: [n_in, n_out]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DenseFile", into = "DenseFile")]
struct Dense {
    w: Array2<f32>,
    b: Array1<f32>,
}

/// A [`Dense`] as the cache file holds it (the workspace's ndarray has no serde feature).
#[derive(Serialize, Deserialize)]
struct DenseFile {
    n_in: usize,
    n_out: usize,
    w: Vec<f32>,
    b: Vec<f32>,
}

impl From<Dense> for DenseFile {
    fn from(d: Dense) -> Self {
        let (n_in, n_out) = d.w.dim();
        DenseFile { n_in, n_out, w: d.w.iter().copied().collect(), b: d.b.to_vec() }
    }
}

impl TryFrom<DenseFile> for Dense {
    type Error = String;
    fn try_from(f: DenseFile) -> Result<Self, String> {
        if f.b.len() != f.n_out {
            return Err(format!("{} biases for {} units", f.b.len(), f.n_out));
        }
        let w = Array2::from_shape_vec((f.n_in, f.n_out), f.w).map_err(|e| e.to_string())?;
        Ok(Dense { w, b: Array1::from(f.b) })
    }
}

impl Dense {
    /// He initialisation (normal, variance 2 / n_in): keeps ReLU activations at unit scale.
    fn new<R: Rng + ?Sized>(n_in: usize, n_out: usize, rng: &mut R) -> Self {
        let normal = Normal::new(0.0, (2.0 / n_in as f64).sqrt()).expect("finite std");
        let w = Array2::from_shape_fn((n_in, n_out), |_| normal.sample(rng) as f32);
        Dense { w, b: Array1::zeros(n_out) }
    }

    fn forward(&self, x: ArrayView2<f32>) -> Array2<f32> {
        x.dot(&self.w) + &self.b
    }
}

/// The activations of one forward pass (kept for the backward pass).
struct Pass {
    z1: Array2<f32>,
    a1: Array2<f32>,
    z2: Array2<f32>,
    a2: Array2<f32>,
    probabilities: Array2<f32>,
}

fn relu(z: &Array2<f32>) -> Array2<f32> {
    z.mapv(|v| v.max(0.0))
}

/// Row-wise softmax, shifted by each row's maximum for range.
fn softmax_rows(mut logits: Array2<f32>) -> Array2<f32> {
    for mut row in logits.outer_iter_mut() {
        let max = row.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row.mapv_inplace(|v| v / sum);
    }
    logits
}

/// What the judge says of a set of images.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The most probable class of each image.
    pub labels: Vec<u8>,
    /// Its probability (the judge's confidence).
    pub confidence: Vec<f32>,
    /// The penultimate layer's activations `[n, features]`.
    pub features: Array2<f32>,
}

impl Judge {
    /// Trains a judge on `train` and measures it on `test`. Deterministic given the data and
    /// `settings` (single-threaded products, a fixed seed stream).
    ///
    /// # Panics
    /// If `train` is empty or the two sets' shapes differ.
    pub fn train(train: &Dataset, test: &Dataset, settings: JudgeSettings) -> Judge {
        assert!(!train.is_empty(), "judge: no training images");
        assert_eq!(train.n_pixels(), test.n_pixels(), "judge: train and test shapes differ");
        let (side, classes) = (train.height(), train.classes());
        let pixels = train.n_pixels();
        let mut rng = seed::judge();
        let mut layers = [
            Dense::new(pixels, settings.hidden, &mut rng),
            Dense::new(settings.hidden, settings.features, &mut rng),
            Dense::new(settings.features, classes, &mut rng),
        ];
        let mut adam = Adam::new(&layers);
        let mut order: Vec<usize> = (0..train.len()).collect();
        let steps_per_epoch = train.len().div_ceil(settings.batch.max(1));
        let total = (settings.epochs * steps_per_epoch).max(1);
        let mut step = 0usize;
        for _ in 0..settings.epochs {
            order.shuffle(&mut rng);
            for rows in order.chunks(settings.batch.max(1)) {
                let x = shifted_batch(train.pixels(), rows, side, settings.max_shift, &mut rng);
                let labels: Vec<u8> = rows.iter().map(|&r| train.labels()[r]).collect();
                let pass = forward(&layers, x.view());
                let grads = backward(&layers, x.view(), &pass, &labels);
                // Linear decay to 5 %: large steps early, fine ones to settle.
                let lr = settings.lr * (1.0 - 0.95 * step as f32 / total as f32);
                adam.step(&mut layers, &grads, lr, settings.weight_decay);
                step += 1;
            }
        }
        let mut judge =
            Judge { version: JUDGE_VERSION, settings, side, classes, test_accuracy: 0.0, layers };
        if !test.is_empty() {
            let verdict = judge.judge(test.pixels());
            judge.test_accuracy = super::accuracy_of(&verdict.labels, test.labels());
        }
        judge
    }

    /// The judge's class, confidence and features for each row of `pixels` `[n, side²]`.
    pub fn judge(&self, pixels: ArrayView2<f32>) -> Verdict {
        assert_eq!(pixels.ncols(), self.side * self.side, "judge: image size");
        let pass = forward(&self.layers, pixels);
        let mut labels = Vec::with_capacity(pixels.nrows());
        let mut confidence = Vec::with_capacity(pixels.nrows());
        for row in pass.probabilities.outer_iter() {
            let (best, p) = row
                .iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |b, (i, &p)| if p > b.1 { (i, p) } else { b });
            labels.push(best as u8);
            confidence.push(p);
        }
        Verdict { labels, confidence, features: pass.a2 }
    }
}

fn forward(layers: &[Dense; 3], x: ArrayView2<f32>) -> Pass {
    let z1 = layers[0].forward(x);
    let a1 = relu(&z1);
    let z2 = layers[1].forward(a1.view());
    let a2 = relu(&z2);
    let probabilities = softmax_rows(layers[2].forward(a2.view()));
    Pass { z1, a1, z2, a2, probabilities }
}

/// Gradients of the mean cross-entropy of `labels` with respect to every weight and bias.
fn backward(layers: &[Dense; 3], x: ArrayView2<f32>, pass: &Pass, labels: &[u8]) -> [Dense; 3] {
    let n = labels.len() as f32;
    // ∂/∂logits of −log softmax(logits)[label], averaged over the batch: (p − onehot) / n.
    let mut d3 = pass.probabilities.clone();
    for (mut row, &l) in d3.outer_iter_mut().zip(labels) {
        row[l as usize] -= 1.0;
    }
    d3 /= n;
    let relu_back = |d: Array2<f32>, z: &Array2<f32>| {
        let mut d = d;
        d.zip_mut_with(z, |g, &v| {
            if v <= 0.0 {
                *g = 0.0;
            }
        });
        d
    };
    let d2 = relu_back(d3.dot(&layers[2].w.t()), &pass.z2);
    let d1 = relu_back(d2.dot(&layers[1].w.t()), &pass.z1);
    let grad = |input: ArrayView2<f32>, d: &Array2<f32>| Dense {
        w: input.t().dot(d),
        b: d.sum_axis(Axis(0)),
    };
    [grad(x, &d1), grad(pass.a1.view(), &d2), grad(pass.a2.view(), &d3)]
}

/// The rows `rows` of `pixels`, each moved by a random whole-pixel shift in each direction
/// of at most `max_shift`, the uncovered border filled with the background (−1).
fn shifted_batch<R: Rng + ?Sized>(
    pixels: ArrayView2<f32>,
    rows: &[usize],
    side: usize,
    max_shift: usize,
    rng: &mut R,
) -> Array2<f32> {
    let mut out = Array2::from_elem((rows.len(), side * side), -1.0f32);
    let m = max_shift as i64;
    for (mut dst, &r) in out.outer_iter_mut().zip(rows) {
        let src = pixels.row(r);
        let (dy, dx) =
            if m == 0 { (0, 0) } else { (rng.random_range(-m..=m), rng.random_range(-m..=m)) };
        for y in 0..side as i64 {
            let sy = y - dy;
            if sy < 0 || sy >= side as i64 {
                continue;
            }
            for x in 0..side as i64 {
                let sx = x - dx;
                if sx >= 0 && sx < side as i64 {
                    dst[(y * side as i64 + x) as usize] = src[(sy * side as i64 + sx) as usize];
                }
            }
        }
    }
    out
}

/// Adam's moment estimates, one pair per parameter array.
struct Adam {
    m: [Dense; 3],
    v: [Dense; 3],
    t: i32,
}

const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPS: f32 = 1e-8;

impl Adam {
    fn new(layers: &[Dense; 3]) -> Self {
        let zeros = |l: &Dense| Dense { w: Array2::zeros(l.w.dim()), b: Array1::zeros(l.b.len()) };
        Adam { m: layers.each_ref().map(zeros), v: layers.each_ref().map(zeros), t: 0 }
    }

    fn step(&mut self, layers: &mut [Dense; 3], grads: &[Dense; 3], lr: f32, decay: f32) {
        self.t += 1;
        let c1 = 1.0 - BETA1.powi(self.t);
        let c2 = 1.0 - BETA2.powi(self.t);
        for i in 0..3 {
            // Weights decay (decoupled, as AdamW); biases do not.
            update(
                &mut layers[i].w,
                &mut self.m[i].w,
                &mut self.v[i].w,
                &grads[i].w,
                lr,
                decay,
                c1,
                c2,
            );
            update(
                &mut layers[i].b,
                &mut self.m[i].b,
                &mut self.v[i].b,
                &grads[i].b,
                lr,
                0.0,
                c1,
                c2,
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn update<D: ndarray::Dimension>(
    p: &mut ndarray::Array<f32, D>,
    m: &mut ndarray::Array<f32, D>,
    v: &mut ndarray::Array<f32, D>,
    g: &ndarray::Array<f32, D>,
    lr: f32,
    decay: f32,
    c1: f32,
    c2: f32,
) {
    ndarray::Zip::from(p).and(m).and(v).and(g).for_each(|p, m, v, &g| {
        *m = BETA1 * *m + (1.0 - BETA1) * g;
        *v = BETA2 * *v + (1.0 - BETA2) * g * g;
        *p -= lr * ((*m / c1) / ((*v / c2).sqrt() + EPS) + decay * *p);
    });
}

/// Where judges are kept: `$QAHM_CACHE_DIR`, else `$XDG_CACHE_HOME/qahm`, else
/// `$HOME/.cache/qahm`; `None` when none of them is set.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("QAHM_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("qahm")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("qahm")))
}

/// The cache key of a judge of this data: FNV-1a over the judge's version and settings and
/// the data's every pixel and label (a judge belongs to the exact images it learned from).
pub fn cache_key(train: &Dataset, test: &Dataset, settings: &JudgeSettings) -> String {
    let mut h = Fnv::default();
    h.write(&JUDGE_VERSION.to_le_bytes());
    h.write(serde_json::to_string(settings).expect("settings serialise").as_bytes());
    for set in [train, test] {
        h.write(&(set.len() as u64).to_le_bytes());
        h.write(&(set.height() as u64).to_le_bytes());
        h.write(&(set.classes() as u64).to_le_bytes());
        for &p in set.pixels() {
            h.write(&p.to_le_bytes());
        }
        h.write(set.labels());
    }
    format!("judge-{:016x}.json", h.0)
}

/// FNV-1a, 64 bits: a stable content hash (std's hasher may change between releases).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Where the judge came from, for the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JudgeOrigin {
    /// Read from this cache file.
    Cached(PathBuf),
    /// Trained now and saved to this file.
    Trained(PathBuf),
    /// Trained now; saving it failed (or no cache directory is known), for this reason.
    TrainedUnsaved(String),
}

/// The judge of this data: read from `dir` if it holds one for exactly this data, else
/// trained and saved there (atomically; a failure to save only costs the next run a retrain).
pub fn load_or_train(
    train: &Dataset,
    test: &Dataset,
    settings: JudgeSettings,
    dir: Option<&Path>,
) -> (Judge, JudgeOrigin) {
    let key = cache_key(train, test, &settings);
    if let Some(dir) = dir {
        let path = dir.join(&key);
        if let Some(judge) = fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok()) {
            return (judge, JudgeOrigin::Cached(path));
        }
    }
    let judge = Judge::train(train, test, settings);
    let origin = match dir {
        None => JudgeOrigin::TrainedUnsaved("no cache directory (set QAHM_CACHE_DIR)".into()),
        Some(dir) => match save(&judge, &dir.join(&key)) {
            Ok(path) => JudgeOrigin::Trained(path),
            Err(e) => JudgeOrigin::TrainedUnsaved(format!("{}: {e}", dir.display())),
        },
    };
    (judge, origin)
}

fn save(judge: &Judge, path: &Path) -> std::io::Result<PathBuf> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, serde_json::to_vec(judge).map_err(std::io::Error::other)?)?;
    fs::rename(&tmp, path)?;
    Ok(path.to_path_buf())
}

/// The first `n` rows of a view (all of them if it has fewer).
pub(crate) fn first_rows(pixels: ArrayView2<f32>, n: usize) -> ArrayView2<f32> {
    let n = n.min(pixels.nrows());
    pixels.slice_move(s![..n, ..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Four classes of 4 × 4 images, each a bright quadrant on a dark ground plus noise:
    /// separable by construction, so a judge must learn them almost perfectly.
    fn quadrants(n: usize, seed_value: u64) -> Dataset {
        let mut rng = seed::Rng::seed_from_u64(seed_value);
        let noise = Normal::new(0.0f32, 0.3).unwrap();
        let mut pixels = Array2::zeros((n, 16));
        let mut labels = Vec::with_capacity(n);
        for (i, mut row) in pixels.outer_iter_mut().enumerate() {
            let class = (i % 4) as u8;
            let (qy, qx) = ((class / 2) as usize * 2, (class % 2) as usize * 2);
            for y in 0..4 {
                for x in 0..4 {
                    let on = (qy..qy + 2).contains(&y) && (qx..qx + 2).contains(&x);
                    let base = if on { 0.8 } else { -0.8 };
                    row[y * 4 + x] = (base + noise.sample(&mut rng)).clamp(-1.0, 1.0);
                }
            }
            labels.push(class);
        }
        Dataset::new(pixels, labels, 4, 4, 4).unwrap()
    }

    fn small() -> JudgeSettings {
        JudgeSettings {
            hidden: 32,
            features: 8,
            epochs: 20,
            batch: 16,
            max_shift: 0,
            ..Default::default()
        }
    }

    #[test]
    fn judge_learns_separable_classes_to_full_test_accuracy() {
        let judge = Judge::train(&quadrants(400, 1), &quadrants(200, 2), small());
        // The classes differ by 8 of 16 pixels at ±0.8 against noise of 0.3: a linear rule
        // separates them without error, so anything below 0.99 is a training bug.
        assert!(judge.test_accuracy >= 0.99, "{}", judge.test_accuracy);
        let verdict = judge.judge(quadrants(8, 3).pixels());
        assert_eq!(verdict.labels, vec![0, 1, 2, 3, 0, 1, 2, 3]);
        assert!(verdict.confidence.iter().all(|&c| c > 0.9), "{:?}", verdict.confidence);
        assert_eq!(verdict.features.dim(), (8, 8));
    }

    #[test]
    fn judge_is_unsure_of_an_image_between_classes() {
        let judge = Judge::train(&quadrants(400, 1), &quadrants(200, 2), small());
        // Half of class 0's quadrant and half of class 1's: no class is clearly right.
        let mut mixed = Array2::from_elem((1, 16), -0.8f32);
        for y in 0..2 {
            mixed[[0, y * 4 + 1]] = 0.8;
            mixed[[0, y * 4 + 2]] = 0.8;
        }
        let sure = judge.judge(quadrants(4, 3).pixels()).confidence;
        let unsure = judge.judge(mixed.view()).confidence[0];
        assert!(unsure < sure.iter().cloned().fold(1.0, f32::min), "{unsure} vs {sure:?}");
    }

    #[test]
    fn training_is_deterministic_and_the_cache_returns_the_same_judge() {
        let (train, test) = (quadrants(200, 1), quadrants(40, 2));
        let dir = std::env::temp_dir().join(format!("qahm-judge-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let (a, origin_a) = load_or_train(&train, &test, small(), Some(&dir));
        assert!(matches!(origin_a, JudgeOrigin::Trained(_)), "{origin_a:?}");
        let (b, origin_b) = load_or_train(&train, &test, small(), Some(&dir));
        assert!(matches!(origin_b, JudgeOrigin::Cached(_)), "{origin_b:?}");
        assert_eq!(a, b);
        assert_eq!(a, Judge::train(&train, &test, small()));
        // Other data, another key: a judge is never reused for images it did not learn.
        assert_ne!(
            cache_key(&train, &test, &small()),
            cache_key(&quadrants(200, 9), &test, &small())
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn judge_of_the_shipped_mnist_10k_reaches_95_percent_test_accuracy() {
        use crate::data::{Shape, Split, load};
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist-10k");
        let (train, test) = load(&dir, Shape::default(), Split::default()).unwrap();
        let judge = Judge::train(&train, &test, JudgeSettings::default());
        // The bar for trusting the judge's verdicts on 16 × 16 digits.
        assert!(judge.test_accuracy >= 0.95, "{}", judge.test_accuracy);
        eprintln!("judge test accuracy {:.4}", judge.test_accuracy);
    }

    #[test]
    fn shifted_batch_moves_the_image_and_fills_with_background() {
        let pixels = Array2::from_shape_fn((1, 9), |(_, i)| i as f32 / 10.0);
        // Whatever shift is drawn, every output pixel is the background or a source pixel
        // moved by at most one row and one column.
        let mut rng = seed::Rng::seed_from_u64(5);
        let mut seen_shift = false;
        for _ in 0..20 {
            let out = shifted_batch(pixels.view(), &[0], 3, 1, &mut rng);
            for (i, &v) in out.iter().enumerate() {
                if v == -1.0 {
                    continue;
                }
                let src = (v * 10.0).round() as i64;
                let (dy, dx) = (i as i64 / 3 - src / 3, i as i64 % 3 - src % 3);
                assert!(dy.abs() <= 1 && dx.abs() <= 1, "{out:?}");
                seen_shift |= dy != 0 || dx != 0;
            }
        }
        assert!(seen_shift);
    }
}
