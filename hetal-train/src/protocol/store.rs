//! The server's job store on disk and the in-memory handle of each job.
//!
//! ```text
//! STORE/jobs/<id>/job.toml          the job file
//! STORE/jobs/<id>/token.sha256      SHA-256 of the bearer token (hex)
//! STORE/jobs/<id>/eval.keys         validated uploads (frame files)
//! STORE/jobs/<id>/train.data
//! STORE/jobs/<id>/validation.data
//! STORE/jobs/<id>/started           present once the job is started
//! STORE/jobs/<id>/checkpoint        the last epoch's checkpoint
//! STORE/jobs/<id>/weights           the result (encrypted)
//! STORE/jobs/<id>/failed            why the job failed
//! ```
//! Every file is written atomically (temporary file, fsync, rename).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;

use super::{hex, JobState, Status, VerdictMsg};
use crate::io::{write_atomic, FileError};
use crate::job::checkpoint::CheckpointMeta;
use crate::job::{JobError, JobSpec};

/// Upload names and their files.
pub const UPLOADS: [&str; 3] = ["eval.keys", "train.data", "validation.data"];

/// Errors of the store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A file could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// The job file is invalid.
    #[error(transparent)]
    Job(#[from] JobError),
    /// No operating-system entropy for ids and tokens.
    #[error("no operating-system entropy")]
    Entropy,
    /// A stored file is damaged.
    #[error("{0}: damaged")]
    Corrupt(PathBuf),
    /// A lock was poisoned by a panic.
    #[error("internal lock poisoned")]
    Poisoned,
}

/// One job: its files, token hash, status, pending logits and verdict.
#[derive(Debug)]
pub struct JobHandle {
    /// Job id.
    pub id: String,
    /// The job.
    pub spec: JobSpec,
    /// Its directory.
    pub dir: PathBuf,
    token_hash: [u8; 32],
    inner: Mutex<Inner>,
    changed: Condvar,
}

/// The encoded logits of a pending epoch.
pub type PendingLogits = (usize, Arc<Vec<u8>>);

#[derive(Debug)]
struct Inner {
    status: Status,
    logits: Option<PendingLogits>,
    verdict: Option<VerdictMsg>,
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn random_hex(bytes: usize) -> Result<String, StoreError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|_| StoreError::Entropy)?;
    Ok(hex(&buf))
}

impl JobHandle {
    /// Whether `token` is this job's (constant-time comparison of hashes).
    pub fn authorizes(&self, token: &str) -> bool {
        bool::from(sha256(token.as_bytes()).ct_eq(&self.token_hash))
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        self.inner.lock().map_err(|_| StoreError::Poisoned)
    }

    /// The current status.
    pub fn status(&self) -> Result<Status, StoreError> {
        Ok(self.lock()?.status.clone())
    }

    /// Updates the status.
    pub fn update(&self, f: impl FnOnce(&mut Status)) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        f(&mut g.status);
        drop(g);
        self.changed.notify_all();
        Ok(())
    }

    /// Publishes the encoded logits of `epoch` and waits for the key
    /// owner's verdict on it (however long that takes).
    pub fn await_verdict(&self, epoch: usize, logits: Vec<u8>) -> Result<VerdictMsg, StoreError> {
        let mut g = self.lock()?;
        g.logits = Some((epoch, Arc::new(logits)));
        g.verdict = None;
        g.status.state = JobState::AwaitingVerdict;
        g.status.pending_epoch = Some(epoch);
        loop {
            if let Some(v) = g.verdict.take() {
                g.logits = None;
                // In the same step as the pending epoch: a status never
                // reads "awaiting a verdict" without the epoch it awaits.
                g.status.state = JobState::Training;
                g.status.pending_epoch = None;
                return Ok(v);
            }
            g = self.changed.wait(g).map_err(|_| StoreError::Poisoned)?;
        }
    }

    /// The pending logits, if a verdict is awaited.
    pub fn pending_logits(&self) -> Result<Option<PendingLogits>, StoreError> {
        Ok(self.lock()?.logits.clone())
    }

    /// Delivers a verdict. `Err(reason)` when no verdict on that epoch is
    /// awaited or the best epoch named cannot be honoured.
    pub fn deliver(&self, v: VerdictMsg) -> Result<Result<(), &'static str>, StoreError> {
        let mut g = self.lock()?;
        let pending = g.logits.as_ref().map(|(e, _)| *e);
        if pending != Some(v.epoch) || g.verdict.is_some() {
            return Ok(Err("no verdict is awaited for that epoch"));
        }
        let held = g.status.best_epoch;
        if !(v.best_epoch == v.epoch || (held >= 1 && v.best_epoch == held)) {
            return Ok(Err(
                "best_epoch must be the judged epoch or the best epoch held so far",
            ));
        }
        g.verdict = Some(v);
        drop(g);
        self.changed.notify_all();
        Ok(Ok(()))
    }

    /// Path of a file of the job.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Whether the job has been started.
    pub fn started(&self) -> bool {
        self.file("started").exists()
    }
}

/// The job store.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    jobs: Mutex<HashMap<String, Arc<JobHandle>>>,
}

fn status_for(spec: &JobSpec, state: JobState) -> Status {
    Status {
        state,
        epoch: 0,
        max_epochs: spec.max_epochs,
        iteration: 0,
        iterations_per_epoch: 0,
        bootstraps: 0,
        seconds_per_iteration: None,
        eta_seconds: None,
        pending_epoch: None,
        best_epoch: 0,
        error: None,
    }
}

impl Store {
    /// Opens (or creates) a store and loads every job in it.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let jobs_dir = root.join("jobs");
        std::fs::create_dir_all(&jobs_dir).map_err(|e| FileError::io(&jobs_dir, e))?;
        let mut jobs = HashMap::new();
        let entries = std::fs::read_dir(&jobs_dir).map_err(|e| FileError::io(&jobs_dir, e))?;
        for entry in entries.flatten() {
            let dir = entry.path();
            let id = entry.file_name().to_string_lossy().into_owned();
            if !is_id(&id) {
                continue;
            }
            match load(&dir, &id) {
                Ok(handle) => {
                    jobs.insert(id, Arc::new(handle));
                }
                Err(e) => eprintln!("store: job {id} skipped: {e}"),
            }
        }
        Ok(Store {
            root: root.to_path_buf(),
            jobs: Mutex::new(jobs),
        })
    }

    /// Creates a job; returns its handle and bearer token.
    pub fn create(&self, spec: JobSpec) -> Result<(Arc<JobHandle>, String), StoreError> {
        let id = random_hex(16)?;
        let token = random_hex(32)?;
        let dir = self.root.join("jobs").join(&id);
        std::fs::create_dir_all(&dir).map_err(|e| FileError::io(&dir, e))?;
        let hash = sha256(token.as_bytes());
        write_atomic(&dir.join("token.sha256"), |f| {
            f.write_all(hex(&hash).as_bytes())
        })?;
        let text = spec.to_toml();
        write_atomic(&dir.join("job.toml"), |f| f.write_all(text.as_bytes()))?;
        let handle = Arc::new(JobHandle {
            id: id.clone(),
            inner: Mutex::new(Inner {
                status: status_for(&spec, JobState::Created),
                logits: None,
                verdict: None,
            }),
            spec,
            dir,
            token_hash: hash,
            changed: Condvar::new(),
        });
        self.jobs
            .lock()
            .map_err(|_| StoreError::Poisoned)?
            .insert(id, handle.clone());
        Ok((handle, token))
    }

    /// A job by id.
    pub fn get(&self, id: &str) -> Option<Arc<JobHandle>> {
        self.jobs.lock().ok()?.get(id).cloned()
    }

    /// Jobs that were started and have neither finished nor failed (to
    /// resume after a restart), in id order.
    pub fn unfinished(&self) -> Vec<Arc<JobHandle>> {
        let Ok(jobs) = self.jobs.lock() else {
            return Vec::new();
        };
        let mut v: Vec<_> = jobs
            .values()
            .filter(|j| matches!(j.status().map(|s| s.state), Ok(JobState::Queued)))
            .cloned()
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }
}

fn is_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn load(dir: &Path, id: &str) -> Result<JobHandle, StoreError> {
    let spec = JobSpec::read(&dir.join("job.toml"))?;
    let token_path = dir.join("token.sha256");
    let text = std::fs::read_to_string(&token_path).map_err(|e| FileError::io(&token_path, e))?;
    let mut hash = [0u8; 32];
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return Err(StoreError::Corrupt(token_path));
    }
    for (i, h) in hash.iter_mut().enumerate() {
        *h = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
            .map_err(|_| StoreError::Corrupt(token_path.clone()))?;
    }
    let state = if dir.join("weights").exists() {
        JobState::Done
    } else if dir.join("failed").exists() {
        JobState::Failed
    } else if dir.join("started").exists() {
        JobState::Queued
    } else {
        JobState::Created
    };
    let mut status = status_for(&spec, state);
    // The counters of a job that has a checkpoint survive the restart.
    let checkpoint = dir.join("checkpoint");
    if checkpoint.exists() {
        match CheckpointMeta::read(&checkpoint) {
            Ok(m) => {
                status.epoch = m.epoch;
                status.iteration = m.iteration;
                status.iterations_per_epoch = m.iterations_per_epoch;
                status.bootstraps = m.bootstraps;
                status.best_epoch = m.best_epoch;
            }
            Err(e) => eprintln!("store: job {id}: checkpoint counters unreadable: {e}"),
        }
    }
    if state == JobState::Failed {
        status.error = std::fs::read_to_string(dir.join("failed")).ok();
    }
    Ok(JobHandle {
        id: id.to_string(),
        spec,
        dir: dir.to_path_buf(),
        token_hash: hash,
        inner: Mutex::new(Inner {
            status,
            logits: None,
            verdict: None,
        }),
        changed: Condvar::new(),
    })
}
