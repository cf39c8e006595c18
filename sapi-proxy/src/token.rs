//! The SAPI API token: read from the environment or a file, sent as `X-Auth-Token`, never
//! printed (its `Debug` is redacted) and never taken from a command-line flag (flags show in
//! `ps` and shell histories).

use std::fmt;
use std::path::Path;

/// Environment variables the token is read from, in order of preference.
pub const TOKEN_VARIABLES: [&str; 2] = ["QAHM_SAPI_TOKEN", "DWAVE_API_TOKEN"];

/// A SAPI API token.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

impl ApiToken {
    /// A token as given; surrounding whitespace (a file's final newline) is dropped. `None`
    /// when nothing is left.
    pub fn new(text: &str) -> Option<Self> {
        let text = text.trim();
        (!text.is_empty()).then(|| ApiToken(text.to_string()))
    }

    /// The token in a file, whose path may be given on the command line.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--token-file {}: {e}", path.display()))?;
        ApiToken::new(&text).ok_or_else(|| format!("--token-file {} is empty", path.display()))
    }

    /// The token from the first of [`TOKEN_VARIABLES`] that is set and not empty.
    pub fn from_env() -> Option<Self> {
        TOKEN_VARIABLES.iter().find_map(|name| ApiToken::new(&std::env::var(name).ok()?))
    }

    /// The token itself, for the `X-Auth-Token` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_trimmed_and_never_shown_by_debug() {
        let token = ApiToken::new(" DEV-abc123\n").unwrap();
        assert_eq!(token.expose(), "DEV-abc123");
        let shown = format!("{token:?} {:?}", Some(&token));
        assert!(!shown.contains("abc123"), "{shown}");
        assert_eq!(ApiToken::new(" \n"), None);
    }
}
