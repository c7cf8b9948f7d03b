//! The key owner's directory: `secret.key` (mode 0600), `public.key` and
//! `eval.keys`, each a frame file whose meta block is the job file.
//!
//! * `secret.key`: one secret-key frame. Written atomically with mode 0600
//!   from the start; the bytes are wiped from memory after writing and
//!   after reading.
//! * `public.key`: one public-key frame (what producers need, with the job
//!   so that `hetal encrypt` knows the batch plan).
//! * `eval.keys`: relinearisation, Galois (rotations by `±2^i`, conjugation
//!   and bootstrapping's), sparse-to-dense and dense-to-sparse keys, each
//!   seeded (`b` plus a 32-byte seed for `a`).

use std::io::{BufWriter, Read};
use std::path::Path;

use hetal_nostd::keys::PublicKey;
use hetal_nostd::ring::sampling::Csprng;
use hetal_nostd::wire::{decode_public_key, Limits, DEFAULT_MAX_FRAME_BYTES};
use thiserror::Error;
use zeroize::Zeroizing;

use super::frames::{open_frames, Content, FrameFileError, FrameWriter};
use super::geometry::Geometry;
use super::{JobError, JobSpec};
use crate::ckks_engine::{KeyError, OwnerKeys};
use crate::engine::EngineError;
use crate::io::{write_atomic, write_atomic_mode, FileError};

/// File names inside the key owner's directory.
pub const SECRET_KEY: &str = "secret.key";
/// Public key file name.
pub const PUBLIC_KEY: &str = "public.key";
/// Evaluation keys file name.
pub const EVAL_KEYS: &str = "eval.keys";

/// Errors of key files.
#[derive(Debug, Error)]
pub enum KeyFileError {
    /// Writing or creating a file failed.
    #[error(transparent)]
    File(#[from] FileError),
    /// A frame file is malformed.
    #[error("{path}: {source}")]
    Frames {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: FrameFileError,
    },
    /// The file holds no key frame, or more than one.
    #[error("{0}: expected exactly one key frame")]
    FrameCount(String),
    /// The job in the meta block.
    #[error(transparent)]
    Job(#[from] JobError),
    /// A key frame is invalid.
    #[error("{path}: {source}")]
    Key {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// Key generation failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// No operating-system entropy.
    #[error("no operating-system entropy: {0}")]
    Entropy(String),
}

fn frames_err(path: &Path) -> impl Fn(FrameFileError) -> KeyFileError + '_ {
    move |source| KeyFileError::Frames {
        path: path.display().to_string(),
        source,
    }
}

/// Sizes of a generated key set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySetSizes {
    /// Evaluation keys written.
    pub eval_keys: usize,
    /// Bytes of `eval.keys`.
    pub eval_bytes: u64,
    /// Bytes of `public.key`.
    pub public_bytes: u64,
}

/// Generates the keys of `spec` from OS entropy and writes `dir`'s three
/// files. `progress(done, total)` follows the evaluation keys.
pub fn keygen(
    spec: &JobSpec,
    dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<KeySetSizes, KeyFileError> {
    let geo = Geometry::of(spec)?;
    let mut rng = Csprng::from_os().map_err(|e| KeyFileError::Entropy(e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(|e| FileError::io(dir, e))?;
    let meta = spec.to_toml();
    progress("secret and public keys");
    let owner = OwnerKeys::generate(spec.preset(), &mut rng)?;
    let secret = Zeroizing::new(owner.secret_frame().map_err(|source| KeyFileError::Key {
        path: SECRET_KEY.into(),
        source,
    })?);
    let write_one = |path: &Path, content, frame: &[u8], mode| {
        write_atomic_mode(path, mode, |f| {
            let mut w = FrameWriter::new(BufWriter::new(f), content, &meta)
                .map_err(std::io::Error::other)?;
            w.push(frame).map_err(std::io::Error::other)?;
            w.finish().map_err(std::io::Error::other).map(drop)
        })
    };
    write_one(
        &dir.join(SECRET_KEY),
        Content::SecretKey,
        &secret,
        Some(0o600),
    )?;
    drop(secret);
    write_one(
        &dir.join(PUBLIC_KEY),
        Content::PublicKey,
        &owner.public_frame(),
        None,
    )?;
    progress("evaluation keys (relinearisation, rotations, bootstrapping)");
    let eval = owner.evaluation_keys(
        geo.slots,
        &geo.rotation_steps(spec)?,
        &geo.bootstrap_config(),
        &mut rng,
    )?;
    let frames = eval
        .frames(&geo.params)
        .map_err(|source| KeyFileError::Key {
            path: EVAL_KEYS.into(),
            source,
        })?;
    let eval_path = dir.join(EVAL_KEYS);
    write_atomic(&eval_path, |f| {
        let mut w = FrameWriter::new(BufWriter::new(f), Content::EvalKeys, &meta)
            .map_err(std::io::Error::other)?;
        for fr in &frames {
            w.push(fr).map_err(std::io::Error::other)?;
        }
        w.finish().map_err(std::io::Error::other).map(drop)
    })?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    Ok(KeySetSizes {
        eval_keys: frames.len(),
        eval_bytes: size(&eval_path),
        public_bytes: size(&dir.join(PUBLIC_KEY)),
    })
}

/// Reads a one-frame key file: the job and the frame (wiped on drop).
fn read_single(
    path: &Path,
    content: Content,
) -> Result<(JobSpec, Zeroizing<Vec<u8>>), KeyFileError> {
    let mut r = open_frames(path, content, DEFAULT_MAX_FRAME_BYTES).map_err(frames_err(path))?;
    let spec = JobSpec::parse(r.meta(), &path.display().to_string())?;
    let frame = Zeroizing::new(
        r.next_frame()
            .map_err(frames_err(path))?
            .ok_or_else(|| KeyFileError::FrameCount(path.display().to_string()))?,
    );
    if r.next_frame().map_err(frames_err(path))?.is_some() {
        return Err(KeyFileError::FrameCount(path.display().to_string()));
    }
    Ok((spec, frame))
}

/// Reads `public.key`: the job and the public key.
pub fn read_public(path: &Path) -> Result<(JobSpec, PublicKey), KeyFileError> {
    let (spec, frame) = read_single(path, Content::PublicKey)?;
    let geo = Geometry::of(&spec)?;
    let pk = decode_public_key(&frame, &geo.params, &Limits::default()).map_err(|e| {
        KeyFileError::Key {
            path: path.display().to_string(),
            source: KeyError::Wire(e),
        }
    })?;
    Ok((spec, pk))
}

/// Reads the key owner's directory: the job and the owner's keys.
pub fn read_owner(dir: &Path) -> Result<(JobSpec, OwnerKeys), KeyFileError> {
    let sk_path = dir.join(SECRET_KEY);
    let pk_path = dir.join(PUBLIC_KEY);
    let (spec, secret) = read_single(&sk_path, Content::SecretKey)?;
    let (_, public) = read_single(&pk_path, Content::PublicKey)?;
    let owner = OwnerKeys::from_frames(spec.preset(), &secret, &public).map_err(|source| {
        KeyFileError::Key {
            path: sk_path.display().to_string(),
            source,
        }
    })?;
    Ok((spec, owner))
}

/// Reads the job in a frame file's meta block (for example `eval.keys`).
pub fn read_job_of(path: &Path, content: Content) -> Result<JobSpec, KeyFileError> {
    let r = open_frames(path, content, DEFAULT_MAX_FRAME_BYTES).map_err(frames_err(path))?;
    Ok(JobSpec::parse(r.meta(), &path.display().to_string())?)
}

/// Whether `bytes` contain a secret-key frame header (the store scan of the tests).
pub fn contains_secret_frame(mut input: impl Read) -> std::io::Result<bool> {
    let mut all = Vec::new();
    input.read_to_end(&mut all)?;
    let magic = hetal_nostd::wire::MAGIC;
    Ok(all.windows(6).any(|w| {
        w[..4] == magic
            && w[4] == hetal_nostd::wire::VERSION as u8
            && w[5] == hetal_nostd::wire::Kind::SecretKey as u8
    }))
}
