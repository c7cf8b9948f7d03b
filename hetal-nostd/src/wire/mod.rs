//! The wire format: postcard frames with a magic, a format version, a type
//! tag, the parameter digest and the level, then the object's fields; RNS
//! limbs travel bit-packed (bitlen(q_i) bits per residue).
//!
//! Decoders take untrusted bytes: they enforce a size limit first, parse
//! without allocating (byte strings are borrowed), check the header against
//! the expected parameters, require every length to be exactly what the
//! parameters imply and every residue to be below its prime, and reject
//! trailing bytes. Every failure is a [`WireError`].

mod bytes;

#[cfg(feature = "alloc")]
mod owned;
#[cfg(feature = "alloc")]
pub use owned::*;
#[cfg(feature = "alloc")]
mod evk;
#[cfg(feature = "alloc")]
pub use evk::{
    decode_base_switching_key, decode_switching_key, encode_base_switching_key,
    encode_switching_key,
};

pub use bytes::{Bytes, PackedWords};

use crate::math::pack::{self, PackedLimbs};
use crate::params::{Params, ParamsDigest};
use crate::ring::sampling::Seed;
use core::fmt;
use serde::{Deserialize, Serialize};

/// First bytes of every frame.
pub const MAGIC: [u8; 4] = *b"HETL";
/// Wire format version. A frame whose meaning changes gets a new version,
/// and decoders refuse every other ([`WireError::UnsupportedVersion`]):
///
/// * 1: the first format (Galois keys served every level up to the top);
/// * 2: a switching-key frame's level is the highest level the key serves
///   (Galois keys for fewer levels are shorter).
///
/// `tests/golden.rs` pins the exact bytes of one frame of each kind.
pub const VERSION: u16 = 2;
/// Default upper bound on one frame's size: 256 MiB.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 256 << 20;

/// Object type tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Parameter-set identity.
    Params = 1,
    /// Public key (b, seed).
    PublicKey = 2,
    /// Ciphertext, c1 as a seed or explicit.
    Ciphertext = 3,
    /// One streamed limb of a ciphertext.
    Limb = 4,
    /// Relinearisation or Galois key.
    SwitchingKey = 5,
    /// Bootstrapping's dense-to-sparse key over q0 and p0.
    BaseSwitchingKey = 6,
}

/// Common header of every frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// [`MAGIC`].
    pub magic: [u8; 4],
    /// [`VERSION`].
    pub version: u16,
    /// A [`Kind`] as a byte.
    pub kind: u8,
    /// Digest of the parameter set.
    pub digest: ParamsDigest,
    /// Level of the object (top level for parameter identities).
    pub level: u8,
}

impl Header {
    /// A header for `kind` at `level` under `params`.
    pub fn new(kind: Kind, params: &Params, level: usize) -> Self {
        Header {
            magic: MAGIC,
            version: VERSION,
            kind: kind as u8,
            digest: *params.digest(),
            level: level as u8,
        }
    }

    fn check(&self, kind: Kind, params: &Params) -> Result<usize, WireError> {
        if self.magic != MAGIC {
            return Err(WireError::BadMagic);
        }
        if self.version != VERSION {
            return Err(WireError::UnsupportedVersion(self.version));
        }
        if self.kind != kind as u8 {
            return Err(WireError::WrongKind {
                expected: kind as u8,
                got: self.kind,
            });
        }
        if &self.digest != params.digest() {
            return Err(WireError::WrongParams);
        }
        let level = self.level as usize;
        if level > params.max_level() {
            return Err(WireError::LevelOutOfRange {
                level,
                max: params.max_level(),
            });
        }
        Ok(level)
    }
}

/// Why bytes were rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// The input is larger than the limit.
    TooLarge {
        /// Input length.
        len: usize,
        /// Limit.
        limit: usize,
    },
    /// postcard could not parse the bytes (truncated or malformed).
    Malformed,
    /// Bytes remain after the frame.
    TrailingBytes,
    /// Not a hetal frame.
    BadMagic,
    /// A format version this build does not read.
    UnsupportedVersion(u16),
    /// Another object type than expected.
    WrongKind {
        /// Expected tag.
        expected: u8,
        /// Tag found.
        got: u8,
    },
    /// The object belongs to another parameter set.
    WrongParams,
    /// The level is above the chain's top (or the key's).
    LevelOutOfRange {
        /// Level found.
        level: usize,
        /// Highest allowed.
        max: usize,
    },
    /// A limb index is out of range or out of order.
    BadLimbIndex(usize),
    /// A byte string does not have the length the parameters imply.
    LengthMismatch {
        /// Expected bytes.
        expected: usize,
        /// Bytes found.
        got: usize,
    },
    /// A residue is not below its prime.
    ValueOutOfRange {
        /// Limb.
        limb: usize,
        /// Coefficient index.
        index: usize,
    },
    /// The scale is not a finite number ≥ 1.
    BadScale,
    /// The slot count is not in 1..=N/2.
    BadSlots(u8),
    /// The fields contradict each other (e.g. a seed where none belongs).
    Inconsistent,
    /// Serialization into the output failed (buffer too small).
    Output,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, limit } => {
                write!(f, "frame of {len} bytes exceeds the limit of {limit}")
            }
            Self::Malformed => write!(f, "malformed or truncated frame"),
            Self::TrailingBytes => write!(f, "trailing bytes after the frame"),
            Self::BadMagic => write!(f, "not a hetal frame (bad magic)"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported wire format version {v}"),
            Self::WrongKind { expected, got } => {
                write!(f, "expected object type {expected}, found {got}")
            }
            Self::WrongParams => write!(f, "the object belongs to another parameter set"),
            Self::LevelOutOfRange { level, max } => {
                write!(f, "level {level} is above the maximum {max}")
            }
            Self::BadLimbIndex(i) => write!(f, "limb index {i} is out of range or order"),
            Self::LengthMismatch { expected, got } => {
                write!(
                    f,
                    "byte string of {got} bytes where {expected} were expected"
                )
            }
            Self::ValueOutOfRange { limb, index } => {
                write!(f, "residue {index} of limb {limb} is not below its prime")
            }
            Self::BadScale => write!(f, "the scale must be a finite number >= 1"),
            Self::BadSlots(s) => write!(f, "log2 slots {s} is out of range"),
            Self::Inconsistent => write!(f, "the frame's fields contradict each other"),
            Self::Output => write!(f, "the output buffer is too small"),
        }
    }
}

impl core::error::Error for WireError {}

/// Limits applied when decoding untrusted bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted frame, in bytes.
    pub max_frame_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        }
    }
}

/// Parses one frame of type `T` that must fill `bytes` exactly.
fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8], limits: &Limits) -> Result<T, WireError> {
    if bytes.len() > limits.max_frame_bytes {
        return Err(WireError::TooLarge {
            len: bytes.len(),
            limit: limits.max_frame_bytes,
        });
    }
    let (value, rest) = postcard::take_from_bytes::<T>(bytes).map_err(|_| WireError::Malformed)?;
    if !rest.is_empty() {
        return Err(WireError::TrailingBytes);
    }
    Ok(value)
}

/// Validates packed limbs for `primes`: exact length, residues in range.
fn check_limbs<'a>(
    bytes: Bytes<'a>,
    primes: &'a [u64],
    n: usize,
) -> Result<PackedLimbs<'a>, WireError> {
    let expected = pack::packed_len_for(n, primes);
    let limbs = PackedLimbs::new(bytes.0, primes, n).ok_or(WireError::LengthMismatch {
        expected,
        got: bytes.0.len(),
    })?;
    limbs
        .check_ranges()
        .map_err(|(limb, index)| WireError::ValueOutOfRange { limb, index })?;
    Ok(limbs)
}

fn check_scale(scale: f64) -> Result<(), WireError> {
    if scale.is_finite() && scale >= 1.0 {
        Ok(())
    } else {
        Err(WireError::BadScale)
    }
}

fn check_slots(log_slots: u8, params: &Params) -> Result<(), WireError> {
    if (log_slots as u32) < params.log_n() {
        Ok(())
    } else {
        Err(WireError::BadSlots(log_slots))
    }
}

/// Serializes `value` into `out`, returning the used prefix.
pub fn to_slice<'b, T: Serialize>(value: &T, out: &'b mut [u8]) -> Result<&'b mut [u8], WireError> {
    postcard::to_slice(value, out).map_err(|_| WireError::Output)
}

/// Serializes `value` through any postcard flavor (for example a UART writer).
pub fn to_flavor<T: Serialize, F: postcard::ser_flavors::Flavor>(
    value: &T,
    flavor: F,
) -> Result<F::Output, WireError> {
    postcard::serialize_with_flavor(value, flavor).map_err(|_| WireError::Output)
}

/// The parameter-set identity frame (a handshake: "I speak these parameters").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamsFrame {
    /// Header (level = the chain's top).
    pub header: Header,
    /// log2 N.
    pub log_n: u8,
}

impl ParamsFrame {
    /// The identity of `params`.
    pub fn new(params: &Params) -> Self {
        ParamsFrame {
            header: Header::new(Kind::Params, params, params.max_level()),
            log_n: params.log_n() as u8,
        }
    }

    /// Decodes and checks an identity frame against `params`.
    pub fn decode(bytes: &[u8], params: &Params, limits: &Limits) -> Result<Self, WireError> {
        let f: ParamsFrame = parse(bytes, limits)?;
        f.header.check(Kind::Params, params)?;
        if f.log_n as u32 != params.log_n() || f.header.level as usize != params.max_level() {
            return Err(WireError::Inconsistent);
        }
        Ok(f)
    }
}

/// A streamed ciphertext limb, as written (see [`LimbFrameView`] for reading).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LimbFrame<'a> {
    /// Header; `level` is the whole ciphertext's level.
    pub header: Header,
    /// Identifies the ciphertext the limb belongs to.
    pub stream: u32,
    /// Limb index (0..=level).
    pub index: u8,
    /// Scale of the ciphertext.
    pub scale: f64,
    /// log2 of its slot count.
    pub log_slots: u8,
    /// Seed of c1 for secret-key ciphertexts.
    pub seed: Option<Seed>,
    /// c0 limb.
    pub c0: PackedWords<'a>,
    /// c1 limb for public-key ciphertexts.
    pub c1: Option<PackedWords<'a>>,
}

#[derive(Deserialize)]
struct LimbFrameIn<'a> {
    header: Header,
    stream: u32,
    index: u8,
    scale: f64,
    log_slots: u8,
    seed: Option<Seed>,
    #[serde(borrow)]
    c0: Bytes<'a>,
    #[serde(borrow)]
    c1: Option<Bytes<'a>>,
}

/// A validated streamed limb borrowed from its frame bytes.
#[derive(Clone, Copy, Debug)]
pub struct LimbFrameView<'a> {
    /// Level of the whole ciphertext.
    pub level: usize,
    /// Stream identifier.
    pub stream: u32,
    /// Limb index.
    pub index: usize,
    /// Scale.
    pub scale: f64,
    /// log2 slots.
    pub log_slots: u32,
    /// Seed of c1 (secret-key ciphertexts).
    pub seed: Option<Seed>,
    /// c0 limb (one limb).
    pub c0: PackedLimbs<'a>,
    /// c1 limb (public-key ciphertexts).
    pub c1: Option<PackedLimbs<'a>>,
}

impl<'a> LimbFrame<'a> {
    /// Decodes and validates a limb frame against `params`.
    pub fn decode(
        bytes: &'a [u8],
        params: &'a Params,
        limits: &Limits,
    ) -> Result<LimbFrameView<'a>, WireError> {
        let f: LimbFrameIn<'a> = parse(bytes, limits)?;
        let level = f.header.check(Kind::Limb, params)?;
        let index = f.index as usize;
        if index > level {
            return Err(WireError::BadLimbIndex(index));
        }
        check_scale(f.scale)?;
        check_slots(f.log_slots, params)?;
        if f.seed.is_some() == f.c1.is_some() {
            return Err(WireError::Inconsistent);
        }
        let primes = &params.q()[index..=index];
        let n = params.n();
        Ok(LimbFrameView {
            level,
            stream: f.stream,
            index,
            scale: f.scale,
            log_slots: f.log_slots as u32,
            seed: f.seed,
            c0: check_limbs(f.c0, primes, n)?,
            c1: f.c1.map(|c| check_limbs(c, primes, n)).transpose()?,
        })
    }
}

/// A public key as written: header, seed of a, packed b.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PublicKeyFrame<'a> {
    /// Header; `level` is the key's top level.
    pub header: Header,
    /// Seed of a.
    pub seed: Seed,
    /// b, limbs 0..=level.
    pub b: PackedWords<'a>,
}

#[derive(Deserialize)]
struct PublicKeyFrameIn<'a> {
    header: Header,
    seed: Seed,
    #[serde(borrow)]
    b: Bytes<'a>,
}

/// A validated public key borrowed from its frame bytes (no allocation):
/// what a device keeps in flash and encrypts with.
#[derive(Clone, Copy, Debug)]
pub struct PublicKeyFrameView<'a> {
    /// Digest of the parameter set.
    pub digest: &'a ParamsDigest,
    /// The key's top level.
    pub level: usize,
    /// Seed of a.
    pub seed: Seed,
    /// b, packed.
    pub b: PackedLimbs<'a>,
}

impl<'a> PublicKeyFrame<'a> {
    /// Decodes and validates a public-key frame against `params`.
    pub fn decode(
        bytes: &'a [u8],
        params: &'a Params,
        limits: &Limits,
    ) -> Result<PublicKeyFrameView<'a>, WireError> {
        let f: PublicKeyFrameIn<'a> = parse(bytes, limits)?;
        let level = f.header.check(Kind::PublicKey, params)?;
        Ok(PublicKeyFrameView {
            digest: params.digest(),
            level,
            seed: f.seed,
            b: check_limbs(f.b, &params.q()[..=level], params.n())?,
        })
    }
}

impl<'a> PublicKeyFrameView<'a> {
    /// The key in the form the streaming encryptor takes.
    pub fn as_view(&'a self) -> crate::encrypt::PublicKeyView<'a> {
        crate::encrypt::PublicKeyView {
            digest: self.digest,
            seed: &self.seed,
            b: crate::encrypt::LimbSource::Packed(self.b),
        }
    }
}

#[cfg(test)]
mod tests;
