//! Homomorphic circuits written over the [`Engine`](crate::engine::Engine)
//! trait: Chebyshev polynomial evaluation, diagonal linear transforms, the
//! homomorphic DFT, EvalMod and the bootstrapping circuit.

pub mod bootstrap;
pub mod dft;
pub mod evalmod;
pub mod linear;
pub mod poly;

pub use bootstrap::{BootstrapCircuit, StageTargets};
pub use evalmod::EvalMod;
pub use poly::{Chebyshev, CircuitError, CircuitResult};
