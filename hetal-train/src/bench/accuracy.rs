//! `hetal bench accuracy`: test accuracy of the HETAL trainer against the
//! f64 reference trainer and a long plaintext logistic-regression run, on
//! the vendored digits (raw pixels) and on features made by `hetal extract`
//! (see `scripts/accuracy-features.sh`), one JSON line per data set (and per
//! PCA width).
//!
//! The HETAL trainer runs a `prod-n16-train` job (the job file's defaults:
//! HETAL-lean softmax, packed weight refresh, weight scale 8) on
//! `ClearEngine` with the training chain's levels, CKKS-sized noise and the
//! CKKS bootstrap's input bound: a SIMULATION, not encryption
//! (`"encrypted": false` in the output). It shares learning rate, batch
//! size, epoch cap, patience and batch order with the f64 reference.
//! Features are scaled on the client by one constant per data set so that
//! the largest magnitude is 1 (the softmax approximation's domain).
//!
//! Settings (environment): `HETAL_ACC_SETS` (comma-separated names among
//! `digits`, `tweets`, `mnist`; all by default), `HETAL_ACC_SIMULATE=0`
//! (skip the HETAL trainer), `HETAL_ACC_PCA` (comma-separated widths: each
//! extracted set wider than a width is also run after a PCA projection fitted
//! on its training part), `HETAL_ACC_LR` (default 1), `HETAL_ACC_EPOCHS`
//! (default 20) and `HETAL_ACC_PATIENCE` (default 3) for the reference and
//! the HETAL trainer, `HETAL_FEATURES_DIR` (default `.assets/features`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::env_usize;
use crate::data::pca::Projection;
use crate::data::{self, Dataset, Split};
use crate::engine::{ClearConfig, ClearDecryptor, ClearEngine, NoiseConfig};
use crate::io::{read_npy_labels, read_npy_matrix};
use crate::job::geometry::Geometry;
use crate::job::JobSpec;
use crate::linalg::Matrix;
use crate::train::{
    accuracy, encrypt_dataset, train_encrypted_observed, train_reference, JobShape, KeyOwner,
    Optimizer, TrainConfig, WeightRefresh,
};

/// The data sets: (short name, description, file stem under the features
/// folder; `None` for the vendored digits).
const SETS: [(&str, &str, Option<&str>); 3] = [
    ("digits", "digits (raw pixels, 64-d)", None),
    ("tweets", "tweets (MiniLM-L6, 384-d)", Some("tweets-minilm")),
    (
        "mnist",
        "MNIST (EfficientNet-Lite0, 1280-d)",
        Some("mnist-lite0"),
    ),
];

/// The preset whose levels the simulation follows.
const PRESET: &str = "prod-n16-train";

fn features_dir() -> PathBuf {
    std::env::var_os("HETAL_FEATURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.assets/features"))
}

/// Loads `stem.X.npy` / `stem.y.npy`.
fn load_extracted(dir: &Path, stem: &str) -> Result<Option<Dataset>, String> {
    let x_path = dir.join(format!("{stem}.X.npy"));
    let y_path = dir.join(format!("{stem}.y.npy"));
    if !x_path.is_file() || !y_path.is_file() {
        return Ok(None);
    }
    let features = read_npy_matrix(&x_path).map_err(|e| e.to_string())?;
    let labels = read_npy_labels(&y_path).map_err(|e| e.to_string())?;
    if labels.len() != features.rows() || labels.iter().any(|&l| l < 0) {
        return Err(format!(
            "{}: labels do not match the features",
            y_path.display()
        ));
    }
    let labels: Vec<usize> = labels.into_iter().map(|l| l as usize).collect();
    let classes = labels.iter().max().map_or(0, |m| m + 1);
    Ok(Some(Dataset {
        features,
        labels,
        classes,
    }))
}

/// Divides every part's features by one constant so that the largest
/// magnitude over the three parts is 1.
fn scale_to_unit(mut split: Split) -> Split {
    let top = [&split.train, &split.validation, &split.test]
        .iter()
        .flat_map(|d| d.features.data())
        .fold(0f64, |m, v| m.max(v.abs()));
    if top > 0.0 {
        for part in [&mut split.train, &mut split.validation, &mut split.test] {
            let m = &part.features;
            part.features = Matrix::from_fn(m.rows(), m.cols(), |r, c| m.row(r)[c] / top);
        }
    }
    split
}

/// Extraction throughput recorded next to the features by the script, if any.
fn extraction_record(dir: &Path, stem: &str) -> serde_json::Value {
    std::fs::read_to_string(dir.join(format!("{stem}.summary.json")))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// Hyper-parameters shared by the reference and the HETAL trainer.
#[derive(Clone, Copy, Debug)]
struct Settings {
    learning_rate: f64,
    max_epochs: usize,
    patience: usize,
    simulate: bool,
}

impl Settings {
    fn from_env() -> Self {
        Settings {
            learning_rate: std::env::var("HETAL_ACC_LR")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1.0),
            max_epochs: env_usize("HETAL_ACC_EPOCHS").unwrap_or(20),
            patience: env_usize("HETAL_ACC_PATIENCE").unwrap_or(3),
            simulate: std::env::var("HETAL_ACC_SIMULATE").map_or(true, |v| v != "0"),
        }
    }
}

/// The job the HETAL trainer runs.
fn job(data: &Dataset, s: &Settings) -> Result<JobSpec, String> {
    let text = format!(
        "preset = \"{PRESET}\"\nclasses = {}\nfeatures = {}\nbatch_size = 128\n\
         learning_rate = {:?}\nmax_epochs = {}\npatience = {}\nseed = 3\n",
        data.classes,
        data.features.cols(),
        s.learning_rate,
        s.max_epochs,
        s.patience
    );
    JobSpec::parse(&text, "bench accuracy").map_err(|e| e.to_string())
}

/// The long plaintext logistic-regression run.
fn long_run() -> TrainConfig {
    TrainConfig {
        learning_rate: 0.5,
        batch_size: 128,
        max_epochs: 200,
        patience: 10,
        min_improvement: 0.0,
        optimizer: Optimizer::Nesterov { momentum: 0.9 },
        seed: 3,
        weight_refresh: WeightRefresh::PerTile,
        weight_scale: 1.0,
        logit_bound: crate::softmax::HETAL_LOGIT_BOUND,
    }
}

/// Trains the job on the simulator; returns its JSON record.
fn simulate(spec: &JobSpec, split: &Split) -> Result<serde_json::Value, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let config = spec.train_config();
    let geometry = Geometry::of(spec).map_err(|e| err(&e))?;
    let shape = JobShape::new(
        &geometry.params,
        geometry.slots,
        spec.features,
        spec.classes,
    );
    let engine = ClearEngine::new(ClearConfig {
        noise: Some(NoiseConfig::ckks_like(42)),
        ..shape.clear_config()
    })
    .map_err(|e| err(&e))?;
    let start = Instant::now();
    let enc = encrypt_dataset(
        &engine,
        &split.train,
        &split.validation,
        &config,
        shape.data_level,
    )
    .map_err(|e| err(&e))?;
    let mut key_owner = KeyOwner::new(
        ClearDecryptor,
        split.validation.labels.clone(),
        config.early_stopping(),
    )
    .with_scale(config.weight_scale)
    .with_logit_bound(config.logit_bound);
    let report = train_encrypted_observed(
        &engine,
        &enc,
        &config,
        &mut key_owner,
        spec.softmax_method(),
        &mut |p| {
            if p.iterations % p.per_epoch.max(1) == 0 {
                eprintln!(
                    "[bench accuracy]   simulated epoch {} done ({:.0} s)",
                    p.iterations / p.per_epoch.max(1),
                    start.elapsed().as_secs_f64()
                );
            }
        },
    )
    .map_err(|e| err(&e))?;
    let weights = key_owner
        .decrypt_weights::<ClearEngine>(&report.weights)
        .map_err(|e| err(&e))?;
    let acc = accuracy(&weights, &split.test).map_err(|e| err(&e))?;
    let seconds = start.elapsed().as_secs_f64();
    let counts = engine.counts();
    let per = |n: u64| n as f64 / report.iterations.max(1) as f64;
    Ok(serde_json::json!({
        "engine": "ClearEngine (simulated CKKS noise, levels and bootstrap bound; NOT encrypted)",
        "encrypted": false, "acc": acc, "preset_levels": PRESET,
        "max_level": shape.max_level, "bootstrap_level": shape.bootstrap_level,
        "softmax": format!("{:?}", spec.softmax), "weight_refresh": format!("{:?}", spec.weight_refresh),
        "weight_scale": spec.weight_scale, "iterations": report.iterations,
        "epochs": report.epochs, "best_epoch": report.best_epoch,
        "max_bootstrap_input": engine.max_bootstrap_input(),
        "per_iteration_with_validation": {"bootstraps": per(counts.bootstrap),
            "rotations": per(counts.rot), "mult": per(counts.mult), "cmult": per(counts.cmult)},
        "simulator_seconds": seconds,
    }))
}

/// Evaluates one split (features already scaled); prints its JSON line.
fn evaluate(
    name: &str,
    split: &Split,
    settings: &Settings,
    extra: serde_json::Value,
) -> Result<(), String> {
    let (features, classes) = (split.train.features.cols(), split.train.classes);
    eprintln!(
        "[bench accuracy] {name}: {} train / {} validation / {} test, {features} features, {classes} classes",
        split.train.len(),
        split.validation.len(),
        split.test.len(),
    );
    let spec = job(&split.train, settings)?;
    let start = Instant::now();
    let reference = train_reference(&split.train, &split.validation, &spec.train_config())
        .map_err(|e| e.to_string())?;
    let acc_reference = accuracy(&reference.weights, &split.test).map_err(|e| e.to_string())?;
    let reference_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let long =
        train_reference(&split.train, &split.validation, &long_run()).map_err(|e| e.to_string())?;
    let acc_long = accuracy(&long.weights, &split.test).map_err(|e| e.to_string())?;
    let long_s = start.elapsed().as_secs_f64();
    eprintln!(
        "[bench accuracy]   f64 reference {:.2} %, plaintext LR {:.2} %",
        100.0 * acc_reference,
        100.0 * acc_long
    );
    let simulated = if settings.simulate {
        simulate(&spec, split)?
    } else {
        serde_json::Value::Null
    };
    super::emit(serde_json::json!({
        "suite": "accuracy", "dataset": name, "features": features, "classes": classes,
        "train": split.train.len(), "validation": split.validation.len(), "test": split.test.len(),
        "batch_size": 128,
        "reference_f64": {"acc": acc_reference, "iterations": reference.iterations,
                          "epochs": reference.epochs, "lr": settings.learning_rate,
                          "max_epochs": settings.max_epochs, "patience": settings.patience,
                          "seconds": reference_s},
        "plaintext_lr_long": {"acc": acc_long, "iterations": long.iterations,
                              "epochs": long.epochs, "lr": 0.5, "max_epochs": 200,
                              "patience": 10, "seconds": long_s},
        "hetal_simulated": simulated,
        "extra": extra,
    }));
    Ok(())
}

/// `split` projected to `width` features by a PCA fitted on its training
/// part (the client's own data), then rescaled to max |x| = 1.
fn project(split: &Split, width: usize) -> Result<(Split, serde_json::Value), String> {
    let start = Instant::now();
    let fit = Projection::fit(&split.train.features, width).map_err(|e| e.to_string())?;
    let apply = |d: &Dataset| -> Result<Dataset, String> {
        Ok(Dataset {
            features: fit
                .projection
                .apply(&d.features)
                .map_err(|e| e.to_string())?,
            ..d.clone()
        })
    };
    let projected = Split {
        train: apply(&split.train)?,
        validation: apply(&split.validation)?,
        test: apply(&split.test)?,
    };
    let record = serde_json::json!({
        "pca": {"from": split.train.features.cols(), "width": width,
                "explained_variance": fit.explained_variance(),
                "fit_seconds": start.elapsed().as_secs_f64(),
                "fitted_on": "training part"}
    });
    Ok((scale_to_unit(projected), record))
}

/// Runs the suite on the chosen data sets.
pub fn run() -> Result<(), String> {
    let settings = Settings::from_env();
    let chosen = std::env::var("HETAL_ACC_SETS").unwrap_or_else(|_| "digits,tweets,mnist".into());
    let widths: Vec<usize> = std::env::var("HETAL_ACC_PCA")
        .unwrap_or_default()
        .split(',')
        .filter_map(|w| w.trim().parse().ok())
        .collect();
    let dir = features_dir();
    for (short, name, stem) in SETS {
        if !chosen.split(',').any(|c| c.trim() == short) {
            continue;
        }
        let (data, extraction) = match stem {
            None => (
                data::digits().map_err(|e| e.to_string())?,
                serde_json::Value::Null,
            ),
            Some(stem) => match load_extracted(&dir, stem)? {
                Some(set) => (set, extraction_record(&dir, stem)),
                None => {
                    eprintln!(
                        "[bench accuracy] {name}: no {stem}.X.npy in {}; run scripts/accuracy-features.sh",
                        dir.display()
                    );
                    continue;
                }
            },
        };
        let split = data.split(0.15, 0.3, 1).map_err(|e| e.to_string())?;
        let extra = serde_json::json!({"extraction": extraction});
        evaluate(name, &scale_to_unit(split.clone()), &settings, extra)?;
        for &width in widths
            .iter()
            .filter(|&&w| stem.is_some() && w < data.features.cols())
        {
            let (projected, record) = project(&split, width)?;
            evaluate(
                &format!("{name}, PCA to {width}"),
                &projected,
                &settings,
                record,
            )?;
        }
    }
    Ok(())
}
