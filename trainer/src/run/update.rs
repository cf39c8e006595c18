//! One update of Algorithm 1 (the paper's wake-sleep with a sampled prior), and the training
//! state it advances: the networks, the prior, the run's random stream and the update count.
//!
//! An update: a recognition pass over the batch (wake phase) while the prior draws, then a
//! generator pass on the draw's samples (sleep phase), then the three parameter updates.
//! Nothing here touches files; [`super::Run`] owns the directory.

use std::time::Instant;

use ndarray::Array2;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::RunError;
use crate::config::RunConfig;
use crate::data::Dataset;
use crate::eval;
use crate::model::{AdamState, HelmholtzMachine, Optimizer};
use crate::prior::{Prior, PriorState};
use crate::seed::{self, Rng};

/// One line of `metrics.jsonl`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateMetrics {
    /// Updates completed, this one included (1-based).
    pub iteration: u64,
    pub epoch: f64,
    pub lr: f32,
    pub wake_objective: f32,
    pub sleep_objective: f32,
    /// Mean squared pixel error of the wake pass on this batch.
    pub batch_pixel_mse: f32,
    /// Mean-field reconstruction error on train / test subsets (on evaluation iterations).
    pub recon_train: Option<f32>,
    pub recon_test: Option<f32>,
    /// Test accuracy through the model (class bits hidden), on evaluation iterations.
    pub test_accuracy: Option<f64>,
    pub prior_gap_linear: f64,
    pub prior_gap_quadratic: f64,
    pub annealer_wall_ms: f64,
    pub qpu_access_ms: f64,
    /// Fraction of (read, chain) pairs broken before the majority vote.
    #[serde(default)]
    pub chain_breaks: f64,
    /// The annealer's effective β as the trainer sees it (pseudo-likelihood of the draw's
    /// physical reads on the programmed Hamiltonian); absent for classical priors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta_hat: Option<f64>,
    /// The logical units' β̂ ([`crate::prior::Draw::logical_beta_hat`]); absent for classical
    /// priors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta_hat_logical: Option<f64>,
    /// Mean normalised effective sample size of the wake phase's importance weights
    /// ([`crate::model::WakeStats::effective_samples`]; 1 with one wake sample).
    #[serde(default)]
    pub wake_effective_samples: f32,
    /// Time split of the update, ms: the wake phase and the annealer call run side by side
    /// (each timed on its own), then the sleep phase, then the parameter updates; `t_step_ms`
    /// is the wall time of the whole update.
    pub t_wake_ms: f64,
    pub t_annealer_ms: f64,
    pub t_sleep_ms: f64,
    pub t_update_ms: f64,
    #[serde(default)]
    pub t_step_ms: f64,
}

/// What a checkpoint holds of the training state (besides the config).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingState {
    /// Updates completed.
    pub iteration: u64,
    pub machine: HelmholtzMachine,
    pub prior: PriorState,
    /// The run's main stream (see [`crate::seed::run_stream`]).
    pub rng: Rng,
    /// Adam's moments (`schedule.optimizer = "adam"`); absent for the paper's rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<AdamState>,
    /// Wall time spent training so far, over every invocation (not part of the model state).
    #[serde(default)]
    pub wall_seconds: f64,
}

/// The order of training examples in epoch `epoch`: a shuffle seeded by (seed, epoch), so a
/// resumed run sees the same batches.
pub fn epoch_order(run_seed: u64, epoch: u64, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut seed::batch_order(run_seed, epoch));
    order
}

/// A training run in memory.
pub struct Trainer {
    config: RunConfig,
    machine: HelmholtzMachine,
    prior: Box<dyn Prior + Send>,
    /// Adam's moments when the config asks for Adam.
    adam: Option<AdamState>,
    rng: Rng,
    iteration: u64,
    train: Dataset,
    test: Dataset,
    train_visible: Array2<f32>,
    batch: Array2<f32>,
    /// Training wall time of earlier invocations, and when this one started.
    wall_before: f64,
    started: Instant,
}

impl Trainer {
    /// A run from its start (`state` None: weights drawn from the run's stream, visible biases
    /// from the data) or from a checkpoint's state (`prior` built from `state.prior`).
    pub fn start(
        config: RunConfig,
        state: Option<TrainingState>,
        train: Dataset,
        test: Dataset,
        prior: Box<dyn Prior + Send>,
    ) -> Result<Self, RunError> {
        config.validate()?;
        if !config.data.sizes_known() {
            // Everything counted in epochs would be wrong.
            return Err(crate::config::ConfigError::field(
                "data.train_size",
                "0 is not settled: the data set settles it before a run starts (run::settle_data)",
            )
            .into());
        }
        let train_visible = train.visible();
        let state = match state {
            Some(state) => {
                state.machine.validate()?;
                state
            }
            None => {
                let mut rng = seed::run_stream(config.run.seed);
                let init_std = config.model.init_std as f32;
                let mut machine = HelmholtzMachine::new(config.sizes(), init_std, &mut rng)?;
                machine.set_visible_bias_from_data(train_visible.view());
                let prior_state = prior.state();
                TrainingState {
                    iteration: 0,
                    machine,
                    prior: prior_state,
                    rng,
                    optimizer: None,
                    wall_seconds: 0.0,
                }
            }
        };
        let mut state = state;
        state.optimizer = match (config.schedule.optimizer, state.optimizer.take()) {
            (Optimizer::Sgd, _) => None,
            (Optimizer::Adam, Some(adam)) if adam.fits(&state.machine) => Some(adam),
            (Optimizer::Adam, Some(_)) => {
                return Err(crate::model::ModelError::Shapes(
                    "the checkpoint's Adam moments do not fit its machine".into(),
                )
                .into());
            }
            // A run switched to Adam at a resume starts its moments at zero, as Adam does.
            (Optimizer::Adam, None) => Some(AdamState::new(&state.machine)),
        };
        Ok(Self::assemble(config, state, prior, train, test, train_visible))
    }

    fn assemble(
        config: RunConfig,
        state: TrainingState,
        prior: Box<dyn Prior + Send>,
        train: Dataset,
        test: Dataset,
        train_visible: Array2<f32>,
    ) -> Self {
        let batch = Array2::zeros((0, train_visible.ncols()));
        Trainer {
            config,
            machine: state.machine,
            prior,
            adam: state.optimizer,
            rng: state.rng,
            iteration: state.iteration,
            train,
            test,
            train_visible,
            batch,
            wall_before: state.wall_seconds,
            started: Instant::now(),
        }
    }

    /// The state a checkpoint saves.
    pub fn state(&self) -> TrainingState {
        TrainingState {
            iteration: self.iteration,
            machine: self.machine.clone(),
            prior: self.prior_state(),
            rng: self.rng.clone(),
            optimizer: self.adam.clone(),
            wall_seconds: self.wall_seconds(),
        }
    }

    /// The prior's parameters as a checkpoint holds them (a copy: viewing only).
    pub fn prior_state(&self) -> crate::prior::PriorState {
        self.prior.state()
    }

    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    pub fn machine(&self) -> &HelmholtzMachine {
        &self.machine
    }

    /// The machine, the prior (for viewing draws: [`Prior::view`] leaves training state
    /// alone) and the training set, borrowed together.
    pub fn viewing(&mut self) -> (&HelmholtzMachine, &mut dyn Prior, &Dataset) {
        (&self.machine, self.prior.as_mut(), &self.train)
    }

    /// Updates completed.
    pub fn iteration(&self) -> u64 {
        self.iteration
    }

    pub fn done(&self) -> bool {
        self.iteration >= self.config.iterations()
    }

    /// Wall time spent training, including earlier invocations of a resumed run.
    pub fn wall_seconds(&self) -> f64 {
        self.wall_before + self.started.elapsed().as_secs_f64()
    }

    pub fn train_set(&self) -> &Dataset {
        &self.train
    }

    pub fn test_set(&self) -> &Dataset {
        &self.test
    }

    /// Makes [`Self::batch`] hold the examples of update `it`.
    fn load_batch(&mut self, it: u64) {
        let size = self.config.batch_size();
        if size == self.train.len() {
            return;
        }
        let per_epoch = self.config.batches_per_epoch();
        let (epoch, index) = (it / per_epoch, (it % per_epoch) as usize);
        let order = epoch_order(self.config.run.seed, epoch, self.train.len());
        let rows = &order[index * size..(index + 1) * size];
        if self.batch.nrows() != size {
            self.batch = Array2::zeros((size, self.train_visible.ncols()));
        }
        self.train.fill_visible(rows, self.batch.view_mut());
    }

    /// One update of Algorithm 1. Returns its metrics.
    ///
    /// The wake phase runs while the annealer samples (it does not need the samples, and the
    /// annealer does not need the new parameters): with a remote annealer its whole time hides
    /// behind the network wait. Each phase draws from its own stream, forked from the run's
    /// stream, so the result does not depend on which of the two finishes first.
    ///
    /// The draw runs on a thread of its own, not as the other half of a `rayon::join`: a remote
    /// draw waits on the network, and a rayon worker waiting on I/O is lost to the pool. With
    /// two runs in one process on a 2-core machine both workers were lost that way, and an
    /// annealer served from the same process (tests, the embedded setup) had no worker left
    /// to sample with: every call ran into its deadline.
    pub fn step(&mut self) -> Result<UpdateMetrics, RunError> {
        let it = self.iteration;
        let lr = self.config.lr(it);
        let reads = self.config.annealing.num_reads as usize;

        let t0 = Instant::now();
        self.load_batch(it);
        let mut wake_rng = Rng::from_rng(&mut self.rng);
        let mut sleep_rng = Rng::from_rng(&mut self.rng);
        let batch = if self.config.batch_size() == self.train.len() {
            self.train_visible.view()
        } else {
            self.batch.view()
        };
        let rule = self.config.wake_rule();
        // The prior as the previous update left it: the wake phase runs beside this update's
        // draw, which must not wait for it.
        let density = (rule.samples > 1).then(|| self.prior.log_density());
        let log_prior = |u2: &[f32]| density.as_ref().map_or(0.0, |d| d.log_unnormalised(u2));
        let (machine, prior) = (&self.machine, &mut self.prior);
        let ((wake, t_wake), (draw, t_annealer)) = std::thread::scope(|scope| {
            let drawing = scope.spawn(|| {
                let started = Instant::now();
                (prior.draw(reads, it), started.elapsed())
            });
            let started = Instant::now();
            let wake = machine.wake_gradient_with(batch, rule, &log_prior, &mut wake_rng);
            let wake = (wake, started.elapsed());
            (wake, drawing.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        let draw = draw?;
        let t1 = Instant::now();
        let (mut sleep_grad, sleep) =
            self.machine.sleep_gradient(draw.units.view(), &mut sleep_rng);
        if let Some(recognition) = &wake.recognition {
            sleep_grad.accumulate(recognition);
        }
        let (wake_grad, wake) = (wake.generator, wake.stats);
        let t2 = Instant::now();
        match &mut self.adam {
            Some(adam) => adam.apply(&mut self.machine, &wake_grad, &sleep_grad, lr),
            None => {
                self.machine.generator.apply(&wake_grad, lr);
                self.machine.recognition.apply(&sleep_grad, lr);
            }
        }
        let gap = self.prior.update(&draw, wake.u2.view(), self.config.prior_lr(it));
        let t3 = Instant::now();
        self.iteration += 1;

        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
        let mut metrics = UpdateMetrics {
            iteration: self.iteration,
            epoch: self.iteration as f64 / self.config.batches_per_epoch() as f64,
            lr,
            wake_objective: wake.objective(),
            sleep_objective: sleep.objective(),
            batch_pixel_mse: wake.pixel_mse,
            prior_gap_linear: gap.linear,
            prior_gap_quadratic: gap.quadratic,
            annealer_wall_ms: draw.annealer_wall_us / 1e3,
            qpu_access_ms: draw.qpu_access_us / 1e3,
            chain_breaks: draw.chain_breaks,
            wake_effective_samples: wake.effective_samples,
            beta_hat: draw.beta_hat,
            beta_hat_logical: draw.logical_beta_hat,
            t_wake_ms: t_wake.as_secs_f64() * 1e3,
            t_annealer_ms: t_annealer.as_secs_f64() * 1e3,
            t_sleep_ms: ms(t1, t2),
            t_update_ms: ms(t2, t3),
            t_step_ms: ms(t0, t3),
            ..UpdateMetrics::default()
        };
        if self.iteration.is_multiple_of(self.config.evaluation.every) || self.done() {
            let (train, test) = self.reconstruction_errors();
            metrics.recon_train = Some(train);
            metrics.recon_test = Some(test);
            metrics.test_accuracy = Some(self.test_accuracy());
        }
        Ok(metrics)
    }

    /// Mean-field reconstruction pixel MSE on (subsets of) the training and test sets.
    pub fn reconstruction_errors(&self) -> (f32, f32) {
        let size = self.config.evaluation.size;
        (
            eval::reconstruction_error(&self.machine, &self.train, size),
            eval::reconstruction_error(&self.machine, &self.test, size),
        )
    }

    /// Test accuracy through the model: class bits unknown, inferred through the generator.
    pub fn test_accuracy(&self) -> f64 {
        eval::accuracy(&self.machine, &self.test)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_orders_are_permutations_reproducible_by_seed() {
        let a = epoch_order(3, 5, 100);
        assert_eq!(a, epoch_order(3, 5, 100));
        assert_ne!(a, epoch_order(3, 6, 100));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    }
}
