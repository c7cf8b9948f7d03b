//! The key owner's side of a training job (`hetal train`): create the job,
//! upload keys and data, answer early stopping, fetch the weights.
//!
//! The session (server, job id, bearer token, validation losses so far) is
//! kept in `OUT/session.json` (mode 0600, written atomically before each
//! verdict is sent), so that a key owner that drops out and comes back
//! carries on with the same job and answers exactly as it would have.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hetal_nostd::ring::sampling::Csprng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::client::{Client, ClientError};
use super::{JobState, Status, VerdictMsg};
use crate::ckks_engine::{CkksEngine, OwnerKeys};
use crate::data::Dataset;
use crate::engine::EngineError;
use crate::io::{write_atomic_mode, FileError};
use crate::job::checkpoint::matrices_from_bytes;
use crate::job::data::{write_encrypted_file, DataError};
use crate::job::frames::Content;
use crate::job::geometry::Geometry;
use crate::job::JobSpec;
use crate::linalg::{decrypt_matrix, LinalgError, Matrix};
use crate::train::{TrainError, Verdict};

/// Errors of the key owner's session.
#[derive(Debug, Error)]
pub enum OwnerError {
    /// HTTP.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Files.
    #[error(transparent)]
    File(#[from] FileError),
    /// Encrypted data.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Engine.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Decryption layout.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
    /// Loss.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// Job.
    #[error(transparent)]
    Job(#[from] crate::job::JobError),
    /// The session file is unreadable.
    #[error("{0}: unreadable session file (delete it to start a new job)")]
    Session(PathBuf),
    /// The model directory has no session (encrypted inference needs one).
    #[error("{0}: no session file (the model directory of `hetal train` has one)")]
    NoSession(PathBuf),
    /// The server reports the job failed.
    #[error("the server reports the job failed: {0}")]
    Failed(String),
    /// No entropy.
    #[error("no operating-system entropy")]
    Entropy,
    /// The weights received do not have the job's shape.
    #[error("the weights received do not have the job's shape")]
    Shape,
}

/// What `OUT/session.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// Server URL.
    pub server: String,
    /// Job id.
    pub job: String,
    /// Bearer token (secret: the file is mode 0600).
    pub token: String,
    /// Validation loss of each judged epoch.
    pub losses: Vec<f64>,
}

impl Session {
    fn path(out: &Path) -> PathBuf {
        out.join("session.json")
    }

    /// The session of the model directory `out`, if it has one.
    pub fn load(out: &Path) -> Result<Option<Self>, OwnerError> {
        let path = Self::path(out);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| OwnerError::Session(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(FileError::io(&path, e).into()),
        }
    }

    fn save(&self, out: &Path) -> Result<(), OwnerError> {
        let bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        write_atomic_mode(&Self::path(out), Some(0o600), |f| f.write_all(&bytes))?;
        Ok(())
    }
}

/// What the key owner gives `hetal train`.
pub struct TrainRequest<'a> {
    /// Server URL.
    pub server: &'a str,
    /// An extra root certificate (PEM) to trust for an `https://` server.
    pub ca: Option<&'a Path>,
    /// The job (from the owner's key files).
    pub spec: &'a JobSpec,
    /// The owner's keys.
    pub keys: &'a OwnerKeys,
    /// `OWNER/eval.keys`.
    pub eval_keys: &'a Path,
    /// The producer's encrypted training batches.
    pub train_data: &'a Path,
    /// Validation set (plaintext; encrypted here, labels stay here).
    pub validation: &'a Dataset,
    /// Output directory (session file, encrypted validation data).
    pub out: &'a Path,
    /// How long to retry an unreachable server.
    pub patience: Duration,
}

/// Progress callbacks of [`train`].
pub trait Progress {
    /// A step of the setup (encrypting, uploading).
    fn stage(&mut self, what: &str);
    /// A progress bar for an upload.
    fn upload_bar(&mut self, what: &str) -> indicatif::ProgressBar;
    /// The server's status.
    fn status(&mut self, status: &Status);
    /// The loss of a judged epoch and the verdict sent.
    fn judged(&mut self, epoch: usize, loss: f64, stop: bool);
}

/// The result of a training session.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOutcome {
    /// Decrypted weights, `classes × (features + 1)`.
    pub weights: Matrix,
    /// Validation loss per epoch.
    pub losses: Vec<f64>,
    /// Epoch of the weights.
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs: usize,
    /// Gradient steps.
    pub iterations: usize,
    /// Job id.
    pub job: String,
}

/// Runs the key owner's side of a job to its end (see the module documentation).
pub fn train(req: &TrainRequest<'_>, ui: &mut dyn Progress) -> Result<TrainOutcome, OwnerError> {
    let spec = req.spec;
    let geo = Geometry::of(spec)?;
    std::fs::create_dir_all(req.out).map_err(|e| FileError::io(req.out, e))?;
    let rng = Csprng::from_os().map_err(|_| OwnerError::Entropy)?;
    let engine =
        CkksEngine::producer(spec.preset(), geo.slots, req.keys.public_key().clone(), rng)?;
    let mut client = Client::with_ca(req.server, req.ca)?;
    client.patience = req.patience;
    let mut session = match Session::load(req.out)? {
        Some(s) if s.server == req.server => {
            ui.stage(&format!("resuming job {}", s.job));
            s
        }
        _ => {
            let created = client.create_job(&spec.to_toml())?;
            let s = Session {
                server: req.server.to_string(),
                job: created.id,
                token: created.token,
                losses: Vec::new(),
            };
            s.save(req.out)?;
            ui.stage(&format!("created job {}", s.job));
            s
        }
    };
    let client = client.with_token(&session.token);
    let id = session.job.clone();
    if client.status(&id)?.state == JobState::Created {
        let val_path = req.out.join("validation.data");
        ui.stage("encrypting the validation features");
        write_encrypted_file(&engine, spec, req.validation, false, &val_path, &mut || {})?;
        for (route, path) in [
            ("eval-keys", req.eval_keys),
            ("train-data", req.train_data),
            ("validation-data", val_path.as_path()),
        ] {
            let bar = ui.upload_bar(route);
            client.upload(&id, route, path, &bar)?;
            bar.finish();
        }
        client.start(&id)?;
        ui.stage("training started");
    }
    loop {
        let status = client.status(&id)?;
        ui.status(&status);
        match status.state {
            JobState::AwaitingVerdict => {
                let Some(epoch) = status.pending_epoch else {
                    continue;
                };
                if session.losses.len() < epoch {
                    let bytes = client.logits(&id)?;
                    let (meta, mats) =
                        matrices_from_bytes(&engine, &geo.params, Content::Logits, &bytes)?;
                    if meta.epoch != epoch {
                        continue;
                    }
                    let loss = validation_loss(req.keys, &mats, &req.validation.labels, spec)?;
                    session.losses.truncate(epoch - 1);
                    session.losses.push(loss);
                    session.save(req.out)?;
                }
                let mut patience = spec.train_config().early_stopping();
                let mut verdict = Verdict::Continue;
                for &l in &session.losses[..epoch] {
                    verdict = patience.observe(l);
                }
                let v = VerdictMsg {
                    epoch,
                    stop: verdict == Verdict::Stop,
                    best_epoch: patience.best_epoch().unwrap_or(epoch),
                };
                match client.verdict(&id, &v) {
                    Ok(_) => ui.judged(epoch, session.losses[epoch - 1], v.stop),
                    // Already answered (for example before a drop-out).
                    Err(e) if e.status() == Some(409) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            JobState::Done => {
                let bytes = client.weights(&id)?;
                let (meta, mats) =
                    matrices_from_bytes(&engine, &geo.params, Content::Weights, &bytes)?;
                let w = mats.first().ok_or(OwnerError::Shape)?;
                let scaled = decrypt_matrix(req.keys, w)?;
                let weights = Matrix::from_fn(scaled.rows(), scaled.cols(), |r, c| {
                    spec.weight_scale * scaled.row(r)[c]
                });
                if weights.rows() != spec.classes || weights.cols() != spec.features + 1 {
                    return Err(OwnerError::Shape);
                }
                return Ok(TrainOutcome {
                    weights,
                    losses: session.losses.clone(),
                    best_epoch: meta.epoch,
                    epochs: status.epoch,
                    iterations: status.iteration,
                    job: id,
                });
            }
            JobState::Failed => {
                return Err(OwnerError::Failed(status.error.unwrap_or_default()));
            }
            _ => std::thread::sleep(Duration::from_millis(300)),
        }
    }
}

/// Decrypts validation logits (one matrix per batch), multiplies them by
/// the job's weight scale ([`crate::train::TrainConfig::weight_scale`]) and
/// computes the cross-entropy loss against `labels`; logits beyond the
/// job's `logit_bound` are an error ([`crate::train::validation_loss`]).
pub fn validation_loss(
    keys: &OwnerKeys,
    logits: &[crate::linalg::BlockMatrix<crate::ckks_engine::CkksCt>],
    labels: &[usize],
    spec: &JobSpec,
) -> Result<f64, OwnerError> {
    let parts = logits
        .iter()
        .map(|m| decrypt_matrix(keys, m))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(crate::train::validation_loss(
        &parts,
        labels,
        spec.weight_scale,
        spec.logit_bound,
    )?)
}
