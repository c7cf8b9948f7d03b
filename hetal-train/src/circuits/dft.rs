//! The homomorphic DFT of bootstrapping, factorised into a chosen number of
//! levels.
//!
//! The encoder maps packed coefficients w to slots z = V·w with
//! V = F·P: P the bit-reversal permutation and F the product of log2 n
//! butterfly stages (see `hetal_nostd::encoding::fft`). EvalMod works slot
//! by slot, so bootstrapping may keep the coefficients in bit-reversed
//! order: CoeffsToSlots applies F⁻¹ (z ↦ P·w) and SlotsToCoeffs applies F
//! (P·w ↦ z), and P is never evaluated. Each stage has three diagonals
//! (0, ±len/2); consecutive stages are multiplied together so that the
//! whole transform costs `levels` levels, one [`LinearTransform`] each.

use super::linear::LinearTransform;
use super::poly::{CircuitError, CircuitResult};
use crate::engine::Complex;
use std::collections::BTreeMap;

type Diagonals = BTreeMap<usize, Vec<Complex>>;

fn twiddle(power: usize, len: usize) -> Complex {
    let angle = 2.0 * std::f64::consts::PI * power as f64 / (4 * len) as f64;
    Complex::new(angle.cos(), angle.sin())
}

/// The butterfly stage of block length `len` (forward: F's factor; inverse:
/// the matching factor of F⁻¹), as diagonals.
fn stage(n: usize, len: usize, inverse: bool) -> Diagonals {
    let half = len / 2;
    let mut d0 = vec![Complex::default(); n];
    let mut up = vec![Complex::default(); n];
    let mut down = vec![Complex::default(); n];
    let modulus = 4 * len;
    let mut power = 1usize;
    for j in 0..half {
        let t = twiddle(power, len);
        for start in (0..n).step_by(len) {
            let (i, k) = (start + j, start + j + half);
            if inverse {
                // out[i] = (v[i] + v[k]) / 2; out[k] = (v[i] − v[k])·conj(t) / 2.
                let tc = t.conj().scale(0.5);
                d0[i] = Complex::real(0.5);
                up[i] = Complex::real(0.5);
                down[k] = tc;
                d0[k] = tc.scale(-1.0);
            } else {
                // out[i] = v[i] + t·v[k]; out[k] = v[i] − t·v[k].
                d0[i] = Complex::real(1.0);
                up[i] = t;
                down[k] = Complex::real(1.0);
                d0[k] = t.scale(-1.0);
            }
        }
        power = power * 5 % modulus;
    }
    let mut m = Diagonals::new();
    m.insert(0, d0);
    m.insert(half % n, up);
    let key = (n - half) % n;
    let entry = m.entry(key).or_insert_with(|| vec![Complex::default(); n]);
    for (e, d) in entry.iter_mut().zip(down) {
        *e = *e + d;
    }
    m
}

/// Diagonals of A·B from those of A and B: (A·B)_{k1+k2}[j] += A_{k1}[j]·B_{k2}[j + k1].
fn product(a: &Diagonals, b: &Diagonals, n: usize) -> Diagonals {
    let mut out = Diagonals::new();
    for (&k1, da) in a {
        for (&k2, db) in b {
            let acc = out
                .entry((k1 + k2) % n)
                .or_insert_with(|| vec![Complex::default(); n]);
            for j in 0..n {
                acc[j] = acc[j] + da[j] * db[(j + k1) % n];
            }
        }
    }
    out.retain(|_, d| d.iter().any(|c| c.abs() > 1e-300));
    out
}

/// The transforms of SlotsToCoeffs (`inverse = false`: P·w ↦ z) or
/// CoeffsToSlots (`inverse = true`: z ↦ P·w) on `n` slots, in application
/// order, grouped into `levels` factors of as equal a size as possible.
pub fn homomorphic_dft(
    n: usize,
    levels: usize,
    inverse: bool,
) -> CircuitResult<Vec<LinearTransform>> {
    if n < 2 || !n.is_power_of_two() {
        return Err(CircuitError::SizeMismatch {
            expected: n.next_power_of_two().max(2),
            got: n,
        });
    }
    let stages = n.trailing_zeros() as usize;
    if levels == 0 || levels > stages {
        return Err(CircuitError::SizeMismatch {
            expected: stages,
            got: levels,
        });
    }
    // Application order: F applies len = 2, 4, …, n; F⁻¹ applies len = n, …, 2.
    let mut lens: Vec<usize> = (1..=stages).map(|s| 1usize << s).collect();
    if inverse {
        lens.reverse();
    }
    let mut out = Vec::with_capacity(levels);
    let mut next = 0;
    for g in 0..levels {
        let size = stages / levels + usize::from(g < stages % levels);
        let mut acc: Option<Diagonals> = None;
        for &len in &lens[next..next + size] {
            let s = stage(n, len, inverse);
            // Later stages multiply from the left.
            acc = Some(match acc {
                None => s,
                Some(prev) => product(&s, &prev, n),
            });
        }
        next += size;
        out.push(LinearTransform::from_diagonals(n, acc.unwrap_or_default())?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ClearConfig, ClearDecryptor, ClearEngine, Decryptor, Engine};
    use hetal_nostd::encoding::fft;

    fn bit_reversed(v: &[Complex]) -> Vec<Complex> {
        let bits = v.len().trailing_zeros();
        (0..v.len())
            .map(|i| v[i.reverse_bits() >> (usize::BITS - bits)])
            .collect()
    }

    fn values(n: usize) -> Vec<Complex> {
        (0..n)
            .map(|i| Complex::new((i as f64 * 0.37).sin(), (i as f64 * 0.11).cos() - 0.5))
            .collect()
    }

    fn encoder_decode(w: &[Complex]) -> Vec<Complex> {
        let mut v = w.to_vec();
        fft::coeffs_to_slots(&mut v);
        v
    }

    fn run(ts: &[LinearTransform], v: &[Complex]) -> (Vec<Complex>, usize) {
        let n = v.len();
        let e = ClearEngine::new(ClearConfig::exact(n, 8)).unwrap();
        let mut ct = e.encrypt(v, 8).unwrap();
        for t in ts {
            ct = t.apply(&e, &ct).unwrap();
        }
        (ClearDecryptor.decrypt(&ct).unwrap(), 8 - e.level(&ct))
    }

    #[test]
    fn slots_to_coeffs_matches_the_encoder_at_every_level_count() {
        for n in [2usize, 8, 64, 256] {
            let w = values(n);
            let want = encoder_decode(&w);
            for levels in 1..=n.trailing_zeros().min(4) as usize {
                let ts = homomorphic_dft(n, levels, false).unwrap();
                let (got, used) = run(&ts, &bit_reversed(&w));
                assert_eq!(used, levels);
                for (g, x) in got.iter().zip(&want) {
                    assert!((*g - *x).abs() < 1e-9, "n {n} levels {levels}");
                }
            }
        }
    }

    #[test]
    fn coeffs_to_slots_inverts_it() {
        for n in [4usize, 32, 256] {
            let z = values(n);
            for levels in 1..=3.min(n.trailing_zeros() as usize) {
                let (got, used) = run(&homomorphic_dft(n, levels, true).unwrap(), &z);
                assert_eq!(used, levels);
                let mut w = z.to_vec();
                fft::slots_to_coeffs(&mut w);
                let want = bit_reversed(&w);
                for (g, x) in got.iter().zip(&want) {
                    assert!((*g - *x).abs() < 1e-9, "n {n} levels {levels}");
                }
            }
        }
    }

    #[test]
    fn fewer_levels_cost_more_diagonals() {
        let n = 1 << 10;
        let d = |levels| -> usize {
            homomorphic_dft(n, levels, true)
                .unwrap()
                .iter()
                .map(LinearTransform::diagonal_count)
                .sum()
        };
        // Merging r stages gives at most 2^(r+1) - 1 diagonals per factor.
        assert!(d(10) <= 30 && d(5) <= 5 * 7 && d(2) <= 2 * 63);
        assert!(d(2) > d(5) && d(5) > d(10));
        assert!(homomorphic_dft(n, 0, true).is_err() && homomorphic_dft(n, 11, true).is_err());
        assert!(homomorphic_dft(12, 2, true).is_err());
    }
}
