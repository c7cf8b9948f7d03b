//! The ring `Z_Q[X]/(X^N + 1)` in RNS form: samplers, RNS polynomials and the
//! context holding a parameter set's NTT tables.

pub mod sampling;

#[cfg(feature = "alloc")]
mod context;
#[cfg(feature = "alloc")]
pub mod crt;
#[cfg(feature = "alloc")]
mod poly;

#[cfg(feature = "alloc")]
pub use context::Context;
#[cfg(feature = "alloc")]
pub use poly::RnsPoly;
