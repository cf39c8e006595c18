//! TLS for qahm's gRPC servers and clients (rustls through tonic; no OpenSSL). A server
//! gets its certificate chain and key from PEM files; a client of an `https://` address
//! trusts the system's roots and, when given, one more CA certificate (a private CA, or the
//! self-signed certificate of a test).

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

/// A TLS file that could not be read, or holds no PEM.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: cannot use {path}: {reason}")]
pub struct TlsFileError {
    /// The setting that named the file (e.g. `--tls-cert`).
    pub setting: &'static str,
    pub path: PathBuf,
    pub reason: String,
}

fn read_pem(setting: &'static str, path: &Path) -> Result<Vec<u8>, TlsFileError> {
    let fail = |reason: String| TlsFileError { setting, path: path.to_path_buf(), reason };
    let pem = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    if !pem.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(fail("not a PEM file (no -----BEGIN line)".into()));
    }
    Ok(pem)
}

/// A server's TLS identity: its certificate chain and private key.
#[derive(Clone, Debug)]
pub struct ServerTls {
    identity: Identity,
}

impl ServerTls {
    /// Reads the chain from `cert` (named by the `--tls-cert` setting) and the key from `key`
    /// (`--tls-key`), both PEM. Whether they match is checked when the server starts.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, TlsFileError> {
        let cert = read_pem("--tls-cert", cert)?;
        let key = read_pem("--tls-key", key)?;
        Ok(ServerTls { identity: Identity::from_pem(cert, key) })
    }

    /// From PEM bytes already in memory.
    pub fn from_pem(cert: impl AsRef<[u8]>, key: impl AsRef<[u8]>) -> Self {
        ServerTls { identity: Identity::from_pem(cert, key) }
    }

    pub(crate) fn config(&self) -> ServerTlsConfig {
        ServerTlsConfig::new().identity(self.identity.clone())
    }
}

/// What a client trusts for `https://` addresses: the system's roots, plus `extra_ca`.
#[derive(Clone, Debug, Default)]
pub struct ClientTls {
    extra_ca: Option<Certificate>,
}

impl ClientTls {
    /// Trusts the CA certificate in `path` (PEM) besides the system's roots; `setting` names
    /// the option that gave the path, for the error.
    pub fn with_ca_file(setting: &'static str, path: &Path) -> Result<Self, TlsFileError> {
        Ok(ClientTls { extra_ca: Some(Certificate::from_pem(read_pem(setting, path)?)) })
    }

    /// Trusts `pem` besides the system's roots.
    pub fn with_ca_pem(pem: impl AsRef<[u8]>) -> Self {
        ClientTls { extra_ca: Some(Certificate::from_pem(pem)) }
    }

    /// The tonic config for a connection to `host` (the name its certificate must carry).
    pub fn config(&self, host: &str) -> ClientTlsConfig {
        let config = ClientTlsConfig::new().with_native_roots().domain_name(host);
        match &self.extra_ca {
            Some(ca) => config.ca_certificate(ca.clone()),
            None => config,
        }
    }
}

/// An endpoint for `url`: plain for `http://`, TLS trusting `tls` for `https://`.
pub fn endpoint(
    url: &str,
    tls: &ClientTls,
) -> Result<tonic::transport::Endpoint, tonic::transport::Error> {
    let endpoint = tonic::transport::Endpoint::from_shared(url.to_string())?;
    if endpoint.uri().scheme_str() == Some("https") {
        let host = endpoint.uri().host().unwrap_or_default().to_string();
        endpoint.tls_config(tls.config(&host))
    } else {
        Ok(endpoint)
    }
}

/// A server's `--tls-cert` / `--tls-key` flags (both or neither), the same on every binary.
#[cfg(feature = "cli")]
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ServerTlsArgs {
    /// Serve over TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "QAHM_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "QAHM_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

#[cfg(feature = "cli")]
impl ServerTlsArgs {
    /// The identity the flags name, read now; `None` (plaintext) when they name none.
    pub fn load(&self) -> Result<Option<ServerTls>, TlsFileError> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => ServerTls::from_files(cert, key).map(Some),
            _ => Ok(None),
        }
    }
}
