//! Routes and handlers of the SAPI front. Thin: auth, media type, body (de)compression and
//! status codes here; every body is `qahm-sapi`'s; the work is [`Front`]'s.
//!
//! Served under `/sapi/v2/` (a regional endpoint's path) and `/sapi/` (the global one's).
//! dwave-cloud-client asks for some resources without the trailing slash
//! (`solvers/remote/{name}`, `problems/{id}`, `problems/{id}/answer`), so both spellings
//! route.

// Handlers return early with a finished `Response` (`?` on `Result<_, Response>`, axum's
// idiom); it is 128 bytes, moved once per request.
#![allow(clippy::result_large_err)]

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use qahm_sapi::{
    ApiVersion, BatchItem, ErrorBody, ProblemJob, ProblemStatusRecord, QpAnswer, Resource,
    SolverRef, negotiate,
};
use serde::Serialize;
use serde_json::{Value, json};

use super::store::{CancelOutcome, Problem};
use super::{Front, now_rfc3339};

/// Largest request body accepted, compressed or not.
const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;
/// Most ids one status request may name (SAPI's limit).
const MAX_IDS: usize = 1000;

type Shared = Arc<Front>;

/// The value of a `Result<T, Response>`, or return the response (a refusal) from the handler.
macro_rules! or_reply {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(response) => return response,
        }
    };
}

pub fn router(front: Shared) -> Router {
    let api = Router::new()
        .route("/solvers/remote", get(list_solvers))
        .route("/solvers/remote/", get(list_solvers))
        .route("/solvers/remote/{name}", get(get_solver))
        .route("/solvers/remote/{name}/", get(get_solver))
        .route("/problems", get(problem_statuses).post(submit).delete(cancel_problems))
        .route("/problems/", get(problem_statuses).post(submit).delete(cancel_problems))
        .route("/problems/{id}", get(get_problem).delete(cancel_problem))
        .route("/problems/{id}/", get(get_problem).delete(cancel_problem))
        .route("/problems/{id}/answer", get(get_answer))
        .route("/problems/{id}/answer/", get(get_answer))
        .route("/problems/{id}/info", get(get_info))
        .route("/problems/{id}/info/", get(get_info))
        .route("/problems/{id}/messages", get(get_messages))
        .route("/problems/{id}/messages/", get(get_messages));
    Router::new()
        .nest("/sapi/v2", api.clone())
        .nest("/sapi", api)
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such resource") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES as usize))
        .with_state(front)
}

/// SAPI's error body with its status.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = ErrorBody::new(status.as_u16(), message);
    let mut response = (status, serde_json::to_vec(&body).unwrap_or_default()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

const NO_PROBLEM: &str = "Problem does not exist or apitoken does not have access";

fn reply(
    status: StatusCode,
    resource: Resource,
    version: ApiVersion,
    body: &impl Serialize,
) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            let content_type = format!("{}; charset=utf-8", resource.content_type(version));
            if let Ok(value) = HeaderValue::from_str(&content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            response
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot write reply: {e}")),
    }
}

/// Checks the token and picks the reply's API version from `Accept`.
fn admit(front: &Front, headers: &HeaderMap, resource: Resource) -> Result<ApiVersion, Response> {
    if let Some(token) = &front.options.token {
        let given = headers.get("x-auth-token").and_then(|v| v.to_str().ok());
        if given != Some(token.as_str()) {
            let why = if given.is_none() { "missing" } else { "invalid" };
            return Err(error(StatusCode::UNAUTHORIZED, format!("X-Auth-Token: {why} API token")));
        }
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    negotiate(accept, resource)
        .map_err(|e| error(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.to_string()))
}

// ---- solvers ------------------------------------------------------------------------------

/// Applies SAPI's `filter` (`{all|none}[,{+|-}field]…`, dotted paths into objects).
fn filtered(record: &Value, filter: Option<&str>) -> Value {
    let Some(filter) = filter.filter(|f| !f.trim().is_empty()) else { return record.clone() };
    let mut terms = filter.split(',').map(str::trim).filter(|t| !t.is_empty()).peekable();
    let mut out = match terms.peek() {
        Some(&"none") => {
            terms.next();
            json!({})
        }
        Some(&"all") => {
            terms.next();
            record.clone()
        }
        _ => record.clone(),
    };
    for term in terms {
        let (add, path) = match term.split_at(1) {
            ("+", path) => (true, path),
            ("-", path) => (false, path),
            _ => (true, term),
        };
        let keys: Vec<&str> = path.split('.').collect();
        if add {
            copy_path(record, &mut out, &keys);
        } else {
            remove_path(&mut out, &keys);
        }
    }
    out
}

fn copy_path(from: &Value, to: &mut Value, keys: &[&str]) {
    let Some((first, rest)) = keys.split_first() else { return };
    let (Some(source), Some(target)) = (from.get(first), to.as_object_mut()) else { return };
    if rest.is_empty() {
        target.insert(first.to_string(), source.clone());
    } else {
        let child = target.entry(first.to_string()).or_insert_with(|| json!({}));
        copy_path(source, child, rest);
    }
}

fn remove_path(value: &mut Value, keys: &[&str]) {
    let Some((first, rest)) = keys.split_first() else { return };
    let Some(object) = value.as_object_mut() else { return };
    if rest.is_empty() {
        object.remove(*first);
    } else if let Some(child) = object.get_mut(*first) {
        remove_path(child, rest);
    }
}

#[derive(serde::Deserialize)]
struct FilterQuery {
    filter: Option<String>,
}

/// What SAPI says of solver records (`private, max-age=3600`): clients, sapi-proxy among
/// them, may keep a record for an hour instead of fetching it before every problem. A
/// front's solvers never change while it runs (only `avg_load` moves, as on SAPI).
fn cacheable(mut response: Response) -> Response {
    if response.status().is_success() {
        let value = HeaderValue::from_static("private, max-age=3600");
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

fn with_load(front: &Front, record: &Value) -> Value {
    let mut record = record.clone();
    record["avg_load"] = json!(front.load());
    record
}

async fn list_solvers(
    State(front): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<FilterQuery>,
) -> Response {
    let version = or_reply!(admit(&front, &headers, Resource::SolverDefinitionList));
    let records: Vec<Value> = front
        .solvers
        .iter()
        .map(|s| filtered(&with_load(&front, s.record(version)), query.filter.as_deref()))
        .collect();
    cacheable(reply(StatusCode::OK, Resource::SolverDefinitionList, version, &records))
}

async fn get_solver(
    State(front): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(query): Query<FilterQuery>,
) -> Response {
    let version = or_reply!(admit(&front, &headers, Resource::SolverDefinition));
    match front.solver(&name) {
        Some(s) => {
            let record = filtered(&with_load(&front, s.record(version)), query.filter.as_deref());
            cacheable(reply(StatusCode::OK, Resource::SolverDefinition, version, &record))
        }
        None => error(
            StatusCode::NOT_FOUND,
            format!("Solver {name:?} does not exist or apitoken does not have access"),
        ),
    }
}

// ---- problems -----------------------------------------------------------------------------

fn status_record(p: &Problem, version: ApiVersion, with_answer: bool) -> ProblemStatusRecord {
    ProblemStatusRecord {
        status: p.status,
        id: p.id.clone(),
        solver: SolverRef::new(&p.solver, version),
        problem_type: p.problem_type,
        submitted_on: p.submitted_on.clone(),
        earliest_estimated_completion: None,
        latest_estimated_completion: None,
        label: Some(p.label.clone()),
        solved_on: p.solved_on.clone(),
        error_message: p.error_message.clone(),
        answer: if with_answer { p.answer.as_deref().cloned() } else { None },
    }
}

/// The request body, inflated when it came with `Content-Encoding: deflate` (zlib, as the
/// cloud client sends it; a raw deflate stream is accepted too) or `gzip`.
fn body_bytes(headers: &HeaderMap, body: Bytes) -> Result<Vec<u8>, Response> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    let inflate = |reader: &mut dyn Read| -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        reader.take(MAX_BODY_BYTES + 1).read_to_end(&mut out)?;
        if out.len() as u64 > MAX_BODY_BYTES {
            return Err(std::io::Error::other(format!(
                "inflates to more than {MAX_BODY_BYTES} bytes"
            )));
        }
        Ok(out)
    };
    let result = match encoding.as_str() {
        "identity" | "" => return Ok(body.to_vec()),
        "deflate" => inflate(&mut flate2::read::ZlibDecoder::new(&body[..]))
            .or_else(|_| inflate(&mut flate2::read::DeflateDecoder::new(&body[..]))),
        "gzip" => inflate(&mut flate2::read::GzDecoder::new(&body[..])),
        other => {
            return Err(error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Encoding {other:?} is not supported (deflate, gzip or none)"),
            ));
        }
    };
    result
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("body: cannot {encoding}-decode: {e}")))
}

async fn submit(State(front): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let version = or_reply!(admit(&front, &headers, Resource::Problems));
    let bytes = or_reply!(body_bytes(&headers, body));
    let jobs: Vec<Value> = match serde_json::from_slice(&bytes) {
        Ok(Value::Array(jobs)) => jobs,
        Ok(_) => return error(StatusCode::BAD_REQUEST, "body: must be a JSON list of problems"),
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("body: not JSON: {e}")),
    };
    let mut items = Vec::with_capacity(jobs.len());
    let mut first_refusal = None;
    for (index, job) in jobs.into_iter().enumerate() {
        let refusal = match serde_json::from_value::<ProblemJob>(job) {
            Err(e) => super::Refusal { status: 400, message: format!("problem {index}: {e}") },
            Ok(job) => match front.submit(job) {
                Ok(problem) => {
                    items
                        .push(BatchItem::Status(Box::new(status_record(&problem, version, false))));
                    continue;
                }
                Err(refusal) => refusal,
            },
        };
        tracing::info!(index, status = refusal.status, message = %refusal.message, "sapi problem refused");
        let body = ErrorBody::new(refusal.status, refusal.message);
        first_refusal.get_or_insert_with(|| body.clone());
        items.push(BatchItem::Error(body));
    }
    let accepted = items.iter().any(|i| matches!(i, BatchItem::Status(_)));
    match first_refusal {
        // Nothing accepted: the refusal is the reply, with its own status.
        Some(refusal) if !accepted => error(
            StatusCode::from_u16(refusal.error_code).unwrap_or(StatusCode::BAD_REQUEST),
            refusal.error_msg,
        ),
        _ => reply(StatusCode::OK, Resource::Problems, version, &items),
    }
}

#[derive(serde::Deserialize)]
struct StatusQuery {
    id: Option<String>,
    timeout: Option<String>,
}

async fn problem_statuses(
    State(front): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<StatusQuery>,
) -> Response {
    let version = or_reply!(admit(&front, &headers, Resource::Problems));
    let Some(ids) = query.id.filter(|ids| !ids.is_empty()) else {
        let recent: Vec<ProblemStatusRecord> =
            front.store.recent(MAX_IDS).iter().map(|p| status_record(p, version, false)).collect();
        return reply(StatusCode::OK, Resource::Problems, version, &recent);
    };
    let ids: Vec<String> = ids.split(',').map(|s| s.trim().to_string()).collect();
    if ids.len() > MAX_IDS {
        return error(
            StatusCode::BAD_REQUEST,
            format!("id: {} ids given; at most {MAX_IDS}", ids.len()),
        );
    }
    if let Some(timeout) = query.timeout {
        let seconds = match timeout.trim().parse::<f64>() {
            Ok(s) if s.is_finite() && s >= 0.0 => s.min(30.0),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("timeout: {timeout:?} is not a number of seconds in [0, 30]"),
                );
            }
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(seconds);
        tokio::select! {
            _ = front.store.wait_any_terminal(&ids, deadline) => {}
            _ = front.draining.cancelled() => {}
        }
    }
    let items: Vec<BatchItem> = ids
        .iter()
        .map(|id| match front.store.get(id) {
            Some(p) => BatchItem::Status(Box::new(status_record(&p, version, false))),
            None => BatchItem::Error(ErrorBody::new(404, NO_PROBLEM)),
        })
        .collect();
    reply(StatusCode::OK, Resource::Problems, version, &items)
}

async fn get_problem(
    State(front): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let version = or_reply!(admit(&front, &headers, Resource::Problem));
    match front.store.get(&id) {
        Some(p) => {
            reply(StatusCode::OK, Resource::Problem, version, &status_record(&p, version, true))
        }
        None => error(StatusCode::NOT_FOUND, NO_PROBLEM),
    }
}

async fn get_answer(
    State(front): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let version = or_reply!(admit(&front, &headers, Resource::ProblemAnswer));
    match front.store.get(&id) {
        Some(Problem { answer: Some(answer), .. }) => {
            reply(StatusCode::OK, Resource::ProblemAnswer, version, &*answer)
        }
        Some(p) => error(
            StatusCode::NOT_FOUND,
            format!("Problem {id} has no answer; its status is {:?}", p.status),
        ),
        None => error(StatusCode::NOT_FOUND, NO_PROBLEM),
    }
}

async fn get_info(
    State(front): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let version = or_reply!(admit(&front, &headers, Resource::ProblemData));
    let Some(p) = front.store.get(&id) else { return error(StatusCode::NOT_FOUND, NO_PROBLEM) };
    let mut info = json!({
        "id": p.id,
        "data": p.data,
        "params": p.params,
        "metadata": {
            "solver": SolverRef::new(&p.solver, version),
            "type": p.problem_type,
            "label": p.label,
            "status": p.status,
            "submitted_by": "qahm",
            "submitted_on": p.submitted_on,
            "solved_on": p.solved_on,
            "messages": [],
        },
    });
    if let Some(answer) = p.answer.as_deref() {
        info["answer"] = serde_json::to_value::<&QpAnswer>(answer).unwrap_or(Value::Null);
    }
    reply(StatusCode::OK, Resource::ProblemData, version, &info)
}

async fn get_messages(
    State(front): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let version = or_reply!(admit(&front, &headers, Resource::ProblemMessage));
    match front.store.get(&id) {
        Some(_) => reply(StatusCode::OK, Resource::ProblemMessage, version, &Vec::<Value>::new()),
        None => error(StatusCode::NOT_FOUND, NO_PROBLEM),
    }
}

/// One id's cancel as a batch element, or the single-problem reply.
fn cancel_item(front: &Front, id: &str, version: ApiVersion) -> (StatusCode, BatchItem) {
    match front.store.cancel(id, now_rfc3339()) {
        CancelOutcome::Cancelled(p) => {
            (StatusCode::OK, BatchItem::Status(Box::new(status_record(&p, version, false))))
        }
        CancelOutcome::Attempting => (
            StatusCode::ACCEPTED,
            BatchItem::Error(ErrorBody::new(202, "Attempting to cancel problem in progress.")),
        ),
        CancelOutcome::Finished => (
            StatusCode::CONFLICT,
            BatchItem::Error(ErrorBody::new(409, "Problem has been finished.")),
        ),
        CancelOutcome::Unknown => {
            (StatusCode::NOT_FOUND, BatchItem::Error(ErrorBody::new(404, NO_PROBLEM)))
        }
    }
}

async fn cancel_problems(State(front): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let version = or_reply!(admit(&front, &headers, Resource::Problems));
    let bytes = or_reply!(body_bytes(&headers, body));
    let ids: Vec<String> = match serde_json::from_slice(&bytes) {
        Ok(ids) => ids,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("body: must be a JSON list of problem ids: {e}"),
            );
        }
    };
    let items: Vec<BatchItem> = ids.iter().map(|id| cancel_item(&front, id, version).1).collect();
    reply(StatusCode::OK, Resource::Problems, version, &items)
}

async fn cancel_problem(
    State(front): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let version = or_reply!(admit(&front, &headers, Resource::Problem));
    match cancel_item(&front, &id, version) {
        (status, BatchItem::Status(record)) => reply(status, Resource::Problem, version, &record),
        (status, BatchItem::Error(body)) => error(status, body.error_msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_select_and_drop_fields_as_the_cloud_client_asks() {
        let record = json!({"identity": {"name": "X"}, "status": "ONLINE", "avg_load": 0.1,
                            "properties": {"qubits": [0, 1], "h_range": [-2, 2]}});
        assert_eq!(
            filtered(&record, Some("none,+identity,+status,+avg_load")),
            json!({"identity": {"name": "X"}, "status": "ONLINE", "avg_load": 0.1})
        );
        assert_eq!(
            filtered(&record, Some("all,-status,-avg_load")),
            json!({"identity": {"name": "X"}, "properties": {"qubits": [0, 1], "h_range": [-2, 2]}})
        );
        assert_eq!(
            filtered(&record, Some("none,+properties.h_range")),
            json!({"properties": {"h_range": [-2, 2]}})
        );
        assert_eq!(
            filtered(&record, Some("all,-properties.qubits"))["properties"],
            json!({"h_range": [-2, 2]})
        );
        assert_eq!(filtered(&record, None), record);
        assert_eq!(filtered(&record, Some("none,+nonexistent")), json!({}));
    }
}
