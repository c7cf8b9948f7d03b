//! What a run costs the process: CPU seconds and peak memory, and the
//! machine it ran on (the demo reports them; the benchmarks record them).

use hetal_nostd::math::kernel;

/// CPU seconds this process has used so far (all threads); 0 where the
/// clock is unavailable.
pub fn process_cpu_seconds() -> f64 {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec for the call's duration.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
        if rc == 0 {
            return ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9;
        }
    }
    0.0
}

/// The median of `v` (of an even count, the mean of the two middle values),
/// sorting `v` in place; `v` must not be empty.
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

/// Peak resident set size of this process (VmHWM), 0 where unavailable.
pub fn peak_rss_bytes() -> u64 {
    proc_value("/proc/self/status", &["VmHWM"])
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The CPU's model name (from `/proc/cpuinfo`), or the architecture where
/// that file is missing or names none.
pub fn cpu_model() -> String {
    proc_value("/proc/cpuinfo", &["model name", "Model", "cpu model"])
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// The value of the first `key: value` line of a `/proc` file whose key is
/// one of `keys`, trimmed; `None` where the file or the key is missing.
fn proc_value(path: &str, keys: &[&str]) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| keys.contains(&k.trim()))
        .map(|(_, v)| v.trim().to_string())
}

/// Adds the machine a record was measured on to it: the kernel path that
/// ran it (`kernel`) and the CPU model (`cpu`).
pub fn name_the_machine(record: &mut serde_json::Value) {
    if let Some(fields) = record.as_object_mut() {
        fields.insert("kernel".into(), kernel::active().name().into());
        fields.insert("cpu".into(), cpu_model().into());
    }
}

#[cfg(test)]
mod tests {
    use super::{kernel, median, name_the_machine, peak_rss_bytes};

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [26.9, 19.4, 25.3, 19.5, 26.2, 20.4]), 22.85);
        assert_eq!(median(&mut [5.0]), 5.0);
    }

    #[test]
    fn peak_memory_is_read_from_the_process_status() {
        // A process that has run this far has touched some memory.
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(peak_rss_bytes() > 0);
        }
    }

    #[test]
    fn records_name_the_kernel_path_and_the_cpu() {
        let mut record = serde_json::json!({ "bench": "x" });
        name_the_machine(&mut record);
        assert_eq!(record["kernel"], kernel::active().name());
        assert!(!record["cpu"].as_str().unwrap_or_default().is_empty());
        assert_eq!(record["bench"], "x");
    }
}
