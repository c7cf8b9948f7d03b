//! `hetal-train`: the server side of hetal (evaluator, HETAL algorithms,
//! training) and the `hetal` command-line tool.
//!
//! # Layers
//!
//! Modules depend on lower layers only (`tests/layering.rs` checks every
//! `crate::` path outside test code against this order, lowest first):
//!
//! 0. [`reproducible`] — a seeded generator for test data and benchmark inputs;
//! 1. [`ckks`] — the CKKS evaluator on `hetal-nostd`'s ring (key switching,
//!    rescale, rotations, hoisting, ModRaise and the encapsulation switches);
//! 2. [`error`] — the engine's and the circuits' error types (each can be
//!    the other's source);
//! 3. [`engine`] — the [`Engine`] trait (slot-vector homomorphic computer),
//!    the clear simulator [`ClearEngine`] and its noise model;
//! 4. [`circuits`] — circuits over the trait (polynomials, linear transforms,
//!    the homomorphic DFT, EvalMod);
//! 5. [`ckks_engine`] — [`CkksEngine`], the trait on real ciphertexts, with
//!    bootstrapping gathered in [`ckks_engine::bootstrap`] (settings, keys,
//!    stage targets, the bootstrapping circuit);
//! 6. [`linalg`] — block matrices, DiagABT / DiagATB; the plain matrix and
//!    its symmetric eigen-decomposition;
//! 7. [`softmax`] — HETAL's softmax approximation and its variants;
//! 8. [`data`] — datasets, their splits, the client-side PCA projection;
//! 9. [`train`] — NAG training with early stopping, the reference trainer;
//! 10. [`io`] — the key owner's and producers' files: NumPy/CSV inputs,
//!     the model directory, atomic writes;
//! 11. [`job`] — the job file and what it implies, frame files (key sets,
//!     encrypted data, checkpoints), the key owner's key files;
//! 12. [`protocol`] — the three roles over HTTP: server, store, training
//!     thread, the key owner's client;
//! 13. `extract` — client-side feature extraction (`hetal extract`, cargo
//!     feature `extract`, on by default): pre-trained text and image models
//!     and image decoding; its `.npy` and CSV files go through [`io`];
//! 14. `demo`, `bench` — commands of the `hetal` binary (hidden from the
//!     documentation: not a library API);
//! 15. [`cli`] — the `hetal` command line.

#[doc(hidden)]
pub mod bench;
pub mod circuits;
pub mod ckks;
pub mod ckks_engine;
pub mod cli;
pub mod data;
#[doc(hidden)]
pub mod demo;
pub mod engine;
pub mod error;
#[cfg(feature = "extract")]
pub mod extract;
pub mod io;
pub mod job;
pub mod linalg;
pub mod protocol;
pub mod reproducible;
pub mod softmax;
pub mod train;

pub use ckks_engine::{BootstrapConfig, CkksDecryptor, CkksEngine};
pub use data::Dataset;
pub use engine::{
    ClearConfig, ClearDecryptor, ClearEngine, Complex, Decryptor, Engine, EngineError, EngineResult,
};
pub use linalg::Matrix;
pub use train::{
    encrypt_dataset, train_encrypted, train_reference, KeyOwner, Patience, TrainConfig, TrainError,
};

/// The README's code blocks, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
