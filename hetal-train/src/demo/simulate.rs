//! The demo's optional stage: the encrypted stage's job (same data split,
//! hyper-parameters, softmax and preset levels) on the clear slot simulator
//! (`ClearEngine`: CKKS-like noise, the preset's levels, bootstraps where
//! CKKS would need them, the CKKS bootstrap's input bound) against the f64
//! reference trainer. Nothing is encrypted here; the output says so.

use super::encrypted::{digits_config, digits_split};
use super::DemoError;
use crate::engine::{ClearConfig, ClearDecryptor, ClearEngine, Engine, NoiseConfig};
use crate::linalg::BlockMatrix;
use crate::softmax::SoftmaxMethod;
use crate::train::{
    accuracy, encrypt_dataset, train_encrypted, train_reference, JobShape, KeyOwner, TrainError,
    ValidationJudge, Verdict,
};
use hetal_nostd::params::Params;
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

/// Test accuracies of the simulated run and of the f64 reference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimulatedRun {
    /// The HETAL trainer on the simulator.
    pub acc: f64,
    /// The f64 reference trainer, same hyper-parameters.
    pub acc_reference: f64,
}

/// Trains the encrypted stage's digits job on the simulator, with the
/// levels of `params`, and with the reference trainer; prints a JSON summary.
pub fn run(params: &Params, max_epochs: usize) -> Result<SimulatedRun, DemoError> {
    eprintln!("[hetal demo] simulated training: clear slot simulator with CKKS-like noise (NOT encrypted)");
    let split = digits_split()?;
    let slots = params.max_slots();
    let config = digits_config(split.train.len(), slots, max_epochs);
    let method = SoftmaxMethod::HetalLean;
    eprintln!(
        "    digits (whitened): {} train / {} validation / {} test, batch {}, Nesterov, lr {}, \
         patience {}, levels of `{}`",
        split.train.len(),
        split.validation.len(),
        split.test.len(),
        config.batch_size,
        config.learning_rate,
        config.patience,
        params.name()
    );
    let reference = train_reference(&split.train, &split.validation, &config)?;
    let acc_reference = accuracy(&reference.weights, &split.test)?;
    let shape = JobShape::new(
        params,
        slots,
        split.train.features.cols(),
        split.train.classes,
    );
    let engine = ClearEngine::new(ClearConfig {
        noise: Some(NoiseConfig::ckks_like(42)),
        ..shape.clear_config()
    })?;
    let start = Instant::now();
    let data = encrypt_dataset(
        &engine,
        &split.train,
        &split.validation,
        &config,
        shape.data_level,
    )?;
    let mut key_owner = KeyOwner::new(
        ClearDecryptor,
        split.validation.labels.clone(),
        config.early_stopping(),
    )
    .with_scale(config.weight_scale)
    .with_logit_bound(config.logit_bound);
    let mut judge = Progress {
        key_owner: &mut key_owner,
        start,
    };
    let report = train_encrypted(&engine, &data, &config, &mut judge, method)?;
    let weights = key_owner.decrypt_weights::<ClearEngine>(&report.weights)?;
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
            "seconds": start.elapsed().as_secs_f64(), "levels_of": params.name(),
        })
    );
    Ok(SimulatedRun { acc, acc_reference })
}

#[cfg(test)]
mod tests {
    use hetal_nostd::params::presets::INSECURE_N12_TRAIN;

    /// The stage runs the encrypted stage's job (weight scale, refresh and
    /// softmax included) within the CKKS bootstrap's input bound; it once
    /// ran another job whose weights left that bound in the second epoch.
    #[test]
    fn simulated_stage_trains_the_demo_job() {
        let params = INSECURE_N12_TRAIN.build().unwrap();
        let run = super::run(&params, 2).unwrap();
        assert!(
            (run.acc - run.acc_reference).abs() <= 0.01,
            "simulated {} vs reference {}",
            run.acc,
            run.acc_reference
        );
        assert!(run.acc > 0.5, "accuracy {}", run.acc);
    }
}
