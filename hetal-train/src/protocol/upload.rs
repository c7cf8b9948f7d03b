//! Streamed uploads: bytes in as they arrive, checked against a size limit
//! the job implies, every frame validated against the job's parameters
//! before it is written; the file appears (atomically) only when complete.

use std::collections::BTreeSet;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use hetal_nostd::evk::KeyKind;
use hetal_nostd::params::Params;
use hetal_nostd::wire::{
    decode_base_switching_key, decode_ciphertext, decode_switching_key, frame_kind, Kind, Limits,
    WireError,
};
use thiserror::Error;

use super::store::JobHandle;
use super::Uploaded;
use crate::ckks_engine::evaluation_key_count;
use crate::engine::EngineError;
use crate::job::data::{expected_frames, DataError, DataMeta};
use crate::job::frames::{
    Content, Event, FrameFileError, FrameParser, FrameWriter, MAX_META_BYTES,
};
use crate::job::geometry::Geometry;
use crate::job::{JobError, JobSpec};

/// What is uploaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadKind {
    /// `eval.keys`.
    EvalKeys,
    /// Training batches.
    TrainData,
    /// Validation features.
    ValidationData,
    /// Features to classify with a finished job's weights (the body of
    /// `POST /v1/jobs/{id}/predict`; the format of validation features).
    Features,
}

impl UploadKind {
    /// The kind for an upload route's name (`eval-keys`, `train-data`,
    /// `validation-data`; features come with `POST …/predict`).
    pub fn from_route(name: &str) -> Option<Self> {
        match name {
            "eval-keys" => Some(UploadKind::EvalKeys),
            "train-data" => Some(UploadKind::TrainData),
            "validation-data" => Some(UploadKind::ValidationData),
            _ => None,
        }
    }

    /// File name in the job's directory.
    pub fn file_name(self) -> &'static str {
        match self {
            UploadKind::EvalKeys => "eval.keys",
            UploadKind::TrainData => "train.data",
            UploadKind::ValidationData => "validation.data",
            UploadKind::Features => "features.data",
        }
    }

    fn content(self) -> Content {
        match self {
            UploadKind::EvalKeys => Content::EvalKeys,
            UploadKind::TrainData => Content::TrainData,
            UploadKind::ValidationData | UploadKind::Features => Content::ValidationData,
        }
    }
}

/// Why an upload was refused.
#[derive(Debug, Error)]
pub enum UploadError {
    /// More bytes than the job allows.
    #[error("upload exceeds its limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The container is malformed or truncated.
    #[error("malformed upload: {0}")]
    Frames(#[from] FrameFileError),
    /// A frame failed validation against the job's parameters.
    #[error("frame {index} rejected: {source}")]
    Frame {
        /// Frame index (from 0).
        index: usize,
        /// Why.
        #[source]
        source: WireError,
    },
    /// A secret-key frame: the server never stores one.
    #[error("frame {0} is a secret key: refused")]
    SecretKey(usize),
    /// A frame of a type that does not belong in this upload.
    #[error("frame {index} has type {kind}, which does not belong here")]
    WrongKind {
        /// Frame index.
        index: usize,
        /// Its type tag.
        kind: u8,
    },
    /// A key sent twice.
    #[error("frame {0} repeats a key")]
    DuplicateKey(usize),
    /// A ciphertext at another level than fresh data's.
    #[error("frame {index} is at level {level}, fresh data must be at level {want}")]
    Level {
        /// Frame index.
        index: usize,
        /// Its level.
        level: usize,
        /// Level of fresh data.
        want: usize,
    },
    /// The meta block does not match the job.
    #[error("the upload was made for another job: {0}")]
    Meta(String),
    /// Too few or too many frames.
    #[error("expected {expected} frames, received {got}")]
    Count {
        /// Expected.
        expected: usize,
        /// Received.
        got: usize,
    },
    /// Writing to disk failed.
    #[error("storing the upload failed: {0}")]
    Io(#[from] std::io::Error),
    /// The job's parameters could not be derived.
    #[error(transparent)]
    Job(#[from] JobError),
    /// Engine error while planning keys.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Data meta error.
    #[error(transparent)]
    Data(#[from] DataError),
}

/// Upper bound on one switching key's frame (8 bytes per residue).
fn key_frame_bound(params: &Params) -> usize {
    let limbs = params.q().len() + params.p().len();
    let digits = params.q().len().div_ceil(params.digit_size().max(1));
    digits * limbs * params.n() * 8 + 1024
}

/// Upper bound on one ciphertext frame at `level`.
fn ct_frame_bound(params: &Params, level: usize) -> usize {
    2 * (level + 1) * params.n() * 8 + 1024
}

const PREFIX_AND_META: u64 = 15 + MAX_META_BYTES as u64;

/// One upload in progress.
pub struct UploadSink {
    kind: UploadKind,
    spec: JobSpec,
    geo: Geometry,
    parser: FrameParser,
    out: Option<FrameWriter<BufWriter<std::fs::File>>>,
    tmp: PathBuf,
    dest: PathBuf,
    bytes: u64,
    limit: u64,
    frames: usize,
    expected: usize,
    seen: BTreeSet<(u8, u64)>,
    limits: Limits,
    done: bool,
}

impl UploadSink {
    /// Starts an upload of `kind` into `job`'s directory.
    pub fn new(job: &JobHandle, kind: UploadKind) -> Result<Self, UploadError> {
        let geo = Geometry::of(&job.spec)?;
        let frame_limit = match kind {
            UploadKind::EvalKeys => key_frame_bound(&geo.params),
            _ => ct_frame_bound(&geo.params, geo.data_level()),
        };
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(|e| std::io::Error::other(e.to_string()))?;
        let dest = job.file(kind.file_name());
        let tmp = job.file(&format!(".{}.{}", kind.file_name(), super::hex(&suffix)));
        Ok(UploadSink {
            kind,
            spec: job.spec.clone(),
            parser: FrameParser::new(kind.content(), frame_limit),
            geo,
            out: None,
            tmp,
            dest,
            bytes: 0,
            limit: PREFIX_AND_META,
            frames: 0,
            expected: 0,
            seen: BTreeSet::new(),
            limits: Limits {
                max_frame_bytes: frame_limit,
            },
            done: false,
        })
    }

    /// Takes the next bytes of the body.
    /// The bytes are taken up to the current limit at a time: the limit
    /// grows once the meta block has said what the upload holds.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), UploadError> {
        let mut rest = chunk;
        while !rest.is_empty() {
            let room = self.limit.saturating_sub(self.bytes);
            if room == 0 {
                return Err(UploadError::TooLarge { limit: self.limit });
            }
            let take = rest.len().min(usize::try_from(room).unwrap_or(usize::MAX));
            self.bytes += take as u64;
            for event in self.parser.feed(&rest[..take])? {
                match event {
                    Event::Meta(meta) => self.on_meta(&meta)?,
                    Event::Frame(frame) => self.on_frame(&frame)?,
                }
            }
            rest = &rest[take..];
        }
        Ok(())
    }

    fn on_meta(&mut self, meta: &str) -> Result<(), UploadError> {
        let per_frame = self.limits.max_frame_bytes as u64 + 4;
        let head = 15 + meta.len() as u64;
        self.expected = match self.kind {
            UploadKind::EvalKeys => {
                let theirs = JobSpec::parse(meta, "eval.keys")
                    .map_err(|e| UploadError::Meta(e.to_string()))?;
                if theirs.preset != self.spec.preset {
                    return Err(UploadError::Meta(format!(
                        "keys for preset {}, the job uses {}",
                        theirs.preset, self.spec.preset
                    )));
                }
                evaluation_key_count(
                    self.spec.preset(),
                    self.geo.slots,
                    &self.geo.rotation_steps(&self.spec)?,
                    &self.geo.bootstrap_config(),
                )?
            }
            kind => {
                let labels = kind == UploadKind::TrainData;
                let m = DataMeta::parse(meta, &self.spec)
                    .map_err(|e| UploadError::Meta(e.to_string()))?;
                expected_frames(&self.spec, m.samples, labels)?
            }
        };
        self.limit = head + self.expected as u64 * per_frame;
        if self.bytes > self.limit {
            return Err(UploadError::TooLarge { limit: self.limit });
        }
        let file = std::fs::File::create(&self.tmp)?;
        self.out = Some(FrameWriter::new(
            BufWriter::new(file),
            self.kind.content(),
            meta,
        )?);
        Ok(())
    }

    fn on_frame(&mut self, frame: &[u8]) -> Result<(), UploadError> {
        let index = self.frames;
        if index >= self.expected {
            return Err(UploadError::Count {
                expected: self.expected,
                got: index + 1,
            });
        }
        let params = &self.geo.params;
        let bad = |source| UploadError::Frame { index, source };
        let kind = frame_kind(frame).map_err(bad)?;
        if kind == Kind::SecretKey as u8 {
            return Err(UploadError::SecretKey(index));
        }
        match self.kind {
            UploadKind::EvalKeys => {
                let id = if kind == Kind::SwitchingKey as u8 {
                    let key = decode_switching_key(frame, params, &self.limits).map_err(bad)?;
                    match key.kind {
                        KeyKind::Relin => (0, 0),
                        KeyKind::Galois(g) => (1, g),
                        KeyKind::SparseToDense => (2, 0),
                    }
                } else if kind == Kind::BaseSwitchingKey as u8 {
                    decode_base_switching_key(frame, params, &self.limits).map_err(bad)?;
                    (3, 0)
                } else {
                    return Err(UploadError::WrongKind { index, kind });
                };
                if !self.seen.insert(id) {
                    return Err(UploadError::DuplicateKey(index));
                }
            }
            _ => {
                if kind != Kind::Ciphertext as u8 {
                    return Err(UploadError::WrongKind { index, kind });
                }
                let ct = decode_ciphertext(frame, params, &self.limits).map_err(bad)?;
                let want = self.geo.data_level();
                if ct.level != want {
                    return Err(UploadError::Level {
                        index,
                        level: ct.level,
                        want,
                    });
                }
                if 1usize << ct.log_slots != self.geo.slots {
                    return Err(bad(WireError::BadSlots(ct.log_slots as u8)));
                }
            }
        }
        if let Some(out) = self.out.as_mut() {
            out.push(frame)?;
        }
        self.frames += 1;
        Ok(())
    }

    /// The current size limit of the upload.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Ends the upload: checks it is complete, then fsyncs and renames the
    /// file into place.
    pub fn finish(mut self) -> Result<Uploaded, UploadError> {
        self.parser.finish()?;
        if self.frames != self.expected {
            return Err(UploadError::Count {
                expected: self.expected,
                got: self.frames,
            });
        }
        let out = self
            .out
            .take()
            .ok_or(UploadError::Frames(FrameFileError::Truncated))?;
        let mut w = out.finish()?;
        w.flush()?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp, &self.dest)?;
        if let Some(dir) = self.dest.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        self.done = true;
        Ok(Uploaded {
            frames: self.frames,
            bytes: self.bytes,
        })
    }
}

impl Drop for UploadSink {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
