//! `hetal bench accuracy`: test accuracy of the HETAL trainer against the
//! f64 reference trainer and a long plaintext logistic-regression run, on
//! the vendored digits (raw pixels) and on features made by `hetal extract`
//! (see `scripts/accuracy-features.sh`), one JSON line per data set.
//!
//! The HETAL trainer runs on `ClearEngine` with CKKS-like noise and levels:
//! a SIMULATION, not encryption (`"encrypted": false` in the output).
//! Features are scaled on the client by one constant per data set so that
//! the largest magnitude is 1 (the softmax approximation's domain).

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::data::{self, Dataset};
use crate::engine::{ClearConfig, ClearDecryptor, ClearEngine, Engine, NoiseConfig};
use crate::io::{read_npy_labels, read_npy_matrix};
use crate::linalg::Matrix;
use crate::softmax::SoftmaxMethod;
use crate::train::{
    accuracy, encrypt_dataset, train_encrypted, train_reference, KeyOwner, Optimizer, TrainConfig,
    WeightRefresh,
};

/// The extracted data sets looked for: (name, file stem under the features folder).
const EXTRACTED: [(&str, &str); 2] = [
    ("tweets (MiniLM-L6, 384-d)", "tweets-minilm"),
    ("MNIST (EfficientNet-Lite0, 1280-d)", "mnist-lite0"),
];

fn features_dir() -> PathBuf {
    std::env::var_os("HETAL_FEATURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.assets/features"))
}

/// Loads `stem.X.npy` / `stem.y.npy`, scaled to max |x| = 1.
fn load_extracted(dir: &Path, stem: &str) -> Result<Option<Dataset>, String> {
    let x_path = dir.join(format!("{stem}.X.npy"));
    let y_path = dir.join(format!("{stem}.y.npy"));
    if !x_path.is_file() || !y_path.is_file() {
        return Ok(None);
    }
    let x = read_npy_matrix(&x_path).map_err(|e| e.to_string())?;
    let (rows, cols, mut values) = (x.rows(), x.cols(), x.data().to_vec());
    let labels = read_npy_labels(&y_path).map_err(|e| e.to_string())?;
    if labels.len() != rows || labels.iter().any(|&l| l < 0) {
        return Err(format!(
            "{}: labels do not match the features",
            y_path.display()
        ));
    }
    let top = values.iter().fold(0f64, |m, v| m.max(v.abs()));
    if top > 0.0 {
        values.iter_mut().for_each(|v| *v /= top);
    }
    let features = Matrix::new(rows, cols, values).map_err(|e| e.to_string())?;
    let labels: Vec<usize> = labels.into_iter().map(|l| l as usize).collect();
    let classes = labels.iter().max().map_or(0, |m| m + 1);
    Ok(Some(Dataset {
        features,
        labels,
        classes,
    }))
}

/// Extraction throughput recorded next to the features by the script, if any.
fn extraction_record(dir: &Path, stem: &str) -> serde_json::Value {
    std::fs::read_to_string(dir.join(format!("{stem}.summary.json")))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(serde_json::Value::Null)
}

fn config(learning_rate: f64, max_epochs: usize, patience: usize) -> TrainConfig {
    TrainConfig {
        learning_rate,
        batch_size: 128,
        max_epochs,
        patience,
        optimizer: Optimizer::Nesterov { momentum: 0.9 },
        seed: 3,
        weight_refresh: WeightRefresh::PerTile,
        weight_scale: 1.0,
    }
}

fn evaluate(name: &str, data: &Dataset, extraction: serde_json::Value) -> Result<(), String> {
    let split = data.split(0.15, 0.3, 1).map_err(|e| e.to_string())?;
    let hetal = config(1.0, 20, 3);
    eprintln!(
        "[bench accuracy] {name}: {} train / {} validation / {} test, {} features, {} classes",
        split.train.len(),
        split.validation.len(),
        split.test.len(),
        data.features.cols(),
        data.classes
    );
    let start = Instant::now();
    let reference =
        train_reference(&split.train, &split.validation, &hetal).map_err(|e| e.to_string())?;
    let acc_reference = accuracy(&reference.weights, &split.test).map_err(|e| e.to_string())?;
    let reference_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let long = train_reference(&split.train, &split.validation, &config(0.5, 200, 10))
        .map_err(|e| e.to_string())?;
    let acc_long = accuracy(&long.weights, &split.test).map_err(|e| e.to_string())?;
    let long_s = start.elapsed().as_secs_f64();

    let simulate = std::env::var("HETAL_ACC_SIMULATE").map_or(true, |v| v != "0");
    let mut simulated = serde_json::Value::Null;
    if simulate {
        let mut engine_config = ClearConfig::paper();
        engine_config.noise = Some(NoiseConfig::ckks_like(42));
        let engine = ClearEngine::new(engine_config).map_err(|e| e.to_string())?;
        let start = Instant::now();
        let enc = encrypt_dataset(
            &engine,
            &split.train,
            &split.validation,
            &hetal,
            engine.max_level(),
        )
        .map_err(|e| e.to_string())?;
        let mut key_owner = KeyOwner::new(
            ClearDecryptor,
            split.validation.labels.clone(),
            hetal.patience,
        );
        let report = train_encrypted(&engine, &enc, &hetal, &mut key_owner, SoftmaxMethod::Hetal)
            .map_err(|e| e.to_string())?;
        let weights = key_owner
            .decrypt::<ClearEngine>(&report.weights)
            .map_err(|e| e.to_string())?;
        let acc = accuracy(&weights, &split.test).map_err(|e| e.to_string())?;
        let seconds = start.elapsed().as_secs_f64();
        let counts = engine.counts();
        simulated = serde_json::json!({
            "engine": "ClearEngine (simulated CKKS noise and levels; NOT encrypted)",
            "encrypted": false, "acc": acc, "iterations": report.iterations,
            "epochs": report.epochs, "bootstraps": counts.bootstrap,
            "seconds": seconds,
            "seconds_per_iteration": seconds / report.iterations.max(1) as f64,
        });
    }
    super::emit(serde_json::json!({
        "suite": "accuracy", "dataset": name, "features": data.features.cols(),
        "classes": data.classes, "train": split.train.len(), "validation": split.validation.len(),
        "test": split.test.len(),
        "reference_f64": {"acc": acc_reference, "iterations": reference.iterations,
                          "epochs": reference.epochs, "seconds": reference_s},
        "plaintext_lr_long": {"acc": acc_long, "iterations": long.iterations,
                              "epochs": long.epochs, "lr": 0.5, "max_epochs": 200,
                              "seconds": long_s},
        "hetal_simulated": simulated,
        "extraction": extraction,
    }));
    Ok(())
}

/// Runs the suite on digits and on every extracted data set found.
pub fn run() -> Result<(), String> {
    let digits = data::digits().map_err(|e| e.to_string())?;
    evaluate(
        "digits (raw pixels, 64-d)",
        &digits,
        serde_json::Value::Null,
    )?;
    let dir = features_dir();
    for (name, stem) in EXTRACTED {
        match load_extracted(&dir, stem)? {
            Some(set) => evaluate(name, &set, extraction_record(&dir, stem))?,
            None => eprintln!(
                "[bench accuracy] {name}: no {stem}.X.npy in {}; run scripts/accuracy-features.sh",
                dir.display()
            ),
        }
    }
    Ok(())
}
