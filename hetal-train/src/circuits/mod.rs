//! Homomorphic circuits written over the [`Engine`](crate::engine::Engine)
//! trait: Chebyshev polynomial evaluation, diagonal linear transforms, the
//! homomorphic DFT and EvalMod. The bootstrapping circuit built from them
//! lives with the CKKS engine that runs it
//! ([`crate::ckks_engine::bootstrap`]).

pub mod dft;
pub mod evalmod;
pub mod linear;
pub mod poly;

pub use evalmod::EvalMod;
pub use poly::{Chebyshev, CircuitError, CircuitResult};
