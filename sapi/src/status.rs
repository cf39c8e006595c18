//! Problem statuses and error bodies: what `POST problems/`, `GET problems/?id=…` and
//! `GET problems/{id}/` answer.
//!
//! A status names the problem, its solver (v2 string or v3 identity), type, times (RFC 3339
//! strings, kept as sent), `label`, and once it is `COMPLETED` possibly the answer. A FAILED
//! problem says why in `error_message`. Errors elsewhere, including one job of a batch submit
//! that SAPI refused, are `{"error_code": <HTTP status>, "error_msg": "<text>"}`; some
//! endpoints send the text alone, which [`ErrorBody::from_reply`] accepts too.

use serde::{Deserialize, Deserializer, Serialize};

use crate::answer::QpAnswer;
use crate::problem::ProblemType;
use crate::solver::SolverRef;

/// A problem's place in SAPI's lifecycle: PENDING → IN_PROGRESS → one of the last three.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProblemStatus {
    Pending,
    InProgress,
    Completed,
    Failed,
    Cancelled,
}

impl ProblemStatus {
    /// Completed, failed or cancelled: the status will not change again.
    pub fn is_terminal(self) -> bool {
        matches!(self, ProblemStatus::Completed | ProblemStatus::Failed | ProblemStatus::Cancelled)
    }
}

/// Present-but-null as `Some(None)`, so that a status re-serializes as it came: 2020 statuses
/// have no `label`, later ones `"label": null` when unset.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// One problem's status, with its answer when SAPI includes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProblemStatusRecord {
    pub status: ProblemStatus,
    pub id: String,
    pub solver: SolverRef,
    #[serde(rename = "type")]
    pub problem_type: ProblemType,
    pub submitted_on: String,
    /// 2020 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest_estimated_completion: Option<String>,
    /// 2020 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_estimated_completion: Option<String>,
    /// Absent (2020), null (unset) or the job's label.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub label: Option<Option<String>>,
    /// Once terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solved_on: Option<String>,
    /// Why a FAILED problem failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<QpAnswer>,
}

/// SAPI's error body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The HTTP status it stands for (also inside a 200 batch reply).
    pub error_code: u16,
    pub error_msg: String,
}

impl ErrorBody {
    pub fn new(error_code: u16, error_msg: impl Into<String>) -> Self {
        ErrorBody { error_code, error_msg: error_msg.into() }
    }

    /// The error an HTTP reply carries: its JSON error body, or else its text with its status
    /// code (SAPI does not always reply in JSON).
    pub fn from_reply(http_status: u16, body: &str) -> Self {
        serde_json::from_str(body)
            .unwrap_or_else(|_| ErrorBody::new(http_status, body.trim().to_string()))
    }
}

/// One element of a batch reply (`POST problems/`, `GET problems/?id=…`): a status or, for a
/// job SAPI refused, an error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BatchItem {
    Error(ErrorBody),
    Status(Box<ProblemStatusRecord>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::{SolverIdentity, SolverVersion};
    use serde_json::json;

    #[test]
    fn statuses_spell_as_sapi_does() {
        for (status, text, terminal) in [
            (ProblemStatus::Pending, "PENDING", false),
            (ProblemStatus::InProgress, "IN_PROGRESS", false),
            (ProblemStatus::Completed, "COMPLETED", true),
            (ProblemStatus::Failed, "FAILED", true),
            (ProblemStatus::Cancelled, "CANCELLED", true),
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), json!(text));
            assert_eq!(serde_json::from_value::<ProblemStatus>(json!(text)).unwrap(), status);
            assert_eq!(status.is_terminal(), terminal);
        }
    }

    #[test]
    fn a_failed_v3_status_carries_its_message_and_no_answer() {
        let failed = json!({"status": "FAILED", "id": "f00", "type": "ising",
            "solver": {"name": "Advantage2_system1.5", "version": {"graph_id": "018d6fa6d0"}},
            "submitted_on": "2025-08-28T02:38:12.937558Z", "label": null,
            "solved_on": "2025-08-28T02:38:13.110613Z",
            "error_message": "Upper limit on user-specified timing related parameters exceeded"});
        let record: ProblemStatusRecord = serde_json::from_value(failed.clone()).unwrap();
        assert_eq!(record.status, ProblemStatus::Failed);
        assert_eq!(record.label, Some(None));
        assert!(record.answer.is_none());
        assert_eq!(
            record.solver,
            SolverRef::Identity(SolverIdentity {
                name: "Advantage2_system1.5".into(),
                version: Some(SolverVersion { graph_id: "018d6fa6d0".into() })
            })
        );
        assert_eq!(serde_json::to_value(&record).unwrap(), failed);
    }

    #[test]
    fn batch_items_are_statuses_or_errors() {
        let reply = json!([
            {"error_code": 400, "error_msg": "Problem type (cqm) is not supported by the solver."},
            {"status": "PENDING", "id": "a", "solver": "DW_2000Q_5", "type": "qubo",
             "submitted_on": "2020-01-09T00:00:17.783691Z"}
        ]);
        let items: Vec<BatchItem> = serde_json::from_value(reply.clone()).unwrap();
        assert!(matches!(&items[0], BatchItem::Error(e) if e.error_code == 400));
        assert!(matches!(&items[1], BatchItem::Status(s)
            if s.status == ProblemStatus::Pending && s.label.is_none()));
        assert_eq!(serde_json::to_value(&items).unwrap(), reply);
        let missing_id = json!([{"status": "PENDING", "solver": "x", "type": "ising",
            "submitted_on": "t"}]);
        assert!(serde_json::from_value::<Vec<BatchItem>>(missing_id).is_err());
    }

    #[test]
    fn error_bodies_are_read_from_json_or_plain_text() {
        let json_body = r#"{"error_code": 404, "error_msg": "Problem does not exist or apitoken does not have access"}"#;
        assert_eq!(
            ErrorBody::from_reply(404, json_body),
            ErrorBody::new(404, "Problem does not exist or apitoken does not have access")
        );
        assert_eq!(
            ErrorBody::from_reply(409, "Problem has been finished.\n"),
            ErrorBody::new(409, "Problem has been finished.")
        );
        assert_eq!(
            serde_json::to_value(ErrorBody::new(202, "Attempting to cancel problem in progress."))
                .unwrap(),
            json!({"error_code": 202, "error_msg": "Attempting to cancel problem in progress."})
        );
    }
}
