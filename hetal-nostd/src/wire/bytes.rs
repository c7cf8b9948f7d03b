//! Byte strings for postcard: borrowed on decode, produced on the fly on encode.

use crate::math::pack::{bits_of, packed_len_for, Packer};
use core::fmt;
use serde::de::{Deserialize, Deserializer, Error as _, Visitor};
use serde::ser::{Serialize, SerializeTuple, Serializer};

/// A borrowed byte string (postcard: varint length, then the raw bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bytes<'a>(pub &'a [u8]);

impl<'de: 'a, 'a> Deserialize<'de> for Bytes<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Bytes<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a borrowed byte string")
            }
            fn visit_borrowed_bytes<E: serde::de::Error>(
                self,
                v: &'de [u8],
            ) -> Result<Self::Value, E> {
                Ok(Bytes(v))
            }
            fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
                Err(E::custom("byte string must be borrowed"))
            }
        }
        d.deserialize_bytes(V).map_err(D::Error::custom)
    }
}

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// Limb-major residues serialized as one packed byte string, produced byte
/// by byte with no staging buffer.
///
/// postcard encodes a byte string as a varint length followed by the raw
/// bytes, and a tuple as its elements back to back with a `u8` as one raw
/// byte; so emitting (length as varint, byte, byte, …) as a tuple writes
/// exactly the bytes `serialize_bytes` would, and [`Bytes`] reads it back.
#[derive(Clone, Copy, Debug)]
pub struct PackedWords<'a> {
    /// Limb-major values, `n` per limb.
    pub words: &'a [u64],
    /// The prime of each limb (its bit length sets the packing width).
    pub primes: &'a [u64],
    /// Values per limb.
    pub n: usize,
}

impl Serialize for PackedWords<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let total = packed_len_for(self.n, self.primes);
        let mut t = s.serialize_tuple(total + 1)?;
        t.serialize_element(&(total as u64))?;
        for (limb, &q) in self.words.chunks_exact(self.n).zip(self.primes) {
            for byte in Packer::new(limb.iter().copied(), bits_of(q)) {
                t.serialize_element(&byte)?;
            }
        }
        t.end()
    }
}
