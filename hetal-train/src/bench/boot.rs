//! The `boot` suite: CKKS bootstrapping at the production presets, on 1 and
//! 2 threads. One record `bootstrap` per preset and thread count with the
//! median time, the levels left and the seconds of bootstrap per level left
//! (what training pays), the precision (min and mean bits over every slot
//! of every run, real and imaginary parts), the median CPU time of the
//! process per bootstrap (a figure less sensitive than wall time to other
//! load on a shared machine), the bytes of all evaluation keys
//! as sent (and expanded, with their count), the setup time and the peak
//! resident memory. After the last preset, one record `bootstrap_ratio` per
//! further preset and thread count compares it with the first preset of the
//! same run (times, seconds per level, key bytes).
//!
//! A second record per preset and thread count, `bootstrap_stages`,
//! profiles the same runs: the median wall and process CPU seconds of each
//! stage (`mod_raise`, `coeffs_to_slots`, `eval_mod`, `slots_to_coeffs`).
//!
//! Environment: `HETAL_BOOT_PRESETS` (comma-separated preset names, run one
//! after the other in this order; default `prod-n16,prod-n16-train`),
//! `HETAL_BOOT_LOGN` (10 … 13: every insecure preset of that ring degree,
//! for a quick look), `HETAL_BOOT_SLOTS` (default N/2),
//! `HETAL_BOOT_THREADS` (comma-separated thread counts, default `1,2`) and
//! `HETAL_BOOT_RUNS` (timed runs per thread count, default 3).

use std::time::Instant;

use serde_json::json;

use crate::bench::{emit, env_usize, median, peak_rss_bytes, process_cpu_seconds};
use crate::ckks_engine::{BootstrapConfig, CkksDecryptor, CkksEngine};
use crate::engine::{Complex, Decryptor, Engine};
use hetal_nostd::params::presets;
use hetal_nostd::params::ParamsLiteral;
use hetal_nostd::ring::sampling::Csprng;

/// Thread counts every preset is timed on (`HETAL_BOOT_THREADS`, default 1 and 2).
fn thread_counts() -> Result<Vec<usize>, String> {
    std::env::var("HETAL_BOOT_THREADS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .map(|t| {
            t.trim()
                .parse::<usize>()
                .map_err(|e| format!("HETAL_BOOT_THREADS: {e}"))
        })
        .collect()
}

/// What one preset measured on one thread count.
struct Measured {
    median_s: f64,
    cpu_median_s: f64,
    levels_left: usize,
    key_bytes: usize,
}

/// Runs the suite.
pub fn run() -> Result<(), String> {
    let runs = env_usize("HETAL_BOOT_RUNS").unwrap_or(3).max(1);
    let lits = chosen_presets()?;
    let mut measured: Vec<(&str, Vec<(usize, Measured)>)> = Vec::new();
    for lit in lits {
        let slots = env_usize("HETAL_BOOT_SLOTS").unwrap_or(1 << (lit.log_n - 1));
        measured.push((lit.name, run_preset(lit, slots, runs)?));
    }
    let Some((base_name, base)) = measured.first() else {
        return Ok(());
    };
    for (name, rows) in &measured[1..] {
        for ((threads, row), (_, b)) in rows.iter().zip(base) {
            let per_level = |m: &Measured| m.median_s / m.levels_left.max(1) as f64;
            let cpu_per_level = |m: &Measured| m.cpu_median_s / m.levels_left.max(1) as f64;
            emit(json!({
                "bench": "bootstrap_ratio",
                "params": name,
                "against": base_name,
                "threads": threads,
                "median_s": row.median_s,
                "against_median_s": b.median_s,
                "time_ratio": row.median_s / b.median_s,
                "levels_left": row.levels_left,
                "against_levels_left": b.levels_left,
                "seconds_per_level": per_level(row),
                "against_seconds_per_level": per_level(b),
                "seconds_per_level_ratio": per_level(row) / per_level(b),
                "cpu_seconds_per_level_ratio": cpu_per_level(row) / cpu_per_level(b),
                "key_bytes_ratio": row.key_bytes as f64 / b.key_bytes as f64,
                "runs": runs,
            }));
        }
    }
    Ok(())
}

/// The presets named by the environment (see the module documentation).
fn chosen_presets() -> Result<Vec<&'static ParamsLiteral<'static>>, String> {
    if let Ok(names) = std::env::var("HETAL_BOOT_PRESETS") {
        return names
            .split(',')
            .map(|n| presets::by_name(n.trim()).ok_or(format!("unknown preset `{n}`")))
            .collect();
    }
    match env_usize("HETAL_BOOT_LOGN") {
        None | Some(16) => Ok(vec![&presets::PROD_N16, &presets::PROD_N16_TRAIN]),
        Some(logn) => {
            let found: Vec<_> = presets::ALL
                .iter()
                .filter(|p| p.log_n as usize == logn)
                .collect();
            if found.is_empty() {
                Err(format!("no preset with log N = {logn}"))
            } else {
                Ok(found)
            }
        }
    }
}

/// Sets up one preset, times its bootstraps on every thread count, emits
/// one record per thread count and drops the engine (its keys) on return.
fn run_preset(
    lit: &ParamsLiteral<'_>,
    slots: usize,
    runs: usize,
) -> Result<Vec<(usize, Measured)>, String> {
    eprintln!(
        "boot: generating keys and encoding the transforms at {} ({slots} slots)",
        lit.name
    );
    let start = Instant::now();
    let rng = Csprng::from_os().map_err(|e| e.to_string())?;
    let config = BootstrapConfig::for_chain(lit);
    let engine =
        CkksEngine::bootstrappable(lit, slots, &[], &config, rng).map_err(|e| e.to_string())?;
    let setup_s = start.elapsed().as_secs_f64();
    let (keys, log2_failure) = engine.bootstrap_key_info().ok_or("no bootstrapping keys")?;
    let stage_levels = engine.bootstrap_levels().ok_or("no bootstrapping plan")?;
    eprintln!(
        "boot: setup ({} keys) done in {setup_s:.1} s: {:.2} GB as sent, {:.2} GB expanded; failure probability 2^{log2_failure:.0}",
        keys.count,
        keys.seeded as f64 / 1e9,
        keys.expanded as f64 / 1e9
    );
    let decryptor = CkksDecryptor(&engine);
    let mut out_rows = Vec::new();
    for threads in thread_counts()? {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| e.to_string())?;
        let mut times = Vec::with_capacity(runs);
        let mut cpu_times = Vec::with_capacity(runs);
        let mut bits = Vec::new();
        let mut levels_left = 0;
        // Per stage: the wall and CPU seconds of every run.
        let mut stages: Vec<(&'static str, Vec<f64>, Vec<f64>)> = Vec::new();
        for run in 0..runs {
            let z = message(slots, run + 10 * threads);
            let ct = engine.encrypt(&z, 0).map_err(|e| e.to_string())?;
            let (t, cpu) = (Instant::now(), process_cpu_seconds());
            let (mut last, mut last_cpu) = (t, cpu);
            let mut mark = |stage: &'static str| {
                let (now, cpu_now) = (Instant::now(), process_cpu_seconds());
                let (wall, cpu_s) = ((now - last).as_secs_f64(), cpu_now - last_cpu);
                (last, last_cpu) = (now, cpu_now);
                match stages.iter_mut().find(|(s, _, _)| *s == stage) {
                    Some((_, w, c)) => {
                        w.push(wall);
                        c.push(cpu_s);
                    }
                    None => stages.push((stage, vec![wall], vec![cpu_s])),
                }
            };
            let out = pool
                .install(|| engine.bootstrap_marked(&ct, 1.0, &mut mark))
                .map_err(|e| e.to_string())?;
            let secs = t.elapsed().as_secs_f64();
            times.push(secs);
            cpu_times.push(process_cpu_seconds() - cpu);
            levels_left = engine.level(&out);
            let got = decryptor.decrypt(&out).map_err(|e| e.to_string())?;
            let run_bits: Vec<f64> = got
                .iter()
                .zip(&z)
                .flat_map(|(g, w)| [(g.re - w.re).abs(), (g.im - w.im).abs()])
                .map(|e| -e.max(f64::MIN_POSITIVE).log2())
                .collect();
            eprintln!(
                "boot: {} {threads} thread(s), run {}: {secs:.2} s, min {:.1} bits",
                lit.name,
                run + 1,
                run_bits.iter().copied().fold(f64::INFINITY, f64::min)
            );
            bits.extend(run_bits);
        }
        let median_s = median(&mut times);
        let cpu_median_s = median(&mut cpu_times);
        let mean = bits.iter().sum::<f64>() / bits.len() as f64;
        let min = bits.iter().copied().fold(f64::INFINITY, f64::min);
        emit(json!({
            "bench": "bootstrap",
            "params": lit.name,
            "logn": lit.log_n,
            "slots": slots,
            "threads": threads,
            "median_s": median_s,
            "min_s": times[0],
            "max_s": times[times.len() - 1],
            "cpu_median_s": cpu_median_s,
            "runs": runs,
            "levels_left": levels_left,
            "seconds_per_level": median_s / levels_left.max(1) as f64,
            "stage_levels": [stage_levels.0, stage_levels.1, stage_levels.2],
            "precision_mean_bits": mean,
            "precision_min_bits": min,
            "key_bytes": keys.seeded,
            "key_bytes_expanded": keys.expanded,
            "key_count": keys.count,
            "log2_failure": log2_failure,
            "setup_s": setup_s,
            "peak_rss_bytes": peak_rss_bytes(),
        }));
        let profile: serde_json::Map<String, serde_json::Value> = stages
            .iter_mut()
            .map(|(stage, wall, cpu)| {
                let entry = json!({"median_s": median(wall), "median_cpu_s": median(cpu)});
                (stage.to_string(), entry)
            })
            .collect();
        emit(json!({
            "bench": "bootstrap_stages",
            "params": lit.name,
                        "slots": slots,
            "threads": threads,
            "runs": runs,
            "stages": profile,
        }));
        out_rows.push((
            threads,
            Measured {
                median_s,
                cpu_median_s,
                levels_left,
                key_bytes: keys.seeded,
            },
        ));
    }
    Ok(out_rows)
}

/// Slot values with real and imaginary parts in [−1, 1].
fn message(slots: usize, seed: usize) -> Vec<Complex> {
    (0..slots)
        .map(|i| {
            let t = (i + 7919 * seed) as f64;
            Complex::new((t * 0.618).sin(), (t * 0.271).cos())
        })
        .collect()
}
