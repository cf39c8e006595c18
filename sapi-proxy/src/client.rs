//! A SAPI client over HTTPS: the five calls the proxy makes, each with SAPI's versioned media
//! type and `X-Auth-Token`, every body read and written by `qahm-sapi`.
//!
//! Reads (`GET`) are retried with exponential backoff on what is transient (no connection, a
//! timeout, 429, 5xx), waiting at least as long as a `Retry-After` asks. A submit
//! (`POST problems/`) is **never** retried: if SAPI took the problem and the reply was lost,
//! a second submit would run, and be billed, twice. A cancel (`DELETE`) is sent once, best
//! effort.

use std::time::Duration;

use qahm_sapi::{ApiVersion, BatchItem, ErrorBody, ProblemJob, ProblemStatusRecord, QpAnswer};
use qahm_sapi::{Resource, media};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Url};
use serde_json::Value;
use thiserror::Error;

use crate::token::ApiToken;

/// How reads are retried.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled before each further one.
    pub initial_backoff: Duration,
    /// Longest wait between attempts (a longer `Retry-After` is cut to this).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based), honouring the server's `Retry-After`.
    fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self.initial_backoff.saturating_mul(2u32.saturating_pow(retry));
        backoff.max(retry_after.unwrap_or_default()).min(self.max_backoff)
    }
}

/// Why a SAPI call failed.
#[derive(Debug, Error, PartialEq)]
pub enum SapiError {
    #[error("SAPI refused the API token (HTTP 401): {0}")]
    Unauthorized(String),
    #[error("SAPI: {0} (HTTP 404)")]
    NotFound(String),
    /// 429 or 5xx: SAPI is overloaded or failing.
    #[error("SAPI is unavailable (HTTP {status}): {message}")]
    Unavailable { status: u16, message: String, retry_after: Option<Duration> },
    /// Any other refusal (400, 403, 409, …).
    #[error("SAPI refused the request (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
    /// No reply: connection refused or reset, DNS, TLS, timeout.
    #[error("cannot reach SAPI: {0}")]
    Transport(String),
    #[error("SAPI's reply cannot be read: {0}")]
    Malformed(String),
}

impl SapiError {
    /// The error an HTTP status and SAPI's error body stand for.
    pub fn of_reply(status: u16, body: &ErrorBody, retry_after: Option<Duration>) -> Self {
        let message = body.error_msg.clone();
        match status {
            401 => SapiError::Unauthorized(message),
            404 => SapiError::NotFound(message),
            429 | 500..=599 => SapiError::Unavailable { status, message, retry_after },
            _ => SapiError::Refused { status, message },
        }
    }

    /// Worth another try: nothing was answered, or SAPI said to come back.
    fn is_transient(&self) -> bool {
        matches!(self, SapiError::Unavailable { .. } | SapiError::Transport(_))
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            SapiError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// A `Retry-After` in seconds (the HTTP-date form is not used by SAPI and is ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// A reply: its `Cache-Control` header and body.
struct Reply {
    headers: HeaderMap,
    body: String,
}

/// The `max-age` a `Cache-Control` header allows; `None` when it allows no caching.
pub fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::CACHE_CONTROL)?.to_str().ok()?;
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return None;
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            max_age = seconds.trim_matches('"').parse().ok().map(Duration::from_secs);
        }
    }
    max_age
}

/// A solver name or problem id as one path segment: SAPI's are letters, digits, `_ . -`.
fn segment<'a>(what: &str, text: &'a str) -> Result<&'a str, SapiError> {
    let ok = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && text != "."
        && text != "..";
    if ok {
        Ok(text)
    } else {
        Err(SapiError::Malformed(format!("{what} {text:?} is not a path segment")))
    }
}

/// A client of one SAPI endpoint with one token.
#[derive(Clone, Debug)]
pub struct SapiClient {
    http: reqwest::Client,
    base: Url,
    token: ApiToken,
    retry: RetryPolicy,
}

impl SapiClient {
    /// `base` is SAPI's root, e.g. `https://na-west-1.cloud.dwavesys.com/sapi/v2/` (a
    /// trailing `/` is added when missing, as dwave-cloud-client does).
    pub fn new(base: Url, token: ApiToken, retry: RetryPolicy) -> Result<Self, String> {
        let mut base = base;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("qahm-sapi-proxy/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(SapiClient { http, base, token, retry })
    }

    fn url(&self, path: &str) -> Result<Url, SapiError> {
        self.base.join(path).map_err(|e| SapiError::Malformed(format!("url {path:?}: {e}")))
    }

    /// One HTTP exchange; a non-2xx reply becomes its error.
    async fn send_once(
        &self,
        method: Method,
        url: Url,
        resource: Resource,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Reply, SapiError> {
        let mut token = HeaderValue::from_str(self.token.expose()).map_err(|_| {
            SapiError::Malformed("the API token is not a valid header value".into())
        })?;
        token.set_sensitive(true);
        let mut request = self
            .http
            .request(method, url)
            .header(ACCEPT, resource.accept(ApiVersion::V3))
            .header("X-Auth-Token", token)
            .timeout(timeout);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| SapiError::Transport(e.to_string()))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(|e| SapiError::Transport(e.to_string()))?;
        if status.is_success() {
            return Ok(Reply { headers, body });
        }
        let error = ErrorBody::from_reply(status.as_u16(), &body);
        let error = if error.error_msg.is_empty() {
            ErrorBody::new(status.as_u16(), status.canonical_reason().unwrap_or("no reason given"))
        } else {
            error
        };
        Err(SapiError::of_reply(status.as_u16(), &error, retry_after(&headers)))
    }

    /// A read, retried while the failure is transient.
    async fn get(
        &self,
        url: Url,
        resource: Resource,
        timeout: Duration,
    ) -> Result<Reply, SapiError> {
        let mut retry = 0;
        loop {
            match self.send_once(Method::GET, url.clone(), resource, None, timeout).await {
                Err(e) if e.is_transient() && retry + 1 < self.retry.max_attempts => {
                    let delay = self.retry.delay(retry, e.retry_after());
                    tracing::debug!(%url, error = %e, ?delay, "SAPI read failed; retrying");
                    tokio::time::sleep(delay).await;
                    retry += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// `GET solvers/remote/{name}/`: the solver's record and how long it may be cached.
    pub async fn solver_record(&self, name: &str) -> Result<(Value, Option<Duration>), SapiError> {
        let url = self.url(&format!("solvers/remote/{}/", segment("solver name", name)?))?;
        let reply = self.get(url, Resource::SolverDefinition, Duration::from_secs(120)).await?;
        let record = json(&reply.body, Resource::SolverDefinition, &reply.headers)?;
        Ok((record, max_age(&reply.headers)))
    }

    /// `POST problems/` with one job, sent exactly once: its status, or SAPI's refusal.
    pub async fn submit(&self, job: &ProblemJob) -> Result<ProblemStatusRecord, SapiError> {
        let body = serde_json::to_value([job]).map_err(|e| SapiError::Malformed(e.to_string()))?;
        let url = self.url("problems/")?;
        let timeout = Duration::from_secs(120);
        let reply =
            self.send_once(Method::POST, url, Resource::Problems, Some(&body), timeout).await?;
        one_status(json(&reply.body, Resource::Problems, &reply.headers)?, None)
    }

    /// `GET problems/?id={id}&timeout={s}`: the problem's status once it is terminal or after
    /// the long-poll's `timeout` (whole seconds, 1 to 30).
    pub async fn status(
        &self,
        id: &str,
        long_poll: Duration,
    ) -> Result<ProblemStatusRecord, SapiError> {
        let seconds = long_poll.as_secs().clamp(1, 30);
        let mut url = self.url("problems/")?;
        url.query_pairs_mut()
            .append_pair("id", segment("problem id", id)?)
            .append_pair("timeout", &seconds.to_string());
        let timeout = Duration::from_secs(seconds + 60);
        let reply = self.get(url, Resource::Problems, timeout).await?;
        one_status(json(&reply.body, Resource::Problems, &reply.headers)?, Some(id))
    }

    /// `GET problems/{id}/answer/`: the answer of a completed problem (current SAPI wraps it
    /// as `{"answer": …}`; a bare answer is read too).
    pub async fn answer(&self, id: &str) -> Result<QpAnswer, SapiError> {
        let url = self.url(&format!("problems/{}/answer/", segment("problem id", id)?))?;
        let reply = self.get(url, Resource::ProblemAnswer, Duration::from_secs(120)).await?;
        let mut body = json(&reply.body, Resource::ProblemAnswer, &reply.headers)?;
        let answer = match body.get_mut("answer") {
            Some(inner) => inner.take(),
            None => body,
        };
        serde_json::from_value(answer).map_err(|e| SapiError::Malformed(format!("answer: {e}")))
    }

    /// `DELETE problems/{id}/`, once.
    pub async fn cancel(&self, id: &str) -> Result<(), SapiError> {
        let url = self.url(&format!("problems/{}/", segment("problem id", id)?))?;
        let timeout = Duration::from_secs(60);
        self.send_once(Method::DELETE, url, Resource::Problem, None, timeout).await.map(drop)
    }
}

/// A reply body as JSON, after checking that its `Content-Type` is the resource's (or plain
/// JSON, as SAPI wrote before versioned types).
fn json(body: &str, resource: Resource, headers: &HeaderMap) -> Result<Value, SapiError> {
    if let Some(content_type) = headers.get(reqwest::header::CONTENT_TYPE) {
        let content_type = content_type.to_str().unwrap_or_default();
        media::reply_version(content_type, resource)
            .map_err(|e| SapiError::Malformed(e.to_string()))?;
    }
    serde_json::from_str(body).map_err(|e| SapiError::Malformed(format!("not JSON: {e}")))
}

/// The one status of a batch reply (for `id` when given), or the error in its place.
fn one_status(reply: Value, id: Option<&str>) -> Result<ProblemStatusRecord, SapiError> {
    let items: Vec<BatchItem> = serde_json::from_value(reply)
        .map_err(|e| SapiError::Malformed(format!("statuses: {e}")))?;
    let item = match id {
        None => items.into_iter().next(),
        Some(id) => items.into_iter().find(|item| match item {
            BatchItem::Status(s) => s.id == id,
            BatchItem::Error(_) => true,
        }),
    };
    match item {
        Some(BatchItem::Status(status)) => Ok(*status),
        Some(BatchItem::Error(e)) => Err(SapiError::of_reply(e.error_code, &e, None)),
        None => Err(SapiError::Malformed("the reply names no status for the problem".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_honours_retry_after_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        };
        assert_eq!(policy.delay(0, None), Duration::from_millis(100));
        assert_eq!(policy.delay(2, None), Duration::from_millis(400));
        assert_eq!(policy.delay(0, Some(Duration::from_secs(1))), Duration::from_secs(1));
        assert_eq!(policy.delay(10, None), Duration::from_secs(2));
        assert_eq!(policy.delay(0, Some(Duration::from_secs(60))), Duration::from_secs(2));
    }

    #[test]
    fn cache_control_gives_max_age_unless_caching_is_forbidden() {
        let headers = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(reqwest::header::CACHE_CONTROL, value.parse().unwrap());
            h
        };
        assert_eq!(max_age(&headers("private, max-age=3600")), Some(Duration::from_secs(3600)));
        assert_eq!(max_age(&headers("no-store, max-age=30")), None);
        assert_eq!(max_age(&headers("private")), None);
        assert_eq!(max_age(&HeaderMap::new()), None);
    }

    #[test]
    fn http_statuses_map_to_errors_and_only_unavailable_ones_are_retried() {
        let body = ErrorBody::new(0, "m");
        let after = Some(Duration::from_secs(3));
        assert_eq!(SapiError::of_reply(401, &body, None), SapiError::Unauthorized("m".into()));
        assert_eq!(SapiError::of_reply(404, &body, None), SapiError::NotFound("m".into()));
        let busy = SapiError::of_reply(429, &body, after);
        assert!(busy.is_transient());
        assert_eq!(busy.retry_after(), after);
        assert!(SapiError::of_reply(503, &body, None).is_transient());
        assert!(!SapiError::of_reply(400, &body, None).is_transient());
        assert!(SapiError::Transport("reset".into()).is_transient());
    }

    #[test]
    fn path_segments_refuse_anything_but_names() {
        assert_eq!(segment("solver", "Advantage2_system1.5"), Ok("Advantage2_system1.5"));
        for bad in ["", "..", "a/b", "a?b", "a b", "%2e"] {
            assert!(segment("solver", bad).is_err(), "{bad}");
        }
    }
}
