//! An answer split into response chunks small enough for gRPC's default message limit, and
//! reassembled from them on the client.

use qahm_common::answer::{Answer, Timing};
use qahm_common::sampleset::SampleSet;
use qahm_proto::pb;
use thiserror::Error;

use crate::convert::{FromProto, ToProto};
use crate::status::{rpc_to_status, status_to_rpc};

/// An answer split into response chunks below `max_bytes` of payload each; the last one
/// carries the timing block.
pub fn answer_chunks(
    request_id: &str,
    label: &str,
    answer: &Answer,
    max_bytes: usize,
) -> Vec<pb::SampleResponse> {
    let set = &answer.set;
    let ranges = set.chunk_rows(max_bytes);
    let last = ranges.len() - 1;
    let width = set.bytes_per_row();
    ranges
        .into_iter()
        .enumerate()
        .map(|(index, rows)| pb::SampleResponse {
            request_id: request_id.to_string(),
            chunk_index: index as u32,
            last_chunk: index == last,
            error: None,
            num_variables: answer.num_variables,
            active_variables: set.active_variables.clone(),
            solutions: set.solutions[rows.start * width..rows.end * width].to_vec(),
            energies: set.energies[rows.clone()].to_vec(),
            num_occurrences: set
                .num_occurrences
                .as_ref()
                .map(|c| c[rows.clone()].to_vec())
                .unwrap_or_default(),
            timing: (index == last).then(|| answer.timing.to_proto()),
            total_rows: set.num_rows() as u32,
            label: label.to_string(),
        })
        .collect()
}

/// The error response that ends a failed request.
pub fn error_response(request_id: &str, status: &tonic::Status) -> pb::SampleResponse {
    pb::SampleResponse {
        request_id: request_id.to_string(),
        last_chunk: true,
        error: Some(status_to_rpc(status)),
        ..Default::default()
    }
}

/// Reassembles an answer from its chunks, in any order of arrival but all present.
#[derive(Debug, Default)]
pub struct AnswerAssembler {
    chunks: Vec<pb::SampleResponse>,
}

/// Why an answer could not be reassembled.
#[derive(Debug, Error)]
pub enum AnswerError {
    #[error("request failed: {0}")]
    Failed(tonic::Status),
    #[error("answer is malformed: {0}")]
    Malformed(String),
}

impl AnswerAssembler {
    /// Adds a chunk; returns the whole answer once the last chunk and all before it are in.
    pub fn push(&mut self, chunk: pb::SampleResponse) -> Option<Result<Answer, AnswerError>> {
        if let Some(error) = &chunk.error {
            return Some(Err(AnswerError::Failed(rpc_to_status(error))));
        }
        self.chunks.push(chunk);
        let last = self.chunks.iter().find(|c| c.last_chunk)?.chunk_index as usize;
        if self.chunks.len() < last + 1 {
            return None;
        }
        Some(self.assemble())
    }

    fn assemble(&mut self) -> Result<Answer, AnswerError> {
        let mut chunks = std::mem::take(&mut self.chunks);
        chunks.sort_by_key(|c| c.chunk_index);
        if chunks.iter().enumerate().any(|(i, c)| c.chunk_index as usize != i) {
            return Err(AnswerError::Malformed("chunk indices are not 0..n".into()));
        }
        let first = &chunks[0];
        let num_variables = first.num_variables;
        let histogram = !first.num_occurrences.is_empty();
        let mut set = SampleSet {
            active_variables: first.active_variables.clone(),
            solutions: Vec::new(),
            energies: Vec::new(),
            num_occurrences: histogram.then(Vec::new),
        };
        let mut timing = None;
        for c in chunks {
            set.solutions.extend_from_slice(&c.solutions);
            set.energies.extend_from_slice(&c.energies);
            if let Some(counts) = set.num_occurrences.as_mut() {
                counts.extend_from_slice(&c.num_occurrences);
            }
            if c.timing.is_some() {
                timing = c.timing;
            }
        }
        set.check().map_err(|e| AnswerError::Malformed(e.to_string()))?;
        let timing = timing.ok_or_else(|| AnswerError::Malformed("no timing block".into()))?;
        let Ok(timing) = Timing::from_proto(timing);
        Ok(Answer { set, timing, num_variables })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_answers_reassemble_in_any_order() {
        let n = 300usize;
        let spins: Vec<i8> = (0..500 * n).map(|i| if i % 3 == 0 { 1 } else { -1 }).collect();
        let set =
            SampleSet::raw((0..n as u32).collect(), &spins, (0..500).map(f64::from).collect());
        let answer = Answer { set, timing: Timing::default(), num_variables: 2048 };
        let mut chunks = answer_chunks("a", "", &answer, 4096);
        assert!(chunks.len() > 5);
        chunks.reverse();
        let mut assembler = AnswerAssembler::default();
        let mut reassembled = None;
        for c in chunks {
            if let Some(a) = assembler.push(c) {
                reassembled = Some(a.unwrap());
            }
        }
        assert_eq!(reassembled.unwrap(), answer);
    }

    #[test]
    fn an_answer_without_timing_is_malformed() {
        let chunk =
            pb::SampleResponse { request_id: "a".into(), last_chunk: true, ..Default::default() };
        let result = AnswerAssembler::default().push(chunk).unwrap();
        assert!(matches!(result, Err(AnswerError::Malformed(m)) if m == "no timing block"));
    }
}
