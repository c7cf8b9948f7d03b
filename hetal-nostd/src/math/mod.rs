//! Number theory: arithmetic modulo word-size primes, prime generation and the negacyclic NTT.
//!
//! * [`zq`]: [`zq::Modulus`], Barrett and Shoup arithmetic modulo an odd `q < 2^62`;
//! * [`montgomery`]: Montgomery products (`R = 2^64`) for operands kept in
//!   Montgomery form;
//! * [`primes`]: deterministic primality testing and NTT-friendly prime search;
//! * [`ntt`]: the negacyclic number-theoretic transform over `Z_q[X]/(X^N + 1)`;
//! * [`galois`]: the Galois automorphisms `X -> X^g` in both domains;
//! * [`pack`]: bit packing of residues (`bitlen(q)` bits per value), shared by
//!   the streaming encryptor and the wire format;
//! * `lanes` (x86_64 with `std`): AVX-512 helpers shared by the SIMD kernels.

pub mod galois;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
pub mod lanes;
pub mod montgomery;
pub mod ntt;
pub mod pack;
pub mod primes;
pub mod zq;

use core::fmt;

/// Errors reported by the constructors of this module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MathError {
    /// The modulus is even, smaller than 3 or not below `2^62`.
    ModulusOutOfRange(u64),
    /// The value was required to be prime but is not.
    NotPrime(u64),
    /// `q` is not a prime congruent to 1 modulo `2N` (with `N = 2^log_n`) below `2^62`.
    NotNttFriendly {
        /// The rejected modulus.
        q: u64,
        /// The requested `log2` of the ring degree.
        log_n: u32,
    },
    /// The ring degree `2^log_n` is not supported; the value is `log_n`.
    UnsupportedDegree(u32),
    /// The element has no multiplicative inverse modulo `q`.
    NoInverse,
    /// A caller-provided buffer has the wrong length.
    BufferSize {
        /// The length that was required.
        expected: usize,
        /// The length that was provided.
        got: usize,
    },
}

impl fmt::Display for MathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MathError::ModulusOutOfRange(q) => {
                write!(f, "modulus {q} is not an odd integer in [3, 2^62)")
            }
            MathError::NotPrime(n) => write!(f, "{n} is not prime"),
            MathError::NotNttFriendly { q, log_n } => write!(
                f,
                "modulus {q} is not a prime congruent to 1 modulo 2^{} below 2^62",
                u64::from(log_n) + 1
            ),
            MathError::UnsupportedDegree(log_n) => {
                write!(f, "unsupported ring degree 2^{log_n}")
            }
            MathError::NoInverse => write!(f, "element is not invertible modulo q"),
            MathError::BufferSize { expected, got } => {
                write!(f, "buffer has {got} words, expected {expected}")
            }
        }
    }
}

/// Deterministic pseudo-random numbers for the tests of this module.
#[cfg(test)]
pub(crate) struct SplitMix64(pub(crate) u64);

#[cfg(test)]
impl SplitMix64 {
    /// The next 64-bit output.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `[0, bound)` (slightly biased, fine for tests); `bound > 0`.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn display_is_informative() {
        assert_eq!(
            format!("{}", MathError::ModulusOutOfRange(4)),
            "modulus 4 is not an odd integer in [3, 2^62)"
        );
        assert_eq!(
            format!("{}", MathError::NotNttFriendly { q: 97, log_n: 10 }),
            "modulus 97 is not a prime congruent to 1 modulo 2^11 below 2^62"
        );
        assert_eq!(
            format!(
                "{}",
                MathError::BufferSize {
                    expected: 8,
                    got: 7
                }
            ),
            "buffer has 7 words, expected 8"
        );
        assert_eq!(
            format!("{}", MathError::NoInverse),
            "element is not invertible modulo q"
        );
        assert_eq!(format!("{}", MathError::NotPrime(9)), "9 is not prime");
        assert_eq!(
            format!("{}", MathError::UnsupportedDegree(20)),
            "unsupported ring degree 2^20"
        );
    }
}

impl core::error::Error for MathError {}
