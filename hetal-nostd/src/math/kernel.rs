//! Which arithmetic kernels run: the one place that decides between the
//! portable code and the SIMD kernels of the NTT and of key switching.
//!
//! Paths, from the most portable:
//!
//! * [`Kernel::Portable`]: scalar Rust with `u128` products; every target.
//! * [`Kernel::Avx2`]: x86_64 with AVX2, four 64-bit lanes with 32-bit
//!   partial products (NTT, base conversion, Shoup-multiplied pointwise loops).
//! * [`Kernel::Avx512`]: x86_64 with AVX-512F and DQ but without IFMA: base
//!   conversion in eight lanes; the NTT takes the AVX2 kernel (the AVX-512
//!   NTT is written around IFMA).
//! * [`Kernel::Avx512Ifma`]: AVX-512F, DQ and IFMA: the AVX-512 NTT, base
//!   conversion and the 52-bit inner product of key switching.
//!
//! Every path gives bit-identical results. Without the `std` feature (or off
//! x86_64) only the portable path exists. With `std`, the best path the CPU
//! supports is detected once at run time, unless the environment variable
//! `HETAL_KERNEL` forces one: `portable`, `avx2`, `avx512` (the best AVX-512
//! path: IFMA where present), `avx512f` (AVX-512 without IFMA) or
//! `avx512ifma`.
//!
//! A forced path the CPU lacks, or an unknown name, is never run and never
//! silently replaced: [`select`] returns a [`KernelError`], and so do the
//! constructors of NTT tables (as [`super::MathError::Kernel`]), hence of
//! every ring context; nothing can be computed until the variable is fixed.

use core::fmt;

/// Name of the environment variable that forces a kernel path.
pub const ENV_VAR: &str = "HETAL_KERNEL";

/// A kernel path (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Scalar code for every target.
    Portable,
    /// AVX2, four 64-bit lanes.
    Avx2,
    /// AVX-512F and DQ without IFMA.
    Avx512,
    /// AVX-512F, DQ and IFMA.
    Avx512Ifma,
}

impl Kernel {
    /// Every path, from the most portable.
    pub const ALL: [Kernel; 4] = [
        Kernel::Portable,
        Kernel::Avx2,
        Kernel::Avx512,
        Kernel::Avx512Ifma,
    ];

    /// The name benchmark records carry: `portable`, `avx2`, `avx512`, `avx512ifma`.
    pub const fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
            Kernel::Avx512Ifma => "avx512ifma",
        }
    }

    /// Whether this CPU can run the path (only [`Kernel::Portable`] without `std`).
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Portable => true,
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Kernel::Avx2 => std::is_x86_feature_detected!("avx2"),
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Kernel::Avx512 => {
                std::is_x86_feature_detected!("avx2")
                    && std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512dq")
            }
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Kernel::Avx512Ifma => {
                Kernel::Avx512.is_available() && std::is_x86_feature_detected!("avx512ifma")
            }
            #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
            _ => false,
        }
    }

    /// The best path this CPU supports.
    pub fn detect() -> Kernel {
        Kernel::ALL
            .into_iter()
            .rev()
            .find(|k| k.is_available())
            .unwrap_or(Kernel::Portable)
    }

    /// The path forced by a `HETAL_KERNEL` value, if this CPU has it.
    ///
    /// Errors: [`KernelError::UnknownName`] for a name that is none of
    /// `portable`, `avx2`, `avx512`, `avx512f`, `avx512ifma` (ASCII case
    /// ignored, surrounding blanks trimmed) and [`KernelError::Unsupported`]
    /// for a path the CPU lacks.
    pub fn forced(name: &str) -> Result<Kernel, KernelError> {
        let name = name.trim();
        let is = |s: &str| name.eq_ignore_ascii_case(s);
        let wanted = if is("portable") {
            Kernel::Portable
        } else if is("avx2") {
            Kernel::Avx2
        } else if is("avx512f") {
            Kernel::Avx512
        } else if is("avx512ifma") {
            Kernel::Avx512Ifma
        } else if is("avx512") {
            if Kernel::Avx512Ifma.is_available() {
                Kernel::Avx512Ifma
            } else {
                Kernel::Avx512
            }
        } else {
            return Err(KernelError::UnknownName);
        };
        if wanted.is_available() {
            Ok(wanted)
        } else {
            Err(KernelError::Unsupported {
                requested: wanted,
                best: Kernel::detect(),
            })
        }
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why `HETAL_KERNEL` could not be honoured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelError {
    /// The value names no kernel path.
    UnknownName,
    /// The value forces a path this CPU cannot run.
    Unsupported {
        /// The path asked for.
        requested: Kernel,
        /// The best path this CPU has.
        best: Kernel,
    },
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelError::UnknownName => write!(
                f,
                "{ENV_VAR} names no kernel path \
                 (expected portable, avx2, avx512, avx512f or avx512ifma)"
            ),
            KernelError::Unsupported { requested, best } => write!(
                f,
                "{ENV_VAR} forces the {requested} kernel path, which this CPU lacks \
                 (the best it has is {best})"
            ),
        }
    }
}

impl core::error::Error for KernelError {}

/// The kernel path of this process: `HETAL_KERNEL` if set (and valid),
/// else the best path detected. Computed once and cached.
///
/// Errors as [`Kernel::forced`]; without `std` always [`Kernel::Portable`].
pub fn select() -> Result<Kernel, KernelError> {
    #[cfg(feature = "std")]
    {
        static CHOICE: std::sync::OnceLock<Result<Kernel, KernelError>> =
            std::sync::OnceLock::new();
        *CHOICE.get_or_init(|| match std::env::var(ENV_VAR) {
            Ok(name) => Kernel::forced(&name),
            Err(std::env::VarError::NotPresent) => Ok(Kernel::detect()),
            Err(std::env::VarError::NotUnicode(_)) => Err(KernelError::UnknownName),
        })
    }
    #[cfg(not(feature = "std"))]
    {
        Ok(Kernel::Portable)
    }
}

/// The path the hot loops take: [`select`]'s choice, or the portable one
/// when `select` fails (unreachable through the checked constructors, which
/// fail first; the portable path is correct on every CPU).
#[inline]
pub fn active() -> Kernel {
    select().unwrap_or(Kernel::Portable)
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for k in Kernel::ALL {
            // "avx512" forces the best AVX-512 path; "avx512f" the one without IFMA.
            let name = if k == Kernel::Avx512 {
                "avx512f"
            } else {
                k.name()
            };
            match Kernel::forced(name) {
                Ok(got) => assert_eq!(got, k),
                Err(e) => {
                    assert!(!k.is_available());
                    assert_eq!(
                        e,
                        KernelError::Unsupported {
                            requested: k,
                            best: Kernel::detect()
                        }
                    );
                }
            }
        }
        assert_eq!(Kernel::forced(" Portable "), Ok(Kernel::Portable));
        assert_eq!(Kernel::forced("neon"), Err(KernelError::UnknownName));
        assert_eq!(Kernel::forced(""), Err(KernelError::UnknownName));
        assert!(KernelError::UnknownName.to_string().contains(ENV_VAR));
    }

    #[test]
    fn detection_picks_an_available_path_at_least_as_wide_as_any_other() {
        let best = Kernel::detect();
        assert!(best.is_available());
        let widest = Kernel::ALL
            .into_iter()
            .filter(|k| k.is_available())
            .max_by_key(|k| *k as u8);
        assert_eq!(Some(best), widest);
        // "avx512" forces the best AVX-512 path.
        if Kernel::Avx512Ifma.is_available() {
            assert_eq!(Kernel::forced("avx512"), Ok(Kernel::Avx512Ifma));
        } else if Kernel::Avx512.is_available() {
            assert_eq!(Kernel::forced("avx512"), Ok(Kernel::Avx512));
        } else {
            let err = Kernel::forced("avx512").unwrap_err();
            assert!(err.to_string().contains("lacks"), "{err}");
        }
    }
}
