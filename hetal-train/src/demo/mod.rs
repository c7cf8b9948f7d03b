//! `hetal demo`: the product's main job on an embedded default, with
//! progress and figures on stderr and JSON summaries on stdout.
//!
//! 1. `encrypt_roundtrip`: a data producer encrypts one training tile of
//!    the digits data set with the public key, sends it through the wire
//!    format, and the key owner validates and decrypts it (precision, sizes).
//! 2. [`encrypted`]: HETAL training on real CKKS ciphertexts with
//!    bootstrapping and key-owner early stopping, against the f64 reference.
//! 3. Only on request, [`simulate`]: the same training on the clear slot
//!    simulator (NOT encrypted, labelled as such).

pub mod encrypted;
pub mod measure;
pub mod simulate;

use crate::data;
use hetal_nostd::decrypt::decrypt;
use hetal_nostd::encoding::Complex;
use hetal_nostd::encrypt::encrypt;
use hetal_nostd::keys::{PublicKey, SecretKey};
use hetal_nostd::params::ParamsLiteral;
use hetal_nostd::ring::sampling::Csprng;
use hetal_nostd::ring::Context;
use hetal_nostd::wire::{decode_ciphertext, encode_ciphertext, encode_public_key, Limits};
use std::time::Instant;
use thiserror::Error;

/// Why the demo stopped.
#[derive(Debug, Error)]
pub enum DemoError {
    /// The preset was rejected.
    #[error("parameters: {0}")]
    Params(#[from] hetal_nostd::params::ParamsError),
    /// NTT tables could not be built.
    #[error("NTT tables: {0}")]
    Math(#[from] hetal_nostd::math::MathError),
    /// No OS entropy.
    #[error("no OS entropy: {0}")]
    Entropy(String),
    /// Encryption failed.
    #[error("encryption: {0}")]
    Encrypt(#[from] hetal_nostd::encrypt::EncryptError),
    /// The received bytes were rejected.
    #[error("wire: {0}")]
    Wire(#[from] hetal_nostd::wire::WireError),
    /// Decryption failed.
    #[error("decryption: {0}")]
    Decrypt(#[from] hetal_nostd::decrypt::DecryptError),
    /// The data set could not be loaded.
    #[error("data: {0}")]
    Data(#[from] crate::data::DataError),
    /// The owner's whitening of the features failed.
    #[error("whitening: {0}")]
    Whitening(#[from] crate::data::pca::PcaError),
    /// Training failed.
    #[error("training: {0}")]
    Train(#[from] crate::train::TrainError),
    /// A summary could not be written as JSON.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The CKKS engine could not be built.
    #[error("CKKS engine: {0}")]
    Engine(#[from] crate::engine::EngineError),
    /// An insecure preset was chosen without `--insecure`.
    #[error("`{0}` is an INSECURE test preset; pass --insecure to use it anyway")]
    InsecureRefused(String),
}

/// Rows and columns of the training tile the demo encrypts.
pub const TILE: (usize, usize) = (256, 128);

fn step(msg: &str) -> Instant {
    eprintln!("[hetal demo] {msg}");
    Instant::now()
}

/// What the demo runs besides the encrypt/decrypt round trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoOptions {
    /// Refuse insecure presets unless set.
    pub allow_insecure: bool,
    /// Epoch cap of the encrypted training; 0 skips it.
    pub epochs: usize,
    /// Epoch cap of the simulated (clear, NOT encrypted) training; 0 skips it.
    pub simulate_epochs: usize,
}

/// Runs the demo at `preset`.
pub fn run(preset: &ParamsLiteral<'_>, options: DemoOptions) -> Result<(), DemoError> {
    encrypt_roundtrip(preset, options.allow_insecure)?;
    if options.epochs > 0 {
        let run = encrypted::run(preset, options.epochs)?;
        let mut record = serde_json::to_value(&run)?;
        record["demo"] = "train_encrypted".into();
        record["encrypted"] = true.into();
        record["dataset"] = "digits".into();
        measure::name_the_machine(&mut record);
        println!("{record}");
    }
    if options.simulate_epochs > 0 {
        simulate::run(&preset.build()?, options.simulate_epochs)?;
    }
    Ok(())
}

fn encrypt_roundtrip(preset: &ParamsLiteral<'_>, allow_insecure: bool) -> Result<(), DemoError> {
    let t = step(&format!("validating parameter set `{}`", preset.name));
    let params = preset.build()?;
    if params.is_insecure() && !allow_insecure {
        return Err(DemoError::InsecureRefused(params.name().into()));
    }
    eprintln!(
        "    N = 2^{}, {} Q primes + {} P primes, log2 QP = {:.1} bits, dnum {}, scale 2^{} ({:.2?})",
        params.log_n(),
        params.q().len(),
        params.p().len(),
        params.log_qp(),
        params.dnum(),
        params.log_scale(),
        t.elapsed()
    );
    let t = step("building NTT tables");
    let ctx = Context::new(params)?;
    let params = ctx.params();
    eprintln!("    done ({:.2?})", t.elapsed());

    let t = step("key owner: generating secret and public keys (OS entropy, ChaCha20)");
    let mut rng = Csprng::from_os().map_err(|e| DemoError::Entropy(e.to_string()))?;
    let sk = SecretKey::generate(&ctx, &mut rng);
    let level = params.user_top_level();
    let pk = PublicKey::generate(&ctx, &sk, &mut rng);
    let device_pk = pk.at_level(level).unwrap_or(pk);
    let pk_bytes = encode_public_key(&device_pk, params).len();
    eprintln!(
        "    public key for producers (level {level}): {pk_bytes} bytes ({:.2?})",
        t.elapsed()
    );

    let t = step("producer: loading digits and laying out one training tile");
    let digits = data::digits()?;
    let x = digits.with_bias();
    let slots = params.max_slots().min(TILE.0 * TILE.1);
    let (rows, cols) = (slots / TILE.1, TILE.1);
    let mut values = vec![Complex::default(); slots];
    for r in 0..rows.min(x.rows()) {
        for (c, &v) in x.row(r).iter().take(cols).enumerate() {
            values[r * cols + c] = Complex::real(v);
        }
    }
    eprintln!(
        "    {} rows x {} columns ({} features + bias, zero padded) ({:.2?})",
        rows,
        cols,
        x.cols() - 1,
        t.elapsed()
    );

    let t = step(&format!(
        "producer: encoding + public-key encryption at level {level}"
    ));
    let ct = encrypt(&ctx, &device_pk, &values, slots, level, &mut rng)?;
    let enc_time = t.elapsed();
    let frame = encode_ciphertext(&ct, params);
    eprintln!(
        "    {} limbs, {} bytes on the wire ({enc_time:.2?})",
        level + 1,
        frame.len()
    );

    let t = step("server: validating the received frame");
    let received = decode_ciphertext(&frame, params, &Limits::default())?;
    eprintln!("    ok ({:.2?})", t.elapsed());

    let t = step("key owner: decrypting and checking");
    let out = decrypt(&ctx, &sk, &received)?;
    let (mut max, mut sum) = (0.0f64, 0.0f64);
    for (a, b) in out.iter().zip(&values) {
        let e = (a.re - b.re).abs();
        max = max.max(e);
        sum += e;
    }
    let mean = sum / slots as f64;
    eprintln!("    done ({:.2?})", t.elapsed());
    println!(
        "{}",
        serde_json::json!({
            "demo": "encrypt_roundtrip", "params": params.name(), "slots": slots, "level": level,
            "encrypt_s": enc_time.as_secs_f64(), "ciphertext_bytes": frame.len(), "public_key_bytes": pk_bytes,
            "max_err": max, "mean_err": mean, "precision_min_bits": -max.log2(), "precision_mean_bits": -mean.log2(),
        })
    );
    eprintln!(
        "[hetal demo] precision: {:.1} bits (worst slot), {:.1} bits (mean)",
        -max.log2(),
        -mean.log2()
    );
    Ok(())
}
