//! Streaming encryption: one RNS limb at a time into caller buffers, without
//! an allocator, with O(N) words of working memory whatever the level.
//!
//! The message is encoded once into n packed complex values; the randomness
//! (v, e0, e1 for public-key encryption, or the seed of a and e for
//! secret-key encryption) is sampled once as small integers; then each limb
//! i is produced independently from those and from limb i of the key:
//!
//! * public key: c0_i = NTT(v)·b_i + NTT(m + e0), c1_i = NTT(v)·a_i + NTT(e1);
//! * secret key: c0_i = −a_i·NTT(s) + NTT(m + e), c1 = a, sent as its seed.

use crate::encoding::{encode_into, packed_to_residues, Complex, EncodeError};
use crate::math::ntt::NttTable;
use crate::math::pack::PackedLimbs;
use crate::math::zq::Modulus;
use crate::math::MathError;
use crate::params::{Params, ParamsDigest};
use crate::ring::sampling::{Csprng, Seed, UniformExpander};
use core::fmt;
use zeroize::Zeroize;

/// Why encryption failed.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum EncryptError {
    /// The message could not be encoded.
    Encode(EncodeError),
    /// The requested level is above the key's level or the chain's top.
    LevelOutOfRange {
        /// Requested level.
        level: usize,
        /// Highest level available.
        max: usize,
    },
    /// The key belongs to another parameter set.
    WrongParams,
    /// A scratch buffer has the wrong size.
    BufferSize {
        /// Which buffer.
        buffer: &'static str,
        /// Length needed.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// The scale is not a positive finite number.
    BadScale,
    /// NTT table construction failed.
    Math(MathError),
}

impl fmt::Display for EncryptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Encode(e) => write!(f, "encoding failed: {e}"),
            Self::LevelOutOfRange { level, max } => {
                write!(f, "level {level} requested, the key allows at most {max}")
            }
            Self::WrongParams => write!(f, "the key belongs to another parameter set"),
            Self::BufferSize {
                buffer,
                expected,
                got,
            } => {
                write!(
                    f,
                    "scratch buffer `{buffer}` has length {got}, {expected} needed"
                )
            }
            Self::BadScale => write!(f, "the scale must be a positive finite number"),
            Self::Math(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for EncryptError {}

impl From<EncodeError> for EncryptError {
    fn from(e: EncodeError) -> Self {
        EncryptError::Encode(e)
    }
}

impl From<MathError> for EncryptError {
    fn from(e: MathError) -> Self {
        EncryptError::Math(e)
    }
}

/// Limb i of a public polynomial, stored plainly or bit-packed (as received
/// on the wire).
#[derive(Clone, Copy, Debug)]
pub enum LimbSource<'a> {
    /// Limb-major words, N per limb.
    Words(&'a [u64]),
    /// Bit-packed limbs as in a wire frame.
    Packed(PackedLimbs<'a>),
}

impl LimbSource<'_> {
    /// Number of limbs available.
    pub fn limbs(&self, n: usize) -> usize {
        match self {
            LimbSource::Words(w) => w.len() / n,
            LimbSource::Packed(p) => p.limbs(),
        }
    }

    fn mul_acc(&self, limb: usize, n: usize, q: &Modulus, x: &[u64], acc: &mut [u64]) {
        match self {
            LimbSource::Words(w) => {
                for ((a, &b), &xv) in acc.iter_mut().zip(&w[limb * n..(limb + 1) * n]).zip(x) {
                    *a = q.mul_add(b, xv, *a);
                }
            }
            LimbSource::Packed(p) => {
                for ((a, b), &xv) in acc.iter_mut().zip(p.limb_values(limb)).zip(x) {
                    *a = q.mul_add(q.reduce(b), xv, *a);
                }
            }
        }
    }
}

/// A public key as the encryptor needs it: digest, top level, seed of a and b.
#[derive(Clone, Copy, Debug)]
pub struct PublicKeyView<'a> {
    /// Digest of the parameter set.
    pub digest: &'a ParamsDigest,
    /// Seed of a.
    pub seed: &'a Seed,
    /// b, limbs `0..=level`.
    pub b: LimbSource<'a>,
}

/// The key an encryptor uses.
#[derive(Clone, Copy)]
pub enum EncryptionKey<'a> {
    /// Public-key encryption (data producers).
    Public(PublicKeyView<'a>),
    /// Secret-key encryption (the key owner): the secret's ternary coefficients.
    Secret {
        /// Digest of the parameter set.
        digest: &'a ParamsDigest,
        /// Ternary coefficients of s. Secret.
        coeffs: &'a [i8],
    },
}

/// A source of forward NTTs for the primes of a parameter set.
pub trait NttSource {
    /// Transforms `a` (coefficients mod the Q prime `prime_index`) in place.
    fn forward(&mut self, prime_index: usize, a: &mut [u64]) -> Result<(), MathError>;
}

/// Builds each prime's table in one caller buffer of 4N words when the prime
/// changes: the allocation-free choice for devices.
pub struct ScratchNtt<'a> {
    params: &'a Params,
    storage: Option<&'a mut [u64]>,
    table: Option<(usize, NttTable<&'a mut [u64]>)>,
}

impl<'a> ScratchNtt<'a> {
    /// Uses `storage` (exactly `NttTable::storage_words(log N)` words).
    pub fn new(params: &'a Params, storage: &'a mut [u64]) -> Result<Self, EncryptError> {
        let expected = NttTable::<&mut [u64]>::storage_words(params.log_n());
        if storage.len() != expected {
            return Err(EncryptError::BufferSize {
                buffer: "ntt",
                expected,
                got: storage.len(),
            });
        }
        Ok(ScratchNtt {
            params,
            storage: Some(storage),
            table: None,
        })
    }
}

impl NttSource for ScratchNtt<'_> {
    fn forward(&mut self, prime_index: usize, a: &mut [u64]) -> Result<(), MathError> {
        if !matches!(&self.table, Some((i, _)) if *i == prime_index) {
            let storage = match self.table.take() {
                Some((_, t)) => t.into_storage(),
                None => self.storage.take().ok_or(MathError::BufferSize {
                    expected: 0,
                    got: 0,
                })?,
            };
            let q = Modulus::new(self.params.q()[prime_index])?;
            let table = NttTable::new_in(storage, q, self.params.log_n())?;
            self.table = Some((prime_index, table));
        }
        if let Some((_, t)) = &self.table {
            t.forward(a);
        }
        Ok(())
    }
}

/// Caller-provided working memory for [`StreamEncryptor`].
pub struct EncryptScratch<'a> {
    /// n packed values (n = slot count).
    pub packed: &'a mut [Complex],
    /// 3N small integers (v, e0, e1, or e for secret-key encryption).
    pub small: &'a mut [i8],
    /// 3N words: the NTT of v (or s) and the two output limbs.
    pub work: &'a mut [u64],
}

impl EncryptScratch<'_> {
    /// Words of `work` needed at log N.
    pub const fn work_words(log_n: u32) -> usize {
        3 << log_n
    }
    /// Entries of `small` needed at log N.
    pub const fn small_len(log_n: u32) -> usize {
        3 << log_n
    }
}

/// What one step of a [`StreamEncryptor`] yields.
pub struct LimbOut<'s> {
    /// Index of the limb (its Q prime).
    pub index: usize,
    /// c0 limb, NTT domain.
    pub c0: &'s [u64],
    /// c1 limb for public-key encryption; `None` when c1 travels as a seed.
    pub c1: Option<&'s [u64]>,
}

/// The encryption of one message, produced limb by limb.
pub struct StreamEncryptor<'a, T: NttSource> {
    params: &'a Params,
    key: EncryptionKey<'a>,
    ntt: T,
    scratch: EncryptScratch<'a>,
    level: usize,
    scale: f64,
    seed: Seed,
    next: usize,
}

impl<'a, T: NttSource> StreamEncryptor<'a, T> {
    /// Encodes `values` into `scratch.packed.len()` slots at `scale` and samples
    /// the encryption randomness from `rng`; limbs then come from [`Self::next_limb`].
    // Each argument is a distinct resource a device provides; bundling them
    // would only move the list into a struct literal at every call site.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        params: &'a Params,
        key: EncryptionKey<'a>,
        values: &[Complex],
        level: usize,
        scale: f64,
        ntt: T,
        scratch: EncryptScratch<'a>,
        rng: &mut Csprng,
    ) -> Result<Self, EncryptError> {
        let n = params.n();
        let key_levels = match key {
            EncryptionKey::Public(pk) => {
                if pk.digest != params.digest() {
                    return Err(EncryptError::WrongParams);
                }
                pk.b.limbs(n)
            }
            EncryptionKey::Secret { digest, coeffs } => {
                if digest != params.digest() || coeffs.len() != n {
                    return Err(EncryptError::WrongParams);
                }
                params.q().len()
            }
        };
        let max = key_levels.min(params.q().len()).saturating_sub(1);
        if level > max || key_levels == 0 {
            return Err(EncryptError::LevelOutOfRange { level, max });
        }
        if !scale.is_finite() || scale < 1.0 {
            return Err(EncryptError::BadScale);
        }
        check_len(
            "work",
            EncryptScratch::work_words(params.log_n()),
            scratch.work.len(),
        )?;
        check_len(
            "small",
            EncryptScratch::small_len(params.log_n()),
            scratch.small.len(),
        )?;
        let slots = scratch.packed.len();
        crate::encoding::log_slots_for(slots, params.log_n())?;
        encode_into(values, scale, scratch.packed)?;
        let seed = match key {
            EncryptionKey::Public(_) => {
                let (v, e) = scratch.small.split_at_mut(n);
                rng.fill_ternary(v);
                rng.fill_gaussian(e);
                [0; 32]
            }
            EncryptionKey::Secret { .. } => {
                let seed = rng.seed();
                rng.fill_gaussian(&mut scratch.small[..n]);
                seed
            }
        };
        Ok(StreamEncryptor {
            params,
            key,
            ntt,
            scratch,
            level,
            scale,
            seed,
            next: 0,
        })
    }

    /// The ciphertext's level.
    pub fn level(&self) -> usize {
        self.level
    }

    /// The scale the message was encoded at.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// log2 of the slot count.
    pub fn log_slots(&self) -> u32 {
        self.scratch.packed.len().trailing_zeros()
    }

    /// The seed of c1 for secret-key encryption (`None` for public-key).
    pub fn c1_seed(&self) -> Option<&Seed> {
        matches!(self.key, EncryptionKey::Secret { .. }).then_some(&self.seed)
    }

    /// Produces the next limb, or `None` after limb `level`.
    pub fn next_limb(&mut self) -> Option<Result<LimbOut<'_>, EncryptError>> {
        if self.next > self.level {
            return None;
        }
        let i = self.next;
        self.next += 1;
        Some(self.limb(i))
    }

    fn limb(&mut self, i: usize) -> Result<LimbOut<'_>, EncryptError> {
        let n = self.params.n();
        let q = Modulus::new(self.params.q()[i])?;
        let (x, rest) = self.scratch.work.split_at_mut(n);
        let (c0, c1) = rest.split_at_mut(n);
        let small = &*self.scratch.small;
        let (first, e0) = match self.key {
            EncryptionKey::Public(_) => (&small[..n], &small[n..2 * n]),
            EncryptionKey::Secret { coeffs, .. } => (coeffs, &small[..n]),
        };
        // c0 <- NTT(m + e0); x <- NTT(v) or NTT(s).
        packed_to_residues(self.scratch.packed, &q, c0);
        for (c, &e) in c0.iter_mut().zip(e0) {
            *c = q.add(*c, q.reduce_i64(e as i64));
        }
        self.ntt.forward(i, c0)?;
        for (d, &v) in x.iter_mut().zip(first) {
            *d = q.reduce_i64(v as i64);
        }
        self.ntt.forward(i, x)?;
        match self.key {
            EncryptionKey::Public(pk) => {
                // c0 += b_i·x; c1 <- NTT(e1) + a_i·x.
                pk.b.mul_acc(i, n, &q, x, c0);
                for (d, &e) in c1.iter_mut().zip(&small[2 * n..3 * n]) {
                    *d = q.reduce_i64(e as i64);
                }
                self.ntt.forward(i, c1)?;
                let mut a = UniformExpander::new(pk.seed, i as u64, &q);
                for (c, &xv) in c1.iter_mut().zip(x.iter()) {
                    *c = q.mul_add(a.next_value(), xv, *c);
                }
                Ok(LimbOut {
                    index: i,
                    c0,
                    c1: Some(c1),
                })
            }
            EncryptionKey::Secret { .. } => {
                // c0 -= a_i·x with a from the ciphertext's seed.
                let mut a = UniformExpander::new(&self.seed, i as u64, &q);
                for (c, &xv) in c0.iter_mut().zip(x.iter()) {
                    *c = q.sub(*c, q.mul(a.next_value(), xv));
                }
                Ok(LimbOut {
                    index: i,
                    c0,
                    c1: None,
                })
            }
        }
    }
}

impl<T: NttSource> Drop for StreamEncryptor<'_, T> {
    /// The sampled randomness (v, e0, e1 or e) and the encoded message are
    /// secret: knowing v decrypts a public-key ciphertext. Wipe them.
    fn drop(&mut self) {
        self.scratch.small.zeroize();
        self.scratch.work.zeroize();
        for w in self.scratch.packed.iter_mut() {
            *w = Complex::default();
        }
        self.seed.zeroize();
    }
}

fn check_len(buffer: &'static str, expected: usize, got: usize) -> Result<(), EncryptError> {
    if expected == got {
        Ok(())
    } else {
        Err(EncryptError::BufferSize {
            buffer,
            expected,
            got,
        })
    }
}
