//! Benchmark suites behind `hetal bench <suite>`: each prints one JSON object
//! per line on stdout; human-readable progress goes to stderr.

pub mod algo;
pub mod boot;
pub mod core;
pub mod eval;

use std::time::Instant;

use hetal_nostd::math::kernel;

/// Runs `f` `runs` times after one warm-up call and returns the median wall time in seconds.
pub fn median_seconds<F: FnMut()>(runs: usize, mut f: F) -> f64 {
    f();
    let mut times: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Prints one benchmark record as a JSON line on stdout, with the kernel
/// path that ran it (`kernel`) and the CPU model (`cpu`) added.
pub fn emit(mut record: serde_json::Value) {
    if let Some(fields) = record.as_object_mut() {
        fields.insert("kernel".into(), kernel::active().name().into());
        fields.insert("cpu".into(), cpu_model().into());
    }
    println!("{record}");
}

/// The CPU's model name (from `/proc/cpuinfo`), or the architecture where
/// that file is missing or names none.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| matches!(k.trim(), "model name" | "Model" | "cpu model"))
                .map(|(_, v)| v.trim().to_string())
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Names of the benchmark suites `run_suite` accepts.
pub const SUITES: &[&str] = &["core", "eval", "algo", "boot"];

/// Runs the named suite. Returns an error message for an unknown suite.
pub fn run_suite(name: &str) -> Result<(), String> {
    match name {
        "core" => core::run(),
        "algo" => algo::run(),
        "eval" => eval::run(),
        "boot" => boot::run(),
        other => Err(format!(
            "unknown benchmark suite `{other}` (known: {})",
            SUITES.join(", ")
        )),
    }
}
