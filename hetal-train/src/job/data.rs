//! Encrypted data files: the producer writes them, the server reads them.
//!
//! A training file ([`Content::TrainData`]) holds, batch after batch in the
//! job's batch plan, the tiles of the features with the bias column (plain
//! layout) then the tiles of the one-hot labels (horizontal layout). A
//! validation file ([`Content::ValidationData`]) holds the feature tiles
//! only. The meta block is a [`DataMeta`].

use std::io::{BufWriter, IntoInnerError, Write};
use std::path::Path;

use hetal_nostd::wire::{decode_ciphertext, Limits};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::frames::{Content, FrameFileError, FrameReader, FrameWriter};
use super::geometry::Geometry;
use super::JobSpec;
use crate::ckks_engine::{CkksCt, CkksEngine};
use crate::data::Dataset;
use crate::engine::EngineError;
use crate::linalg::{encrypt_matrix, BlockMatrix, Layout, LinalgError, Matrix};
use crate::train::EncryptedBatch;

/// The meta block of a data file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataMeta {
    /// Samples in the file.
    pub samples: usize,
    /// Features per sample (without the bias).
    pub features: usize,
    /// Classes.
    pub classes: usize,
    /// Samples per batch.
    pub batch_size: usize,
}

impl DataMeta {
    /// The meta of `samples` samples under `spec`.
    pub fn new(spec: &JobSpec, samples: usize) -> Self {
        DataMeta {
            samples,
            features: spec.features,
            classes: spec.classes,
            batch_size: spec.batch_size,
        }
    }

    /// Parses a meta block and checks it against `spec`.
    pub fn parse(text: &str, spec: &JobSpec) -> Result<Self, DataError> {
        let meta: DataMeta = toml::from_str(text).map_err(|_| DataError::Meta)?;
        if meta.features != spec.features
            || meta.classes != spec.classes
            || meta.batch_size != spec.batch_size
            || meta.samples == 0
            || meta.samples > MAX_SAMPLES
        {
            return Err(DataError::Mismatch);
        }
        Ok(meta)
    }
}

/// Largest sample count of one data file.
pub const MAX_SAMPLES: usize = 1 << 26;

/// Errors of encrypted data files.
#[derive(Debug, Error)]
pub enum DataError {
    /// The container is wrong.
    #[error(transparent)]
    Frames(#[from] FrameFileError),
    /// A ciphertext frame failed validation.
    #[error("invalid ciphertext frame {index}: {source}")]
    Frame {
        /// Frame index (from 0).
        index: usize,
        /// Why.
        #[source]
        source: hetal_nostd::wire::WireError,
    },
    /// The meta block does not parse.
    #[error("the data file's meta block is not valid")]
    Meta,
    /// The meta block disagrees with the job.
    #[error("the data file was made for another job (features, classes or batch size differ)")]
    Mismatch,
    /// Too few or too many frames.
    #[error("expected {expected} ciphertext frames, found {found}")]
    Count {
        /// Frames the meta implies.
        expected: usize,
        /// Frames found.
        found: usize,
    },
    /// A checkpoint written by a newer hetal.
    #[error("checkpoint format {found} is newer than this hetal reads (up to {supported})")]
    CheckpointVersion {
        /// Format found.
        found: u32,
        /// Newest format read.
        supported: u32,
    },
    /// Engine error.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Layout error.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
    /// Job error.
    #[error(transparent)]
    Job(#[from] super::JobError),
    /// Writing a file failed.
    #[error(transparent)]
    Io(#[from] crate::io::FileError),
}

fn rows_of(m: &Matrix, range: std::ops::Range<usize>) -> Matrix {
    Matrix::from_fn(range.len(), m.cols(), |r, c| m.row(range.start + r)[c])
}

/// Encrypts `data` batch by batch under `spec` and writes the frames to
/// `out`; `labels` says whether label tiles are included (training data).
/// `progress` is called after each batch.
pub fn write_encrypted<W: Write>(
    engine: &CkksEngine,
    spec: &JobSpec,
    data: &Dataset,
    labels: bool,
    out: W,
    progress: &mut dyn FnMut(),
) -> Result<W, DataError> {
    let geo = Geometry::of(spec)?;
    let content = if labels {
        Content::TrainData
    } else {
        Content::ValidationData
    };
    let meta = toml::to_string(&DataMeta::new(spec, data.len())).unwrap_or_default();
    let mut w = FrameWriter::new(out, content, &meta)?;
    let x_all = data.with_bias();
    let y_all = data.one_hot();
    let level = geo.data_level();
    for range in spec.train_config().batches(data.len()) {
        let mut mats = vec![encrypt_matrix(
            engine,
            &rows_of(&x_all, range.clone()),
            geo.shape,
            Layout::Plain,
            level,
        )?];
        if labels {
            mats.push(encrypt_matrix(
                engine,
                &rows_of(&y_all, range),
                geo.shape,
                Layout::Horizontal { period: geo.period },
                level,
            )?);
        }
        for m in &mats {
            for t in m.tiles() {
                w.push(&engine.export(t)?)?;
            }
        }
        progress();
    }
    Ok(w.finish()?)
}

/// [`write_encrypted`] into the file `path`, atomically (a temporary file
/// renamed into place: a failure leaves nothing half-written), keeping the
/// encryption's own error.
pub fn write_encrypted_file(
    engine: &CkksEngine,
    spec: &JobSpec,
    data: &Dataset,
    labels: bool,
    path: &Path,
    progress: &mut dyn FnMut(),
) -> Result<(), DataError> {
    let mut failure = None;
    crate::io::write_atomic(path, |f| {
        match write_encrypted(engine, spec, data, labels, BufWriter::new(f), progress) {
            Ok(w) => w.into_inner().map(drop).map_err(IntoInnerError::into_error),
            Err(e) => {
                failure = Some(e);
                Err(std::io::Error::other("encryption failed"))
            }
        }
    })
    .map_err(|e| failure.take().unwrap_or(DataError::Io(e)))
}

/// The block-matrix shapes of one batch: features, then labels if `labels`.
fn batch_shapes(
    spec: &JobSpec,
    geo: &Geometry,
    rows: usize,
    labels: bool,
) -> Vec<(usize, usize, Layout)> {
    let mut v = vec![(rows, spec.features + 1, Layout::Plain)];
    if labels {
        v.push((
            rows,
            spec.classes,
            Layout::Horizontal { period: geo.period },
        ));
    }
    v
}

/// Number of ciphertext frames a data file of `samples` samples holds.
pub fn expected_frames(spec: &JobSpec, samples: usize, labels: bool) -> Result<usize, DataError> {
    let geo = Geometry::of(spec)?;
    let mut total = 0;
    for range in spec.train_config().batches(samples) {
        for (r, c, layout) in batch_shapes(spec, &geo, range.len(), labels) {
            total += geo.tiles(r, c, layout)?;
        }
    }
    Ok(total)
}

/// One batch as read: features and (training data) labels.
pub type BatchParts = (BlockMatrix<CkksCt>, Option<BlockMatrix<CkksCt>>);

/// Reads a data file into the server's engine: per batch, the feature
/// matrix and (training data) the label matrix.
pub fn read_encrypted<R: std::io::Read>(
    engine: &CkksEngine,
    spec: &JobSpec,
    mut input: FrameReader<R>,
    labels: bool,
) -> Result<Vec<BatchParts>, DataError> {
    let geo = Geometry::of(spec)?;
    let meta = DataMeta::parse(input.meta(), spec)?;
    let expected = expected_frames(spec, meta.samples, labels)?;
    let limits = Limits::default();
    let mut index = 0;
    let mut next = |input: &mut FrameReader<R>| -> Result<CkksCt, DataError> {
        let frame = input.next_frame()?.ok_or(DataError::Count {
            expected,
            found: index,
        })?;
        let ct = decode_ciphertext(&frame, &geo.params, &limits)
            .map_err(|source| DataError::Frame { index, source })?;
        index += 1;
        Ok(engine.import(&ct)?)
    };
    let mut out = Vec::new();
    for range in spec.train_config().batches(meta.samples) {
        let mut mats = Vec::new();
        for (r, c, layout) in batch_shapes(spec, &geo, range.len(), labels) {
            let n = geo.tiles(r, c, layout)?;
            let tiles = (0..n)
                .map(|_| next(&mut input))
                .collect::<Result<Vec<_>, _>>()?;
            mats.push(BlockMatrix::from_tiles(r, c, geo.shape, layout, tiles)?);
        }
        let mut it = mats.into_iter();
        if let Some(x) = it.next() {
            out.push((x, it.next()));
        }
    }
    if input.next_frame()?.is_some() {
        return Err(DataError::Count {
            expected,
            found: expected + 1,
        });
    }
    Ok(out)
}

/// Training batches from [`read_encrypted`] output.
pub fn train_batches(parts: Vec<BatchParts>) -> Result<Vec<EncryptedBatch<CkksCt>>, DataError> {
    parts
        .into_iter()
        .map(|(x, y)| {
            y.map(|y| EncryptedBatch { x, y }).ok_or(DataError::Count {
                expected: 2,
                found: 1,
            })
        })
        .collect()
}
