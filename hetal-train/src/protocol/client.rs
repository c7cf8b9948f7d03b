//! The HTTP client of the key owner (blocking reqwest over rustls). Every
//! call retries with exponential backoff while the server is unreachable
//! or answers 502/503/504, so that a client rides out a server restart.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client as Http, RequestBuilder, Response};
use reqwest::StatusCode;
use thiserror::Error;

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
    /// A client of the server at `base` (for example `http://127.0.0.1:8750`).
    pub fn new(base: &str) -> Result<Self, ClientError> {
        let http = Http::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(None)
            .build()?;
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
                Err(e) if unreachable(e) => true,
                Err(e) if interrupted(e) => {
                    interruptions += 1;
                    interruptions < INTERRUPTED_ATTEMPTS
                }
                Err(_) => false,
            };
            if !retry {
                let r = outcome?;
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
        let file_err = |source| ClientError::File {
            path: path.display().to_string(),
            source,
        };
        let len = std::fs::metadata(path).map_err(file_err)?.len();
        progress.set_length(len);
        let url = self.url(&format!("/v1/jobs/{id}/{route}"));
        Ok(self
            .send(|| {
                progress.set_position(0);
                let f = std::fs::File::open(path).map_err(file_err)?;
                let body = reqwest::blocking::Body::sized(progress.wrap_read(f), len);
                Ok(self.http.put(&url).body(body))
            })?
            .json()?)
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
