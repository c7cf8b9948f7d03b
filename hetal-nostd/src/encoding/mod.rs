//! CKKS encoding: the canonical embedding with N/2 complex slots in the 5^j
//! order, so that rotating slots by k is the automorphism X → X^(5^k).
//!
//! A vector of n = 2^log_slots slots (n ≤ N/2) is packed into the
//! coefficients at multiples of gap = N/(2n): w = FFT⁻¹(z), coefficient k·gap
//! gets Re(w_k) and coefficient k·gap + N/2 gets Im(w_k), each multiplied by
//! the scale and rounded. Everything here works on caller buffers.

mod complex;
pub mod fft;

pub use complex::Complex;

use crate::math::zq::Modulus;
use core::fmt;

/// Why a vector could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum EncodeError {
    /// More values than slots, or a slot count that is not a power of two ≤ N/2.
    BadSlotCount {
        /// Values or slots given.
        got: usize,
        /// Largest allowed.
        max: usize,
    },
    /// A value is NaN or infinite.
    NotFinite,
    /// |value| · scale is too large to represent (≥ 2^120).
    TooLarge,
    /// A caller buffer has the wrong length.
    BufferSize {
        /// Length needed.
        expected: usize,
        /// Length given.
        got: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadSlotCount { got, max } => {
                write!(
                    f,
                    "{got} slots requested; slots must be a power of two at most {max}"
                )
            }
            Self::NotFinite => write!(f, "a value to encode is NaN or infinite"),
            Self::TooLarge => write!(f, "a value times the scale exceeds 2^120"),
            Self::BufferSize { expected, got } => {
                write!(f, "buffer of length {got} given, {expected} needed")
            }
        }
    }
}

impl core::error::Error for EncodeError {}

/// Largest |value · scale| accepted by the encoder.
pub const MAX_SCALED_MAGNITUDE: f64 = 1.329_227_995_784_916e36; // 2^120

/// Checks a slot count: a power of two in 1..=N/2. Returns log2 of it.
pub fn log_slots_for(slots: usize, log_n: u32) -> Result<u32, EncodeError> {
    let max = 1usize << (log_n - 1);
    if slots == 0 || !slots.is_power_of_two() || slots > max {
        return Err(EncodeError::BadSlotCount { got: slots, max });
    }
    Ok(slots.trailing_zeros())
}

/// Encodes `values` (at most n = `buf.len()` of them; the rest are zero)
/// into `buf`, leaving the packed coefficients multiplied by `scale` and
/// rounded to integers (as `f64`). `buf.len()` is the slot count n.
pub fn encode_into(values: &[Complex], scale: f64, buf: &mut [Complex]) -> Result<(), EncodeError> {
    let n = buf.len();
    if n == 0 || !n.is_power_of_two() || values.len() > n {
        return Err(EncodeError::BadSlotCount {
            got: values.len().max(n),
            max: n,
        });
    }
    let mut max = 0.0f64;
    for v in values {
        if !v.re.is_finite() || !v.im.is_finite() {
            return Err(EncodeError::NotFinite);
        }
        max = max.max(v.re.abs()).max(v.im.abs());
    }
    if !scale.is_finite() || scale <= 0.0 || 2.0 * max * scale >= MAX_SCALED_MAGNITUDE {
        return Err(EncodeError::TooLarge);
    }
    buf[..values.len()].copy_from_slice(values);
    buf[values.len()..].fill(Complex::default());
    fft::slots_to_coeffs(buf);
    for w in buf.iter_mut() {
        *w = Complex::new(libm::rint(w.re * scale), libm::rint(w.im * scale));
    }
    Ok(())
}

/// Writes the residues mod `q` of the polynomial whose packed, scaled and
/// rounded coefficients are in `packed` (n values) into `out` (N values,
/// coefficient domain). Branch-free in the values.
pub fn packed_to_residues(packed: &[Complex], q: &Modulus, out: &mut [u64]) {
    let n_ring = out.len();
    let gap = n_ring / (2 * packed.len());
    out.fill(0);
    let half = n_ring / 2;
    for (k, w) in packed.iter().enumerate() {
        out[k * gap] = q.reduce_i128(w.re as i128);
        out[k * gap + half] = q.reduce_i128(w.im as i128);
    }
}

/// Decodes centred real coefficients (already divided by the scale; length
/// N) into `out` (n slots, n = `out.len()`).
pub fn decode_into(coeffs: &[f64], out: &mut [Complex]) {
    let n_ring = coeffs.len();
    let gap = n_ring / (2 * out.len());
    let half = n_ring / 2;
    for (k, w) in out.iter_mut().enumerate() {
        *w = Complex::new(coeffs[k * gap], coeffs[k * gap + half]);
    }
    fft::coeffs_to_slots(out);
}

#[cfg(all(test, feature = "alloc"))]
mod tests;
