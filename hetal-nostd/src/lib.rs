//! `hetal-nostd`: the `#![no_std]` CKKS core of hetal.
//!
//! It holds everything a data producer or the key owner needs: modular
//! arithmetic and the negacyclic NTT, RNS polynomials, validated parameter
//! sets, the canonical-embedding encoder, a ChaCha20 CSPRNG with constant-time
//! samplers, keys, encryption (including a streaming, allocation-free path),
//! decryption and the postcard wire format.
//!
//! Features: `alloc` (owned types, decryption, key generation) and `std`
//! (OS entropy); both off by default.
#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod encoding;
pub mod encrypt;
pub mod math;
pub mod params;
pub mod ring;
pub mod wire;

#[cfg(feature = "alloc")]
pub mod decrypt;
#[cfg(feature = "alloc")]
pub mod encapsulation;
#[cfg(feature = "alloc")]
pub mod evk;
#[cfg(feature = "alloc")]
pub mod keys;
