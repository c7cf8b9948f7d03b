//! Which kernel runs the base conversion and the inner product of key
//! switching: the SIMD kernel of the selected path where it applies, else
//! the portable code of the parent module.

use hetal_nostd::math::kernel::Kernel;
use hetal_nostd::math::zq::Modulus;

use super::convert_portable;
#[cfg(target_arch = "x86_64")]
use super::{avx2, avx512};

/// The digits `d_j` and the key parts `b_j`, `a_j` of an inner product, one
/// limb each.
pub(crate) type Operands<'a, 'b> = (&'a [&'b [u64]], &'a [&'b [u64]], &'a [&'b [u64]]);

/// [`super::inner_portable`] on the SIMD kernel of `path`, if it applies (the IFMA
/// one below 2^50, the floating-point AVX2 one below 2^49); false where it
/// does not (then use the portable code).
#[cfg(target_arch = "x86_64")]
pub(super) fn inner_simd(
    path: Kernel,
    m: &Modulus,
    (d, b, a): Operands,
    (o0, o1): (&mut [u64], &mut [u64]),
) -> bool {
    match path {
        Kernel::Avx512Ifma => {
            avx512::Avx512::detect().is_some_and(|k| k.inner_product(m, d, b, a, (o0, o1)))
        }
        Kernel::Avx2 | Kernel::Avx512 => {
            avx2::Avx2::detect().is_some_and(|k| k.inner_product(m.value(), (d, b, a), (o0, o1)))
        }
        Kernel::Portable => false,
    }
}

/// [`BaseConv::convert_limb`]'s arithmetic on kernel path `path`;
/// `small_sources` promises every `y_c` below 2^51 (sources below 2^50).
pub(super) fn convert_on(
    path: Kernel,
    small_sources: bool,
    y: &[u64],
    (hat, hat_shoup): (&[u64], &[u64]),
    m: &Modulus,
    offset: u64,
    out: &mut [u64],
) {
    #[cfg(target_arch = "x86_64")]
    match path {
        Kernel::Avx512 | Kernel::Avx512Ifma => {
            if let Some(k) = avx512::Avx512::detect() {
                if k.convert(y, hat, hat_shoup, m, offset, out) {
                    return;
                }
            }
        }
        Kernel::Avx2 => {
            if let Some(k) = avx2::Avx2::detect() {
                if k.convert(small_sources, y, (hat, hat_shoup), m.value(), offset, out) {
                    return;
                }
            }
        }
        Kernel::Portable => {}
    }
    let _ = (path, small_sources, hat_shoup);
    convert_portable(y, hat, m, offset, out);
}
