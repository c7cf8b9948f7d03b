//! Benchmark suites behind `hetal bench <suite>`: each prints one JSON object
//! per line on stdout; human-readable progress goes to stderr.

pub mod accuracy;
pub mod algo;
pub mod boot;
pub mod bootmodel;
pub mod core;
pub mod eval;
pub mod protocol;
pub mod range;
pub mod train;

use std::time::Instant;

pub use crate::demo::measure::{
    cpu_model, median, name_the_machine, peak_rss_bytes, process_cpu_seconds,
};

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
    median(&mut times)
}

/// Like [`median_seconds`], also returning the median CPU seconds the
/// process (every thread, pool threads included) spent in the same runs: on a
/// shared machine the CPU time moves much less with the load than the wall time.
pub fn median_wall_cpu<F: FnMut()>(runs: usize, mut f: F) -> (f64, f64) {
    f();
    let mut wall = Vec::with_capacity(runs.max(1));
    let mut cpu = Vec::with_capacity(runs.max(1));
    for _ in 0..runs.max(1) {
        let (start, start_cpu) = (Instant::now(), process_cpu_seconds());
        f();
        wall.push(start.elapsed().as_secs_f64());
        cpu.push(process_cpu_seconds() - start_cpu);
    }
    (median(&mut wall), median(&mut cpu))
}

/// Prints one benchmark record as a JSON line on stdout, with the kernel
/// path that ran it (`kernel`), the CPU model (`cpu`), the huge-page
/// setting (`huge_pages`, see [`huge_pages`]) and the allocator's tunables
/// (`malloc`, see [`malloc_tunables`]) added.
pub fn emit(mut record: serde_json::Value) {
    name_the_machine(&mut record);
    if let Some(fields) = record.as_object_mut() {
        fields.insert("huge_pages".into(), huge_pages().into());
        fields.insert("malloc".into(), malloc_tunables().into());
    }
    println!("{record}");
}

/// glibc's tunable that makes its allocator ask for transparent huge pages
/// (set to `1`); [`huge_pages`] reports it.
pub const HUGE_PAGE_TUNABLE: &str = "glibc.malloc.hugetlb";

/// The glibc allocator tunables the `hetal` binary starts with (each one
/// unless `GLIBC_TUNABLES` already names it; `HETAL_MALLOC_TUNABLES=0`
/// leaves them all out). The README's "Allocator settings" has the
/// measurements behind them.
/// - `hugetlb=1`: transparent huge pages for the allocator's memory.
/// - `arena_max=1`: one arena for every thread. With one arena per pool
///   thread, a thread's heap (at most 64 MiB) held three or four limb
///   buffers of tens of MiB, so glibc mapped a new heap, and unmapped it
///   once emptied, about ten times a second: fresh pages to clear on every
///   use.
/// - `mmap_threshold` (32 MiB, glibc's largest) and `trim_threshold`
///   (4 GiB): freed buffers stay in the heap for the next ones instead of
///   going back to the system. Naming either turns off glibc's adaptive
///   threshold, so both are set.
pub const MALLOC_TUNABLES: [(&str, &str); 4] = [
    (HUGE_PAGE_TUNABLE, "1"),
    ("glibc.malloc.arena_max", "1"),
    ("glibc.malloc.mmap_threshold", "33554432"),
    ("glibc.malloc.trim_threshold", "4294967296"),
];

/// The `glibc.malloc.*` tunables in effect in this process (from
/// `GLIBC_TUNABLES`, without the `glibc.malloc.` prefix, comma-separated),
/// or `default` where none is set.
pub fn malloc_tunables() -> String {
    malloc_summary(&std::env::var("GLIBC_TUNABLES").unwrap_or_default())
}

/// [`malloc_tunables`] of a given `GLIBC_TUNABLES` list.
fn malloc_summary(list: &str) -> String {
    let named: Vec<String> = tunable_entries(list)
        .filter_map(|(name, value)| {
            Some(format!("{}={value}", name.strip_prefix("glibc.malloc.")?))
        })
        .collect();
    if named.is_empty() {
        "default".into()
    } else {
        named.join(",")
    }
}

/// The `name=value` entries of a `GLIBC_TUNABLES` list (colon-separated),
/// as `(name, value)` pairs; an entry without `=` is skipped.
pub fn tunable_entries(list: &str) -> impl Iterator<Item = (&str, &str)> {
    list.split(':').filter_map(|entry| entry.split_once('='))
}

/// The system's transparent-huge-page mode (the selected word of
/// `/sys/kernel/mm/transparent_hugepage/enabled`: `always`, `madvise`,
/// `never`; `unknown` where the file is missing), followed by `+malloc`
/// where glibc's allocator asks for huge pages in this process (its tunable
/// `glibc.malloc.hugetlb=1`, one of the [`MALLOC_TUNABLES`] the `hetal`
/// binary starts with).
pub fn huge_pages() -> String {
    let mode = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .ok()
        .and_then(|s| {
            let start = s.find('[')?;
            let end = s[start..].find(']')?;
            Some(s[start + 1..start + end].to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let malloc = std::env::var("GLIBC_TUNABLES")
        .is_ok_and(|t| tunable_entries(&t).any(|entry| entry == (HUGE_PAGE_TUNABLE, "1")));
    if malloc {
        format!("{mode}+malloc")
    } else {
        mode
    }
}

/// Names of the benchmark suites `run_suite` accepts.
pub const SUITES: &[&str] = &[
    "core",
    "eval",
    "algo",
    "boot",
    "bootmodel",
    "range",
    "train",
    "protocol",
    "accuracy",
];

/// Runs the named suite. Returns an error message for an unknown suite.
pub fn run_suite(name: &str) -> Result<(), String> {
    match name {
        "core" => core::run(),
        "algo" => algo::run(),
        "eval" => eval::run(),
        "boot" => boot::run(),
        "bootmodel" => bootmodel::run(),
        "range" => range::run(),
        "train" => train::run(),
        "protocol" => protocol::run(),
        "accuracy" => accuracy::run(),
        other => Err(format!(
            "unknown benchmark suite `{other}` (known: {})",
            SUITES.join(", ")
        )),
    }
}

/// A whole number from the environment variable `name` (benchmark settings);
/// `None` when it is unset or not a number.
pub fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::{malloc_summary, tunable_entries};

    #[test]
    fn the_allocator_tunables_are_read_from_the_list() {
        let list = "glibc.rtld.nns=2:glibc.malloc.hugetlb=1:junk:glibc.malloc.arena_max=1";
        assert_eq!(
            tunable_entries(list).collect::<Vec<_>>(),
            [
                ("glibc.rtld.nns", "2"),
                ("glibc.malloc.hugetlb", "1"),
                ("glibc.malloc.arena_max", "1")
            ]
        );
        assert_eq!(malloc_summary(list), "hugetlb=1,arena_max=1");
        assert_eq!(malloc_summary("glibc.rtld.nns=2"), "default");
        assert_eq!(malloc_summary(""), "default");
    }
}
