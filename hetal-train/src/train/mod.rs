//! Training a softmax-regression head on encrypted batches (HETAL) and its
//! plaintext f64 reference.
//!
//! * [`config`]: hyper-parameters, optimiser, batch plan and order.
//! * [`key_owner`]: early stopping as a key-owner role: it alone decrypts
//!   validation logits, computes the loss and answers continue / stop.
//! * [`encrypted`]: the server-side trainer on engine ciphertexts.
//! * [`epochs`]: the pieces of its epoch loop, for servers that run the
//!   loop themselves (checkpoints, remote key owners).
//! * [`plan`]: the rotations and operation counts a job needs, from a dry run.
//! * [`reference`](mod@reference): the same training in f64 (exact softmax), the accuracy yardstick.

pub mod config;
pub mod encrypted;
pub mod epochs;
pub mod key_owner;
pub mod loss;
pub mod plan;
pub mod reference;

pub use config::{filling_batch, Optimizer, TrainConfig, WeightRefresh};
pub use encrypted::{
    encrypt_dataset, gradient_level, gradient_operands, step, step_observed, train_encrypted,
    train_encrypted_observed, EncryptedBatch, EncryptedData, GradientOperands, Phase, Progress,
    State, TrainReport,
};
pub use epochs::{initial_state, validation_logits};
pub use key_owner::{validation_loss, KeyOwner, Patience, ValidationJudge, Verdict};
pub use loss::{accuracy, cross_entropy};
pub use plan::{plan_job, JobPlan, JobShape};
pub use reference::{train_reference, ReferenceReport};

use thiserror::Error;

use crate::data::DataError;
use crate::engine::EngineError;
use crate::linalg::LinalgError;

/// Errors of training.
#[derive(Clone, Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum TrainError {
    /// A linear-algebra or softmax step failed.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
    /// An engine operation failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The data set could not be used.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Nothing to train on, or a batch size of zero.
    #[error("empty training set or zero batch size")]
    Empty,
    /// Labels and logits of different lengths, or a label out of range.
    #[error("labels do not match the logits: {0}")]
    Labels(&'static str),
    /// The key owner named a best epoch whose weights the server no longer holds.
    #[error("weights of epoch {0} are no longer held")]
    BestEpochLost(usize),
    /// The key owner found validation logits beyond the softmax's bound:
    /// training logits may lie beyond it too, where the softmax breaks.
    #[error(
        "validation logits reach {found:.1}, beyond the softmax's bound {bound}: \
         train again with a larger logit bound"
    )]
    LogitRange {
        /// Largest magnitude among the decrypted validation logits.
        found: f64,
        /// The job's bound.
        bound: f64,
    },
}

#[cfg(test)]
mod tests;
