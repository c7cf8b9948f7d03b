//! Encrypted training in a few seconds: a softmax head on a slice of the
//! digits data set, on real CKKS ciphertexts with bootstrapping, at the
//! INSECURE test preset `INSECURE-n10` (no security: for trying the API).
//!
//! `cargo run --release -p hetal-train --example train_insecure`

use hetal_nostd::params::presets::INSECURE_N10;
use hetal_nostd::ring::sampling::Csprng;
use hetal_train::data::digits;
use hetal_train::softmax::SoftmaxMethod;
use hetal_train::train::{
    accuracy, encrypt_dataset, plan_job, train_encrypted, train_reference, JobShape, KeyOwner,
    Optimizer, Patience, TrainConfig, WeightRefresh,
};
use hetal_train::{BootstrapConfig, CkksDecryptor, CkksEngine};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let split = digits()?.split(0.15, 0.3, 1)?;
    let train = split.train.select(&(0..32).collect::<Vec<_>>());
    let validation = split.validation.select(&(0..32).collect::<Vec<_>>());
    let params = INSECURE_N10.build()?;
    let slots = params.max_slots();
    let config = TrainConfig {
        learning_rate: 0.5,
        batch_size: 32,
        max_epochs: 6,
        patience: 3,
        min_improvement: 0.0,
        optimizer: Optimizer::Nesterov { momentum: 0.9 },
        seed: 1,
        weight_refresh: WeightRefresh::Packed,
        weight_scale: 8.0,
    };
    let method = SoftmaxMethod::HetalLean;
    // The key owner derives the job's rotation keys from a dry run.
    let shape = JobShape::new(&params, slots, train.features.cols(), train.classes);
    let plan = plan_job(&shape, &config, method)?;
    let steps: Vec<i64> = plan.rotations.iter().map(|&r| r as i64).collect();
    let engine = CkksEngine::bootstrappable(
        &INSECURE_N10,
        slots,
        &steps,
        &BootstrapConfig::default(),
        Csprng::from_os().map_err(|e| e.to_string())?,
    )?;
    let data = encrypt_dataset(&engine, &train, &validation, &config, shape.data_level)?;
    let mut key_owner = KeyOwner::new(
        CkksDecryptor(&engine),
        validation.labels.clone(),
        Patience::new(3),
    )
    .with_scale(config.weight_scale);
    let report = train_encrypted(&engine, &data, &config, &mut key_owner, method)?;
    let weights = key_owner.decrypt_weights::<CkksEngine>(&report.weights)?;
    let reference = train_reference(&train, &validation, &config)?;
    println!(
        "{} epochs, {} bootstraps per iteration; test accuracy {:.1}% (f64 reference {:.1}%)",
        report.epochs,
        plan.iteration.bootstrap,
        100.0 * accuracy(&weights, &split.test)?,
        100.0 * accuracy(&reference.weights, &split.test)?
    );
    Ok(())
}
