//! The `train` suite: encrypted training on CKKS, timed in bootstrap-times
//! (machines differ, so every record carries `bootstrap_s`, the median time
//! of one full-slot bootstrap measured in the same process on the same
//! threads). In `train_iteration` the yardstick's runs are split, three
//! before the iteration and three after it, so that a machine whose speed
//! drifts over the minutes of a record moves both sides of the ratio
//! (`bootstrap_s` is the median of the six); `bootstrap_runs_s` lists
//! them in that order.
//!
//! * `train_iteration`: one training iteration (the third of three on one
//!   batch, so that the weights start at the level the loop leaves them at)
//!   for the shapes `digits` (the demo's plan: 988 rows, 65 columns, 10
//!   classes) and `mnist` (1024 × 769, 10 classes), on 1 and 2 threads.
//!   Each record carries the seconds of each phase of the last timed
//!   iteration (`phases_s`: weight refresh, forward, softmax, error,
//!   gradient, update).
//! * `train_gradient`: DiagATB alone (the iteration's gradient, on the
//!   operands and onto the target the timed iteration hands it: `d_level`)
//!   with each schedule (`paper`, HETAL's; `shared`; `masks_first`;
//!   `packed_columns`, the trainer's), side by side on the same keys, data
//!   and threads.
//! * `train_ckks`: the whole digits demo run on 2 threads (`hetal demo`'s
//!   training stage), with its accuracy beside the f64 reference's.
//!
//! Environment: `HETAL_TRAIN_PRESET` (default `prod-n16-train`), `HETAL_TRAIN_SHAPES`
//! (comma-separated, default `digits,mnist`), `HETAL_TRAIN_THREADS` (default
//! `1,2`), `HETAL_TRAIN_RUNS` (timed iterations per record, default 1),
//! `HETAL_TRAIN_FULL` (`0` skips `train_ckks`), `HETAL_TRAIN_EPOCHS` (its
//! epoch cap, default the demo's), `HETAL_TRAIN_LOGIT_BOUND` (the softmax's
//! logit bound in `train_iteration`, default the demo's 32; 128 is the
//! paper's range).

use std::time::Instant;

use serde_json::json;

use crate::bench::{emit, env_usize, median, peak_rss_bytes, process_cpu_seconds};
use crate::ckks_engine::{BootstrapConfig, CkksCt, CkksEngine, CkksTarget};
use crate::demo::encrypted::{bootstrap_samples, digits_config, MAX_EPOCHS};
use crate::engine::Engine;
use crate::linalg::{
    diag_atb_scaled, encrypt_matrix, padded_classes, AtbSchedule, BlockMatrix, Layout, Matrix,
};
use crate::softmax::SoftmaxMethod;
use crate::train::epochs::initial_state;
use crate::train::{
    gradient_operands, plan_job, step, step_observed, EncryptedBatch, JobShape, Phase, TrainConfig,
};

use hetal_nostd::params::{presets, ParamsLiteral};
use hetal_nostd::ring::sampling::Csprng;

/// Rows, features and classes of the benchmarked shapes.
const SHAPES: [(&str, usize, usize, usize); 2] =
    [("digits", 988, 64, 10), ("mnist", 1024, 768, 10)];

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn pool(threads: usize) -> Result<rayon::ThreadPool, String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| e.to_string())
}

/// A `train_iteration` record and the weights as its timed iteration saw
/// them.
type Timed = (serde_json::Value, BlockMatrix<CkksCt>);

/// The demo's settings for one iteration of `rows` rows, with the logit
/// bound of `HETAL_TRAIN_LOGIT_BOUND` when set (the softmax's depth, so the
/// bootstraps, depend on it; every record names it).
fn iteration_config(rows: usize, slots: usize) -> Result<TrainConfig, String> {
    let mut config = digits_config(rows, slots, 1);
    if let Ok(text) = std::env::var("HETAL_TRAIN_LOGIT_BOUND") {
        config.logit_bound = text
            .trim()
            .parse()
            .map_err(|_| format!("HETAL_TRAIN_LOGIT_BOUND={text}: not a number"))?;
    }
    Ok(config)
}

fn train_iteration(
    lit: &ParamsLiteral<'_>,
    shape_name: &str,
    (rows, features, classes): (usize, usize, usize),
    threads: &[usize],
    runs: usize,
) -> Result<(), String> {
    let params = lit.build().map_err(|e| e.to_string())?;
    let slots = params.max_slots();
    let config = iteration_config(rows, slots)?;
    let method = SoftmaxMethod::HetalLean;
    let job = JobShape::new(&params, slots, features, classes);
    let plan = plan_job(&job, &config, method).map_err(|e| e.to_string())?;
    eprintln!(
        "train: {shape_name} at {}: keys for {} rotations, {} bootstraps per iteration",
        lit.name,
        plan.rotations.len(),
        plan.iteration.bootstrap
    );
    let steps: Vec<i64> = plan.rotations.iter().map(|&r| r as i64).collect();
    let rng = Csprng::from_os().map_err(|e| e.to_string())?;
    let engine =
        CkksEngine::bootstrappable(lit, slots, &steps, &BootstrapConfig::for_chain(lit), rng)
            .map_err(|e| e.to_string())?;
    let (key_bytes, key_bytes_expanded) = engine
        .bootstrap_key_info()
        .map_or((0, 0), |(k, _)| (k.seeded, k.expanded));
    let period = padded_classes(classes);
    let level = job.data_level;
    let x = Matrix::from_fn(rows, features + 1, |r, c| {
        if c == features {
            1.0
        } else {
            ((r * 31 + c * 17) % 17) as f64 / 16.0
        }
    });
    let y = Matrix::from_fn(rows, classes, |r, c| f64::from(u8::from(r % classes == c)));
    let batch = EncryptedBatch {
        x: encrypt_matrix(&engine, &x, plan.shape, Layout::Plain, level)
            .map_err(|e| e.to_string())?,
        y: encrypt_matrix(
            &engine,
            &y,
            plan.shape,
            Layout::Horizontal { period },
            level,
        )
        .map_err(|e| e.to_string())?,
    };
    let start =
        initial_state(&engine, classes, features + 1, plan.shape).map_err(|e| e.to_string())?;
    // An error matrix P − Y as the error's bootstrap leaves it.
    let d = Matrix::from_fn(rows, classes, |r, c| ((r + 3 * c) % 7) as f64 / 7.0 - 0.5);
    let d = encrypt_matrix(
        &engine,
        &d,
        plan.shape,
        Layout::Horizontal { period },
        job.bootstrap_level,
    )
    .map_err(|e| e.to_string())?;
    for &t in threads {
        let pool = pool(t)?;
        let record = pool.install(|| -> Result<Timed, String> {
            let (mut boot_wall, mut boot_cpu) =
                bootstrap_samples(&engine, 3).map_err(|e| e.to_string())?;
            let mut state = start.clone();
            for _ in 0..2 {
                state = step(&engine, state, &batch, &config, method).map_err(|e| e.to_string())?;
            }
            // The weights as the timed iteration sees them: DiagATB's
            // operands land on their target.
            let w_seen = state.w.clone();
            let (mut times, mut cpu) = (Vec::new(), Vec::new());
            let mut phases = serde_json::Map::new();
            for _ in 0..runs.max(1) {
                let (t0, c0) = (Instant::now(), process_cpu_seconds());
                let mut mark = t0;
                state = step_observed(&engine, state, &batch, &config, method, &mut |phase| {
                    let now = Instant::now();
                    phases.insert(
                        phase_name(phase).to_string(),
                        json!((now - mark).as_secs_f64()),
                    );
                    mark = now;
                })
                .map_err(|e| e.to_string())?;
                times.push(t0.elapsed().as_secs_f64());
                cpu.push(process_cpu_seconds() - c0);
                eprintln!(
                    "train: {shape_name}, {t} thread(s): iteration {:.1} s",
                    times[times.len() - 1]
                );
            }
            let (after_wall, after_cpu) =
                bootstrap_samples(&engine, 3).map_err(|e| e.to_string())?;
            boot_wall.extend(after_wall);
            boot_cpu.extend(after_cpu);
            let bootstrap_runs_s = boot_wall.clone();
            let (bootstrap_s, bootstrap_cpu_s) = (median(&mut boot_wall), median(&mut boot_cpu));
            let (median_s, median_cpu) = (median(&mut times), median(&mut cpu));
            let record = json!({
                "bench": "train_iteration",
                "params": lit.name,
                "shape": shape_name,
                "threads": t,
                "runs": times.len(),
                "median_s": median_s,
                "bootstrap_s": bootstrap_s,
                "bootstrap_runs_s": bootstrap_runs_s,
                "bootstrap_times": median_s / bootstrap_s,
                "cpu_s": median_cpu,
                "bootstrap_cpu_s": bootstrap_cpu_s,
                "bootstrap_times_cpu": median_cpu / bootstrap_cpu_s,
                "boots": plan.iteration.bootstrap,
                "rot": plan.iteration.rot,
                "mult": plan.iteration.mult,
                "cmult": plan.iteration.cmult,
                "batch": rows,
                "columns": features + 1,
                "classes": classes,
                "tile": [plan.shape.s0, plan.shape.s1],
                "peak_rss_bytes": peak_rss_bytes(),
                "key_bytes": key_bytes,
                "key_bytes_expanded": key_bytes_expanded,
                "plain_cache_bytes": engine.plain_cache_bytes(),
                "variant": "packed_weights_lean_softmax",
                "logit_bound": config.logit_bound,
                "phases_s": phases,
            });
            Ok((record, w_seen))
        })?;
        let (record, w_seen) = record;
        emit(record);
        for (name, schedule) in [
            ("paper", AtbSchedule::Paper),
            ("shared", AtbSchedule::Shared),
            ("masks_first", AtbSchedule::MasksFirst),
            ("packed_columns", AtbSchedule::PackedColumns),
        ] {
            let (d_op, x_op, out) =
                gradient_operands(&engine, d.clone(), &batch.x, &w_seen, schedule)
                    .map_err(|e| e.to_string())?;
            let median_s =
                pool.install(|| gradient_seconds(&engine, (&d_op, &x_op, out), schedule, runs))?;
            emit(json!({
                "bench": "train_gradient",
                "params": lit.name,
                "shape": shape_name,
                "threads": t,
                "runs": runs.max(1),
                "median_s": median_s,
                "schedule": name,
                "tile": [plan.shape.s0, plan.shape.s1],
                "period": period,
                "d_level": d_op.tiles().first().map(|t| engine.level(t)),
            }));
        }
    }
    Ok(())
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::WeightRefresh => "weight_refresh",
        Phase::Forward => "forward",
        Phase::Softmax => "softmax",
        Phase::Error => "error",
        Phase::Gradient => "gradient",
        Phase::Update => "update",
    }
}

/// Median seconds of DiagATB on `d` and `x`, landing on `out`, with the
/// rotations ordered by `schedule`.
fn gradient_seconds(
    engine: &CkksEngine,
    (d, x, out): (
        &BlockMatrix<CkksCt>,
        &BlockMatrix<CkksCt>,
        Option<CkksTarget>,
    ),
    schedule: AtbSchedule,
    runs: usize,
) -> Result<f64, String> {
    let mut times = (0..runs.max(1))
        .map(|_| {
            let t0 = Instant::now();
            diag_atb_scaled(engine, d, x, 0.5, schedule, out).map_err(|e| e.to_string())?;
            Ok(t0.elapsed().as_secs_f64())
        })
        .collect::<Result<Vec<f64>, String>>()?;
    Ok(median(&mut times))
}

fn train_ckks(lit: &ParamsLiteral<'_>, epochs: usize) -> Result<(), String> {
    let pool = pool(2)?;
    pool.install(|| -> Result<(), String> {
        let start = Instant::now();
        let run = crate::demo::encrypted::run(lit, epochs).map_err(|e| e.to_string())?;
        let total_s = start.elapsed().as_secs_f64();
        let bootstrap_s = run.bootstrap_s;
        emit(json!({
            "bench": "train_ckks",
            "params": lit.name,
            "dataset": "digits",
            "threads": 2,
            "runs": 1,
            "median_s": run.train_s,
            "total_s": total_s,
            "keygen_s": run.keygen_s,
            "train_s": run.train_s,
            "bootstrap_s": bootstrap_s,
            "bootstrap_times": run.train_s / bootstrap_s,
            "train_cpu_s": run.train_cpu_s,
            "bootstrap_cpu_s": run.bootstrap_cpu_s,
            "bootstrap_times_cpu": run.train_cpu_s / run.bootstrap_cpu_s,
            "epochs": run.epochs,
            "iterations": run.iterations,
            "boots_per_iter": run.boots_per_iter,
            "acc": run.acc,
            "acc_reference": run.acc_reference,
            "peak_rss_bytes": run.peak_rss_bytes,
        }));
        Ok(())
    })
}

/// Runs the suite.
pub fn run() -> Result<(), String> {
    let name = std::env::var("HETAL_TRAIN_PRESET").unwrap_or_else(|_| "prod-n16-train".into());
    let lit = presets::by_name(&name).ok_or(format!("unknown preset `{name}`"))?;
    let threads: Vec<usize> = env_list("HETAL_TRAIN_THREADS", "1,2")
        .iter()
        .filter_map(|t| t.parse().ok())
        .collect();
    let runs = env_usize("HETAL_TRAIN_RUNS").unwrap_or(1);
    for shape in env_list("HETAL_TRAIN_SHAPES", "digits,mnist") {
        let &(_, rows, features, classes) = SHAPES
            .iter()
            .find(|s| s.0 == shape)
            .ok_or(format!("unknown shape `{shape}` (digits, mnist)"))?;
        train_iteration(lit, &shape, (rows, features, classes), &threads, runs)?;
    }
    if env_usize("HETAL_TRAIN_FULL").unwrap_or(1) != 0 {
        train_ckks(lit, env_usize("HETAL_TRAIN_EPOCHS").unwrap_or(MAX_EPOCHS))?;
    }
    Ok(())
}
