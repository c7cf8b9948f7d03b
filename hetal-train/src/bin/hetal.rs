//! The `hetal` command-line tool (see [`hetal_train::cli`]).

fn main() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    malloc_tunables::restart_with_tunables();
    std::process::exit(hetal_train::cli::main());
}

/// glibc's allocator settings for the large buffers of CKKS (a polynomial
/// at N = 2^16 is 512 KiB per limb, a ciphertext tens of MiB): transparent
/// huge pages, one arena, and freed buffers kept for reuse (the list and
/// its reasons: [`hetal_train::bench::MALLOC_TUNABLES`]). glibc reads its
/// tunables only when a program starts, so `hetal` restarts itself once
/// (`exec`, same process id, arguments and environment) with the missing
/// ones added to `GLIBC_TUNABLES`. A tunable the user already names there
/// is left as the user set it; `HETAL_MALLOC_TUNABLES=0` leaves the process
/// as started.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod malloc_tunables {
    use std::ffi::OsString;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    use hetal_train::bench::{tunable_entries, MALLOC_TUNABLES};

    /// The `GLIBC_TUNABLES` value to restart with, or `None` to run on as
    /// started (opted out, or nothing to add).
    pub fn tunables(opt_out: Option<OsString>, current: Option<OsString>) -> Option<OsString> {
        if opt_out.is_some_and(|v| v == "0") {
            return None;
        }
        let current = current.unwrap_or_default();
        let text = current.to_string_lossy();
        let named = |name: &str| tunable_entries(&text).any(|(k, _)| k == name);
        let missing: Vec<String> = MALLOC_TUNABLES
            .iter()
            .filter(|(name, _)| !named(name))
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        if missing.is_empty() {
            return None;
        }
        let mut value = current.clone();
        if !value.is_empty() {
            value.push(":");
        }
        value.push(missing.join(":"));
        Some(value)
    }

    /// Restarts the program with the allocator's tunables (see the module's
    /// documentation). Where the restart fails, the program runs on as
    /// started: the tunables change speed and memory, never results.
    pub fn restart_with_tunables() {
        let Some(value) = tunables(
            std::env::var_os("HETAL_MALLOC_TUNABLES"),
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
        // program goes on without the tunables.
        let _failed = command.args(args).env("GLIBC_TUNABLES", value).exec();
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::malloc_tunables::tunables;

    const ALL: &str = "glibc.malloc.hugetlb=1:glibc.malloc.arena_max=1:\
                       glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296";

    #[test]
    fn the_tunables_are_added_once_and_never_against_the_user() {
        let t = |opt_out: Option<&str>, current: Option<&str>| {
            tunables(opt_out.map(Into::into), current.map(Into::into))
                .map(|v| v.into_string().unwrap())
        };
        assert_eq!(t(None, None).as_deref(), Some(ALL));
        assert_eq!(t(None, Some("")).as_deref(), Some(ALL));
        assert_eq!(
            t(Some("1"), Some("glibc.rtld.nns=2")),
            Some(format!("glibc.rtld.nns=2:{ALL}"))
        );
        // The user's own settings stay; only the missing ones are added.
        assert_eq!(
            t(
                None,
                Some("glibc.malloc.hugetlb=0:glibc.malloc.arena_max=4")
            )
            .as_deref(),
            Some(
                "glibc.malloc.hugetlb=0:glibc.malloc.arena_max=4:\
                 glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296"
            )
        );
        // A name is matched whole: `arena_test` is not `arena_max`.
        assert!(t(None, Some("glibc.malloc.arena_test=2"))
            .unwrap()
            .contains("glibc.malloc.arena_max=1"));
        // Nothing to add (as after the restart itself), or opted out.
        assert_eq!(t(None, Some(ALL)), None);
        assert_eq!(t(Some("0"), None), None);
    }
}
