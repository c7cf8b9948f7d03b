//! The HTTP client of the key owner (blocking reqwest over rustls). Every
//! call retries with exponential backoff while the server is unreachable
//! or answers 502/503/504, so that a client rides out a server restart.
//! A TLS failure (an untrusted or wrong certificate, a server that does not
//! speak TLS) is not retried: it is reported at once as
//! [`ClientError::Tls`].

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client as Http, RequestBuilder, Response};
use reqwest::StatusCode;
use thiserror::Error;

use super::tls::{read_pem, TlsError};
use super::{Created, Status, Uploaded, VerdictMsg};

/// Errors of the client.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The HTTP library failed (other than a retried connection error).
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    /// The server refused the request.
    #[error("server answered {status}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The server's `error` text.
        message: String,
    },
    /// A local file could not be read.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server stayed unreachable.
    #[error("server unreachable for {0:?}; giving up")]
    Unreachable(Duration),
    /// The TLS connection failed (certificate not trusted, not for this
    /// host, or the server does not speak TLS).
    #[error("TLS with {server} failed: {reason}")]
    Tls {
        /// The server's URL.
        server: String,
        /// rustls's reason.
        reason: String,
        /// The HTTP library's error.
        #[source]
        source: reqwest::Error,
    },
    /// An extra root certificate was given for a plain `http://` URL.
    #[error("--ca needs an https:// server URL (got {0})")]
    CaWithoutHttps(String),
    /// The extra root certificate file is unusable.
    #[error(transparent)]
    Root(#[from] TlsError),
}

impl ClientError {
    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A client of one server, optionally bound to a job's token.
#[derive(Clone, Debug)]
pub struct Client {
    http: Http,
    base: String,
    token: Option<String>,
    /// How long to keep retrying an unreachable server.
    pub patience: Duration,
}

/// rustls's reason, when `e` is a failed TLS connection.
fn tls_failure(e: &reqwest::Error) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        // An io::Error reports its inner error's source, not the inner
        // error itself (and hyper wraps rustls's io::Error in another):
        // look inside, layer by layer.
        let mut inner = Some(c);
        while let Some(i) = inner {
            if let Some(t) = i.downcast_ref::<rustls::Error>() {
                let hint = match t {
                    rustls::Error::InvalidCertificate(_) => {
                        " (not trusted: give its root certificate with --ca)"
                    }
                    rustls::Error::InvalidMessage(_) => " (does the server speak HTTPS?)",
                    _ => "",
                };
                return Some(format!("{t}{hint}"));
            }
            inner = i
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .map(|e| e as &(dyn std::error::Error + 'static));
        }
        cause = c.source();
    }
    None
}

/// A refused connection: the server is (re)starting; retried until the
/// client's patience runs out.
fn unreachable(e: &reqwest::Error) -> bool {
    e.is_connect()
}

/// A connection lost mid-request (a server killed during the call):
/// retried a few times.
fn interrupted(e: &reqwest::Error) -> bool {
    e.is_timeout() || e.is_request() || e.is_body()
}

/// Attempts for a request interrupted mid-way.
const INTERRUPTED_ATTEMPTS: usize = 3;

impl Client {
    /// A client of the server at `base` (for example `http://127.0.0.1:8750`
    /// or `https://server.example:8750`, checked against the operating
    /// system's roots).
    pub fn new(base: &str) -> Result<Self, ClientError> {
        Self::with_ca(base, None)
    }

    /// A client of the server at `base` that also trusts the root
    /// certificates of the PEM file `ca` (which needs an `https://` URL).
    pub fn with_ca(base: &str, ca: Option<&Path>) -> Result<Self, ClientError> {
        let mut builder = Http::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(None);
        if let Some(path) = ca {
            if !base.starts_with("https://") {
                return Err(ClientError::CaWithoutHttps(base.to_string()));
            }
            let pem = read_pem(path)?;
            let roots =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| TlsError::Root {
                    path: path.to_path_buf(),
                    source,
                })?;
            if roots.is_empty() {
                return Err(TlsError::NoCertificate(path.to_path_buf()).into());
            }
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        let http = builder.build()?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: None,
            patience: Duration::from_secs(600),
        })
    }

    /// The same client, sending `token` on every call.
    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn send(
        &self,
        build: impl Fn() -> Result<RequestBuilder, ClientError>,
    ) -> Result<Response, ClientError> {
        let start = Instant::now();
        let mut wait = Duration::from_millis(200);
        let mut interruptions = 0;
        loop {
            let mut req = build()?;
            if let Some(t) = &self.token {
                req = req.bearer_auth(t);
            }
            let outcome = req.send();
            let retry = match &outcome {
                Ok(r) => matches!(
                    r.status(),
                    StatusCode::BAD_GATEWAY
                        | StatusCode::SERVICE_UNAVAILABLE
                        | StatusCode::GATEWAY_TIMEOUT
                ),
                Err(e) if tls_failure(e).is_some() => false,
                Err(e) if unreachable(e) => true,
                Err(e) if interrupted(e) => {
                    interruptions += 1;
                    interruptions < INTERRUPTED_ATTEMPTS
                }
                Err(_) => false,
            };
            if !retry {
                let r = outcome.map_err(|source| match tls_failure(&source) {
                    Some(reason) => ClientError::Tls {
                        server: self.base.clone(),
                        reason,
                        source,
                    },
                    None => ClientError::Http(source),
                })?;
                if r.status().is_success() {
                    return Ok(r);
                }
                let status = r.status().as_u16();
                let message = r
                    .json::<serde_json::Value>()
                    .ok()
                    .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(String::from))
                    .unwrap_or_default();
                return Err(ClientError::Api { status, message });
            }
            if start.elapsed() > self.patience {
                return Err(ClientError::Unreachable(self.patience));
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }

    /// Creates a job from job-file text.
    pub fn create_job(&self, job_toml: &str) -> Result<Created, ClientError> {
        let body = job_toml.to_string();
        Ok(self
            .send(|| Ok(self.http.post(self.url("/v1/jobs")).body(body.clone())))?
            .json()?)
    }

    /// Streams a file to an upload route (`eval-keys`, `train-data`,
    /// `validation-data`); `progress` sees the bytes read.
    pub fn upload(
        &self,
        id: &str,
        route: &str,
        path: &Path,
        progress: &indicatif::ProgressBar,
    ) -> Result<Uploaded, ClientError> {
        let url = self.url(&format!("/v1/jobs/{id}/{route}"));
        Ok(self
            .send_file(reqwest::Method::PUT, &url, path, progress)?
            .json()?)
    }

    /// Sends a file as the streamed body of a request.
    fn send_file(
        &self,
        method: reqwest::Method,
        url: &str,
        path: &Path,
        progress: &indicatif::ProgressBar,
    ) -> Result<Response, ClientError> {
        let file_err = |source| ClientError::File {
            path: path.display().to_string(),
            source,
        };
        let len = std::fs::metadata(path).map_err(file_err)?.len();
        progress.set_length(len);
        self.send(|| {
            progress.set_position(0);
            let f = std::fs::File::open(path).map_err(file_err)?;
            let body = reqwest::blocking::Body::sized(progress.wrap_read(f), len);
            Ok(self.http.request(method.clone(), url).body(body))
        })
    }

    /// Encrypted inference: sends encrypted features (a validation-data
    /// frame file) to a finished job and returns the encrypted logits.
    pub fn predict(&self, id: &str, features: &Path) -> Result<Vec<u8>, ClientError> {
        let url = self.url(&format!("/v1/jobs/{id}/predict"));
        let hidden = indicatif::ProgressBar::hidden();
        Ok(self
            .send_file(reqwest::Method::POST, &url, features, &hidden)?
            .bytes()?
            .to_vec())
    }

    /// Starts a job whose uploads are complete.
    pub fn start(&self, id: &str) -> Result<Status, ClientError> {
        let url = self.url(&format!("/v1/jobs/{id}/start"));
        Ok(self.send(|| Ok(self.http.post(&url)))?.json()?)
    }

    /// A job's status.
    pub fn status(&self, id: &str) -> Result<Status, ClientError> {
        let url = self.url(&format!("/v1/jobs/{id}"));
        Ok(self.send(|| Ok(self.http.get(&url)))?.json()?)
    }

    /// The pending epoch's encrypted validation logits.
    pub fn logits(&self, id: &str) -> Result<Vec<u8>, ClientError> {
        let url = self.url(&format!("/v1/jobs/{id}/logits"));
        Ok(self.send(|| Ok(self.http.get(&url)))?.bytes()?.to_vec())
    }

    /// Sends a verdict.
    pub fn verdict(&self, id: &str, v: &VerdictMsg) -> Result<Status, ClientError> {
        let url = self.url(&format!("/v1/jobs/{id}/verdict"));
        Ok(self.send(|| Ok(self.http.post(&url).json(v)))?.json()?)
    }

    /// The encrypted weights of a finished job.
    pub fn weights(&self, id: &str) -> Result<Vec<u8>, ClientError> {
        let url = self.url(&format!("/v1/jobs/{id}/weights"));
        Ok(self.send(|| Ok(self.http.get(&url)))?.bytes()?.to_vec())
    }
}
