//! The demo's second stage: the whole HETAL training pipeline on the clear
//! slot simulator (`ClearEngine`, CKKS-like noise, levels and bootstraps
//! tracked as CKKS would) against the f64 reference trainer. Nothing is
//! encrypted here; the output says so.

use crate::data;
use crate::engine::{ClearConfig, ClearDecryptor, ClearEngine, Engine, NoiseConfig};
use crate::linalg::BlockMatrix;
use crate::softmax::SoftmaxMethod;
use crate::train::{
    accuracy, encrypt_dataset, train_encrypted, train_reference, KeyOwner, Optimizer, TrainConfig,
    TrainError, ValidationJudge, Verdict, WeightRefresh,
};
use std::time::Instant;

/// Passes judgement to the key owner and reports each epoch on stderr.
struct Progress<'a> {
    key_owner: &'a mut KeyOwner<ClearDecryptor>,
    start: Instant,
}

impl ValidationJudge<ClearEngine> for Progress<'_> {
    fn judge(
        &mut self,
        logits: &[BlockMatrix<<ClearEngine as Engine>::Ct>],
    ) -> Result<Verdict, TrainError> {
        let verdict = self.key_owner.judge(logits)?;
        let losses = self.key_owner.losses();
        eprintln!(
            "    epoch {:>2}: validation loss {:.4} (decrypted by the key owner) -> {:?} ({:.1?})",
            losses.len(),
            losses.last().copied().unwrap_or(f64::NAN),
            verdict,
            self.start.elapsed()
        );
        Ok(verdict)
    }

    fn best_epoch(&self) -> Option<usize> {
        ValidationJudge::<ClearEngine>::best_epoch(self.key_owner)
    }
}

/// Trains on digits on the simulator and with the reference trainer; prints a JSON summary.
pub fn run(max_epochs: usize) -> Result<(), TrainError> {
    eprintln!("[hetal demo] simulated training: clear slot simulator with CKKS-like noise (NOT encrypted)");
    let split = data::digits()?.split(0.15, 0.3, 1)?;
    let config = TrainConfig {
        learning_rate: 1.0,
        batch_size: 128,
        max_epochs,
        patience: 3,
        optimizer: Optimizer::Nesterov { momentum: 0.9 },
        seed: 3,
        weight_refresh: WeightRefresh::PerTile,
        weight_scale: 1.0,
    };
    eprintln!(
        "    digits: {} train / {} validation / {} test, batch {}, Nesterov, lr 1, patience 3",
        split.train.len(),
        split.validation.len(),
        split.test.len(),
        config.batch_size
    );
    let reference = train_reference(&split.train, &split.validation, &config)?;
    let acc_reference = accuracy(&reference.weights, &split.test)?;
    let mut engine_config = ClearConfig::paper();
    engine_config.noise = Some(NoiseConfig::ckks_like(42));
    let engine = ClearEngine::new(engine_config)?;
    let start = Instant::now();
    let data = encrypt_dataset(
        &engine,
        &split.train,
        &split.validation,
        &config,
        engine.max_level(),
    )?;
    let mut key_owner = KeyOwner::new(
        ClearDecryptor,
        split.validation.labels.clone(),
        config.patience,
    );
    let mut judge = Progress {
        key_owner: &mut key_owner,
        start,
    };
    let report = train_encrypted(&engine, &data, &config, &mut judge, SoftmaxMethod::Hetal)?;
    let weights = key_owner.decrypt::<ClearEngine>(&report.weights)?;
    let acc = accuracy(&weights, &split.test)?;
    let counts = engine.counts();
    eprintln!(
        "[hetal demo] simulated test accuracy {:.2}% vs f64 reference {:.2}% ({} iterations, {:.1} bootstraps per iteration)",
        100.0 * acc,
        100.0 * acc_reference,
        report.iterations,
        counts.bootstrap as f64 / report.iterations.max(1) as f64
    );
    println!(
        "{}",
        serde_json::json!({
            "demo": "train_simulated", "encrypted": false, "dataset": "digits", "acc": acc,
            "acc_reference": acc_reference, "epochs": report.epochs, "best_epoch": report.best_epoch,
            "iterations": report.iterations, "bootstraps": counts.bootstrap, "rotations": counts.rot,
            "seconds": start.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}
