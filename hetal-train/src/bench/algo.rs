//! The `algo` suite: HETAL's algorithms on the clear-slot engine — operation
//! counts of the matrix products (Table 7 shapes), softmax approximation
//! errors, a clear-engine training run on digits, and per-iteration counts at
//! the paper's dataset shapes.

use serde_json::json;

use crate::bench::emit;
use std::time::Instant;

use crate::data::digits;
use crate::engine::{ClearConfig, ClearCt, ClearDecryptor, ClearEngine, NoiseConfig, OpCounts};
use crate::linalg::{
    col_major, decrypt_matrix, diag_abt, diag_atb, encrypt_matrix, jin_abt, jin_atb,
    padded_classes, row_major, BlockMatrix, ColumnPacked, Layout, LinalgResult, Matrix, Replicated,
    TileShape,
};
use crate::softmax::{row_errors, sample_logits, softmax, SoftmaxMethod};
use crate::train::{
    accuracy, encrypt_dataset, step_observed, train_encrypted, train_reference, EncryptedBatch,
    KeyOwner, Optimizer, State, TrainConfig, TrainError, WeightRefresh,
};

const SLOTS: usize = 1 << 15;
const TOP: usize = 12;

/// The shapes `(a, b, c)` of the paper's Table 7.
pub const TABLE7_SHAPES: [(usize, usize, usize); 5] = [
    (128, 128, 4),
    (256, 256, 8),
    (512, 769, 4),
    (1024, 769, 8),
    (2048, 769, 16),
];

fn params() -> String {
    format!("clear-2^{}-slots", SLOTS.trailing_zeros())
}

fn threads() -> usize {
    rayon::current_num_threads()
}

/// Parts of the suite, in the order they run.
pub const PARTS: [&str; 4] = [
    "matmul_ops",
    "softmax_error",
    "iteration_ops",
    "train_clear",
];

/// Runs the suite; the environment variable `HETAL_ALGO_PARTS` (a
/// comma-separated subset of [`PARTS`]) restricts it.
pub fn run() -> Result<(), String> {
    let selected = std::env::var("HETAL_ALGO_PARTS").unwrap_or_else(|_| PARTS.join(","));
    let wanted: Vec<&str> = selected.split(',').map(str::trim).collect();
    if let Some(bad) = wanted.iter().find(|p| !PARTS.contains(p)) {
        return Err(format!(
            "unknown algo part `{bad}` (known: {})",
            PARTS.join(", ")
        ));
    }
    for part in PARTS.iter().filter(|p| wanted.contains(p)) {
        match *part {
            "matmul_ops" => matmul_ops().map_err(|e| e.to_string())?,
            "softmax_error" => softmax_error().map_err(|e| e.to_string())?,
            "iteration_ops" => iteration_ops().map_err(|e| e.to_string())?,
            _ => train_clear().map_err(|e| e.to_string())?,
        }
    }
    Ok(())
}

struct Measured {
    counts: OpCounts,
    depth: usize,
    out_level: usize,
}

/// Runs `f` on a counting-only engine (operation counts and levels do not
/// depend on the values).
fn measure(
    f: impl Fn(&ClearEngine) -> LinalgResult<Vec<crate::engine::ClearCt>>,
) -> LinalgResult<Measured> {
    let mut cfg = ClearConfig::exact(SLOTS, TOP);
    cfg.counting_only = true;
    let engine = ClearEngine::new(cfg)?;
    let out = f(&engine)?;
    Ok(Measured {
        counts: engine.counts(),
        depth: out.iter().map(|c| c.depth()).max().unwrap_or(0),
        out_level: out
            .iter()
            .map(|c| crate::engine::Engine::level(&engine, c))
            .min()
            .unwrap_or(0),
    })
}

fn matmul_ops() -> LinalgResult<()> {
    for (a, b, c) in TABLE7_SHAPES {
        eprintln!("matmul_ops: shape ({a}, {b}, {c})");
        let shape = TileShape::new(a, SLOTS / a, SLOTS)?;
        let x = Matrix::from_fn(a, b, |i, j| ((i * 7 + j * 3) % 11) as f64 / 11.0);
        let w = Matrix::from_fn(c, b, |i, j| ((i * 5 + j) % 13) as f64 / 13.0);
        let d = Matrix::from_fn(a, c, |i, j| ((i + j * 3) % 7) as f64 / 7.0);
        let vertical = Layout::Vertical { period: c };
        let horizontal = Layout::Horizontal { period: c };
        let tiles = |m: BlockMatrix<_>| m.tiles().to_vec();
        type Run<'a> = (
            &'a str,
            Box<dyn Fn(&ClearEngine) -> LinalgResult<Vec<crate::engine::ClearCt>> + 'a>,
        );
        let runs: Vec<Run> = vec![
            (
                "DiagABT",
                Box::new(|e| {
                    let xe = encrypt_matrix(e, &x, shape, Layout::Plain, TOP)?;
                    let we = encrypt_matrix(e, &w, shape, vertical, TOP)?;
                    Ok(tiles(diag_abt(e, &xe, &we)?))
                }),
            ),
            (
                "DiagATB",
                Box::new(|e| {
                    let de = encrypt_matrix(e, &d, shape, horizontal, TOP)?;
                    let xe = encrypt_matrix(e, &x, shape, Layout::Plain, TOP)?;
                    Ok(tiles(diag_atb(e, &de, &xe)?))
                }),
            ),
            (
                "DiagATB_lower",
                Box::new(|e| {
                    let de = encrypt_matrix(e, &d, shape, horizontal, TOP - 1)?;
                    let xe = encrypt_matrix(e, &x, shape, Layout::Plain, TOP)?;
                    Ok(tiles(diag_atb(e, &de, &xe)?))
                }),
            ),
            (
                "ColMajor",
                Box::new(|e| {
                    let xe = encrypt_matrix(e, &x, shape, Layout::Plain, TOP)?;
                    let we = encrypt_matrix(e, &w, shape, vertical, TOP)?;
                    Ok(tiles(col_major(e, &xe, &we)?))
                }),
            ),
            (
                "RowMajor",
                Box::new(|e| {
                    let de = encrypt_matrix(e, &d, shape, horizontal, TOP)?;
                    let xe = encrypt_matrix(e, &x, shape, Layout::Plain, TOP)?;
                    Ok(tiles(row_major(e, &de, &xe)?))
                }),
            ),
            (
                "JinABT",
                Box::new(|e| {
                    let xc = ColumnPacked::encrypt(e, &x, TOP)?;
                    let wr = Replicated::encrypt(e, &w, TOP)?;
                    Ok(jin_abt(e, &xc, &wr)?.columns)
                }),
            ),
            (
                "JinATB",
                Box::new(|e| {
                    let dc = ColumnPacked::encrypt(e, &d, TOP)?;
                    let xc = ColumnPacked::encrypt(e, &x, TOP)?;
                    Ok(jin_atb(e, &dc, &xc)?.entries)
                }),
            ),
        ];
        for (algo, run) in runs {
            let m = measure(run)?;
            emit(json!({
                "bench": "matmul_ops",
                "params": params(),
                "threads": threads(),
                "algo": algo,
                "a": a, "b": b, "c": c,
                "cmult": m.counts.cmult,
                "mult": m.counts.mult,
                "rot": m.counts.rot,
                "depth": m.depth,
                "out_level": m.out_level,
            }));
        }
    }
    Ok(())
}

/// Softmax tiles per measurement (2^15 slots each).
const SOFTMAX_TILES: usize = 2;

fn softmax_error() -> LinalgResult<()> {
    for method in SoftmaxMethod::ALL {
        for classes in [3, 5, 7, 10] {
            for range in [4.0, 8.0, 32.0, 128.0] {
                if range > method.supported_range() {
                    continue;
                }
                eprintln!(
                    "softmax_error: {} {classes} classes [-{range}, {range}]",
                    method.name()
                );
                let period = padded_classes(classes);
                let shape = TileShape::for_batch(SLOTS, period, SLOTS)?;
                let logits =
                    sample_logits(SOFTMAX_TILES * shape.s0, classes, range, 7 + classes as u64);
                let mut boots = [0.0; 2];
                let mut peak = 0.0;
                let mut stats = (0.0, 0.0, 0);
                for (slot, after_boot) in [9, 12].into_iter().enumerate() {
                    let mut cfg = ClearConfig::exact(SLOTS, TOP);
                    cfg.bootstrap_level = after_boot;
                    let engine = ClearEngine::new(cfg)?;
                    let x = encrypt_matrix(
                        &engine,
                        &logits,
                        shape,
                        Layout::Horizontal { period },
                        TOP,
                    )?;
                    let p = softmax(&engine, &x, method)?;
                    boots[slot] = engine.counts().bootstrap as f64 / p.tiles().len() as f64;
                    peak = engine.max_bootstrap_input();
                    if slot == 0 {
                        let (max, mean) =
                            row_errors(&logits, &decrypt_matrix(&ClearDecryptor, &p)?);
                        stats = (
                            max,
                            mean,
                            p.tiles().iter().map(|t| t.depth()).max().unwrap_or(0),
                        );
                    }
                }
                emit(json!({
                    "bench": "softmax_error",
                    "params": params(),
                    "threads": threads(),
                    "method": method.name(),
                    "classes": classes,
                    "range": range,
                    "max_err": stats.0,
                    "mean_err": stats.1,
                    "depth": stats.2,
                    "depth_formula": method.depth(period),
                    "boots_9": boots[0],
                    "boots_12": boots[1],
                    "max_boot_input": peak,
                }));
            }
        }
    }
    Ok(())
}

/// The paper's datasets: name, batch size, classes (769 columns each).
pub const PAPER_SHAPES: [(&str, usize, usize); 5] = [
    ("mnist", 1024, 10),
    ("cifar10", 2048, 10),
    ("face_mask", 512, 3),
    ("dermamnist", 1024, 7),
    ("snips", 1024, 7),
];

fn paper_config(batch: usize) -> TrainConfig {
    TrainConfig {
        learning_rate: 1.0,
        batch_size: batch,
        max_epochs: 1,
        patience: 3,
        min_improvement: 0.0,
        optimizer: Optimizer::Nesterov { momentum: 0.9 },
        seed: 0,
        weight_refresh: WeightRefresh::PerTile,
        weight_scale: 1.0,
        logit_bound: crate::softmax::HETAL_LOGIT_BOUND,
    }
}

/// Counts of one steady-state iteration (the third of three on one batch)
/// with the paper's engine settings (top level 12, 9 levels after bootstrap).
fn iteration_ops() -> Result<(), TrainError> {
    for (name, batch, classes) in PAPER_SHAPES {
        for (variant, refresh, method) in [
            ("faithful", WeightRefresh::PerTile, SoftmaxMethod::Hetal),
            (
                "packed_weights",
                WeightRefresh::Packed,
                SoftmaxMethod::Hetal,
            ),
            (
                "packed_weights_lean_softmax",
                WeightRefresh::Packed,
                SoftmaxMethod::HetalLean,
            ),
        ] {
            eprintln!("iteration_ops: {name} ({variant})");
            let mut cfg = ClearConfig::paper();
            cfg.counting_only = true;
            let engine = ClearEngine::new(cfg)?;
            let period = padded_classes(classes);
            let shape = TileShape::for_batch(batch, period, SLOTS)?;
            let zeros =
                |r, c, layout| encrypt_matrix(&engine, &Matrix::zeros(r, c), shape, layout, TOP);
            let batch_ct = EncryptedBatch {
                x: zeros(batch, 769, Layout::Plain)?,
                y: zeros(batch, classes, Layout::Horizontal { period })?,
            };
            let mut state = State::new(zeros(classes, 769, Layout::Vertical { period })?);
            let config = TrainConfig {
                weight_refresh: refresh,
                ..paper_config(batch)
            };
            let mut before = (engine.counts(), 0);
            let mut phases = serde_json::Map::new();
            for _ in 0..3 {
                before = (engine.counts(), weight_depth(&state));
                let mut mark = engine.counts();
                phases.clear();
                state = step_observed(&engine, state, &batch_ct, &config, method, &mut |phase| {
                    let now = engine.counts();
                    phases.insert(format!("{phase:?}"), json!(now.since(&mark).bootstrap));
                    mark = now;
                })?;
            }
            let counts = engine.counts().since(&before.0);
            emit(json!({
                "bench": "iteration_ops",
                "params": "clear-2^15-slots-L12-boot9",
                "threads": threads(),
                "shape": name,
                "variant": variant,
                "batch": batch,
                "classes": classes,
                "tile": [shape.s0, shape.s1],
                "weight_tiles": state.w.tiles().len(),
                "cmult": counts.cmult,
                "mult": counts.mult,
                "rot": counts.rot,
                "boots": counts.bootstrap,
                "depth": weight_depth(&state) - before.1,
                "boots_by_phase": phases,
            }));
        }
    }
    Ok(())
}

fn weight_depth(state: &State<ClearCt>) -> usize {
    state.w.tiles().iter().map(|t| t.depth()).max().unwrap_or(0)
}

/// Digits on the clear engine with CKKS-like noise against the f64 reference,
/// faithful and with both variants.
fn train_clear() -> Result<(), TrainError> {
    let split = digits()?.split(0.15, 0.3, 1)?;
    let base = TrainConfig {
        learning_rate: 1.0,
        batch_size: 128,
        max_epochs: 10,
        patience: 3,
        min_improvement: 0.0,
        optimizer: Optimizer::Nesterov { momentum: 0.9 },
        seed: 3,
        weight_refresh: WeightRefresh::PerTile,
        weight_scale: 1.0,
        logit_bound: crate::softmax::HETAL_LOGIT_BOUND,
    };
    let reference = train_reference(&split.train, &split.validation, &base)?;
    let acc_reference = accuracy(&reference.weights, &split.test)?;
    for (variant, refresh, method) in [
        ("faithful", WeightRefresh::PerTile, SoftmaxMethod::Hetal),
        (
            "packed_weights_lean_softmax",
            WeightRefresh::Packed,
            SoftmaxMethod::HetalLean,
        ),
    ] {
        let config = TrainConfig {
            weight_refresh: refresh,
            ..base
        };
        let mut cfg = ClearConfig::paper();
        cfg.noise = Some(NoiseConfig::ckks_like(42));
        let engine = ClearEngine::new(cfg)?;
        eprintln!(
            "train_clear: digits ({variant}), {} training samples",
            split.train.len()
        );
        let start = Instant::now();
        let data = encrypt_dataset(&engine, &split.train, &split.validation, &config, TOP)?;
        let mut key_owner = KeyOwner::new(
            ClearDecryptor,
            split.validation.labels.clone(),
            config.early_stopping(),
        );
        let report = train_encrypted(&engine, &data, &config, &mut key_owner, method)?;
        let seconds = start.elapsed().as_secs_f64();
        let weights = key_owner.decrypt::<ClearEngine>(&report.weights)?;
        let counts = engine.counts();
        emit(json!({
            "bench": "train_clear",
            "params": "clear-2^15-slots-L12-boot9-noise",
            "threads": threads(),
            "dataset": "digits",
            "variant": variant,
            "acc": accuracy(&weights, &split.test)?,
            "acc_reference": acc_reference,
            "epochs": report.epochs,
            "epochs_reference": reference.epochs,
            "best_epoch": report.best_epoch,
            "best_epoch_reference": reference.best_epoch,
            "iterations": report.iterations,
            "boots_per_iter": counts.bootstrap as f64 / report.iterations.max(1) as f64,
            "max_boot_input": engine.max_bootstrap_input(),
            "val_losses": key_owner.losses(),
            "val_losses_reference": reference.losses,
            "median_s": seconds,
            "runs": 1,
        }));
    }
    Ok(())
}
