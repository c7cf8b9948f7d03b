//! The training layout of one batch: HETAL's block matrices (the tiles of
//! `hetal-train`'s `linalg`), specialised to the embedded samples.
//!
//! A ciphertext holds one tile of shape `TILE_ROWS x ROW_WIDTH`
//! (256 x 128 = 2^15 slots), row-major: slot `r * ROW_WIDTH + c` is entry
//! (r, c). Two tiles are produced per batch:
//!
//! * **features X**: row r is sample r's 64 pixels divided by 16 (so in
//!   [0, 1]) in columns 0..64, the constant 1 of the bias in column 64, and
//!   zeros in columns 65..128;
//! * **labels Y**: row r is sample r's one-hot label over the padded class
//!   count `CLASSES_PADDED` = 16 (10 digits padded to a power of two),
//!   repeated across the row with period 16 (the "horizontal" tiling).
//!
//! Rows past the last sample are zero. Only the first `SAMPLES * ROW_WIDTH`
//! slots are non-zero, so the slices built here are that long and the
//! encoder pads the rest of the 2^15 slots with zeros.

use crate::samples::{FEATURES, LABELS, PIXELS, SAMPLES};
use hetal_nostd::encoding::Complex;

/// Tile width s1: the feature count plus the bias column, rounded up to a
/// power of two.
pub const ROW_WIDTH: usize = 128;
/// Classes padded to a power of two (c').
pub const CLASSES_PADDED: usize = 16;
/// Column of the constant-1 bias feature.
pub const BIAS_COLUMN: usize = FEATURES;
/// Length of the non-zero prefix of a tile.
pub const USED_SLOTS: usize = SAMPLES * ROW_WIDTH;

/// Which tile of the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tile {
    /// The feature matrix X with its bias column.
    Features,
    /// The one-hot labels Y.
    Labels,
}

impl Tile {
    /// Both tiles, in the order the firmware sends them (stream ids 0 and 1).
    pub const ALL: [Tile; 2] = [Tile::Features, Tile::Labels];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Tile::Features => "features",
            Tile::Labels => "labels",
        }
    }

    /// Writes the tile's first `USED_SLOTS` slots into `out`.
    pub fn fill(self, out: &mut [Complex; USED_SLOTS]) {
        for (r, row) in out.chunks_exact_mut(ROW_WIDTH).enumerate() {
            for (c, slot) in row.iter_mut().enumerate() {
                let value = match self {
                    Tile::Features if c < FEATURES => f64::from(PIXELS[r][c]) / 16.0,
                    Tile::Features if c == BIAS_COLUMN => 1.0,
                    Tile::Features => 0.0,
                    Tile::Labels if c % CLASSES_PADDED == usize::from(LABELS[r]) => 1.0,
                    Tile::Labels => 0.0,
                };
                *slot = Complex::real(value);
            }
        }
    }
}
