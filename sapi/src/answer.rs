//! Answers in `format: "qp"`, and their mapping to qahm's [`Answer`].
//!
//! As recorded from a DW_2000Q_5 (2020) and an Advantage2_system1.5 (2025):
//! - `active_variables`: base64 little-endian `i32` qubit *labels* (not positions), ascending,
//!   each below `num_variables`, which is the solver's nominal `num_qubits` (2048, 4800);
//! - `solutions`: one row per sample over the active variables in that order, one bit each,
//!   the first variable in the most significant bit (the SAPI docs' table says little-endian;
//!   the recorded answers show MSB-first), each row padded to whole bytes. Bit 1 is +1 (ising)
//!   or 1 (qubo), bit 0 is −1 or 0;
//! - `energies`: base64 `f64` per row, in the submitted problem's type, without any offset;
//! - `num_occurrences`: base64 `i32` per row in histogram mode (absent in raw mode);
//! - `timing`: SAPI's timing block in µs (whole numbers in 2020, floats in 2025), with the
//!   2000Q's legacy aliases (`total_real_time`, `run_time_chip`, …) when present.
//!
//! qahm's [`SampleSet`] keeps rows packed exactly so, so a decoded answer encodes back to the
//! same base64 strings.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use qahm_common::answer::{Answer, Timing};
use qahm_common::sampleset::{SampleSet, SampleSetError};

use crate::codec::{CodecError, decode_bytes, decode_f64s, decode_i32s, encode_bytes};
use crate::codec::{encode_f64s, encode_i32s};
use crate::problem::ProblemType;

/// SAPI's `timing` block as on the wire, µs. Keys SAPI may add later are kept in `other`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AnswerTiming {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qpu_sampling_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qpu_anneal_time_per_sample: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qpu_readout_time_per_sample: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qpu_access_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qpu_access_overhead_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qpu_programming_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qpu_delay_time_per_sample: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_post_processing_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_processing_overhead_time: Option<f64>,
    /// 2000Q alias of `qpu_access_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_real_time: Option<f64>,
    /// 2000Q alias of `qpu_sampling_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_time_chip: Option<f64>,
    /// 2000Q alias of `qpu_anneal_time_per_sample`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anneal_time_per_run: Option<f64>,
    /// 2000Q alias of `qpu_readout_time_per_sample`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readout_time_per_run: Option<f64>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl AnswerTiming {
    /// The block qahm reports: the six QPU times of [`Timing`] (SAPI has no key for its
    /// `server_wall_time`).
    pub fn from_timing(t: &Timing) -> Self {
        AnswerTiming {
            qpu_sampling_time: Some(t.qpu_sampling_time),
            qpu_anneal_time_per_sample: Some(t.qpu_anneal_time_per_sample),
            qpu_readout_time_per_sample: Some(t.qpu_readout_time_per_sample),
            qpu_access_time: Some(t.qpu_access_time),
            qpu_programming_time: Some(t.qpu_programming_time),
            qpu_delay_time_per_sample: Some(t.qpu_delay_time_per_sample),
            ..AnswerTiming::default()
        }
    }

    /// qahm's timing; every QPU time it holds must be present. `server_wall_time` is 0.
    pub fn to_timing(&self) -> Result<Timing, AnswerError> {
        let need = |value: Option<f64>, key| value.ok_or(AnswerError::MissingTiming(key));
        Ok(Timing {
            qpu_programming_time: need(self.qpu_programming_time, "qpu_programming_time")?,
            qpu_anneal_time_per_sample: need(
                self.qpu_anneal_time_per_sample,
                "qpu_anneal_time_per_sample",
            )?,
            qpu_readout_time_per_sample: need(
                self.qpu_readout_time_per_sample,
                "qpu_readout_time_per_sample",
            )?,
            qpu_delay_time_per_sample: need(
                self.qpu_delay_time_per_sample,
                "qpu_delay_time_per_sample",
            )?,
            qpu_sampling_time: need(self.qpu_sampling_time, "qpu_sampling_time")?,
            qpu_access_time: need(self.qpu_access_time, "qpu_access_time")?,
            server_wall_time: 0.0,
        })
    }
}

/// An answer as on the wire (keys in the order SAPI writes them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QpAnswer {
    pub solutions: String,
    pub energies: String,
    pub timing: AnswerTiming,
    /// Histogram mode only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_occurrences: Option<String>,
    pub format: String,
    pub active_variables: String,
    pub num_variables: u32,
}

/// Why a `qp` answer is malformed; each names the field.
#[derive(Debug, Error, PartialEq)]
pub enum AnswerError {
    #[error("format is {0:?}; only \"qp\" is supported")]
    Format(String),
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("active_variables[{index}] is {label}: {reason}")]
    ActiveVariable { index: usize, label: i32, reason: &'static str },
    #[error("num_occurrences[{index}] is {count}, below 0")]
    NegativeOccurrence { index: usize, count: i32 },
    #[error(transparent)]
    Rows(#[from] SampleSetError),
    #[error("timing lacks {0}")]
    MissingTiming(&'static str),
}

impl QpAnswer {
    /// Reads the answer into qahm's types, checking that its parts agree.
    pub fn decode(&self) -> Result<Answer, AnswerError> {
        if self.format != "qp" {
            return Err(AnswerError::Format(self.format.clone()));
        }
        let labels = decode_i32s(&self.active_variables, "active_variables")?;
        let mut active_variables = Vec::with_capacity(labels.len());
        for (index, &label) in labels.iter().enumerate() {
            let bad = |reason| AnswerError::ActiveVariable { index, label, reason };
            let qubit = u32::try_from(label).map_err(|_| bad("below 0"))?;
            if qubit >= self.num_variables {
                return Err(bad("not below num_variables"));
            }
            if active_variables.last().is_some_and(|&previous| previous >= qubit) {
                return Err(bad("not above the one before"));
            }
            active_variables.push(qubit);
        }
        let num_occurrences = match &self.num_occurrences {
            None => None,
            Some(text) => Some(
                decode_i32s(text, "num_occurrences")?
                    .into_iter()
                    .enumerate()
                    .map(|(index, count)| {
                        u32::try_from(count)
                            .map_err(|_| AnswerError::NegativeOccurrence { index, count })
                    })
                    .collect::<Result<Vec<u32>, AnswerError>>()?,
            ),
        };
        let set = SampleSet {
            active_variables,
            solutions: decode_bytes(&self.solutions, "solutions")?,
            energies: decode_f64s(&self.energies, "energies")?,
            num_occurrences,
        };
        set.check()?;
        Ok(Answer { set, timing: self.timing.to_timing()?, num_variables: self.num_variables })
    }

    /// Writes qahm's answer; `timing` holds the six QPU times ([`AnswerTiming::from_timing`]).
    /// SAPI's wire type for labels and counts is `i32`; qahm's are far below its maximum
    /// (labels below `num_qubits`, counts at most `num_reads`), which is where they would be
    /// clamped.
    pub fn encode(answer: &Answer) -> QpAnswer {
        let set = &answer.set;
        QpAnswer {
            solutions: encode_bytes(&set.solutions),
            energies: encode_f64s(set.energies.iter().copied()),
            timing: AnswerTiming::from_timing(&answer.timing),
            num_occurrences: set.num_occurrences.as_ref().map(|counts| {
                encode_i32s(counts.iter().map(|&c| i32::try_from(c).unwrap_or(i32::MAX)))
            }),
            format: "qp".into(),
            active_variables: encode_i32s(
                set.active_variables.iter().map(|&q| i32::try_from(q).unwrap_or(i32::MAX)),
            ),
            num_variables: answer.num_variables,
        }
    }
}

/// One row of a sample set as the problem type's values: ±1 for Ising, 0/1 for QUBO.
pub fn row_values(set: &SampleSet, row: usize, problem_type: ProblemType) -> Vec<i8> {
    set.row(row).into_iter().map(|spin| problem_type.value_of_bit(spin > 0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> Answer {
        // Worked example C's hand-made twin in the SAPI reference (§2.5, example A's answer).
        let set = SampleSet::histogram(
            vec![0, 1, 4, 5],
            &[-1, -1, 1, -1, -1, 1, -1, -1, -1, -1, 1, -1],
            &[-3.0, -2.0, -3.0],
        );
        let timing = Timing { qpu_access_time: 1.5, ..Timing::default() };
        Answer { set, timing, num_variables: 8 }
    }

    #[test]
    fn the_reference_example_encodes_as_given() {
        let wire = QpAnswer::encode(&answer());
        assert_eq!(wire.solutions, "IEA=");
        assert_eq!(wire.active_variables, "AAAAAAEAAAAEAAAABQAAAA==");
        assert_eq!(wire.energies, "AAAAAAAACMAAAAAAAAAAwA==");
        assert_eq!(wire.num_occurrences.as_deref(), Some("AgAAAAEAAAA="));
        assert_eq!(wire.decode().unwrap(), answer());
    }

    #[test]
    fn raw_answers_have_no_occurrences() {
        let set = SampleSet::raw(vec![3], &[1, -1], vec![0.5, -0.5]);
        let raw = Answer { set, timing: Timing::default(), num_variables: 4 };
        let wire = QpAnswer::encode(&raw);
        assert!(serde_json::to_value(&wire).unwrap().get("num_occurrences").is_none());
        assert_eq!(wire.decode().unwrap(), raw);
    }

    #[test]
    fn qubo_rows_read_as_bits_and_ising_rows_as_spins() {
        let set = SampleSet::raw(vec![0, 1, 4, 5], &[-1, 1, -1, 1], vec![-1.0]);
        assert_eq!(row_values(&set, 0, ProblemType::Qubo), vec![0, 1, 0, 1]);
        assert_eq!(row_values(&set, 0, ProblemType::Ising), vec![-1, 1, -1, 1]);
    }

    #[test]
    fn malformed_answers_are_refused_naming_the_field() {
        let good = QpAnswer::encode(&answer());
        let with = |f: &dyn Fn(&mut QpAnswer)| {
            let mut wire = good.clone();
            f(&mut wire);
            wire.decode()
        };
        assert_eq!(with(&|w| w.format = "bq".into()), Err(AnswerError::Format("bq".into())));
        assert_eq!(
            with(&|w| w.active_variables = encode_i32s([0, 4, 1, 5])),
            Err(AnswerError::ActiveVariable {
                index: 2,
                label: 1,
                reason: "not above the one before"
            })
        );
        assert_eq!(
            with(&|w| w.active_variables = encode_i32s([-1, 1, 4, 5])),
            Err(AnswerError::ActiveVariable { index: 0, label: -1, reason: "below 0" })
        );
        assert_eq!(
            with(&|w| w.active_variables = encode_i32s([0, 1, 4, 8])),
            Err(AnswerError::ActiveVariable {
                index: 3,
                label: 8,
                reason: "not below num_variables"
            })
        );
        assert_eq!(
            with(&|w| w.num_occurrences = Some(encode_i32s([2, -1]))),
            Err(AnswerError::NegativeOccurrence { index: 1, count: -1 })
        );
        assert_eq!(
            with(&|w| w.num_occurrences = Some(encode_i32s([2]))),
            Err(AnswerError::Rows(SampleSetError::OccurrencesLength { got: 1, expected: 2 }))
        );
        assert_eq!(
            with(&|w| w.solutions = encode_bytes(&[0x20])),
            Err(AnswerError::Rows(SampleSetError::SolutionsLength {
                got: 1,
                expected: 2,
                rows: 2
            }))
        );
        assert!(matches!(
            with(&|w| w.energies = "AAAA".into()),
            Err(AnswerError::Codec(CodecError::Ragged { field: "energies", .. }))
        ));
        assert_eq!(
            with(&|w| w.timing.qpu_access_time = None),
            Err(AnswerError::MissingTiming("qpu_access_time"))
        );
    }

    #[test]
    fn unknown_timing_keys_are_kept() {
        let text = r#"{"qpu_access_time": 5, "qpu_new_thing": 1.5}"#;
        let timing: AnswerTiming = serde_json::from_str(text).unwrap();
        assert_eq!(timing.qpu_access_time, Some(5.0));
        assert_eq!(timing.other.get("qpu_new_thing"), Some(&serde_json::json!(1.5)));
        let back = serde_json::to_value(&timing).unwrap();
        assert_eq!(back["qpu_new_thing"], serde_json::json!(1.5));
    }
}
