//! Solver profiles: the solvers the emulator can be. A profile is what the solver reports
//! (its [`SolverProperties`]: working graph, ranges, timing data) and how it behaves behind
//! them ([`Physics`]: the hidden β range, the ICE noise and the anneal model). Clients see the
//! first through `GetProperties` and never the second.
//!
//! - [`Solver::Dw2000q5`] (`DW_2000Q_5`, the default): a D-Wave 2000Q, DW_2000Q_5's recorded
//!   working graph with DW_2000Q_6's timing data.
//! - [`Solver::Advantage2System1_5`] (`Advantage2_system1.5`): built from the solver record
//!   shipped in `data/solvers/`, embedded in the library at compile time.
//! - [`Solver::AdvantageSystemEmulated`] (`Advantage_system_emulated`): an Advantage-class
//!   Pegasus P16 chip whose yield mask is synthetic (drawn from a fixed seed), with the ranges
//!   D-Wave documents for Advantage systems and Advantage_system4.1's timing data.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use qahm_common::properties::{
    ACCEPTED_PARAMETERS, ProblemTimingData, Range, ReadoutTimeModel, SolverProperties, Topology,
    UnusedTimingData,
};
use qahm_common::solver_record::SolverRecord;
use qahm_common::topology::{Chimera, Family, Pegasus, WorkingGraph};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::anneal_time::AnnealModel;

/// The solver record the Advantage2 profile is built from (see `data/solvers/README.md`).
const ADVANTAGE2_RECORD: &str = include_str!("../../data/solvers/Advantage2_system1.5.json");

/// Seed of the emulated Advantage's yield mask.
const ADVANTAGE_EMULATED_YIELD_SEED: u64 = 0x00AD_5627;
/// Working qubits of the emulated Advantage: 5627 of the P16 fabric's 5640, the yield D-Wave's
/// documentation gives as an example of an Advantage QPU.
const ADVANTAGE_EMULATED_QUBITS: usize = 5627;

/// A solver the emulator can be, by its SAPI name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Solver {
    #[default]
    #[serde(rename = "DW_2000Q_5")]
    Dw2000q5,
    #[serde(rename = "Advantage2_system1.5")]
    Advantage2System1_5,
    #[serde(rename = "Advantage_system_emulated")]
    AdvantageSystemEmulated,
}

/// A solver name the emulator does not know.
#[derive(Clone, Debug, Error, PartialEq)]
#[error("unknown solver {name:?}; the emulator's solvers are {}", Solver::names())]
pub struct UnknownSolver {
    pub name: String,
}

impl Solver {
    pub const ALL: [Solver; 3] =
        [Solver::Dw2000q5, Solver::Advantage2System1_5, Solver::AdvantageSystemEmulated];

    /// The SAPI name the solver reports.
    pub fn name(self) -> &'static str {
        match self {
            Solver::Dw2000q5 => "DW_2000Q_5",
            Solver::Advantage2System1_5 => "Advantage2_system1.5",
            Solver::AdvantageSystemEmulated => "Advantage_system_emulated",
        }
    }

    /// Every name, comma-separated (for help texts and errors).
    pub fn names() -> String {
        Solver::ALL.map(Solver::name).join(", ")
    }

    /// What the solver reports: its working graph (the full chip with `full_yield`), ranges and
    /// timing data.
    pub fn properties(self, full_yield: bool) -> SolverProperties {
        match self {
            Solver::Dw2000q5 => {
                let graph = if full_yield {
                    Chimera::C16.working_graph(&[], &[])
                } else {
                    Chimera::dw_2000q_5()
                };
                SolverProperties::dw_2000q(self.name(), graph)
            }
            Solver::Advantage2System1_5 => {
                let mut props = advantage2().clone();
                props.description = "Advantage2 system (qahm emulator)".into();
                if full_yield {
                    props.graph = full_graph(&props.topology);
                }
                props
            }
            Solver::AdvantageSystemEmulated => {
                let family = Family::Pegasus(Pegasus::P16);
                let fabric = family.qubits().len();
                let graph = if full_yield {
                    family.full_graph()
                } else {
                    family.random_faulty(
                        ADVANTAGE_EMULATED_YIELD_SEED,
                        fabric - ADVANTAGE_EMULATED_QUBITS,
                        0,
                    )
                };
                advantage_emulated(self.name(), graph)
            }
        }
    }

    /// How the solver behaves: its hidden β range, ICE noise and anneal model.
    pub fn physics(self) -> Physics {
        match self {
            Solver::Dw2000q5 => Physics {
                beta_min: 8.0,
                beta_max: 16.0,
                beta_jitter: 0.03,
                sigma_h: 0.025,
                sigma_j: 0.015,
                ice_static_fraction: 0.85,
                anneal: AnnealModel::dw_2000q(),
            },
            // No published β_eff or ICE figures of these chips in problem units are known to
            // us: they keep the 2000Q's, and their anneal models are calibrated with these.
            Solver::Advantage2System1_5 => {
                Physics { anneal: AnnealModel::advantage2(), ..Solver::Dw2000q5.physics() }
            }
            Solver::AdvantageSystemEmulated => {
                Physics { anneal: AnnealModel::advantage(), ..Solver::Dw2000q5.physics() }
            }
        }
    }
}

impl fmt::Display for Solver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Solver {
    type Err = UnknownSolver;

    fn from_str(name: &str) -> Result<Self, UnknownSolver> {
        Solver::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| UnknownSolver { name: name.to_string() })
    }
}

/// How a solver behaves behind its properties; never reported.
#[derive(Clone, Debug, PartialEq)]
pub struct Physics {
    /// β_eff is drawn uniformly from [beta_min, beta_max] (problem units) from the device seed.
    pub beta_min: f64,
    pub beta_max: f64,
    /// Relative jitter of β at each programming: β·(1 + U(−x, x)).
    pub beta_jitter: f64,
    /// ICE: Gaussian error on each programmed h and J.
    pub sigma_h: f64,
    pub sigma_j: f64,
    /// Share of the ICE variance that is the device's own (fixed per qubit and coupler).
    pub ice_static_fraction: f64,
    /// Anneal time → Monte Carlo work.
    pub anneal: AnnealModel,
}

/// The Advantage2 record's properties, read once.
fn advantage2() -> &'static SolverProperties {
    static PROPERTIES: OnceLock<SolverProperties> = OnceLock::new();
    PROPERTIES.get_or_init(|| {
        SolverRecord::from_json(ADVANTAGE2_RECORD)
            .and_then(|record| record.properties())
            .expect("the embedded Advantage2_system1.5 record is a valid solver record")
    })
}

/// The full chip of a topology qahm knows.
fn full_graph(topology: &Topology) -> WorkingGraph {
    topology.family().expect("a profile's topology is a known family").full_graph()
}

/// An Advantage-class Pegasus P16 solver on `graph`: the ranges D-Wave documents for its
/// Advantage systems and Advantage_system4.1's problem_timing_data (Aug 2022, as
/// dwave-cloud-client's test fixtures record it).
fn advantage_emulated(name: &str, graph: WorkingGraph) -> SolverProperties {
    let synthetic = graph.qubits().len() < 5640;
    let description = if synthetic {
        "Advantage-class Pegasus P16 system (qahm emulator; its yield mask is synthetic: \
         5627 of the 5640 fabric qubits, drawn from a fixed seed)"
    } else {
        "Advantage-class Pegasus P16 system (qahm emulator; the full-yield fabric)"
    };
    let readout = ReadoutTimeModel::from_sapi(
        "pwl_log_log",
        &[
            0.0,
            0.7699665876947938,
            1.7242758696010096,
            2.711975459489206,
            3.1639057672764026,
            3.750276915153992,
            1.539131714800995,
            1.8726623164229292,
            2.125631787097315,
            2.332672340068556,
            2.371606651233025,
            2.3716219271760215,
        ],
    )
    .expect("Advantage_system4.1's readout curve is valid");
    SolverProperties {
        name: name.into(),
        description: description.into(),
        topology: Family::Pegasus(Pegasus::P16).into(),
        graph,
        h_range: Range::new(-4.0, 4.0),
        j_range: Range::new(-1.0, 1.0),
        extended_j_range: Some(Range::new(-2.0, 1.0)),
        per_qubit_coupling_range: Some(Range::new(-18.0, 15.0)),
        per_group_coupling_range: None,
        annealing_time_range: Range::new(0.5, 2000.0),
        default_annealing_time: 20.0,
        num_reads_range: Range::new(1, 10_000),
        problem_run_duration_range: Range::new(0, 1_000_000),
        programming_thermalization_range: Range::new(0, 10_000),
        default_programming_thermalization: 1000,
        readout_thermalization_range: Range::new(0, 10_000),
        default_readout_thermalization: 0,
        timing: ProblemTimingData {
            version: "1.0.0".into(),
            typical_programming_time: 14_072.88,
            readout,
            qpu_delay_time_per_sample: 20.54,
            unused: Some(UnusedTimingData {
                reverse_annealing_with_reinit_prog_time_delta: 0.0,
                reverse_annealing_without_reinit_prog_time_delta: 5.55,
                reverse_annealing_with_reinit_delay_time_delta: -4.5,
                reverse_annealing_without_reinit_delay_time_delta: -1.5,
                decorrelation_max_nominal_anneal_time: 2000.0,
                decorrelation_time_range: Range::new(500.0, 10_000.0),
            }),
        },
        parameters: ACCEPTED_PARAMETERS.iter().map(|s| s.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qahm_common::topology::Zephyr;

    #[test]
    fn names_parse_back_and_unknown_ones_list_the_solvers() {
        for solver in Solver::ALL {
            assert_eq!(solver.name().parse::<Solver>(), Ok(solver));
            assert_eq!(solver.properties(false).name, solver.name());
        }
        let e = "DW_2000Q_6".parse::<Solver>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown solver \"DW_2000Q_6\"; the emulator's solvers are DW_2000Q_5, \
             Advantage2_system1.5, Advantage_system_emulated"
        );
        assert_eq!(Solver::default(), Solver::Dw2000q5);
    }

    #[test]
    fn the_2000q_profile_is_the_2000q() {
        let props = Solver::Dw2000q5.properties(false);
        assert_eq!(props, SolverProperties::dw_2000q("DW_2000Q_5", Chimera::dw_2000q_5()));
        assert_eq!(Solver::Dw2000q5.properties(true).graph.qubits().len(), 2048);
    }

    #[test]
    fn the_advantage2_profile_reports_its_record() {
        let record = SolverRecord::shipped("Advantage2_system1.5").unwrap().properties().unwrap();
        let props = Solver::Advantage2System1_5.properties(false);
        assert_eq!(SolverProperties { description: record.description.clone(), ..props }, record);
        let props = Solver::Advantage2System1_5.properties(false);
        assert_eq!(props.topology.family(), Some(Family::Zephyr(Zephyr::Z12)));
        assert_eq!(props.graph.num_qubits(), 4800);
        assert_eq!(props.graph.qubits().len(), 4594);
        assert_eq!(props.graph.couplers().len(), 41_813);
        assert_eq!(props.h_range, Range::new(-6.0, 6.0));
        assert_eq!(props.j_range, Range::new(-1.0, 1.0));
        assert_eq!(props.extended_j_range, Some(Range::new(-2.0, 1.0)));
        assert_eq!(props.per_group_coupling_range, Some(Range::new(-13.0, 10.0)));
        assert_eq!(props.annealing_time_range, Range::new(0.5, 2000.0));
        assert_eq!(props.default_annealing_time, 20.0);
        assert_eq!(props.timing.typical_programming_time, 33_636.7);
        assert_eq!(props.timing.qpu_delay_time_per_sample, 60.57);
        assert_eq!(props.timing.readout.sapi_name(), Some("pwl_log_log"));
        let full = Solver::Advantage2System1_5.properties(true);
        assert_eq!((full.graph.qubits().len(), full.graph.couplers().len()), (4800, 45_864));
    }

    #[test]
    fn the_emulated_advantage_is_the_p16_fabric_less_13_qubits() {
        let props = Solver::AdvantageSystemEmulated.properties(false);
        let fabric = Family::Pegasus(Pegasus::P16).full_graph();
        assert_eq!(props.topology.family(), Some(Family::Pegasus(Pegasus::P16)));
        assert_eq!(props.graph.num_qubits(), 5760);
        assert_eq!(props.graph.qubits().len(), 5627);
        assert!(props.graph.qubits().iter().all(|&q| fabric.is_active(q)));
        // Every fabric coupler between working qubits is there, and no other.
        let kept = fabric
            .couplers()
            .iter()
            .filter(|&&(u, v)| props.graph.is_active(u) && props.graph.is_active(v))
            .count();
        assert_eq!(props.graph.couplers().len(), kept);
        assert!(props.graph.couplers().iter().all(|&(u, v)| fabric.has_coupler(u, v)));
        assert!(props.description.contains("yield mask is synthetic"), "{}", props.description);
        assert_eq!(props, Solver::AdvantageSystemEmulated.properties(false), "a fixed mask");
        assert_eq!(props.h_range, Range::new(-4.0, 4.0));
        assert_eq!(props.extended_j_range, Some(Range::new(-2.0, 1.0)));
        assert_eq!(props.annealing_time_range, Range::new(0.5, 2000.0));
        assert_eq!(Solver::AdvantageSystemEmulated.properties(true).graph.qubits().len(), 5640);
    }
}
