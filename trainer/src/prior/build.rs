//! The prior a config asks for: fresh, or from a checkpoint's parameters.

use std::time::Instant;

use super::{
    AnnealSettings, BoltzmannParams, BoltzmannPrior, FactorizedParams, FactorizedPrior, Prior,
    PriorError, PriorState, QuantumParams, QuantumPrior,
};
use crate::annealer::Annealer;
use crate::config::{PriorKind, RunConfig};
use crate::embedding::{self, CliqueOptions};
use crate::seed;

/// Builds the prior of `config`, fresh (`state` None) or from a checkpoint. The quantum prior
/// needs `annealer`: its properties decide the embedding and are checked against the config
/// (anneal time, chain strength, reads per call). `log` hears what was found.
pub fn build(
    config: &RunConfig,
    state: Option<PriorState>,
    annealer: Option<Box<dyn Annealer + Send>>,
    log: &mut dyn FnMut(String),
) -> Result<Box<dyn Prior + Send>, PriorError> {
    let units = config.model.hidden2;
    let run_seed = config.run.seed;
    let kind = config.prior.kind;
    match (kind, state) {
        (PriorKind::Factorized, Some(PriorState::Factorized(p))) => {
            Ok(Box::new(FactorizedPrior::new(p)))
        }
        (PriorKind::Factorized, None) => Ok(Box::new(FactorizedPrior::new(FactorizedParams {
            bias: vec![0.0; units],
            seed: seed::prior_seed(run_seed, kind),
        }))),
        (PriorKind::Boltzmann, Some(PriorState::Boltzmann(p))) => {
            Ok(Box::new(BoltzmannPrior::new(p)))
        }
        (PriorKind::Boltzmann, None) => Ok(Box::new(BoltzmannPrior::new(BoltzmannParams::new(
            units,
            config.prior.gibbs_sweeps,
            seed::prior_seed(run_seed, kind),
        )))),
        (PriorKind::Quantum, state @ (None | Some(PriorState::Quantum(_)))) => {
            let Some(mut annealer) = annealer else {
                return Err(PriorError::Config(crate::config::ConfigError::field(
                    "prior.kind",
                    "the quantum prior needs an annealer",
                )));
            };
            let props = annealer.properties()?;
            config.check_solver(&props)?;
            let params = match state {
                Some(PriorState::Quantum(p)) => {
                    p.embedding.validate(&props.graph, units)?;
                    p
                }
                _ => {
                    let started = Instant::now();
                    let options = CliqueOptions {
                        seed: seed::embedding(run_seed),
                        ..CliqueOptions::default()
                    };
                    let family = props.topology.family();
                    let found =
                        embedding::embed_clique_with(&props.graph, units, family, &options)?;
                    log(format!(
                        "embedded K{} into {} ({:?}) in {:.0} ms: {}",
                        units,
                        props.name,
                        found.method,
                        started.elapsed().as_secs_f64() * 1e3,
                        found.embedding.stats()
                    ));
                    QuantumParams::new(
                        found.embedding,
                        &props,
                        config.annealing.chain_strength,
                        seed::prior_seed(run_seed, kind),
                    )
                }
            };
            let settings = AnnealSettings {
                annealing_time: config.annealing.annealing_time,
                // Only where the annealer takes a seed (the emulator, and real solvers behind
                // sapi-proxy that list `x_seed`): real hardware refuses one.
                seeded_requests: props.parameters.iter().any(|p| p == "seed"),
                chain_strength: config.annealing.chain_strength,
                reads_per_call: config.annealing.reads_per_call,
                // check_solver has kept both inside the solver's u32 ranges.
                programming_thermalization: config
                    .annealing
                    .programming_thermalization
                    .map(|v| v as u32),
                readout_thermalization: config.annealing.readout_thermalization.map(|v| v as u32),
            };
            Ok(Box::new(QuantumPrior::new(params, settings, &props, annealer)))
        }
        (kind, Some(state)) => {
            Err(PriorError::KindMismatch { wanted: kind.name(), found: state.kind_name() })
        }
    }
}
