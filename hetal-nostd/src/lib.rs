//! `hetal-nostd`: the `#![no_std]` CKKS core of hetal.
//!
//! It holds everything a data producer or the key owner needs: modular
//! arithmetic and the negacyclic NTT, RNS polynomials, validated parameter
//! sets, the canonical-embedding encoder, a ChaCha20 CSPRNG with constant-time
//! samplers, keys, encryption (including a streaming, allocation-free path),
//! decryption and the postcard wire format.
//!
//! # Layers
//!
//! Modules depend on lower layers only (`tests/layering.rs` checks every
//! `crate::` path outside test code against this order, lowest first):
//!
//! 1. [`math`] — modular arithmetic, primes, the NTT, Galois maps, bit packing;
//! 2. [`params`] — parameter literals, validation, presets, digests;
//! 3. [`ring`] — RNS polynomials, the NTT context, samplers, the CRT lift;
//! 4. [`encoding`] — the canonical embedding;
//! 5. `keys` — secret and public keys;
//! 6. [`encrypt`](mod@encrypt) — streaming and owned encryption;
//! 7. `decrypt` — decryption;
//! 8. `evk` — evaluation keys;
//! 9. `encapsulation` — bootstrapping's sparse-secret keys;
//! 10. [`wire`] — postcard frames and their validating decoders.
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

pub use encoding::Complex;
pub use encrypt::{EncryptionKey, StreamEncryptor};
pub use params::{Params, ParamsLiteral};
pub use ring::sampling::Csprng;
pub use wire::{Limits, WireError};

#[cfg(feature = "alloc")]
pub use decrypt::decrypt;
#[cfg(feature = "alloc")]
pub use encrypt::{encrypt, Ciphertext};
#[cfg(feature = "alloc")]
pub use keys::{PublicKey, SecretKey};
#[cfg(feature = "alloc")]
pub use ring::Context;
