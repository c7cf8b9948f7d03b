//! The `boot` suite: CKKS bootstrapping of full slots (N/2) at the
//! production preset, on 1 and 2 threads. One record `bootstrap` per thread
//! count with the median time, the levels left, the precision (min and mean
//! bits over every slot of every run, real and imaginary parts), the bytes
//! of all evaluation keys as sent (and expanded, with their count) and the
//! peak resident memory.
//!
//! Environment: `HETAL_BOOT_RUNS` (timed runs per thread count, default 3)
//! and `HETAL_BOOT_LOGN` (10 … 13 for the insecure presets, for a quick
//! look; default 16, the production preset).

use std::time::Instant;

use serde_json::json;

use crate::bench::emit;
use crate::ckks_engine::{BootstrapConfig, CkksDecryptor, CkksEngine};
use crate::engine::{Complex, Decryptor, Engine};
use hetal_nostd::params::presets::{self, PROD_N16};
use hetal_nostd::ring::sampling::Csprng;

/// Runs the suite.
pub fn run() -> Result<(), String> {
    let env = |name: &str, default: u32| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let runs = env("HETAL_BOOT_RUNS", 3).max(1) as usize;
    let logn = env("HETAL_BOOT_LOGN", 16);
    let lit = if logn == 16 {
        &PROD_N16
    } else {
        presets::ALL
            .iter()
            .find(|p| p.log_n == logn)
            .ok_or(format!("no preset with log N = {logn}"))?
    };
    let slots = 1usize << (logn - 1);
    eprintln!(
        "boot: generating keys and encoding the transforms at {} ({slots} slots)",
        lit.name
    );
    let start = Instant::now();
    let rng = Csprng::from_os().map_err(|e| e.to_string())?;
    let engine = CkksEngine::bootstrappable(lit, slots, &[], &BootstrapConfig::default(), rng)
        .map_err(|e| e.to_string())?;
    let (keys, log2_failure) = engine.bootstrap_key_info().ok_or("no bootstrapping keys")?;
    eprintln!(
        "boot: setup ({} keys) done in {:.1} s: {:.2} GB as sent, {:.2} GB expanded; failure probability 2^{log2_failure:.0}",
        keys.count,
        start.elapsed().as_secs_f64(),
        keys.seeded as f64 / 1e9,
        keys.expanded as f64 / 1e9
    );
    let decryptor = CkksDecryptor(&engine);
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| e.to_string())?;
        let mut times = Vec::with_capacity(runs);
        let mut bits = Vec::new();
        let mut levels_left = 0;
        for run in 0..runs {
            let z = message(slots, run + 10 * threads);
            let ct = engine.encrypt(&z, 0).map_err(|e| e.to_string())?;
            let t = Instant::now();
            let out = pool
                .install(|| engine.bootstrap(&ct))
                .map_err(|e| e.to_string())?;
            let secs = t.elapsed().as_secs_f64();
            times.push(secs);
            levels_left = engine.level(&out);
            let got = decryptor.decrypt(&out).map_err(|e| e.to_string())?;
            let run_bits: Vec<f64> = got
                .iter()
                .zip(&z)
                .flat_map(|(g, w)| [(g.re - w.re).abs(), (g.im - w.im).abs()])
                .map(|e| -e.max(f64::MIN_POSITIVE).log2())
                .collect();
            eprintln!(
                "boot: {threads} thread(s), run {}: {secs:.2} s, min {:.1} bits",
                run + 1,
                run_bits.iter().copied().fold(f64::INFINITY, f64::min)
            );
            bits.extend(run_bits);
        }
        times.sort_by(f64::total_cmp);
        let mean = bits.iter().sum::<f64>() / bits.len() as f64;
        let min = bits.iter().copied().fold(f64::INFINITY, f64::min);
        emit(json!({
            "bench": "bootstrap",
            "params": lit.name,
            "logn": logn,
            "slots": slots,
            "threads": threads,
            "median_s": times[times.len() / 2],
            "runs": runs,
            "levels_left": levels_left,
            "precision_mean_bits": mean,
            "precision_min_bits": min,
            "key_bytes": keys.seeded,
            "key_bytes_expanded": keys.expanded,
            "key_count": keys.count,
            "log2_failure": log2_failure,
            "peak_rss_bytes": peak_rss_bytes(),
        }));
    }
    Ok(())
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

/// Peak resident set size of this process (VmHWM), 0 where unavailable.
fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
