//! Encrypted linear algebra over block matrices: the tile layouts, HETAL's
//! DiagABT / DiagATB with their row operations, and the baselines the paper
//! compares against (Crockett's ColMajor / RowMajor, Jin et al.'s column packing);
//! and, in the clear, the plain [`Matrix`] and the symmetric eigen-decomposition
//! ([`symmetric_eigen`]) behind the client's PCA.

mod baselines;
mod block;
mod diag;
mod eigen;
mod matrix;
mod packed_atb;
mod repack;
pub(crate) mod rowops;
mod tile;

pub use baselines::{col_major, jin_abt, jin_atb, row_major, ColumnPacked, Replicated};
pub use block::{decrypt_matrix, encrypt_matrix, BlockMatrix, Layout};
pub use diag::{diag_abt, diag_atb, diag_atb_scaled, AtbSchedule};
pub(crate) use diag::{drop_all, min_level};
pub use eigen::{symmetric_eigen, SymmetricEigen};
pub use matrix::Matrix;
pub use repack::bootstrap_vertical_packed;
pub use rowops::{prot_up, rot_left};
pub use tile::{padded_classes, TileShape};

use crate::engine::EngineError;
use thiserror::Error;

/// Errors of the linear-algebra layer.
#[derive(Clone, Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum LinalgError {
    /// An engine operation failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Two sizes that must agree do not.
    #[error("shape mismatch in {context}: expected {expected}, found {found}")]
    ShapeMismatch {
        /// What was being checked.
        context: &'static str,
        /// Size required.
        expected: usize,
        /// Size given.
        found: usize,
    },
    /// A tile shape that is not two powers of two multiplying to the slot count.
    #[error("invalid tile shape ({s0}, {s1}) for {slots} slots")]
    InvalidTile {
        /// Rows of a tile.
        s0: usize,
        /// Columns of a tile.
        s1: usize,
        /// Slots of the engine.
        slots: usize,
    },
    /// A replication period that does not divide the tile, or is not an even power of two.
    #[error("period {period} does not fit tile ({s0}, {s1})")]
    InvalidPeriod {
        /// Period of the tiling (padded class count).
        period: usize,
        /// Rows of a tile.
        s0: usize,
        /// Columns of a tile.
        s1: usize,
    },
    /// A softmax logit bound that is not in `(0, 128]`.
    #[error("the softmax's logit bound must lie in (0, 128], not {0}")]
    LogitBound(f64),
    /// The symmetric eigenvalue iteration did not converge.
    #[error("the eigenvalue iteration did not converge in {sweeps} QR sweeps")]
    NoConvergence {
        /// Sweeps made.
        sweeps: usize,
    },
    /// A block matrix in the wrong layout for the operation.
    #[error("layout mismatch: expected {expected:?}, found {found:?}")]
    LayoutMismatch {
        /// Layout required.
        expected: Layout,
        /// Layout given.
        found: Layout,
    },
}

/// Result of a linear-algebra operation.
pub type LinalgResult<T> = Result<T, LinalgError>;

#[cfg(test)]
pub(crate) mod tests;
