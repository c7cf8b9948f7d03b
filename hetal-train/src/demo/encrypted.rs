//! The demo's main stage: HETAL training of a softmax head on the digits
//! data set on real CKKS ciphertexts, bootstrapping included, with
//! early stopping through the key owner, against the f64 reference trainer.
//!
//! Roles stay apart in the code: the server side only sees the engine's
//! ciphertexts ([`train_encrypted_observed`] is written against
//! [`Engine`], which cannot decrypt); the key owner alone decrypts (the
//! validation logits after each epoch, the returned weights at the end).

use std::time::{Duration, Instant};

use hetal_nostd::math::kernel;
use hetal_nostd::params::ParamsLiteral;
use hetal_nostd::ring::sampling::Csprng;

use super::measure::{cpu_model, median, peak_rss_bytes, process_cpu_seconds};
use super::DemoError;
use crate::ckks_engine::{evaluation_key_sizes, BootstrapConfig, CkksDecryptor, CkksEngine};
use crate::data::{self, Split};
use crate::engine::Engine;
use crate::linalg::BlockMatrix;
use crate::softmax::SoftmaxMethod;
use crate::train::{
    accuracy, encrypt_dataset, filling_batch, plan_job, train_encrypted_observed, train_reference,
    JobShape, KeyOwner, Optimizer, Progress, TrainConfig, TrainError, ValidationJudge, Verdict,
    WeightRefresh,
};

/// What the encrypted run measured (also the `train_ckks` benchmark record).
#[derive(Clone, Debug, serde::Serialize)]
pub struct EncryptedRun {
    /// Parameter preset.
    pub params: String,
    /// Key generation, bootstrapping setup included (seconds).
    pub keygen_s: f64,
    /// Encryption of the training and validation batches (seconds).
    pub encrypt_s: f64,
    /// Training on ciphertexts, key-owner verdicts included (seconds).
    pub train_s: f64,
    /// Epochs run.
    pub epochs: usize,
    /// Gradient steps.
    pub iterations: usize,
    /// Epoch whose weights were returned.
    pub best_epoch: usize,
    /// Bootstraps per iteration (from the job's dry run).
    pub boots_per_iter: u64,
    /// Rotation keys of the job (besides bootstrapping's own).
    pub rotation_keys: usize,
    /// Median seconds of one full-slot bootstrap with the run's engine,
    /// measured after training on the same threads (the yardstick that
    /// makes times comparable across machines).
    pub bootstrap_s: f64,
    /// CPU seconds of one bootstrap (all threads; median of the same runs).
    pub bootstrap_cpu_s: f64,
    /// CPU seconds of training (all threads): with `bootstrap_cpu_s`, a
    /// ratio that other processes on the machine do not skew.
    pub train_cpu_s: f64,
    /// Peak resident memory of the process after the run (bytes; 0 where
    /// the platform does not say).
    pub peak_rss_bytes: u64,
    /// Test accuracy of the decrypted weights.
    pub acc: f64,
    /// Test accuracy of the f64 reference trainer, same hyper-parameters.
    pub acc_reference: f64,
    /// Validation losses the key owner computed, per epoch.
    pub val_losses: Vec<f64>,
    /// Validation losses of the reference trainer.
    pub val_losses_reference: Vec<f64>,
}

/// The demo's data: digits cut into train / validation / test (55 / 15 /
/// 30 %, seed 1), the features whitened by the data owner before encryption
/// with the training part's statistics ([`Split::whitened`], ridge
/// [`WHITENING_RIDGE`]).
pub fn digits_split() -> Result<Split, DemoError> {
    Ok(data::digits()?
        .split(0.15, 0.3, 1)?
        .whitened(WHITENING_RIDGE)?)
}

/// Ridge of the demo's whitening: directions of the pixels' covariance
/// with a variance far below 0.1 are scaled up by at most `1/sqrt(0.1)`.
pub const WHITENING_RIDGE: f64 = 0.1;

/// The demo's hyper-parameters for digits at `slots` slots: the whole
/// training set in one batch where a tile holds it (one iteration costs
/// about the same for 128 or 1024 rows); on whitened features, Nesterov
/// with learning rate 20 and momentum 0.2; early stopping at the first
/// epoch whose validation loss is not 7 % below the best so far (patience
/// 1), returning the lowest-loss epoch's weights; the packed weight
/// refresh; the softmax over logits within [`LOGIT_BOUND`]. Chosen on the f64 reference trainer by validation loss alone,
/// as the lowest loss at the stop among the settings that stop within 4
/// steps (README, "Encrypted training"): every step is an encrypted
/// iteration of about eight bootstrap-times.
pub fn digits_config(train_samples: usize, slots: usize, max_epochs: usize) -> TrainConfig {
    TrainConfig {
        learning_rate: 20.0,
        batch_size: filling_batch(train_samples, 10, slots),
        max_epochs,
        patience: 1,
        min_improvement: 0.07,
        optimizer: Optimizer::Nesterov { momentum: 0.2 },
        seed: 3,
        weight_refresh: WeightRefresh::Packed,
        weight_scale: 8.0,
        logit_bound: LOGIT_BOUND,
    }
}

/// The demo's bound on the logits: on the whitened digits the f64
/// reference's training logits stay within ±18 over its steps; the HETAL
/// softmax covering ±32 takes 16 levels fewer than over ±128, and the key
/// owner refuses validation logits beyond it.
pub const LOGIT_BOUND: f64 = 32.0;

/// Default epoch cap of the demo.
pub const MAX_EPOCHS: usize = 30;

/// The key owner's side of early stopping, reporting each epoch.
struct Judge<'a, 'e> {
    owner: &'a mut KeyOwner<CkksDecryptor<'e>>,
}

impl ValidationJudge<CkksEngine> for Judge<'_, '_> {
    fn judge(
        &mut self,
        logits: &[BlockMatrix<<CkksEngine as Engine>::Ct>],
    ) -> Result<Verdict, TrainError> {
        let verdict = self.owner.judge(logits)?;
        let losses = self.owner.losses();
        eprintln!(
            "\r    epoch {:>2}: validation loss {:.4} (decrypted by the key owner) -> {:?}{:20}",
            losses.len(),
            losses.last().copied().unwrap_or(f64::NAN),
            verdict,
            ""
        );
        Ok(verdict)
    }

    fn best_epoch(&self) -> Option<usize> {
        ValidationJudge::<CkksEngine>::best_epoch(self.owner)
    }
}

/// Median wall and CPU seconds (each its own median) of `runs` full-slot
/// bootstraps of a fresh ciphertext on `engine`: the unit of training
/// times, bootstrap-times (see [`bootstrap_samples`]).
pub fn bootstrap_seconds(engine: &CkksEngine, runs: usize) -> Result<(f64, f64), DemoError> {
    let (mut wall, mut cpu) = bootstrap_samples(engine, runs)?;
    Ok((median(&mut wall), median(&mut cpu)))
}

/// Wall and CPU seconds of each of `runs` (at least one) full-slot
/// bootstraps of a fresh ciphertext on `engine`.
pub fn bootstrap_samples(
    engine: &CkksEngine,
    runs: usize,
) -> Result<(Vec<f64>, Vec<f64>), DemoError> {
    let ct = engine.encrypt_real(&[0.5; 8], 0)?;
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        let (t, c) = (Instant::now(), process_cpu_seconds());
        engine.bootstrap(&ct)?;
        wall.push(t.elapsed().as_secs_f64());
        cpu.push(process_cpu_seconds() - c);
    }
    Ok((wall, cpu))
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}m{:02}s", s / 60, s % 60)
}

/// Trains digits on CKKS at `preset` (slots: all of the ring's) for at most
/// `max_epochs` epochs and reports on stderr, returning the figures.
pub fn run(preset: &ParamsLiteral<'_>, max_epochs: usize) -> Result<EncryptedRun, DemoError> {
    let params = preset.build()?;
    let slots = params.max_slots();
    let split = digits_split()?;
    let config = digits_config(split.train.len(), slots, max_epochs);
    let method = SoftmaxMethod::HetalLean;
    eprintln!(
        "[hetal demo] encrypted training on digits at `{}`: {} train / {} validation / {} test, \
         features whitened by the owner, batch {} (one tile), Nesterov lr {} momentum {}, at \
         most {} epochs, patience {} (loss {:.1} % lower to count)",
        params.name(),
        split.train.len(),
        split.validation.len(),
        split.test.len(),
        config.batch_size,
        config.learning_rate,
        match config.optimizer {
            Optimizer::Nesterov { momentum } => momentum,
            Optimizer::Sgd => 0.0,
        },
        config.max_epochs,
        config.patience,
        config.min_improvement * 100.0
    );
    eprintln!(
        "    CPU {}, kernel path `{}` (HETAL_KERNEL forces another)",
        cpu_model(),
        kernel::active().name()
    );
    let shape = JobShape::new(
        &params,
        slots,
        split.train.features.cols(),
        split.train.classes,
    );
    let plan = plan_job(&shape, &config, method)?;
    eprintln!(
        "    job plan (dry run): tile {}x{}, {} rotation keys for the job, per iteration {} \
         bootstraps, {} rotations, {} ct-ct and {} plaintext products",
        plan.shape.s0,
        plan.shape.s1,
        plan.rotations.len(),
        plan.iteration.bootstrap,
        plan.iteration.rot,
        plan.iteration.mult,
        plan.iteration.cmult
    );

    let t = Instant::now();
    eprintln!("[hetal demo] key owner: generating keys (secret, relinearisation, the job's rotations, bootstrapping) ...");
    let steps: Vec<i64> = plan.rotations.iter().map(|&r| r as i64).collect();
    let boot_config = BootstrapConfig::for_chain(preset);
    let sizes = evaluation_key_sizes(preset, slots, &steps, &boot_config)?;
    eprintln!(
        "    {} evaluation keys to generate: {:.2} GB as sent (seeded), {:.2} GB in memory",
        sizes.count,
        sizes.seeded as f64 / 1e9,
        sizes.expanded as f64 / 1e9
    );
    let rng = Csprng::from_os().map_err(|e| DemoError::Entropy(e.to_string()))?;
    let engine = CkksEngine::bootstrappable(preset, slots, &steps, &boot_config, rng)?;
    let keygen = t.elapsed();
    if let Some((made, log2_failure)) = engine.bootstrap_key_info() {
        eprintln!(
            "    made {} keys ({:.2} GB as sent) in {}; bootstrap failure probability 2^{:.0}",
            made.count,
            made.seeded as f64 / 1e9,
            minutes(keygen),
            log2_failure
        );
    }

    let t = Instant::now();
    eprintln!("[hetal demo] producer: encrypting the training and validation batches ...");
    let data = encrypt_dataset(
        &engine,
        &split.train,
        &split.validation,
        &config,
        shape.data_level,
    )?;
    let encrypt = t.elapsed();
    eprintln!(
        "    {} training batch(es), {} validation batch(es) ({:.1?})",
        data.train.len(),
        data.validation.len(),
        encrypt
    );

    eprintln!(
        "[hetal demo] server: training on ciphertexts (the key owner answers after each epoch)"
    );
    let mut owner = KeyOwner::new(
        CkksDecryptor(&engine),
        split.validation.labels.clone(),
        config.early_stopping(),
    )
    .with_scale(config.weight_scale)
    .with_logit_bound(config.logit_bound);
    let (start, start_cpu) = (Instant::now(), process_cpu_seconds());
    let total = config.max_epochs * data.train.len();
    let boots = plan.iteration.bootstrap;
    // The first step (zero weights: no softmax) is far shorter than the
    // others, so the rate and the ETA come from the steps after it.
    let mut first_step = None;
    let mut report_progress = |p: Progress| {
        let elapsed = start.elapsed();
        let first = *first_step.get_or_insert(elapsed);
        let rate = match p.iterations {
            0 | 1 => "ETA after the second iteration".to_string(),
            n => {
                let per = (elapsed - first) / (n - 1) as u32;
                let left = per * total.saturating_sub(n) as u32;
                format!(
                    "{:.0} s/iteration · ETA ≤ {}",
                    per.as_secs_f64(),
                    minutes(left)
                )
            }
        };
        eprint!(
            "\r    epoch {}/{} · iteration {}/{} · ~{} bootstraps done · {} elapsed · {rate}   ",
            p.epoch,
            p.max_epochs,
            p.iterations,
            total,
            // The first step, from zero weights, bootstraps nothing.
            boots * (p.iterations as u64).saturating_sub(1),
            minutes(elapsed),
        );
    };
    let report = train_encrypted_observed(
        &engine,
        &data,
        &config,
        &mut Judge { owner: &mut owner },
        method,
        &mut report_progress,
    )?;
    let train_time = start.elapsed();
    let train_cpu_s = process_cpu_seconds() - start_cpu;

    let weights = owner.decrypt_weights::<CkksEngine>(&report.weights)?;
    let acc = accuracy(&weights, &split.test)?;
    let reference = train_reference(&split.train, &split.validation, &config)?;
    let acc_reference = accuracy(&reference.weights, &split.test)?;
    eprintln!(
        "[hetal demo] decrypted weights of epoch {}: test accuracy {:.2}% (f64 reference with the \
         same settings: {:.2}%), {} epochs, {} iterations, training {}",
        report.best_epoch,
        100.0 * acc,
        100.0 * acc_reference,
        report.epochs,
        report.iterations,
        minutes(train_time)
    );
    eprintln!("[hetal demo] timing three bootstraps (the yardstick of training times) ...");
    let (bootstrap_s, bootstrap_cpu_s) = bootstrap_seconds(&engine, 3)?;
    let peak_rss_bytes = peak_rss_bytes();
    eprintln!(
        "    one bootstrap: {bootstrap_s:.1} s; training took {:.1} bootstrap-times \
         ({:.1} in CPU time); peak memory {:.2} GB",
        train_time.as_secs_f64() / bootstrap_s,
        train_cpu_s / bootstrap_cpu_s,
        peak_rss_bytes as f64 / 1e9
    );
    Ok(EncryptedRun {
        params: params.name().to_string(),
        keygen_s: keygen.as_secs_f64(),
        encrypt_s: encrypt.as_secs_f64(),
        train_s: train_time.as_secs_f64(),
        epochs: report.epochs,
        iterations: report.iterations,
        best_epoch: report.best_epoch,
        boots_per_iter: boots,
        rotation_keys: plan.rotations.len(),
        bootstrap_s,
        bootstrap_cpu_s,
        train_cpu_s,
        peak_rss_bytes,
        acc,
        acc_reference,
        val_losses: owner.losses().to_vec(),
        val_losses_reference: reference.losses,
    })
}
