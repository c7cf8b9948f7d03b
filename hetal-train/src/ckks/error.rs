//! Errors of the evaluator.

use hetal_nostd::encoding::EncodeError;
use thiserror::Error;

/// Errors of the evaluator.
#[derive(Clone, Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum EvalError {
    /// No Galois key for a rotation step.
    #[error("missing Galois key for a rotation by {0} slots")]
    MissingRotationKey(i64),
    /// No conjugation key.
    #[error("missing Galois key for complex conjugation")]
    MissingConjugationKey,
    /// No Galois key for an automorphism.
    #[error("missing Galois key for the automorphism X -> X^{0}")]
    MissingGaloisKey(u64),
    /// A Galois key generated for lower levels than the ciphertext's.
    #[error("the Galois key serves levels up to {max}, the ciphertext is at level {level}")]
    KeyLevel {
        /// Level of the ciphertext.
        level: usize,
        /// Highest level of the key.
        max: usize,
    },
    /// No relinearisation key.
    #[error("missing relinearisation key")]
    MissingRelinKey,
    /// The operation needs a level the ciphertext no longer has.
    #[error("levels exhausted: the ciphertext is at level {0}")]
    LevelExhausted(usize),
    /// A ciphertext or key belongs to another parameter set.
    #[error("parameter mismatch: the object belongs to another parameter set")]
    ParamsMismatch,
    /// Scales that cannot be aligned.
    #[error("scale mismatch: {0} vs {1} cannot be aligned")]
    ScaleMismatch(f64, f64),
    /// Levels that must be equal and are not.
    #[error("level mismatch: {0} vs {1}")]
    LevelMismatch(usize, usize),
    /// Slot counts that differ.
    #[error("slot-count mismatch: 2^{0} vs 2^{1}")]
    SlotMismatch(u32, u32),
    /// A level above the ciphertext's own (for a drop) or the chain's top.
    #[error("invalid level {requested} (at most {max})")]
    InvalidLevel {
        /// Level asked for.
        requested: usize,
        /// Highest allowed.
        max: usize,
    },
    /// A ciphertext or key whose shape does not match the parameters.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// Slot values the encoder refuses (slot count, non-finite values).
    #[error("cannot encode: {0}")]
    Encode(#[from] EncodeError),
    /// More values than slots.
    #[error("{len} values for {slots} slots")]
    TooManyValues {
        /// Values given.
        len: usize,
        /// Slots of the ciphertext.
        slots: usize,
    },
    /// A constant whose scaled value does not fit the 120 bits the
    /// evaluator encodes constants with.
    #[error("constant {value} at scale {scale} is too large")]
    ConstantTooLarge {
        /// The constant (one part).
        value: f64,
        /// The scale it was to be encoded at.
        scale: f64,
    },
    /// A target scale that is not a positive finite number.
    #[error("target scale {0} is not a positive finite number")]
    BadScale(f64),
    /// A rotate-and-sum span that is not a power of two up to the slot count.
    #[error("rotate-and-sum span {0} is not a power of two up to the slot count")]
    BadSpan(usize),
    /// The parameter set is outside what the evaluator supports.
    #[error("unsupported parameters: {0}")]
    Unsupported(&'static str),
}
