//! Encrypted training on real CKKS ciphertexts (fast tier: insecure
//! N = 2^11 and 2^12 presets, the production chain's layout and the
//! training chain's), against the same run on the clear engine and the f64
//! reference trainer.

use hetal_nostd::params::presets::{INSECURE_N11, INSECURE_N12_TRAIN};
use hetal_nostd::params::ParamsLiteral;
use hetal_nostd::ring::sampling::Csprng;
use hetal_train::data::{digits, Dataset};
use hetal_train::demo::encrypted::{digits_config, digits_split};
use hetal_train::linalg::Matrix;
use hetal_train::softmax::SoftmaxMethod;
use hetal_train::train::{
    accuracy, encrypt_dataset, plan_job, train_encrypted, train_reference, JobShape, KeyOwner,
    Optimizer, TrainConfig, WeightRefresh,
};
use hetal_train::{
    BootstrapConfig, CkksDecryptor, CkksEngine, ClearDecryptor, ClearEngine, Decryptor, Engine,
    EngineError,
};

const SLOTS: usize = 1024;

fn config() -> TrainConfig {
    TrainConfig {
        learning_rate: 1.0,
        batch_size: 64,
        max_epochs: 2,
        patience: 3,
        min_improvement: 0.0,
        optimizer: Optimizer::Nesterov { momentum: 0.9 },
        seed: 3,
        weight_refresh: WeightRefresh::PerTile,
        weight_scale: 8.0,
        logit_bound: hetal_train::softmax::HETAL_LOGIT_BOUND,
    }
}

fn job_shape(lit: &ParamsLiteral<'_>, slots: usize) -> JobShape {
    JobShape::new(&lit.build().unwrap(), slots, 64, 10)
}

struct Outcome {
    weights: Matrix,
    losses: Vec<f64>,
    epochs: usize,
    best_epoch: usize,
}

fn train<E: Engine, D: Decryptor<E>>(
    engine: &E,
    decryptor: D,
    train: &Dataset,
    validation: &Dataset,
    level: usize,
    cfg: &TrainConfig,
) -> Outcome {
    let cfg = *cfg;
    let data = encrypt_dataset(engine, train, validation, &cfg, level).unwrap();
    let mut owner = KeyOwner::new(decryptor, validation.labels.clone(), cfg.early_stopping())
        .with_scale(cfg.weight_scale)
        .with_logit_bound(cfg.logit_bound);
    let report =
        train_encrypted(engine, &data, &cfg, &mut owner, SoftmaxMethod::HetalLean).unwrap();
    Outcome {
        weights: owner.decrypt_weights::<E>(&report.weights).unwrap(),
        losses: owner.losses().to_vec(),
        epochs: report.epochs,
        best_epoch: report.best_epoch,
    }
}

/// The same training on CKKS (keys for the job's plan, range audit on) and
/// on the simulator with the chain's levels: (encrypted, simulated).
fn ckks_and_clear(
    lit: &ParamsLiteral<'_>,
    slots: usize,
    cfg: &TrainConfig,
    seed: u8,
    train_part: &Dataset,
    validation: &Dataset,
) -> (Outcome, Outcome) {
    let shape = job_shape(lit, slots);
    let plan = plan_job(&shape, cfg, SoftmaxMethod::HetalLean).unwrap();
    let steps: Vec<i64> = plan.rotations.iter().map(|&r| r as i64).collect();
    let ckks = CkksEngine::bootstrappable(
        lit,
        slots,
        &steps,
        &BootstrapConfig::for_chain(lit),
        Csprng::from_entropy([seed; 32]),
    )
    .unwrap();
    ckks.set_range_audit(true);
    let clear = ClearEngine::new(shape.clear_config()).unwrap();
    let level = shape.data_level;
    let decryptor = CkksDecryptor(&ckks);
    let encrypted = train(&ckks, decryptor, train_part, validation, level, cfg);
    let simulated = train(&clear, ClearDecryptor, train_part, validation, level, cfg);
    (encrypted, simulated)
}

#[test]
fn ckks_training_with_bootstrapping_matches_the_clear_run_and_the_reference() {
    let split = digits().unwrap().split(0.15, 0.3, 1).unwrap();
    let subset = split.train.select(&(0..128).collect::<Vec<_>>());
    let validation = split.validation.select(&(0..64).collect::<Vec<_>>());
    let (encrypted, simulated) =
        ckks_and_clear(&INSECURE_N11, SLOTS, &config(), 11, &subset, &validation);

    // Same epochs and key-owner decisions, nearly the same losses and weights.
    assert_eq!(encrypted.epochs, 2);
    assert_eq!(encrypted.epochs, simulated.epochs);
    assert_eq!(encrypted.best_epoch, simulated.best_epoch);
    for (a, b) in encrypted.losses.iter().zip(&simulated.losses) {
        assert!((a - b).abs() < 1e-3, "validation loss {a} vs {b}");
    }
    let gap = encrypted.weights.max_abs_diff(&simulated.weights).unwrap();
    eprintln!("max |W_ckks - W_clear| = {gap:.3e}");
    assert!(gap < 1e-3, "weights differ by {gap}");

    let reference = train_reference(&subset, &validation, &config()).unwrap();
    let acc = accuracy(&encrypted.weights, &split.test).unwrap();
    let acc_reference = accuracy(&reference.weights, &split.test).unwrap();
    eprintln!("test accuracy: CKKS {acc:.4}, f64 reference {acc_reference:.4}");
    assert!(
        (acc - acc_reference).abs() <= 0.01,
        "CKKS {acc} vs reference {acc_reference}"
    );
    assert!(acc > 0.7, "accuracy {acc}");
}

/// The demo's flow on the training chain's layout (15 levels per
/// bootstrap): whitened digits, the whole subset in one batch, the demo's
/// Nesterov rate and momentum, the packed weight refresh, the softmax
/// covering the demo's logit bound (five bootstraps per iteration). Steps after the first take the
/// softmax's mid-round refreshes and join values of different paths at
/// one level, where CKKS scales can differ and the simulator's cannot:
/// a CKKS-only failure that this run would meet.
#[test]
fn ckks_training_on_the_training_chain_matches_the_clear_run() {
    let split = digits_split().unwrap();
    let subset = split.train.select(&(0..128).collect::<Vec<_>>());
    let validation = split.validation.select(&(0..64).collect::<Vec<_>>());
    let slots = 2048;
    let cfg = TrainConfig {
        max_epochs: 3,
        patience: 3,
        ..digits_config(subset.len(), slots, 3)
    };
    assert_eq!(cfg.logit_bound, 32.0);
    let (encrypted, simulated) =
        ckks_and_clear(&INSECURE_N12_TRAIN, slots, &cfg, 13, &subset, &validation);
    assert_eq!(encrypted.epochs, 3);
    assert_eq!(encrypted.epochs, simulated.epochs);
    for (a, b) in encrypted.losses.iter().zip(&simulated.losses) {
        assert!((a - b).abs() < 1e-3, "validation loss {a} vs {b}");
    }
    // The weights reach several units at rate 16: the bound is relative.
    let gap = encrypted.weights.max_abs_diff(&simulated.weights).unwrap();
    let zero = Matrix::zeros(simulated.weights.rows(), simulated.weights.cols());
    let largest = simulated.weights.max_abs_diff(&zero).unwrap();
    eprintln!("training chain: max |W_ckks - W_clear| = {gap:.3e}, max |W| = {largest:.2}");
    assert!(
        gap < 1e-3 * largest,
        "weights differ by {gap} (max |W| {largest})"
    );
}

#[test]
fn a_bootstrap_input_outside_the_precise_range_is_an_error() {
    let ckks = CkksEngine::bootstrappable(
        &INSECURE_N11,
        SLOTS,
        &[],
        &BootstrapConfig::default(),
        Csprng::from_entropy([12; 32]),
    )
    .unwrap();
    ckks.set_range_audit(true);
    let range = ckks.bootstrap_range();
    let inside = ckks.encrypt_real(&[range * 0.9, -0.5], 0).unwrap();
    let fresh = ckks.bootstrap(&inside).unwrap();
    let got = CkksDecryptor(&ckks).decrypt_real(&fresh).unwrap();
    assert!((got[0] - range * 0.9).abs() < 1e-4, "{}", got[0]);
    let outside = ckks.encrypt_real(&[0.25, 3.0 * range], 0).unwrap();
    assert!(matches!(
        ckks.bootstrap(&outside),
        Err(EngineError::BootstrapRange { .. })
    ));
}

/// Long tier: the whole digits run of `hetal demo` at the 128-bit training
/// preset (hours on 2 cores, about 22 GB of memory).
#[test]
#[ignore = "long tier: the full digits training at prod-n16-train"]
fn full_digits_training_at_the_production_preset() {
    use hetal_nostd::params::presets::PROD_N16_TRAIN;
    use hetal_train::demo::encrypted::{run, MAX_EPOCHS};
    let outcome = run(&PROD_N16_TRAIN, MAX_EPOCHS).unwrap();
    assert!(outcome.acc >= 0.95, "test accuracy {}", outcome.acc);
    assert!(
        (outcome.acc - outcome.acc_reference).abs() <= 0.005,
        "CKKS {} vs reference {}",
        outcome.acc,
        outcome.acc_reference
    );
}
