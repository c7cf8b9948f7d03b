//! The training thread: jobs run one at a time, in the order they were
//! started (a job waiting for its key owner holds the thread; later jobs
//! queue behind it). Inside a job, the engine uses the whole rayon pool.
//!
//! A job's loop: load the evaluation keys into a server engine (no secret
//! key), read the encrypted data, resume from the checkpoint if there is
//! one, then epoch after epoch: the gradient steps
//! ([`crate::train::step`], batches in [`crate::train::TrainConfig::epoch_order`]),
//! the validation logits ([`crate::train::validation_logits`]), a
//! checkpoint, the key owner's verdict, a checkpoint. Every server
//! computation is deterministic, so a job resumed from a checkpoint ends
//! bit-identical to one that never stopped.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::Instant;

use hetal_nostd::wire::{Limits, DEFAULT_MAX_FRAME_BYTES};
use thiserror::Error;

use super::counting::Counting;
use super::store::{JobHandle, StoreError};
use super::JobState;
use crate::ckks_engine::{CkksEngine, EvalKeysBuilder, KeyError};
use crate::engine::EngineError;
use crate::io::write_atomic;
use crate::job::checkpoint::{matrices_to_bytes, Checkpoint, CheckpointMeta, CHECKPOINT_FORMAT};
use crate::job::data::{read_encrypted, train_batches, DataError};
use crate::job::frames::{open_frames, Content, FrameFileError};
use crate::job::geometry::Geometry;
use crate::job::JobError;
use crate::train::{initial_state, step, validation_logits, TrainError};

/// Why a job failed.
#[derive(Debug, Error)]
pub enum RunError {
    /// Store error.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Job error.
    #[error(transparent)]
    Job(#[from] JobError),
    /// Key error.
    #[error("evaluation keys: {0}")]
    Keys(#[from] KeyError),
    /// Frame-file error.
    #[error(transparent)]
    Frames(#[from] FrameFileError),
    /// Data or checkpoint error.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Engine error.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Training error.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// Writing the result failed.
    #[error(transparent)]
    File(#[from] crate::io::FileError),
}

/// Starts the training thread; send it jobs through the returned sender.
pub fn spawn() -> (Sender<Arc<JobHandle>>, std::thread::JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || worker(rx));
    (tx, handle)
}

fn worker(rx: Receiver<Arc<JobHandle>>) {
    while let Ok(job) = rx.recv() {
        eprintln!("job {}: running", job.id);
        match run(&job) {
            Ok(()) => eprintln!("job {}: done", job.id),
            Err(e) => {
                eprintln!("job {}: failed: {e}", job.id);
                let text = e.to_string();
                let _ = write_atomic(&job.file("failed"), |f| {
                    std::io::Write::write_all(f, text.as_bytes())
                });
                let _ = job.update(|s| {
                    s.state = JobState::Failed;
                    s.error = Some(text);
                });
            }
        }
    }
}

/// Loads the job's evaluation keys and builds its server engine.
pub fn server_engine(job: &JobHandle, geo: &Geometry) -> Result<CkksEngine, RunError> {
    let mut r = open_frames(
        &job.file("eval.keys"),
        Content::EvalKeys,
        DEFAULT_MAX_FRAME_BYTES,
    )?;
    let limits = Limits::default();
    let mut builder = EvalKeysBuilder::default();
    while let Some(frame) = r.next_frame()? {
        builder.push(&frame, &geo.params, &limits)?;
    }
    let keys = builder.finish()?;
    Ok(CkksEngine::server(
        job.spec.preset(),
        geo.slots,
        &geo.rotation_steps(&job.spec)?,
        &geo.bootstrap_config(),
        keys,
    )?)
}

/// Runs (or resumes) one job to its end.
pub fn run(job: &JobHandle) -> Result<(), RunError> {
    let spec = &job.spec;
    let geo = Geometry::of(spec)?;
    job.update(|s| s.state = JobState::Loading)?;
    let engine = server_engine(job, &geo)?;
    let open = |name: &str, content| open_frames(&job.file(name), content, DEFAULT_MAX_FRAME_BYTES);
    let train = train_batches(read_encrypted(
        &engine,
        spec,
        open("train.data", Content::TrainData)?,
        true,
    )?)?;
    let validation: Vec<_> = read_encrypted(
        &engine,
        spec,
        open("validation.data", Content::ValidationData)?,
        false,
    )?
    .into_iter()
    .map(|(x, _)| x)
    .collect();
    let config = spec.train_config();
    let method = spec.softmax_method();
    let path = job.file("checkpoint");
    let mut ck = if path.exists() {
        eprintln!("job {}: resuming from its checkpoint", job.id);
        Checkpoint::read(&engine, &geo.params, &path)?
    } else {
        Checkpoint {
            meta: CheckpointMeta {
                format: CHECKPOINT_FORMAT,
                epoch: 0,
                iteration: 0,
                iterations_per_epoch: train.len(),
                bootstraps: 0,
                awaiting: false,
                stopped: false,
                best_epoch: 0,
                verdicts: Vec::new(),
                s0: geo.shape.s0,
                s1: geo.shape.s1,
                matrices: Vec::new(),
            },
            state: initial_state(&engine, spec.classes, spec.features + 1, geo.shape)?,
            best: None,
            logits: Vec::new(),
        }
    };
    let per_epoch = train.len();
    ck.meta.iterations_per_epoch = per_epoch;
    let counting = Counting::new(&engine);
    // Bootstraps before this process took the job up: the count goes on
    // from the checkpoint (steps redone after a crash are not counted twice:
    // the killed process's count since its last checkpoint is lost with it).
    let boots_before = ck.meta.bootstraps;
    let boots = || boots_before + counting.bootstraps();
    let started = Instant::now();
    let mut steps_here = 0usize;
    job.update(|s| {
        s.epoch = ck.meta.epoch;
        s.iteration = ck.meta.iteration;
        s.iterations_per_epoch = per_epoch;
        s.bootstraps = boots_before;
        s.best_epoch = ck.meta.best_epoch;
    })?;
    loop {
        if ck.meta.stopped {
            let best = ck.best.as_ref().unwrap_or(&ck.state.w);
            let bytes = matrices_to_bytes(
                &engine,
                Content::Weights,
                ck.meta.best_epoch,
                "weights",
                &[best],
            )?;
            write_atomic(&job.file("weights"), |f| {
                std::io::Write::write_all(f, &bytes)
            })?;
            job.update(|s| {
                s.state = JobState::Done;
                s.eta_seconds = Some(0.0);
            })?;
            return Ok(());
        }
        if ck.meta.awaiting {
            let epoch = ck.meta.epoch;
            let refs: Vec<_> = ck.logits.iter().collect();
            let bytes = matrices_to_bytes(&engine, Content::Logits, epoch, "logits", &refs)?;
            eprintln!(
                "job {}: epoch {epoch} done, waiting for the key owner",
                job.id
            );
            let v = job.await_verdict(epoch, bytes)?;
            if v.best_epoch == epoch {
                ck.best = Some(ck.state.w.clone());
                ck.meta.best_epoch = epoch;
            }
            ck.meta.verdicts.push(!v.stop);
            ck.meta.awaiting = false;
            ck.meta.stopped = v.stop || epoch >= spec.max_epochs;
            ck.logits.clear();
            ck.meta.bootstraps = boots();
            ck.write(&engine, &path)?;
            let best = ck.meta.best_epoch;
            job.update(|s| s.best_epoch = best)?;
            continue;
        }
        let epoch = ck.meta.epoch + 1;
        job.update(|s| s.state = JobState::Training)?;
        // One copy per epoch: the checkpoint keeps the state it was read with.
        let mut state = ck.state.clone();
        for b in config.epoch_order(train.len(), epoch) {
            state = step(&counting, state, &train[b], &config, method)?;
            ck.meta.iteration += 1;
            steps_here += 1;
            let spi = started.elapsed().as_secs_f64() / steps_here as f64;
            let left = (spec.max_epochs * per_epoch).saturating_sub(ck.meta.iteration);
            let (it, b) = (ck.meta.iteration, boots());
            job.update(|s| {
                s.iteration = it;
                s.bootstraps = b;
                s.seconds_per_iteration = Some(spi);
                s.eta_seconds = Some(spi * left as f64);
            })?;
        }
        ck.state = state;
        ck.logits = validation_logits(&counting, &ck.state.w, &validation)?;
        ck.meta.epoch = epoch;
        ck.meta.awaiting = true;
        ck.meta.bootstraps = boots();
        ck.write(&engine, &path)?;
        let b = ck.meta.bootstraps;
        job.update(|s| {
            s.epoch = epoch;
            s.bootstraps = b;
        })?;
    }
}
