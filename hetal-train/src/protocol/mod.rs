//! The three roles over HTTP or HTTPS: the training server ([`server`]),
//! its job store and training loop ([`store`], [`runner`]), the key
//! owner's client ([`client`], [`owner`]) and TLS on both sides ([`tls`]).
//!
//! Routes (every route but job creation needs `Authorization: Bearer
//! <token>`, the token returned at creation, compared in constant time):
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | POST | `/v1/jobs` | the job file (TOML, ≤ 64 KiB) | `{"id", "token"}` |
//! | PUT | `/v1/jobs/{id}/eval-keys` | `eval.keys` frame file, streamed | `{"frames", "bytes"}` |
//! | PUT | `/v1/jobs/{id}/train-data` | encrypted training batches, streamed | `{"frames", "bytes"}` |
//! | PUT | `/v1/jobs/{id}/validation-data` | encrypted validation features, streamed | `{"frames", "bytes"}` |
//! | POST | `/v1/jobs/{id}/start` | — | status |
//! | GET | `/v1/jobs/{id}` | — | status (state, epoch, iteration, bootstraps, ETA, pending verdict) |
//! | GET | `/v1/jobs/{id}/logits` | — | the pending epoch's encrypted validation logits |
//! | POST | `/v1/jobs/{id}/verdict` | `{"epoch", "stop", "best_epoch"}` | status |
//! | GET | `/v1/jobs/{id}/weights` | — | the best epoch's encrypted weights |
//! | POST | `/v1/jobs/{id}/predict` | encrypted features (validation-data format), streamed | their encrypted logits under the best weights ([`inference`]) |
//!
//! Uploads are checked as bytes arrive: a size limit derived from the job
//! (key count and key size; sample count and ciphertext size), then every
//! frame decoded against the job's parameters before it is written. A
//! secret-key frame is refused.

pub mod client;
pub mod counting;
pub mod inference;
pub mod owner;
pub mod runner;
pub mod server;
pub mod store;
pub mod tls;
pub mod upload;

use serde::{Deserialize, Serialize};

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Created; uploads may follow.
    Created,
    /// Started, waiting for the training thread.
    Queued,
    /// Loading keys and data.
    Loading,
    /// Training an epoch.
    Training,
    /// Waiting for the key owner's verdict on `pending_epoch`.
    AwaitingVerdict,
    /// Finished: the weights can be downloaded.
    Done,
    /// Failed (see `error`).
    Failed,
}

/// A job's status as the server reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// State.
    pub state: JobState,
    /// Epochs completed.
    pub epoch: usize,
    /// Epoch cap.
    pub max_epochs: usize,
    /// Gradient steps taken.
    pub iteration: usize,
    /// Gradient steps per epoch.
    pub iterations_per_epoch: usize,
    /// Bootstraps run by the job so far (kept in its checkpoints: a
    /// restarted server goes on from the last checkpoint's count).
    pub bootstraps: u64,
    /// Measured seconds per gradient step (since the last (re)start).
    pub seconds_per_iteration: Option<f64>,
    /// Seconds left if training runs to the epoch cap (an upper bound).
    pub eta_seconds: Option<f64>,
    /// The epoch whose verdict is awaited.
    pub pending_epoch: Option<usize>,
    /// Epoch whose weights are held as the best.
    pub best_epoch: usize,
    /// Why the job failed.
    pub error: Option<String>,
}

/// The key owner's answer after an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictMsg {
    /// The epoch judged.
    pub epoch: usize,
    /// Stop training.
    pub stop: bool,
    /// Epoch with the lowest validation loss so far.
    pub best_epoch: usize,
}

/// Answer to job creation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// Job id.
    pub id: String,
    /// Bearer token of the job (shown once).
    pub token: String,
}

/// Answer to an upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uploaded {
    /// Frames accepted.
    pub frames: usize,
    /// Bytes stored.
    pub bytes: u64,
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
