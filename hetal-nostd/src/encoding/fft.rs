//! The "special" FFT between packed coefficients and slots.
//!
//! With n slots (a power of two) and ξ = exp(2πi / 4n), slot j of the packed
//! vector w (w_k = m_k + i·m_{k+n}) is z_j = Σ_k w_k ξ^(5^j · k). Since
//! 5^(j + n/2) ≡ 5^j + 2n (mod 4n), the points ξ^(5^j) split into ± pairs
//! whose squares are the same problem for n/2 with root ξ², which gives a
//! radix-2 decimation-in-time transform with twiddles ξ_len^(5^j mod 4·len).
//! Twiddles are computed with `libm` per stage (no table), so the transform
//! needs only its input buffer.

use super::Complex;

fn twiddle(j_power: usize, len: usize) -> Complex {
    // exp(2πi · j_power / (4·len)); the ratio is exact (power-of-two denominator).
    let angle = 2.0 * core::f64::consts::PI * (j_power as f64) / ((4 * len) as f64);
    Complex::new(libm::cos(angle), libm::sin(angle))
}

fn bit_reverse_permute(v: &mut [Complex]) {
    let n = v.len();
    let bits = n.trailing_zeros();
    if bits == 0 {
        return;
    }
    for i in 0..n {
        let j = i.reverse_bits() >> (usize::BITS - bits);
        if i < j {
            v.swap(i, j);
        }
    }
}

/// Packed coefficients → slots, in place. `v.len()` must be a power of two.
pub fn coeffs_to_slots(v: &mut [Complex]) {
    let n = v.len();
    bit_reverse_permute(v);
    let mut len = 2;
    while len <= n {
        let half = len / 2;
        let modulus = 4 * len;
        let mut power = 1usize;
        for j in 0..half {
            let t = twiddle(power, len);
            for start in (0..n).step_by(len) {
                let u = v[start + j];
                let w = v[start + j + half] * t;
                v[start + j] = u + w;
                v[start + j + half] = u - w;
            }
            power = power * 5 % modulus;
        }
        len *= 2;
    }
}

/// Slots → packed coefficients, in place: the exact inverse of [`coeffs_to_slots`].
pub fn slots_to_coeffs(v: &mut [Complex]) {
    let n = v.len();
    let mut len = n;
    while len >= 2 {
        let half = len / 2;
        let modulus = 4 * len;
        let mut power = 1usize;
        for j in 0..half {
            let t = twiddle(power, len).conj();
            for start in (0..n).step_by(len) {
                let a = v[start + j];
                let b = v[start + j + half];
                v[start + j] = (a + b).scale(0.5);
                v[start + j + half] = ((a - b) * t).scale(0.5);
            }
            power = power * 5 % modulus;
        }
        len /= 2;
    }
    bit_reverse_permute(v);
}
