//! SAPI's versioned media types and the choice between API v2 and v3.
//!
//! SAPI names each resource's representation with a vendor media type and a `version`
//! parameter, asked for in `Accept` and echoed in `Content-Type`. The two versions differ in
//! how a solver is named: v2 writes the name (`"solver": "DW_2000Q_5"`, a record's `id`), v3
//! an identity object (`{"name": …, "version": {"graph_id": …}}`, a record's `identity`).
//! Clients from before versioned types (2020) send `Accept: */*` and got `application/json`
//! in the v2 shape; current clients ask for `version=3.0.0` and, in strict mode, refuse a
//! reply whose type or major version differs. [`negotiate`] serves both.

use thiserror::Error;

/// A SAPI resource, by the media type that names its representation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    /// `GET solvers/remote/`.
    SolverDefinitionList,
    /// `GET solvers/remote/{name}/`.
    SolverDefinition,
    /// `POST`, `GET` and `DELETE problems/`: lists of jobs or statuses.
    Problems,
    /// `GET` and `DELETE problems/{id}/`: one status, with the answer once completed.
    Problem,
    /// `GET problems/{id}/info`: the whole job.
    ProblemData,
    /// `GET problems/{id}/answer/`.
    ProblemAnswer,
    /// `GET problems/{id}/messages/`.
    ProblemMessage,
}

impl Resource {
    pub const ALL: [Resource; 7] = [
        Resource::SolverDefinitionList,
        Resource::SolverDefinition,
        Resource::Problems,
        Resource::Problem,
        Resource::ProblemData,
        Resource::ProblemAnswer,
        Resource::ProblemMessage,
    ];

    /// The media type, without parameters.
    pub fn media_type(self) -> &'static str {
        match self {
            Resource::SolverDefinitionList => {
                "application/vnd.dwave.sapi.solver-definition-list+json"
            }
            Resource::SolverDefinition => "application/vnd.dwave.sapi.solver-definition+json",
            Resource::Problems => "application/vnd.dwave.sapi.problems+json",
            Resource::Problem => "application/vnd.dwave.sapi.problem+json",
            Resource::ProblemData => "application/vnd.dwave.sapi.problem-data+json",
            Resource::ProblemAnswer => "application/vnd.dwave.sapi.problem-answer+json",
            Resource::ProblemMessage => "application/vnd.dwave.sapi.problem-message+json",
        }
    }

    /// The full version SAPI writes in `Content-Type` for this resource: v3 is `3.0.0`
    /// everywhere; v2 was `2.0.0` for solver definitions and `2.1.0` for problems (as
    /// recorded in 2021 and 2025).
    pub fn version_string(self, version: ApiVersion) -> &'static str {
        match (version, self) {
            (ApiVersion::V3, _) => "3.0.0",
            (ApiVersion::V2, Resource::SolverDefinitionList | Resource::SolverDefinition) => {
                "2.0.0"
            }
            (ApiVersion::V2, _) => "2.1.0",
        }
    }

    /// `Content-Type` of a reply, e.g.
    /// `application/vnd.dwave.sapi.problems+json; version=3.0.0`.
    pub fn content_type(self, version: ApiVersion) -> String {
        format!("{}; version={}", self.media_type(), self.version_string(version))
    }

    /// `Accept` a client sends to be served `version` (as dwave-cloud-client does: the full
    /// version for v3, the bare type for v2).
    pub fn accept(self, version: ApiVersion) -> String {
        match version {
            ApiVersion::V2 => self.media_type().to_string(),
            ApiVersion::V3 => self.content_type(ApiVersion::V3),
        }
    }
}

/// The SAPI major version of a representation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApiVersion {
    V2,
    V3,
}

/// Why a request's `Accept` or a reply's `Content-Type` cannot be served or used.
#[derive(Debug, Error, PartialEq)]
pub enum MediaError {
    /// SAPI answers this with 415.
    #[error("accept {accept:?} names no version of {media_type} this server speaks (2.x or 3.x)")]
    NotAcceptable { accept: String, media_type: &'static str },
    #[error("content type {content_type:?} is not {media_type} version 2.x or 3.x")]
    UnexpectedContentType { content_type: String, media_type: &'static str },
}

/// One media range of an `Accept` header: type, version parameter, q-value.
struct MediaRange<'a> {
    essence: &'a str,
    version: Option<&'a str>,
    q: f64,
}

fn media_ranges(header: &str) -> impl Iterator<Item = MediaRange<'_>> {
    header.split(',').filter(|r| !r.trim().is_empty()).map(|range| {
        let mut parts = range.split(';').map(str::trim);
        let essence = parts.next().unwrap_or("");
        let mut version = None;
        let mut q = 1.0;
        for parameter in parts {
            let Some((name, value)) = parameter.split_once('=') else { continue };
            let value = value.trim().trim_matches('"');
            match name.trim().to_ascii_lowercase().as_str() {
                "version" => version = Some(value),
                "q" => q = value.parse().unwrap_or(0.0),
                _ => {}
            }
        }
        MediaRange { essence, version, q }
    })
}

/// The major version a `version` parameter names, if it is one SAPI serves.
fn major(version: &str) -> Option<ApiVersion> {
    match version.split('.').next()? {
        "2" => Some(ApiVersion::V2),
        "3" => Some(ApiVersion::V3),
        _ => None,
    }
}

/// The version to answer a request for `resource` with, from its `Accept` header.
///
/// - `version=3…` → v3; `version=2…` → v2;
/// - the vendor type without a version, `application/json`, `*/*`, `application/*` or no
///   header → v2, the shape clients that do not ask for a version were written for;
/// - anything else (another type, version 1 or 4) is not acceptable.
///
/// Among acceptable ranges the highest q-value wins, then the later version.
pub fn negotiate(accept: Option<&str>, resource: Resource) -> Result<ApiVersion, MediaError> {
    let Some(header) = accept.filter(|h| !h.trim().is_empty()) else {
        return Ok(ApiVersion::V2);
    };
    let media_type = resource.media_type();
    media_ranges(header)
        .filter(|r| r.q > 0.0)
        .filter_map(|r| {
            let generic = ["*/*", "application/*", "application/json"]
                .iter()
                .any(|g| r.essence.eq_ignore_ascii_case(g));
            let version = match (r.essence.eq_ignore_ascii_case(media_type), r.version) {
                (true, Some(v)) => major(v)?,
                (true, None) => ApiVersion::V2,
                (false, _) if generic => ApiVersion::V2,
                (false, _) => return None,
            };
            Some((r.q, version))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        .map(|(_, version)| version)
        .ok_or_else(|| MediaError::NotAcceptable { accept: header.to_string(), media_type })
}

/// The version of a reply for `resource`, from its `Content-Type`: the vendor type with a
/// 2.x or 3.x version, or plain `application/json` (the unversioned v2 replies of 2020).
pub fn reply_version(content_type: &str, resource: Resource) -> Result<ApiVersion, MediaError> {
    let media_type = resource.media_type();
    let wrong =
        || MediaError::UnexpectedContentType { content_type: content_type.to_string(), media_type };
    let range = media_ranges(content_type).next().ok_or_else(wrong)?;
    if range.essence.eq_ignore_ascii_case("application/json") {
        return Ok(ApiVersion::V2);
    }
    if !range.essence.eq_ignore_ascii_case(media_type) {
        return Err(wrong());
    }
    range.version.and_then(major).ok_or_else(wrong)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_the_recorded_ones() {
        // Recorded 2025 replies (charset aside) and the v3 Accept dwave-cloud-client 0.14 sent.
        for (written, recorded) in [
            (
                Resource::Problems.content_type(ApiVersion::V3),
                "application/vnd.dwave.sapi.problems+json; version=3.0.0",
            ),
            (
                Resource::Problem.content_type(ApiVersion::V2),
                "application/vnd.dwave.sapi.problem+json; version=2.1.0",
            ),
            (
                Resource::SolverDefinitionList.content_type(ApiVersion::V2),
                "application/vnd.dwave.sapi.solver-definition-list+json; version=2.0.0",
            ),
            (
                Resource::Problems.accept(ApiVersion::V3),
                "application/vnd.dwave.sapi.problems+json; version=3.0.0",
            ),
        ] {
            assert_eq!(written, recorded);
        }
        assert_eq!(Resource::Problems.accept(ApiVersion::V2), Resource::Problems.media_type());
    }

    #[test]
    fn negotiation_serves_what_each_client_asks_for() {
        let problems = Resource::Problems;
        for (accept, version) in [
            (None, ApiVersion::V2),
            (Some("*/*"), ApiVersion::V2),
            (Some("application/json"), ApiVersion::V2),
            (Some("application/vnd.dwave.sapi.problems+json"), ApiVersion::V2),
            (Some("application/vnd.dwave.sapi.problems+json; version=2.1"), ApiVersion::V2),
            (Some("application/vnd.dwave.sapi.problems+json; version=3.0.0"), ApiVersion::V3),
            (Some("application/vnd.dwave.sapi.problems+json;version=3"), ApiVersion::V3),
            (
                Some("application/vnd.dwave.sapi.problems+json; version=3.0.0, */*; q=0.1"),
                ApiVersion::V3,
            ),
            (
                Some("application/vnd.dwave.sapi.problems+json; version=3.0.0; q=0.2, */*"),
                ApiVersion::V2,
            ),
        ] {
            assert_eq!(negotiate(accept, problems), Ok(version), "{accept:?}");
        }
        for refused in [
            "application/vnd.dwave.sapi.problems+json; version=4.0.0",
            "application/vnd.dwave.sapi.problems+json; version=1.0",
            "application/vnd.dwave.sapi.problem+json; version=3.0.0",
            "text/html",
            "*/*; q=0",
        ] {
            assert_eq!(
                negotiate(Some(refused), problems),
                Err(MediaError::NotAcceptable {
                    accept: refused.into(),
                    media_type: problems.media_type()
                })
            );
        }
    }

    #[test]
    fn reply_versions_are_read_from_content_type() {
        let problem = Resource::Problem;
        let v3 = "application/vnd.dwave.sapi.problem+json; version=3.0.0; charset=utf-8";
        assert_eq!(reply_version(v3, problem), Ok(ApiVersion::V3));
        assert_eq!(reply_version("application/json", problem), Ok(ApiVersion::V2));
        for content_type in Resource::ALL.map(|r| r.content_type(ApiVersion::V2)) {
            let is_problem = content_type.starts_with(problem.media_type());
            assert_eq!(reply_version(&content_type, problem).is_ok(), is_problem);
        }
        assert!(reply_version("application/vnd.dwave.sapi.problem+json", problem).is_err());
        assert!(reply_version("text/plain", problem).is_err());
    }
}
