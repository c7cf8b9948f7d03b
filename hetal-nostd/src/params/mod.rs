//! Parameter sets: a literal (ring degree, prime sizes, dnum, secret
//! distribution, scale) becomes validated [`Params`] with instantiated primes
//! and a stable digest.

pub mod bootstrap;
pub mod presets;
mod security;

pub use security::{max_log_qp_128, Security};

use crate::math::primes::{is_ntt_friendly, primes_near};
use core::fmt;
use heapless::Vec as HVec;
use sha2::{Digest as _, Sha256};

/// Largest number of Q primes a parameter set may have.
pub const MAX_Q_PRIMES: usize = 64;
/// Largest number of special P primes a parameter set may have.
pub const MAX_P_PRIMES: usize = 16;
/// Smallest supported log2 of the ring degree.
pub const MIN_LOG_N: u32 = 10;
/// Largest supported log2 of the ring degree.
pub const MAX_LOG_N: u32 = 17;
/// Smallest prime size, in bits, a literal may ask for.
pub const MIN_PRIME_BITS: u32 = 20;
/// Largest prime size, in bits, a literal may ask for (primes stay below 2^62).
pub const MAX_PRIME_BITS: u32 = 61;

/// A parameter set's identity: SHA-256 over its canonical description.
pub type ParamsDigest = [u8; 32];

/// Distribution of the secret key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecretDist {
    /// Dense uniform ternary: each coefficient uniform in {-1, 0, 1}.
    UniformTernary,
}

/// What the primes of a stretch of the modulus chain are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LevelRole {
    /// The bottom prime q0.
    Base,
    /// Levels for the user's computation.
    User,
    /// Levels consumed by the SlotsToCoeffs step of bootstrapping.
    SlotsToCoeffs,
    /// Levels consumed by EvalMod.
    EvalMod,
    /// Levels consumed by CoeffsToSlots.
    CoeffsToSlots,
}

/// A run of `count` Q primes of `bits` bits each serving `role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Segment {
    /// What these levels are for.
    pub role: LevelRole,
    /// Number of primes.
    pub count: u32,
    /// Size of each prime in bits.
    pub bits: u32,
}

impl Segment {
    /// A segment of `count` primes of `bits` bits for `role`.
    pub const fn new(role: LevelRole, count: u32, bits: u32) -> Self {
        Segment { role, count, bits }
    }
}

/// An unvalidated description of a parameter set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamsLiteral<'a> {
    /// Human-readable name (not part of the digest).
    pub name: &'a str,
    /// log2 of the ring degree N.
    pub log_n: u32,
    /// The Q chain from the bottom (q0) up, as segments.
    pub q: &'a [Segment],
    /// Bit sizes of the special key-switching primes P.
    pub p_bits: &'a [u32],
    /// Number of digits of hybrid key switching.
    pub dnum: u32,
    /// Secret-key distribution.
    pub secret: SecretDist,
    /// log2 of the default scale.
    pub log_scale: u32,
    /// Claimed security.
    pub security: Security,
}

/// Why a parameter literal was rejected.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum ParamsError {
    /// log N outside [`MIN_LOG_N`]..=[`MAX_LOG_N`].
    LogNOutOfRange(u32),
    /// The Q chain or the P set is empty.
    EmptyChain,
    /// Too many primes for the fixed-capacity storage.
    TooManyPrimes {
        /// Primes requested.
        requested: usize,
        /// Capacity.
        max: usize,
    },
    /// A requested prime size is out of range.
    PrimeBitsOutOfRange(u32),
    /// dnum is zero or larger than the number of Q primes.
    DnumOutOfRange(u32),
    /// The largest key-switching digit is larger than P, which would make key-switching noise explode.
    DigitLargerThanP {
        /// Bits of the largest digit.
        digit_bits: u32,
        /// Bits of P.
        p_bits: u32,
    },
    /// The default scale is out of range (must be 1..=60 bits).
    ScaleOutOfRange(u32),
    /// log2(QP) exceeds the 128-bit security limit.
    Insecure {
        /// Instantiated log2(QP), rounded up.
        log_qp: u32,
        /// The limit for this ring degree.
        limit: u32,
    },
    /// Explicit primes given do not match the literal's prime counts.
    PrimeCountMismatch,
    /// The same prime appears twice.
    DuplicatePrime(u64),
    /// A prime is not NTT-friendly (not prime, too large, or not 1 mod 2N).
    NotNttFriendly(u64),
    /// No unused NTT-friendly prime of the requested size could be found.
    NoPrimeFound(u32),
    /// Bootstrapping would fail with probability above the allowed bound.
    BootstrapFailureTooLikely {
        /// log2 of the failure probability, rounded up.
        log2_probability: i32,
        /// The allowed log2 bound.
        max_log2: i32,
    },
}

impl fmt::Display for ParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LogNOutOfRange(l) => write!(f, "log N = {l} is outside {MIN_LOG_N}..={MAX_LOG_N}"),
            Self::EmptyChain => write!(f, "the Q chain and the P set must not be empty"),
            Self::TooManyPrimes { requested, max } => {
                write!(f, "{requested} primes requested, at most {max} supported")
            }
            Self::PrimeBitsOutOfRange(b) => write!(
                f,
                "prime size {b} bits is outside {MIN_PRIME_BITS}..={MAX_PRIME_BITS}"
            ),
            Self::DnumOutOfRange(d) => write!(f, "dnum = {d} must be in 1..=number of Q primes"),
            Self::DigitLargerThanP { digit_bits, p_bits } => write!(
                f,
                "a key-switching digit has {digit_bits} bits but P only {p_bits}: raise dnum or add special primes"
            ),
            Self::ScaleOutOfRange(s) => write!(f, "log2 scale {s} is outside 1..=60"),
            Self::Insecure { log_qp, limit } => write!(
                f,
                "log2(QP) = {log_qp} bits exceeds the 128-bit security limit of {limit} bits"
            ),
            Self::PrimeCountMismatch => write!(f, "explicit primes do not match the literal's prime counts"),
            Self::DuplicatePrime(q) => write!(f, "prime {q} appears twice"),
            Self::NotNttFriendly(q) => write!(f, "{q} is not an NTT-friendly prime for this ring degree"),
            Self::NoPrimeFound(b) => write!(f, "no unused NTT-friendly prime of {b} bits found"),
            Self::BootstrapFailureTooLikely { log2_probability, max_log2 } => write!(
                f,
                "bootstrapping fails with probability 2^{log2_probability}, above the bound 2^{max_log2}"
            ),
        }
    }
}

impl core::error::Error for ParamsError {}

/// A validated parameter set with instantiated primes.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    name: HVec<u8, 32>,
    log_n: u32,
    q: HVec<u64, MAX_Q_PRIMES>,
    p: HVec<u64, MAX_P_PRIMES>,
    roles: HVec<Segment, 8>,
    dnum: u32,
    secret: SecretDist,
    log_scale: u32,
    security: Security,
    log_qp: f64,
    digest: ParamsDigest,
}

impl ParamsLiteral<'_> {
    fn q_count(&self) -> usize {
        self.q.iter().map(|s| s.count as usize).sum()
    }

    /// Instantiates primes near the requested sizes and validates the set.
    ///
    /// Primes are taken in chain order (Q from the bottom, then P), each the
    /// unused NTT-friendly prime closest to 2^bits, so that scale primes of
    /// one size alternate around 2^bits and keep the scale close to it.
    pub fn build(&self) -> Result<Params, ParamsError> {
        self.check_shape()?;
        let mut q: HVec<u64, MAX_Q_PRIMES> = HVec::new();
        let mut p: HVec<u64, MAX_P_PRIMES> = HVec::new();
        for seg in self.q {
            for _ in 0..seg.count {
                let prime = self.fresh_prime(seg.bits, &q, &p)?;
                q.push(prime).map_err(|_| self.too_many())?;
            }
        }
        for &bits in self.p_bits {
            let prime = self.fresh_prime(bits, &q, &p)?;
            p.push(prime).map_err(|_| self.too_many())?;
        }
        self.validate(q, p)
    }

    /// Validates the set with explicitly given primes (bottom Q prime first).
    pub fn build_with_primes(&self, q: &[u64], p: &[u64]) -> Result<Params, ParamsError> {
        self.check_shape()?;
        if q.len() != self.q_count() || p.len() != self.p_bits.len() {
            return Err(ParamsError::PrimeCountMismatch);
        }
        let q = HVec::from_slice(q).map_err(|_| self.too_many())?;
        let p = HVec::from_slice(p).map_err(|_| self.too_many())?;
        self.validate(q, p)
    }

    fn too_many(&self) -> ParamsError {
        ParamsError::TooManyPrimes {
            requested: self.q_count() + self.p_bits.len(),
            max: MAX_Q_PRIMES + MAX_P_PRIMES,
        }
    }

    fn fresh_prime(&self, bits: u32, q: &[u64], p: &[u64]) -> Result<u64, ParamsError> {
        primes_near(bits, self.log_n)
            .take(1 << 16)
            .find(|c| !q.contains(c) && !p.contains(c))
            .ok_or(ParamsError::NoPrimeFound(bits))
    }

    fn check_shape(&self) -> Result<(), ParamsError> {
        if !(MIN_LOG_N..=MAX_LOG_N).contains(&self.log_n) {
            return Err(ParamsError::LogNOutOfRange(self.log_n));
        }
        let q_count = self.q_count();
        if q_count == 0 || self.p_bits.is_empty() {
            return Err(ParamsError::EmptyChain);
        }
        if q_count > MAX_Q_PRIMES || self.p_bits.len() > MAX_P_PRIMES || self.q.len() > 8 {
            return Err(self.too_many());
        }
        let bits = self
            .q
            .iter()
            .map(|s| s.bits)
            .chain(self.p_bits.iter().copied());
        for b in bits {
            if !(MIN_PRIME_BITS..=MAX_PRIME_BITS).contains(&b) {
                return Err(ParamsError::PrimeBitsOutOfRange(b));
            }
        }
        if self.dnum == 0 || self.dnum as usize > q_count {
            return Err(ParamsError::DnumOutOfRange(self.dnum));
        }
        if !(1..=60).contains(&self.log_scale) {
            return Err(ParamsError::ScaleOutOfRange(self.log_scale));
        }
        Ok(())
    }

    fn validate(
        &self,
        q: HVec<u64, MAX_Q_PRIMES>,
        p: HVec<u64, MAX_P_PRIMES>,
    ) -> Result<Params, ParamsError> {
        for (i, &a) in q.iter().chain(p.iter()).enumerate() {
            if !is_ntt_friendly(a, self.log_n) {
                return Err(ParamsError::NotNttFriendly(a));
            }
            if q.iter().chain(p.iter()).skip(i + 1).any(|&b| b == a) {
                return Err(ParamsError::DuplicatePrime(a));
            }
        }
        let log_q: f64 = q.iter().map(|&x| libm::log2(x as f64)).sum();
        let log_p: f64 = p.iter().map(|&x| libm::log2(x as f64)).sum();
        let log_qp = log_q + log_p;
        if self.security == Security::Bits128 {
            let limit =
                max_log_qp_128(self.log_n).ok_or(ParamsError::LogNOutOfRange(self.log_n))?;
            if log_qp > limit as f64 {
                return Err(ParamsError::Insecure {
                    log_qp: libm::ceil(log_qp) as u32,
                    limit,
                });
            }
        }
        let alpha = q.len().div_ceil(self.dnum as usize);
        let digit_bits = q
            .chunks(alpha)
            .map(|d| d.iter().map(|&x| libm::log2(x as f64)).sum::<f64>())
            .fold(0.0f64, f64::max);
        if digit_bits > log_p {
            return Err(ParamsError::DigitLargerThanP {
                digit_bits: libm::ceil(digit_bits) as u32,
                p_bits: libm::floor(log_p) as u32,
            });
        }
        let mut name = HVec::new();
        for &b in self.name.as_bytes().iter().take(32) {
            let _ = name.push(b);
        }
        let roles = HVec::from_slice(self.q).map_err(|_| self.too_many())?;
        let mut params = Params {
            name,
            log_n: self.log_n,
            q,
            p,
            roles,
            dnum: self.dnum,
            secret: self.secret,
            log_scale: self.log_scale,
            security: self.security,
            log_qp,
            digest: [0; 32],
        };
        params.digest = params.compute_digest();
        Ok(params)
    }
}

impl Params {
    fn compute_digest(&self) -> ParamsDigest {
        let mut h = Sha256::new();
        h.update(b"hetal-params-v1");
        h.update(self.log_n.to_le_bytes());
        h.update(self.dnum.to_le_bytes());
        h.update([match self.secret {
            SecretDist::UniformTernary => 1u8,
        }]);
        h.update(self.log_scale.to_le_bytes());
        h.update([match self.security {
            Security::Bits128 => 1u8,
            Security::InsecureTestOnly => 0u8,
        }]);
        h.update((self.q.len() as u32).to_le_bytes());
        for q in &self.q {
            h.update(q.to_le_bytes());
        }
        h.update((self.p.len() as u32).to_le_bytes());
        for p in &self.p {
            h.update(p.to_le_bytes());
        }
        h.finalize().into()
    }

    /// The preset's name (at most 32 bytes of it).
    pub fn name(&self) -> &str {
        core::str::from_utf8(&self.name).unwrap_or("?")
    }
    /// log2 of the ring degree.
    pub fn log_n(&self) -> u32 {
        self.log_n
    }
    /// The ring degree N.
    pub fn n(&self) -> usize {
        1 << self.log_n
    }
    /// Maximum number of complex slots, N/2.
    pub fn max_slots(&self) -> usize {
        self.n() / 2
    }
    /// The Q primes, bottom (q0) first.
    pub fn q(&self) -> &[u64] {
        &self.q
    }
    /// The special primes P.
    pub fn p(&self) -> &[u64] {
        &self.p
    }
    /// The highest level: a ciphertext at level l has l + 1 RNS limbs.
    pub fn max_level(&self) -> usize {
        self.q.len() - 1
    }
    /// The chain's segments, bottom first.
    pub fn segments(&self) -> &[Segment] {
        &self.roles
    }
    /// The role of the prime at `level`, or `None` above the top.
    pub fn role_of_level(&self, level: usize) -> Option<LevelRole> {
        let mut start = 0usize;
        for seg in self.roles.iter() {
            let end = start + seg.count as usize;
            if level < end {
                return Some(seg.role);
            }
            start = end;
        }
        None
    }
    /// The highest level whose prime serves the user's computation (or the
    /// base level if there are none): where fresh training data is encrypted
    /// and where bootstrapping lands.
    pub fn user_top_level(&self) -> usize {
        (0..=self.max_level())
            .filter(|&l| {
                matches!(
                    self.role_of_level(l),
                    Some(LevelRole::Base | LevelRole::User)
                )
            })
            .max()
            .unwrap_or(0)
    }
    /// Number of key-switching digits.
    pub fn dnum(&self) -> u32 {
        self.dnum
    }
    /// Q primes per key-switching digit (the last digit may be shorter).
    pub fn digit_size(&self) -> usize {
        self.q.len().div_ceil(self.dnum as usize)
    }
    /// Secret distribution.
    pub fn secret(&self) -> SecretDist {
        self.secret
    }
    /// log2 of the default scale.
    pub fn log_scale(&self) -> u32 {
        self.log_scale
    }
    /// The default scale 2^log_scale.
    pub fn scale(&self) -> f64 {
        libm::ldexp(1.0, self.log_scale as i32)
    }
    /// Claimed security.
    pub fn security(&self) -> Security {
        self.security
    }
    /// True for the insecure test presets.
    pub fn is_insecure(&self) -> bool {
        self.security == Security::InsecureTestOnly
    }
    /// Instantiated log2(QP).
    pub fn log_qp(&self) -> f64 {
        self.log_qp
    }
    /// The digest identifying this set on the wire and in every key and ciphertext.
    pub fn digest(&self) -> &ParamsDigest {
        &self.digest
    }
}

#[cfg(test)]
mod tests;
