//! Server checkpoints and other files of encrypted block matrices.
//!
//! A checkpoint is a frame file ([`Content::Checkpoint`]) whose meta block
//! ([`CheckpointMeta`]) holds the counters and verdicts and describes the
//! matrices whose tiles follow, in order: the weights `w`, the momentum
//! term `v`, the best epoch's weights (when known) and the pending epoch's
//! validation logits (when a verdict is awaited).
//!
//! The meta's `format` field versions it ([`CHECKPOINT_FORMAT`]):
//!
//! * format 1 (no `format` field): counters `epoch`, `iteration`, verdicts;
//! * format 2: adds `bootstraps` (bootstraps run by the job up to the
//!   checkpoint, over every server process that worked on it) and
//!   `iterations_per_epoch`.
//!
//! A format-1 checkpoint still loads: its `bootstraps` reads as 0 (the
//! count restarts from the resume) and `iterations_per_epoch` as 0 (the
//! server knows it from the data). A format newer than
//! [`CHECKPOINT_FORMAT`] is refused ([`DataError::CheckpointVersion`]).

use std::io::{BufWriter, Read, Write};
use std::path::Path;

use hetal_nostd::wire::{decode_ciphertext, Limits};
use serde::{Deserialize, Serialize};

use super::data::DataError;
use super::frames::{Content, FrameReader, FrameWriter};
use crate::ckks_engine::{CkksCt, CkksEngine};
use crate::io::write_atomic;
use crate::linalg::{BlockMatrix, Layout, TileShape};
use crate::train::State;

/// Description of one block matrix in a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixMeta {
    /// What it is (`w`, `v`, `best`, `logits`).
    pub role: String,
    /// Logical rows.
    pub rows: usize,
    /// Logical columns.
    pub cols: usize,
    /// `plain`, `vertical` or `horizontal`.
    pub layout: String,
    /// Period of a vertical or horizontal layout (0 for plain).
    pub period: usize,
    /// Tiles that follow.
    pub tiles: usize,
}

impl MatrixMeta {
    fn of(role: &str, m: &BlockMatrix<CkksCt>) -> Self {
        let (layout, period) = match m.layout() {
            Layout::Plain => ("plain", 0),
            Layout::Vertical { period } => ("vertical", period),
            Layout::Horizontal { period } => ("horizontal", period),
        };
        MatrixMeta {
            role: role.into(),
            rows: m.rows(),
            cols: m.cols(),
            layout: layout.into(),
            period,
            tiles: m.tiles().len(),
        }
    }

    fn layout(&self) -> Result<Layout, DataError> {
        match self.layout.as_str() {
            "plain" => Ok(Layout::Plain),
            "vertical" => Ok(Layout::Vertical {
                period: self.period,
            }),
            "horizontal" => Ok(Layout::Horizontal {
                period: self.period,
            }),
            _ => Err(DataError::Meta),
        }
    }
}

/// The checkpoint format written (see the module documentation).
pub const CHECKPOINT_FORMAT: u32 = 2;

fn format_1() -> u32 {
    1
}

/// Counters and verdicts of a checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointMeta {
    /// Format of the checkpoint (absent, hence 1, before format 2).
    #[serde(default = "format_1")]
    pub format: u32,
    /// Epochs completed.
    pub epoch: usize,
    /// Gradient steps taken.
    pub iteration: usize,
    /// Gradient steps per epoch (format 2; 0 in format 1).
    #[serde(default)]
    pub iterations_per_epoch: usize,
    /// Bootstraps run up to this checkpoint, over every server process
    /// that worked on the job (format 2; 0 in format 1).
    #[serde(default)]
    pub bootstraps: u64,
    /// Whether the verdict on `epoch` is awaited.
    pub awaiting: bool,
    /// Whether training has ended (the key owner said stop, or the epoch cap).
    pub stopped: bool,
    /// Epoch whose weights are held as the best (0: none yet).
    pub best_epoch: usize,
    /// Verdicts received, epoch after epoch (`true`: continue).
    pub verdicts: Vec<bool>,
    /// Tile shape `s0`.
    pub s0: usize,
    /// Tile shape `s1`.
    pub s1: usize,
    /// The matrices that follow.
    pub matrices: Vec<MatrixMeta>,
}

/// A job's training state between epochs.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// Counters and verdicts (`matrices` is filled on writing).
    pub meta: CheckpointMeta,
    /// Optimiser state.
    pub state: State<CkksCt>,
    /// Weights of the best epoch so far.
    pub best: Option<BlockMatrix<CkksCt>>,
    /// Validation logits of the pending epoch.
    pub logits: Vec<BlockMatrix<CkksCt>>,
}

/// Writes block matrices as a frame file with `meta` (the `matrices`
/// list is appended to the meta as TOML).
fn write_matrices<W: Write>(
    engine: &CkksEngine,
    out: W,
    content: Content,
    meta: &str,
    mats: &[&BlockMatrix<CkksCt>],
) -> Result<W, DataError> {
    let mut w = FrameWriter::new(out, content, meta)?;
    for m in mats {
        for t in m.tiles() {
            w.push(&engine.export(t)?)?;
        }
    }
    Ok(w.finish()?)
}

/// Reads the matrices `metas` describe from `input`, validating every frame.
pub fn read_matrices<R: Read>(
    engine: &CkksEngine,
    params: &hetal_nostd::params::Params,
    shape: TileShape,
    metas: &[MatrixMeta],
    input: &mut FrameReader<R>,
) -> Result<Vec<BlockMatrix<CkksCt>>, DataError> {
    let limits = Limits::default();
    let expected: usize = metas.iter().map(|m| m.tiles).sum();
    let mut index = 0;
    let mut out = Vec::with_capacity(metas.len());
    for m in metas {
        let mut tiles = Vec::with_capacity(m.tiles.min(1 << 16));
        for _ in 0..m.tiles {
            let frame = input.next_frame()?.ok_or(DataError::Count {
                expected,
                found: index,
            })?;
            let ct = decode_ciphertext(&frame, params, &limits)
                .map_err(|source| DataError::Frame { index, source })?;
            tiles.push(engine.import(&ct)?);
            index += 1;
        }
        out.push(BlockMatrix::from_tiles(
            m.rows,
            m.cols,
            shape,
            m.layout()?,
            tiles,
        )?);
    }
    if input.next_frame()?.is_some() {
        return Err(DataError::Count {
            expected,
            found: expected + 1,
        });
    }
    Ok(out)
}

/// A file of block matrices (weights, logits) to send: its meta is TOML
/// `epoch = …` plus the matrix list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatricesMeta {
    /// The epoch they belong to.
    pub epoch: usize,
    /// Tile shape `s0`.
    pub s0: usize,
    /// Tile shape `s1`.
    pub s1: usize,
    /// The matrices that follow.
    pub matrices: Vec<MatrixMeta>,
}

/// Encodes block matrices of `epoch` as a frame file in memory.
pub fn matrices_to_bytes(
    engine: &CkksEngine,
    content: Content,
    epoch: usize,
    role: &str,
    mats: &[&BlockMatrix<CkksCt>],
) -> Result<Vec<u8>, DataError> {
    let shape = mats.first().map(|m| m.shape());
    let meta = MatricesMeta {
        epoch,
        s0: shape.map_or(0, |s| s.s0),
        s1: shape.map_or(0, |s| s.s1),
        matrices: mats.iter().map(|m| MatrixMeta::of(role, m)).collect(),
    };
    let text = toml::to_string(&meta).map_err(|_| DataError::Meta)?;
    write_matrices(engine, Vec::new(), content, &text, mats)
}

/// Decodes a frame file of block matrices made by [`matrices_to_bytes`].
pub fn matrices_from_bytes(
    engine: &CkksEngine,
    params: &hetal_nostd::params::Params,
    content: Content,
    bytes: &[u8],
) -> Result<(MatricesMeta, Vec<BlockMatrix<CkksCt>>), DataError> {
    let mut r = FrameReader::new(bytes, content, hetal_nostd::wire::DEFAULT_MAX_FRAME_BYTES)?;
    let meta: MatricesMeta = toml::from_str(r.meta()).map_err(|_| DataError::Meta)?;
    let shape = TileShape::new(meta.s0, meta.s1, engine_slots(engine))?;
    let mats = read_matrices(engine, params, shape, &meta.matrices, &mut r)?;
    Ok((meta, mats))
}

fn engine_slots(engine: &CkksEngine) -> usize {
    use crate::engine::Engine;
    engine.slots()
}

impl CheckpointMeta {
    /// Parses a checkpoint's meta block, refusing formats newer than
    /// [`CHECKPOINT_FORMAT`].
    pub fn parse(text: &str) -> Result<Self, DataError> {
        let meta: CheckpointMeta = toml::from_str(text).map_err(|_| DataError::Meta)?;
        if meta.format > CHECKPOINT_FORMAT {
            return Err(DataError::CheckpointVersion {
                found: meta.format,
                supported: CHECKPOINT_FORMAT,
            });
        }
        Ok(meta)
    }

    /// Reads the counters of the checkpoint at `path` without its
    /// ciphertexts (no engine needed).
    pub fn read(path: &Path) -> Result<Self, DataError> {
        let r = super::frames::open_frames(
            path,
            Content::Checkpoint,
            hetal_nostd::wire::DEFAULT_MAX_FRAME_BYTES,
        )?;
        Self::parse(r.meta())
    }
}

impl Checkpoint {
    /// Writes the checkpoint to `path` atomically (temporary file, fsync, rename).
    pub fn write(&self, engine: &CkksEngine, path: &Path) -> Result<(), DataError> {
        let mut mats: Vec<(&str, &BlockMatrix<CkksCt>)> =
            vec![("w", &self.state.w), ("v", &self.state.v)];
        if let Some(b) = &self.best {
            mats.push(("best", b));
        }
        for l in &self.logits {
            mats.push(("logits", l));
        }
        let mut meta = self.meta.clone();
        meta.format = CHECKPOINT_FORMAT;
        meta.matrices = mats.iter().map(|(r, m)| MatrixMeta::of(r, m)).collect();
        let text = toml::to_string(&meta).map_err(|_| DataError::Meta)?;
        let list: Vec<_> = mats.iter().map(|(_, m)| *m).collect();
        let mut failure = None;
        write_atomic(path, |f| {
            match write_matrices(engine, BufWriter::new(f), Content::Checkpoint, &text, &list) {
                Ok(_) => Ok(()),
                Err(e) => {
                    failure = Some(e);
                    Err(std::io::Error::other("checkpoint encoding failed"))
                }
            }
        })
        .map_err(|e| failure.take().unwrap_or(DataError::Io(e)))
    }

    /// Reads a checkpoint written by [`Checkpoint::write`].
    pub fn read(
        engine: &CkksEngine,
        params: &hetal_nostd::params::Params,
        path: &Path,
    ) -> Result<Self, DataError> {
        let mut r = super::frames::open_frames(
            path,
            Content::Checkpoint,
            hetal_nostd::wire::DEFAULT_MAX_FRAME_BYTES,
        )?;
        let meta = CheckpointMeta::parse(r.meta())?;
        let shape = TileShape::new(meta.s0, meta.s1, engine_slots(engine))?;
        let mats = read_matrices(engine, params, shape, &meta.matrices, &mut r)?;
        let mut it = meta.matrices.iter().zip(mats);
        let (Some((_, w)), Some((_, v))) = (it.next(), it.next()) else {
            return Err(DataError::Meta);
        };
        let mut best = None;
        let mut logits = Vec::new();
        for (m, mat) in it {
            match m.role.as_str() {
                "best" => best = Some(mat),
                "logits" => logits.push(mat),
                _ => return Err(DataError::Meta),
            }
        }
        Ok(Checkpoint {
            meta,
            // Written after an epoch at least: the weights are not known zero.
            state: State { w, v, zero: false },
            best,
            logits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMAT_1: &str = "epoch = 2\niteration = 8\nawaiting = false\nstopped = false\n\
        best_epoch = 2\nverdicts = [true, true]\ns0 = 16\ns1 = 32\nmatrices = []\n";

    #[test]
    fn a_format_1_checkpoint_loads_with_its_counters_and_no_bootstrap_count() {
        let meta = CheckpointMeta::parse(FORMAT_1).unwrap();
        assert_eq!(meta.format, 1);
        assert_eq!((meta.epoch, meta.iteration, meta.best_epoch), (2, 8, 2));
        assert_eq!((meta.bootstraps, meta.iterations_per_epoch), (0, 0));
    }

    #[test]
    fn the_current_format_round_trips_and_a_newer_one_is_refused() {
        let mut meta = CheckpointMeta::parse(FORMAT_1).unwrap();
        meta.format = CHECKPOINT_FORMAT;
        meta.bootstraps = 34;
        meta.iterations_per_epoch = 4;
        let text = toml::to_string(&meta).unwrap();
        assert_eq!(CheckpointMeta::parse(&text).unwrap(), meta);
        meta.format = CHECKPOINT_FORMAT + 1;
        let text = toml::to_string(&meta).unwrap();
        assert!(matches!(
            CheckpointMeta::parse(&text),
            Err(DataError::CheckpointVersion { found, supported })
                if found == CHECKPOINT_FORMAT + 1 && supported == CHECKPOINT_FORMAT
        ));
    }
}
