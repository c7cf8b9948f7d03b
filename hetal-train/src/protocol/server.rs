//! The HTTP server (axum on tokio). See the module [`super`] for the routes.

use std::path::Path;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures_util::StreamExt;
use thiserror::Error;

use super::store::{JobHandle, Store, StoreError};
use super::upload::{UploadError, UploadKind, UploadSink};
use super::{Created, JobState, Status, Uploaded, VerdictMsg};
use crate::io::write_atomic;
use crate::job::JobSpec;

/// Largest job file accepted.
pub const MAX_JOB_BYTES: usize = 64 << 10;

/// An error answered to a client (the body is `{"error": "..."}`).
#[derive(Debug, Error)]
pub enum ApiError {
    /// Missing or wrong bearer token.
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// No such job or route.
    #[error("not found")]
    NotFound,
    /// The request does not fit the job's state.
    #[error("{0}")]
    Conflict(&'static str),
    /// The job file is invalid.
    #[error("invalid job: {0}")]
    Job(#[from] crate::job::JobError),
    /// The upload was refused.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// The body could not be read.
    #[error("request body: {0}")]
    Body(#[from] axum::Error),
    /// A store error.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading a stored file failed.
    #[error("reading a stored file failed")]
    Io(#[from] std::io::Error),
    /// Encrypted inference failed.
    #[error("inference: {0}")]
    Inference(#[from] super::runner::RunError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = match &self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Job(_) => StatusCode::BAD_REQUEST,
            ApiError::Upload(UploadError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Upload(UploadError::Io(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Upload(_) | ApiError::Body(_) => StatusCode::BAD_REQUEST,
            ApiError::Store(_) | ApiError::Io(_) | ApiError::Inference(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (code, Json(serde_json::json!({ "error": self.to_string() }))).into_response()
    }
}

/// The server's shared state.
pub struct Server {
    store: Store,
    queue: Mutex<Sender<Arc<JobHandle>>>,
    inference: tokio::sync::Mutex<()>,
    insecure: bool,
}

impl Server {
    /// Opens the store, starts the training thread and queues every job
    /// that was running when the server last stopped.
    /// With `insecure`, jobs on INSECURE test presets are accepted.
    pub fn open(store_dir: &Path, insecure: bool) -> Result<Arc<Self>, StoreError> {
        let store = Store::open(store_dir)?;
        let (tx, _thread) = super::runner::spawn();
        for job in store.unfinished() {
            eprintln!("job {}: queued again after a restart", job.id);
            let _ = tx.send(job);
        }
        Ok(Arc::new(Server {
            store,
            queue: Mutex::new(tx),
            inference: tokio::sync::Mutex::new(()),
            insecure,
        }))
    }

    fn authorize(&self, id: &str, headers: &HeaderMap) -> Result<Arc<JobHandle>, ApiError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        let job = self.store.get(id).ok_or(ApiError::Unauthorized)?;
        if job.authorizes(token) {
            Ok(job)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

/// The application's routes.
pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route(
            "/v1/jobs",
            post(create).layer(DefaultBodyLimit::max(MAX_JOB_BYTES)),
        )
        .route("/v1/jobs/{id}", get(status))
        .route("/v1/jobs/{id}/start", post(start))
        .route("/v1/jobs/{id}/logits", get(logits))
        .route(
            "/v1/jobs/{id}/verdict",
            post(verdict).layer(DefaultBodyLimit::max(4 << 10)),
        )
        .route("/v1/jobs/{id}/weights", get(weights))
        // The body streams: the limit is the job's, checked as bytes arrive.
        .route(
            "/v1/jobs/{id}/predict",
            post(predict).layer(DefaultBodyLimit::disable()),
        )
        // Uploads stream: the limit is the job's, checked as bytes arrive.
        .route(
            "/v1/jobs/{id}/{upload}",
            put(upload).layer(DefaultBodyLimit::disable()),
        )
        .with_state(server)
}

/// Serves on `listener` (a `tokio::net::TcpListener` for HTTP, a
/// [`super::tls::TlsListener`] for HTTPS) until the process ends.
pub async fn serve<L>(listener: L, server: Arc<Server>) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    axum::serve(listener, router(server)).await
}

async fn create(
    State(s): State<Arc<Server>>,
    body: String,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let spec = JobSpec::parse(&body, "job")?;
    spec.check_security(s.insecure)?;
    let (job, token) = s.store.create(spec)?;
    eprintln!("job {}: created ({})", job.id, job.spec.preset);
    Ok((
        StatusCode::CREATED,
        Json(Created {
            id: job.id.clone(),
            token,
        }),
    ))
}

async fn status(
    State(s): State<Arc<Server>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Json<Status>, ApiError> {
    let job = s.authorize(&id, &headers)?;
    Ok(Json(job.status()?))
}

async fn upload(
    State(s): State<Arc<Server>>,
    UrlPath((id, name)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Uploaded>, ApiError> {
    let ready = s.authorize(&id, &headers).and_then(|job| {
        let kind = UploadKind::from_route(&name).ok_or(ApiError::NotFound)?;
        if job.started() {
            Err(ApiError::Conflict(
                "the job has started: uploads are closed",
            ))
        } else {
            Ok((job, kind))
        }
    });
    let ((job, kind), body) = admitted(ready, body).await?;
    let uploaded = receive(&job, kind, body).await?;
    Ok(Json(uploaded))
}

/// Streams `body` into `job`'s file of `kind`, validating as it arrives.
async fn receive(job: &JobHandle, kind: UploadKind, body: Body) -> Result<Uploaded, ApiError> {
    let mut sink = UploadSink::new(job, kind)?;
    let mut stream = body.into_data_stream();
    // After a refusal the rest of the body is read and dropped (up to the
    // upload's limit) so that the client receives the answer rather than
    // a reset connection.
    let mut refused: Option<(UploadError, u64)> = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        match refused.as_mut() {
            None => {
                if let Err(e) = tokio::task::block_in_place(|| sink.feed(&chunk)) {
                    if matches!(e, UploadError::TooLarge { .. }) {
                        eprintln!("job {}: {} refused: {e}", job.id, kind.file_name());
                        return Err(e.into());
                    }
                    refused = Some((e, sink.limit()));
                }
            }
            Some((_, room)) => {
                *room = room.saturating_sub(chunk.len() as u64);
                if *room == 0 {
                    break;
                }
            }
        }
    }
    let done = match refused {
        Some((e, _)) => Err(e),
        None => tokio::task::block_in_place(|| sink.finish()),
    };
    match &done {
        Ok(u) => eprintln!(
            "job {}: {} stored ({} frames)",
            job.id,
            kind.file_name(),
            u.frames
        ),
        Err(e) => eprintln!("job {}: {} refused: {e}", job.id, kind.file_name()),
    }
    Ok(done?)
}

async fn start(
    State(s): State<Arc<Server>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Json<Status>, ApiError> {
    let job = s.authorize(&id, &headers)?;
    if job.started() {
        return Ok(Json(job.status()?));
    }
    if super::store::UPLOADS.iter().any(|f| !job.file(f).exists()) {
        return Err(ApiError::Conflict(
            "upload eval-keys, train-data and validation-data first",
        ));
    }
    write_atomic(&job.file("started"), |_| Ok(())).map_err(StoreError::from)?;
    job.update(|st| st.state = JobState::Queued)?;
    s.queue
        .lock()
        .map_err(|_| StoreError::Poisoned)?
        .send(job.clone())
        .map_err(|_| ApiError::Conflict("the training thread has stopped"))?;
    eprintln!("job {}: queued", job.id);
    Ok(Json(job.status()?))
}

async fn logits(
    State(s): State<Arc<Server>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let job = s.authorize(&id, &headers)?;
    let (_, bytes) = job
        .pending_logits()?
        .ok_or(ApiError::Conflict("no verdict is awaited"))?;
    Ok(octets(bytes.as_ref().clone()))
}

async fn verdict(
    State(s): State<Arc<Server>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Json(v): Json<VerdictMsg>,
) -> Result<Json<Status>, ApiError> {
    let job = s.authorize(&id, &headers)?;
    job.deliver(v)?.map_err(ApiError::Conflict)?;
    eprintln!(
        "job {}: verdict on epoch {}: {}",
        job.id,
        v.epoch,
        if v.stop { "stop" } else { "continue" }
    );
    Ok(Json(job.status()?))
}

async fn weights(
    State(s): State<Arc<Server>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let job = s.authorize(&id, &headers)?;
    if job.status()?.state != JobState::Done {
        return Err(ApiError::Conflict("the job has not finished"));
    }
    Ok(octets(tokio::fs::read(job.file("weights")).await?))
}

/// Bytes of a refused request's body the server reads before answering.
const REFUSAL_DRAIN: usize = 1 << 20;

/// A route's decision on a request with a body: the body back to stream
/// when admitted; a refusal once up to [`REFUSAL_DRAIN`] bytes of the body
/// are read. A refusal sent while the client still writes its body closes
/// the connection under it, and the client sees a broken upload instead of
/// the status. A larger body is cut off there (the route has not authorised
/// it, so it gets no more). [`receive`] does the same for refusals found
/// while the body streams in.
async fn admitted<T>(decision: Result<T, ApiError>, body: Body) -> Result<(T, Body), ApiError> {
    match decision {
        Ok(admitted) => Ok((admitted, body)),
        Err(refusal) => {
            let _ = axum::body::to_bytes(body, REFUSAL_DRAIN).await;
            Err(refusal)
        }
    }
}

async fn predict(
    State(s): State<Arc<Server>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let ready = s.authorize(&id, &headers).and_then(|job| {
        if job.status()?.state == JobState::Done {
            Ok(job)
        } else {
            Err(ApiError::Conflict("the job has not finished"))
        }
    });
    let (job, body) = admitted(ready, body).await?;
    // One inference at a time: each loads the job's evaluation keys.
    let _turn = s.inference.lock().await;
    let uploaded = receive(&job, UploadKind::Features, body).await?;
    eprintln!(
        "job {}: encrypted inference on {} ciphertexts",
        job.id, uploaded.frames
    );
    let task = job.clone();
    let logits = tokio::task::spawn_blocking(move || super::inference::logits(&task))
        .await
        .map_err(|_| ApiError::Conflict("the inference task stopped"))?;
    let _ = tokio::fs::remove_file(job.file(UploadKind::Features.file_name())).await;
    Ok(octets(logits?))
}

fn octets(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}
