//! The errors of the engine and circuit layers. They live together, below
//! both, because each can carry the other as its source: a circuit fails
//! when an engine operation does ([`CircuitError::Engine`]), and the CKKS
//! engine's bootstrap fails when its circuit does ([`EngineError::Circuit`]).

use hetal_nostd::decrypt::DecryptError;
use hetal_nostd::encoding::EncodeError;
use hetal_nostd::encrypt::EncryptError;
use hetal_nostd::math::MathError;
use hetal_nostd::params::ParamsError;
use hetal_nostd::wire::WireError;
use thiserror::Error;

use crate::ckks::EvalError;

/// Errors of homomorphic operations.
#[derive(Clone, Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum EngineError {
    /// The operation needs a level the ciphertext no longer has.
    #[error("level exhausted: the operation needs {needed} level(s), the ciphertext is at level {level}")]
    LevelExhausted {
        /// Levels the operation consumes.
        needed: usize,
        /// Level of the operand.
        level: usize,
    },
    /// A slot vector of the wrong length.
    #[error("size mismatch: {len} values for {slots} slots")]
    SizeMismatch {
        /// Length given.
        len: usize,
        /// Slots of the engine.
        slots: usize,
    },
    /// A level outside `0..=max_level`, or above the ciphertext's own level
    /// for a level drop.
    #[error("invalid level {requested} (allowed at most {max})")]
    InvalidLevel {
        /// Level asked for.
        requested: usize,
        /// Highest level allowed here.
        max: usize,
    },
    /// No rotation key for this rotation amount.
    #[error("missing rotation key for a left rotation by {0}")]
    MissingRotation(usize),
    /// One operand awaits a rescale and the other does not.
    #[error("scale mismatch: one operand awaits a rescale")]
    ScaleMismatch,
    /// A product awaiting a rescale was used where a rescaled ciphertext is needed.
    #[error("the ciphertext awaits a rescale")]
    NeedsRescale,
    /// Rescale of a ciphertext that does not await one.
    #[error("nothing to rescale")]
    NothingToRescale,
    /// A bootstrap input with a slot above the range bootstrapping refreshes.
    #[error(
        "bootstrapping input out of range: a slot holds {peak:.3e}, above the bound {bound:.3e}"
    )]
    BootstrapRange {
        /// Largest real or imaginary part in magnitude.
        peak: f64,
        /// Largest magnitude bootstrapping refreshes.
        bound: f64,
    },
    /// A bootstrap input whose scale leaves too little room below q0.
    #[error("bootstrapping input out of range: scale 2^{log2_scale:.1} leaves {headroom_bits:.1} bits below q0, bootstrapping needs {needed_bits}")]
    BootstrapHeadroom {
        /// log2 of the input's scale.
        log2_scale: f64,
        /// Bits between the scale and q0.
        headroom_bits: f64,
        /// Bits bootstrapping needs there.
        needed_bits: f64,
    },
    /// Bootstrapping settings that cannot work.
    #[error("invalid configuration: {0}")]
    InvalidConfig(#[from] ConfigError),
    /// A linear combination or a sum of rotations without terms.
    #[error("a linear combination or a sum of rotations needs at least one term")]
    NoTerms,
    /// An operation this engine does not provide (yet).
    #[error("not available: {0}")]
    Unavailable(&'static str),
    /// Parameters that do not build.
    #[error("parameters: {0}")]
    Params(#[from] ParamsError),
    /// A modulus or NTT table that cannot be set up.
    #[error("arithmetic: {0}")]
    Math(#[from] MathError),
    /// Slot values or a slot count the encoder refuses.
    #[error("encoding: {0}")]
    Encode(#[from] EncodeError),
    /// Encryption failed.
    #[error("encryption: {0}")]
    Encrypt(#[from] EncryptError),
    /// Decryption failed.
    #[error("decryption: {0}")]
    Decrypt(#[from] DecryptError),
    /// A key or ciphertext could not be framed.
    #[error("wire format: {0}")]
    Wire(#[from] WireError),
    /// An evaluator error without a closer engine-level meaning.
    #[error("evaluator: {0}")]
    Eval(#[source] EvalError),
    /// A circuit (the bootstrapping circuit) failed for a reason other than
    /// an engine operation.
    #[error("circuit: {0}")]
    Circuit(#[source] Box<CircuitError>),
    /// A lock of the engine (random generator, plaintext cache) was
    /// poisoned by a panic in another thread.
    #[error("{0} lock poisoned")]
    Poisoned(&'static str),
    /// Decryption of a ciphertext from an engine that only counts operations.
    #[error("the engine counts operations without tracking values")]
    ValuesNotTracked,
}

/// Result of an engine operation.
pub type EngineResult<T> = Result<T, EngineError>;

/// Bootstrapping settings that cannot work.
#[derive(Clone, Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A sparse-secret Hamming weight outside `min..=max`.
    #[error("Hamming weight {weight} outside {min}..={max}")]
    HammingWeight {
        /// Weight asked for.
        weight: usize,
        /// Smallest accepted.
        min: usize,
        /// Largest accepted (N/2).
        max: usize,
    },
    /// An EvalMod bound K that is not a finite number ≥ 1.
    #[error("EvalMod bound K = {0} (need a finite K ≥ 1)")]
    EvalModBound(f64),
    /// Too many double angles or a cosine degree outside 1..=1024.
    #[error(
        "EvalMod with {double_angle} double angles and degree {degree} (at most 16 and 1..=1024)"
    )]
    EvalModShape {
        /// Double-angle steps asked for.
        double_angle: u32,
        /// Degree asked for.
        degree: usize,
    },
    /// A key the evaluation-key set must hold is missing.
    #[error("the evaluation keys lack the {0} key")]
    MissingKey(&'static str),
    /// A Galois key the plan needs is missing or serves too few levels.
    #[error("the Galois key for element {element} must serve level {needed_level} (found: {have_level:?})")]
    MissingGaloisKey {
        /// Galois element.
        element: u64,
        /// Level the plan needs.
        needed_level: usize,
        /// Level of the key given, if any.
        have_level: Option<usize>,
    },
    /// A failure probability above the bound.
    #[error("bootstrapping failure probability: {0}")]
    FailureProbability(#[source] ParamsError),
}

/// Why a circuit could not be evaluated.
#[derive(Clone, Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum CircuitError {
    /// The interval is empty, reversed or not finite.
    #[error("invalid interval [{a}, {b}]: need finite a < b")]
    BadInterval {
        /// Lower end.
        a: f64,
        /// Upper end.
        b: f64,
    },
    /// A vector or matrix has the wrong size.
    #[error("size mismatch: expected {expected}, got {got}")]
    SizeMismatch {
        /// Size expected.
        expected: usize,
        /// Size given.
        got: usize,
    },
    /// An EvalMod amplitude that is not a positive finite number.
    #[error("invalid amplitude {0}: need a positive finite number")]
    BadAmplitude(f64),
    /// The polynomial has no coefficients.
    #[error("the polynomial has no coefficients")]
    Empty,
    /// An engine operation failed (typically: not enough levels).
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Result of a circuit.
pub type CircuitResult<T> = Result<T, CircuitError>;
