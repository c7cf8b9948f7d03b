//! The `hetal` command-line tool (see [`hetal_train::cli`]).

fn main() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    huge_pages::restart_with_huge_pages();
    std::process::exit(hetal_train::cli::main());
}

/// Transparent huge pages for the large buffers of CKKS (a polynomial at
/// N = 2^16 is 512 KiB per limb, a ciphertext tens of MiB). Many Linux
/// systems grant huge pages only to memory that asks for them
/// (`/sys/kernel/mm/transparent_hugepage/enabled` = `madvise`); on 4 KiB
/// pages every fresh buffer costs a page fault per 4 KiB (the README's
/// "Benchmarks" has the measured effect). glibc asks for huge pages on all the memory
/// it maps when its tunable `glibc.malloc.hugetlb=1` is set, and tunables
/// are read only when a program starts: so `hetal` restarts itself once
/// (`exec`, same process id, arguments and environment) with the tunable
/// added. `HETAL_HUGE_PAGES=0`, or a `GLIBC_TUNABLES` that already names
/// `glibc.malloc.hugetlb`, leaves the process as started.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod huge_pages {
    use std::ffi::OsString;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    use hetal_train::bench::HUGE_PAGE_TUNABLE as TUNABLE;

    /// The `GLIBC_TUNABLES` value to restart with, or `None` to run on as
    /// started.
    pub fn tunables(opt_out: Option<OsString>, current: Option<OsString>) -> Option<OsString> {
        if opt_out.is_some_and(|v| v == "0") {
            return None;
        }
        match current {
            Some(t) if t.to_string_lossy().contains(TUNABLE) => None,
            Some(mut t) if !t.is_empty() => {
                t.push(format!(":{TUNABLE}=1"));
                Some(t)
            }
            _ => Some(format!("{TUNABLE}=1").into()),
        }
    }

    /// Restarts the program with huge pages asked for (see the module's
    /// documentation). Where the restart fails, the program runs on as
    /// started: the tunable changes speed, never results.
    pub fn restart_with_huge_pages() {
        let Some(value) = tunables(
            std::env::var_os("HETAL_HUGE_PAGES"),
            std::env::var_os("GLIBC_TUNABLES"),
        ) else {
            return;
        };
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let mut command = Command::new(exe);
        if let Some(arg0) = args.next() {
            command.arg0(arg0);
        }
        // `exec` returns only when it failed; the error is dropped and the
        // program goes on without the tunable.
        let _failed = command.args(args).env("GLIBC_TUNABLES", value).exec();
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::huge_pages::tunables;

    #[test]
    fn the_tunable_is_added_once_and_never_against_the_user() {
        let t = |opt_out: Option<&str>, current: Option<&str>| {
            tunables(opt_out.map(Into::into), current.map(Into::into))
                .map(|v| v.into_string().unwrap())
        };
        assert_eq!(t(None, None).as_deref(), Some("glibc.malloc.hugetlb=1"));
        assert_eq!(t(None, Some("")).as_deref(), Some("glibc.malloc.hugetlb=1"));
        assert_eq!(
            t(Some("1"), Some("glibc.malloc.arena_max=2")).as_deref(),
            Some("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1")
        );
        assert_eq!(t(None, Some("glibc.malloc.hugetlb=0")), None);
        assert_eq!(t(None, Some("glibc.malloc.hugetlb=1")), None);
        assert_eq!(t(Some("0"), None), None);
    }
}
