//! Homomorphic circuits written over the [`Engine`](crate::engine::Engine)
//! trait: building blocks of bootstrapping (Chebyshev polynomial evaluation and
//! diagonal linear transforms now; the homomorphic DFT, EvalMod and the bootstrap itself to follow).

pub mod bootstrap;
pub mod dft;
pub mod evalmod;
pub mod linear;
pub mod poly;
