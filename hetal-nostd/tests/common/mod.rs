//! Helpers shared by the integration tests.
#![allow(dead_code)]

use hetal_nostd::encoding::Complex;
use hetal_nostd::encrypt::{EncryptScratch, EncryptionKey, ScratchNtt, StreamEncryptor};
use hetal_nostd::keys::{PublicKey, SecretKey};
use hetal_nostd::math::ntt::NttTable;
use hetal_nostd::params::Params;
use hetal_nostd::params::ParamsLiteral;
use hetal_nostd::ring::sampling::Csprng;
use hetal_nostd::ring::Context;
use hetal_nostd::wire::{Header, Kind, LimbFrame, PackedWords};

/// A context plus keys from a fixed seed.
pub struct Setup {
    pub ctx: Context,
    pub sk: SecretKey,
    pub pk: PublicKey,
    pub rng: Csprng,
}

pub fn setup(lit: &ParamsLiteral<'_>, seed: u8) -> Setup {
    let ctx = Context::new(lit.build().unwrap()).unwrap();
    let mut rng = Csprng::from_entropy([seed; 32]);
    let sk = SecretKey::generate(&ctx, &mut rng);
    let pk = PublicKey::generate(&ctx, &sk, &mut rng);
    Setup { ctx, sk, pk, rng }
}

/// Deterministic values in the unit disc's square [-1, 1]².
pub fn unit_values(count: usize, seed: u64) -> Vec<Complex> {
    let mut s = seed;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    };
    (0..count).map(|_| Complex::new(next(), next())).collect()
}

/// Largest absolute error over real and imaginary parts.
pub fn max_error(a: &[Complex], b: &[Complex]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x.re - y.re).abs().max((x.im - y.im).abs()))
        .fold(0.0, f64::max)
}

/// Mean absolute error over real and imaginary parts.
pub fn mean_error(a: &[Complex], b: &[Complex]) -> f64 {
    let s: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x.re - y.re).abs() + (x.im - y.im).abs())
        .sum();
    s / (2 * a.len()) as f64
}

/// Caller-owned buffers for the streaming encryptor (what a device keeps in static memory).
pub struct StreamBuffers {
    pub ntt: Vec<u64>,
    pub packed: Vec<Complex>,
    pub small: Vec<i8>,
    pub work: Vec<u64>,
}

impl StreamBuffers {
    /// Buffers for `slots` slots under `params`.
    pub fn new(params: &Params, slots: usize) -> Self {
        let log_n = params.log_n();
        StreamBuffers {
            ntt: vec![0; NttTable::<&mut [u64]>::storage_words(log_n)],
            packed: vec![Complex::default(); slots],
            small: vec![0; EncryptScratch::small_len(log_n)],
            work: vec![0; EncryptScratch::work_words(log_n)],
        }
    }

    /// A streaming encryptor of `values` at `level` and the default scale.
    pub fn encryptor<'a>(
        &'a mut self,
        params: &'a Params,
        key: EncryptionKey<'a>,
        values: &[Complex],
        level: usize,
        rng: &mut Csprng,
    ) -> StreamEncryptor<'a, ScratchNtt<'a>> {
        let ntt = ScratchNtt::new(params, &mut self.ntt).unwrap();
        let scratch = EncryptScratch {
            packed: &mut self.packed,
            small: &mut self.small,
            work: &mut self.work,
        };
        StreamEncryptor::new(
            params,
            key,
            values,
            level,
            params.scale(),
            ntt,
            scratch,
            rng,
        )
        .unwrap()
    }
}

/// Streams a ciphertext limb by limb into frames (the device's path).
pub fn limb_frames(
    s: &Setup,
    key: EncryptionKey<'_>,
    values: &[Complex],
    level: usize,
) -> Vec<Vec<u8>> {
    let params = s.ctx.params();
    let mut bufs = StreamBuffers::new(params, params.max_slots());
    let mut rng = Csprng::from_entropy([8; 32]);
    let mut enc = bufs.encryptor(params, key, values, level, &mut rng);
    let (scale, log_slots, seed) = (enc.scale(), enc.log_slots() as u8, enc.c1_seed().copied());
    let mut frames = Vec::new();
    while let Some(limb) = enc.next_limb() {
        let limb = limb.unwrap();
        let primes = &params.q()[limb.index..=limb.index];
        let frame = LimbFrame {
            header: Header::new(Kind::Limb, params, level),
            stream: 7,
            index: limb.index as u8,
            scale,
            log_slots,
            seed,
            c0: PackedWords {
                words: limb.c0,
                primes,
                n: params.n(),
            },
            c1: limb.c1.map(|c| PackedWords {
                words: c,
                primes,
                n: params.n(),
            }),
        };
        frames.push(postcard::to_allocvec(&frame).unwrap());
    }
    frames
}
