//! Benchmark suites behind `hetal bench <suite>`: each prints one JSON object
//! per line on stdout; human-readable progress goes to stderr.

#[cfg(feature = "extract")]
pub mod accuracy;
pub mod algo;
pub mod boot;
pub mod core;
pub mod eval;
pub mod range;
pub mod train;

use std::time::Instant;

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

/// Prints one benchmark record as a JSON line on stdout.
pub fn emit(record: serde_json::Value) {
    println!("{record}");
}

/// Names of the benchmark suites `run_suite` accepts.
pub const SUITES: &[&str] = &["core", "eval", "algo", "boot", "range", "train", "accuracy"];

/// Runs the named suite. Returns an error message for an unknown suite.
pub fn run_suite(name: &str) -> Result<(), String> {
    match name {
        "core" => core::run(),
        "algo" => algo::run(),
        "eval" => eval::run(),
        "boot" => boot::run(),
        "range" => range::run(),
        "train" => train::run(),
        #[cfg(feature = "extract")]
        "accuracy" => accuracy::run(),
        other => Err(format!(
            "unknown benchmark suite `{other}` (known: {})",
            SUITES.join(", ")
        )),
    }
}
