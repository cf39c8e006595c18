//! The evaluation of a trained model as one report: the numbers `trainer eval` prints and
//! writes to `eval.json`, computed by [`evaluate`] from a machine, its data, digits it
//! generated and, for the likelihood, the prior's log-probability (drawing the prior and
//! estimating its log Z are the caller's business: one may need an annealer, the other is
//! costly).

use std::fmt;

use ndarray::{Array1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::frechet::frechet_distance;
use super::judge::{Judge, first_rows};
use super::likelihood::{self, LikelihoodOptions, LikelihoodReport, PriorDensity};
use super::novelty::{class_histogram, entropy_bits, nearest_distances, nearest_other_distances};
use super::{accuracy_of, reconstruction_error};
use crate::data::Dataset;
use crate::model::{Generated, HelmholtzMachine, Region, argmax_rows, region_mask};
use crate::seed;

/// What [`evaluate`] is asked to do besides the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvalOptions {
    /// The checkpoint's update count (recorded in the report).
    pub checkpoint: u64,
    /// The evaluation seed (see [`seed::eval`]).
    pub seed: u64,
    /// Stochastic passes per test image for the sampled accuracy (0 = not measured).
    pub class_samples: usize,
    /// The part of each test image hidden for inpainting.
    pub hide: Region,
    /// Mean-field passes of inpainting.
    pub inpaint_passes: usize,
    /// The importance-sampled log-likelihood's size (`None`: not measured).
    pub likelihood: Option<LikelihoodOptions>,
}

/// Digits `trainer eval` generates unless told otherwise.
pub const DEFAULT_SAMPLES: usize = 1000;
/// Reads per annealer call when generating them.
pub const DEFAULT_READS_PER_CALL: usize = 10;
/// Stochastic passes per test image for the sampled accuracy.
pub const DEFAULT_CLASS_SAMPLES: usize = 10;
/// Mean-field passes of inpainting.
pub const DEFAULT_INPAINT_PASSES: usize = 10;
/// Importance samples per test image for the log-likelihood.
pub const DEFAULT_LL_SAMPLES: usize = 100;
/// Test images the log-likelihood is over (the first ones).
pub const DEFAULT_LL_IMAGES: usize = 1000;
/// AIS for a Boltzmann prior's log Z: 100 chains of 10,000 temperatures (log Z's standard
/// error ≈ 0.007 nats on the default run's prior, ~2 s).
pub const DEFAULT_AIS: likelihood::AisSettings =
    likelihood::AisSettings { chains: 100, temperatures: 10_000 };

impl EvalOptions {
    /// `trainer eval`'s defaults for the checkpoint after `checkpoint` updates.
    pub fn standard(checkpoint: u64, seed: u64) -> Self {
        EvalOptions {
            checkpoint,
            seed,
            class_samples: DEFAULT_CLASS_SAMPLES,
            hide: Region::Bottom,
            inpaint_passes: DEFAULT_INPAINT_PASSES,
            likelihood: Some(LikelihoodOptions {
                samples: DEFAULT_LL_SAMPLES,
                images: DEFAULT_LL_IMAGES,
            }),
        }
    }
}

/// Everything `trainer eval` measures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Updates the evaluated checkpoint holds.
    pub checkpoint: u64,
    pub seed: u64,
    /// Test images every test-set figure is over.
    pub test_images: usize,
    pub accuracy: AccuracyReport,
    /// Mean-field reconstruction pixel MSE over the test set (pixels in [−1, 1]).
    pub reconstruction_mse: f32,
    pub inpainting: InpaintingReport,
    pub novelty: NoveltyReport,
    /// Generated digits as a classifier trained on the data sees them (absent in reports
    /// written without a judge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<JudgeReport>,
    /// The test log-likelihood, where the prior's log-probability can be had (not for the
    /// quantum prior) and it was asked for; absent from reports older than it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likelihood: Option<LikelihoodReport>,
}

/// Sample quality by the data set's judge ([`Judge`]): are the generated digits digits, of the
/// class their class bits say, of every class, and distributed like real ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JudgeReport {
    /// The judge's own accuracy on the test split (how far to trust it).
    pub judge_test_accuracy: f64,
    /// Fraction of generated digits the judge puts in the class their class bits name.
    pub agreement: f64,
    /// Generated digits per class the judge names.
    pub judged_histogram: Vec<u64>,
    /// Entropy of that histogram in bits (log2(classes) when every class is equally common).
    pub judged_entropy_bits: f64,
    /// The judge's mean probability of its chosen class over generated digits.
    pub mean_confidence: f64,
    /// The same over the compared test images: what "clearly a digit" reads as.
    pub test_mean_confidence: f64,
    /// Fréchet distance between the judge's penultimate features of the generated digits and
    /// of every test image.
    pub frechet: f64,
    /// The same for as many training images as there are generated digits: the floor a
    /// perfect sampler would reach with this many digits (the estimate is biased upward at
    /// small sample sizes, so compare with this, not with 0).
    pub frechet_train_reference: f64,
}

/// Test accuracy through the model (class bits hidden).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccuracyReport {
    /// One mean-field pass.
    pub mean_field: f64,
    /// Class units averaged over `sampled_passes` stochastic passes (`None` with 0 passes).
    pub sampled: Option<f64>,
    pub sampled_passes: usize,
    /// Through the recognition network: a soft-max read-out of its mean-field top code,
    /// fitted on the training split ([`super::probe`]); absent without class bits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recognition: Option<f64>,
}

/// Restoring a hidden part of each test image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InpaintingReport {
    pub hidden: Region,
    /// Pixels hidden per image.
    pub hidden_pixels: usize,
    pub passes: usize,
    /// Pixel MSE of the restored pixels, over the hidden pixels only.
    pub mse: f32,
    /// The same for a model-free guess: each hidden pixel set to its training-set mean.
    pub train_mean_mse: f32,
}

/// Generated digits against real ones (Euclidean distances in pixel space, pixels in [−1, 1]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoveltyReport {
    /// Generated digits.
    pub generated: usize,
    /// Test images the generated digits are compared with (the first `generated`, or all).
    pub test_compared: usize,
    /// Mean distance from a generated digit to its nearest training image.
    pub generated_to_train: f32,
    /// The same for test images: what "new but plausible" looks like.
    pub test_to_train: f32,
    /// Mean distance from a generated digit to its nearest other generated digit (small:
    /// the model repeats itself).
    pub generated_to_generated: f32,
    /// The same among the compared test images.
    pub test_to_test: f32,
    /// The same among renderings of the compared test images: each drawn as a generated
    /// digit is (u2 from Q given the image, u1 ~ P(u1 | u2), the generator's mean pixels).
    /// The generator's means are smoother than real images, which alone brings digits
    /// closer together; its renderings of real, varied digits say how close "as varied as
    /// the data, drawn by this generator" is. Absent in reports older than it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered_to_rendered: Option<f32>,
    /// Generated digits per class (the most probable class of their class bits).
    pub class_histogram: Vec<u64>,
    /// Entropy of that histogram in bits.
    pub class_entropy_bits: f64,
    /// Its largest possible value, log2(classes).
    pub max_entropy_bits: f64,
}

/// Evaluates `machine` on `test` (with `train` as the reference for novelty and the inpainting
/// baseline) and on `generated`, digits it produced; with `prior`, the prior's
/// log-probability, and `options.likelihood`, also the test log-likelihood (given two test
/// images at least, for its standard error). Deterministic given `options.seed`.
///
/// # Panics
/// If the data's shapes do not match the machine, or `test` or `generated` is empty.
pub fn evaluate(
    machine: &HelmholtzMachine,
    train: &Dataset,
    test: &Dataset,
    generated: &Generated,
    judge: Option<&Judge>,
    prior: Option<&PriorDensity>,
    options: &EvalOptions,
) -> EvalReport {
    assert!(!test.is_empty() && generated.pixels.nrows() > 0, "evaluate: no images");
    let mean_field = accuracy_of(&machine.classify(test.pixels()), test.labels());
    let sampled = (options.class_samples > 0).then(|| {
        let mut rng = seed::eval(options.seed);
        let scores = machine.class_scores_sampled(test.pixels(), options.class_samples, &mut rng);
        accuracy_of(&argmax_rows(scores.view()), test.labels())
    });

    let hidden = region_mask(options.hide, test.height());
    let restored = machine.inpaint(test.pixels(), &hidden, options.inpaint_passes).restored;
    let mean_image = train.pixels().mean_axis(Axis(0)).expect("a training set has images");
    let baseline = fill_hidden(test.pixels(), &hidden, &mean_image);

    let width = machine.sizes.pixels;
    let compared = generated.pixels.nrows().min(test.len());
    let test_part = test.pixels().slice_move(ndarray::s![..compared, ..]);
    let histogram = class_histogram(&generated.labels, machine.sizes.classes);
    let test_visible = test.visible();
    let rendered = machine
        .reconstruct_sampled(
            test_visible.slice(ndarray::s![..compared, ..]),
            &mut seed::eval_render(options.seed),
        )
        .visible;
    let likelihood =
        prior.zip(options.likelihood).filter(|_| test.len() >= 2).map(|(prior, ll)| {
            likelihood::estimate(machine, prior, test_visible.view(), &ll, options.seed)
        });

    EvalReport {
        checkpoint: options.checkpoint,
        seed: options.seed,
        test_images: test.len(),
        accuracy: AccuracyReport {
            mean_field,
            sampled,
            sampled_passes: options.class_samples,
            recognition: (machine.sizes.classes > 0)
                .then(|| super::probe::recognition_accuracy(machine, train, test)),
        },
        reconstruction_mse: reconstruction_error(machine, test, 0),
        inpainting: InpaintingReport {
            hidden: options.hide,
            hidden_pixels: hidden.iter().filter(|&&h| h).count(),
            passes: options.inpaint_passes,
            mse: hidden_mse(test.pixels(), restored.view(), &hidden),
            train_mean_mse: hidden_mse(test.pixels(), baseline.view(), &hidden),
        },
        novelty: NoveltyReport {
            generated: generated.pixels.nrows(),
            test_compared: compared,
            generated_to_train: mean(&nearest_distances(
                generated.pixels.view(),
                train.pixels(),
                width,
            )),
            test_to_train: mean(&nearest_distances(test_part, train.pixels(), width)),
            generated_to_generated: mean(&nearest_other_distances(generated.pixels.view(), width)),
            test_to_test: mean(&nearest_other_distances(test_part, width)),
            rendered_to_rendered: Some(mean(&nearest_other_distances(rendered.view(), width))),
            class_entropy_bits: entropy_bits(&histogram),
            max_entropy_bits: (machine.sizes.classes.max(1) as f64).log2(),
            class_histogram: histogram,
        },
        judge: judge.map(|j| judge_report(j, train, test, generated)),
        likelihood,
    }
}

/// What `judge` makes of `generated` next to `train` and `test`.
pub fn judge_report(
    judge: &Judge,
    train: &Dataset,
    test: &Dataset,
    generated: &Generated,
) -> JudgeReport {
    let n = generated.pixels.nrows();
    let seen = judge.judge(generated.pixels.view());
    let real = judge.judge(test.pixels());
    let reference = judge.judge(first_rows(train.pixels(), n));
    let histogram = class_histogram(&seen.labels, judge.classes);
    JudgeReport {
        judge_test_accuracy: judge.test_accuracy,
        agreement: accuracy_of(&seen.labels, &generated.labels),
        judged_entropy_bits: entropy_bits(&histogram),
        judged_histogram: histogram,
        mean_confidence: f64::from(mean(&seen.confidence)),
        test_mean_confidence: f64::from(mean(&real.confidence)),
        frechet: frechet_distance(seen.features.view(), real.features.view()),
        frechet_train_reference: frechet_distance(reference.features.view(), real.features.view()),
    }
}

/// Pixel MSE between `original` and `restored` over the pixels `hidden` marks only: the
/// shown pixels are copied from the input, so counting them would dilute the error.
pub fn hidden_mse(original: ArrayView2<f32>, restored: ArrayView2<f32>, hidden: &[bool]) -> f32 {
    let mut sum = 0.0f64;
    let mut count = 0usize;
    for (a, b) in original.outer_iter().zip(restored.outer_iter()) {
        for ((&x, &y), &h) in a.iter().zip(b.iter()).zip(hidden) {
            if h {
                sum += f64::from((x - y) * (x - y));
                count += 1;
            }
        }
    }
    if count == 0 { 0.0 } else { (sum / count as f64) as f32 }
}

/// `pixels` with every hidden pixel replaced by `fill`'s value at its position.
fn fill_hidden(
    pixels: ArrayView2<f32>,
    hidden: &[bool],
    fill: &Array1<f32>,
) -> ndarray::Array2<f32> {
    let mut out = pixels.to_owned();
    for mut row in out.outer_iter_mut() {
        for ((value, &h), &f) in row.iter_mut().zip(hidden).zip(fill) {
            if h {
                *value = f;
            }
        }
    }
    out
}

fn mean(values: &[f32]) -> f32 {
    let sum: f64 = values.iter().map(|&v| f64::from(v)).sum();
    (sum / values.len().max(1) as f64) as f32
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, i, n) = (&self.accuracy, &self.inpainting, &self.novelty);
        writeln!(
            f,
            "evaluation of the checkpoint after {} updates (seed {}, {} test images)",
            self.checkpoint, self.seed, self.test_images
        )?;
        writeln!(f, "test accuracy through the model (class bits hidden)")?;
        writeln!(f, "  mean-field pass            {:.4}", a.mean_field)?;
        match a.sampled {
            Some(acc) => writeln!(f, "  {:>3} stochastic passes      {acc:.4}", a.sampled_passes)?,
            None => writeln!(f, "  stochastic passes          not measured (--class-samples 0)")?,
        }
        if let Some(acc) = a.recognition {
            writeln!(
                f,
                "through the recognition network (soft-max read-out of its top code)  {acc:.4}"
            )?;
        }
        writeln!(
            f,
            "reconstruction pixel MSE (mean-field, pixels in [-1, 1])  {:.4}",
            self.reconstruction_mse
        )?;
        writeln!(
            f,
            "inpainting, {} half hidden ({} pixels, {} passes): MSE over hidden pixels {:.4}; filled with the training-set mean image {:.4}",
            region_name(i.hidden),
            i.hidden_pixels,
            i.passes,
            i.mse,
            i.train_mean_mse
        )?;
        writeln!(
            f,
            "novelty (mean Euclidean distance to the nearest image; {} generated, {} test)",
            n.generated, n.test_compared
        )?;
        writeln!(f, "                              generated     test")?;
        writeln!(
            f,
            "  to the training set         {:>9.3} {:>8.3}",
            n.generated_to_train, n.test_to_train
        )?;
        writeln!(
            f,
            "  to another of its own set   {:>9.3} {:>8.3}",
            n.generated_to_generated, n.test_to_test
        )?;
        if let Some(rendered) = n.rendered_to_rendered {
            writeln!(f, "  test images as the generator draws them, to another: {rendered:.3}")?;
        }
        let counts: Vec<String> = n.class_histogram.iter().map(u64::to_string).collect();
        writeln!(
            f,
            "generated classes [{}]: entropy {:.3} of at most {:.3} bits",
            counts.join(" "),
            n.class_entropy_bits,
            n.max_entropy_bits
        )?;
        if let Some(j) = &self.judge {
            let counts: Vec<String> = j.judged_histogram.iter().map(u64::to_string).collect();
            writeln!(
                f,
                "judged by a classifier trained on the training set (its test accuracy {:.4})",
                j.judge_test_accuracy
            )?;
            writeln!(f, "  agreement with the generated class bits   {:.4}", j.agreement)?;
            writeln!(
                f,
                "  judged classes [{}]: entropy {:.3} bits",
                counts.join(" "),
                j.judged_entropy_bits
            )?;
            writeln!(
                f,
                "  mean confidence                           {:.4} (test images {:.4})",
                j.mean_confidence, j.test_mean_confidence
            )?;
            writeln!(
                f,
                "  Frechet distance to the test set          {:.3} (as many training images: {:.3})",
                j.frechet, j.frechet_train_reference
            )?;
        }
        match &self.likelihood {
            Some(l) => write!(f, "{l}"),
            None => Ok(()),
        }
    }
}

fn region_name(region: Region) -> &'static str {
    match region {
        Region::Top => "top",
        Region::Bottom => "bottom",
        Region::Left => "left",
        Region::Right => "right",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn inpainting_mse_counts_only_hidden_pixels() {
        let original = array![[1.0, 1.0, 0.0, 0.0]];
        // The shown pixels differ wildly; only the hidden two (errors 1 and 0.25) count.
        let restored = array![[-1.0, -1.0, 1.0, 0.5]];
        let hidden = [false, false, true, true];
        let mse = hidden_mse(original.view(), restored.view(), &hidden);
        assert!((mse - 0.625).abs() < 1e-6, "{mse}");
    }

    #[test]
    fn inpainting_mse_averages_over_images_and_hidden_pixels() {
        let original = array![[0.0, 0.0], [0.0, 0.0]];
        let restored = array![[2.0, 9.0], [0.0, 9.0]];
        let mse = hidden_mse(original.view(), restored.view(), &[true, false]);
        assert!((mse - 2.0).abs() < 1e-6, "{mse}");
    }

    #[test]
    fn a_report_without_a_likelihood_omits_the_key_and_reports_older_than_it_still_parse() {
        let report = EvalReport {
            checkpoint: 3,
            seed: 0,
            test_images: 2,
            accuracy: AccuracyReport {
                mean_field: 0.5,
                sampled: None,
                sampled_passes: 0,
                recognition: None,
            },
            reconstruction_mse: 0.1,
            inpainting: InpaintingReport {
                hidden: Region::Bottom,
                hidden_pixels: 8,
                passes: 1,
                mse: 0.2,
                train_mean_mse: 0.3,
            },
            novelty: NoveltyReport {
                generated: 2,
                test_compared: 2,
                generated_to_train: 1.0,
                test_to_train: 1.0,
                generated_to_generated: 1.0,
                test_to_test: 1.0,
                rendered_to_rendered: None,
                class_histogram: vec![1, 1],
                class_entropy_bits: 1.0,
                max_entropy_bits: 1.0,
            },
            judge: None,
            likelihood: None,
        };
        // What an eval.json written before the likelihood existed looks like.
        let json = serde_json::to_value(&report).unwrap();
        assert!(json.get("likelihood").is_none(), "{json}");
        assert_eq!(serde_json::from_value::<EvalReport>(json).unwrap(), report);
    }

    #[test]
    fn the_mean_image_baseline_fills_only_hidden_pixels() {
        let pixels = array![[1.0, 1.0], [-1.0, -1.0]];
        let filled = fill_hidden(pixels.view(), &[false, true], &array![0.5, 0.25]);
        assert_eq!(filled, array![[1.0, 0.25], [-1.0, 0.25]]);
    }
}
