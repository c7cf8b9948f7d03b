//! The whole circuit on the clear simulator with a simulated ModRaise.

use super::*;
use crate::engine::{ClearConfig, ClearDecryptor, ClearEngine, Decryptor};
use hetal_nostd::encoding::fft;

/// Slots of the "raised" plaintext: packed coefficients of z times ratio,
/// plus integers in (−K, K) on every real and imaginary part, re-encoded.
fn mod_raise(z: &[Complex], ratio: f64, k: i64, seed: u64) -> Vec<Complex> {
    let mut w = z.to_vec();
    fft::slots_to_coeffs(&mut w);
    let mut s = seed;
    let mut int = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 33) as i64 % (2 * k - 1)) - (k - 1)
    };
    for c in w.iter_mut() {
        *c = Complex::new(c.re * ratio + int() as f64, c.im * ratio + int() as f64);
    }
    fft::coeffs_to_slots(&mut w);
    w
}

#[test]
fn evalmod_reduces_modulo_one() {
    let em = EvalMod {
        k: 12.0,
        double_angle: 3,
        degree: 40,
    };
    for i in -11..=11 {
        for eps in [-1e-3, -1e-5, 0.0, 1e-5, 1e-3] {
            let y = i as f64 + eps;
            let got = em.apply_clear(y) / (2.0 * std::f64::consts::PI);
            assert!(
                (got - eps).abs() < 1e-9 + 7.0 * eps.abs().powi(3),
                "y {y}: {got}"
            );
        }
    }
}

#[test]
fn full_circuit_recovers_the_message_after_a_simulated_mod_raise() {
    let n = 64;
    let ratio = 2f64.powi(-20); // Δ/q0
    let em = EvalMod {
        k: 12.0,
        double_angle: 3,
        degree: 40,
    };
    let circuit = BootstrapCircuit::new(n, 3, 2, em, 1.0 / ratio).unwrap();
    let top = circuit.depth() + 1;
    let floor = 1;
    let engine = ClearEngine::new(ClearConfig::exact(n, top)).unwrap();
    let z: Vec<Complex> = (0..n)
        .map(|i| Complex::new((i as f64 * 0.7).sin(), (i as f64 * 0.3).cos() * 0.5))
        .collect();
    let raised = engine.encrypt(&mod_raise(&z, ratio, 11, 9), top).unwrap();
    let (cts, em, stc) = circuit.levels();
    let targets = StageTargets {
        coeffs_to_slots: (1..=cts).map(|i| top - i).collect(),
        eval_mod: floor + stc,
        slots_to_coeffs: (1..=stc).map(|i| floor + stc - i).collect(),
    };
    assert!(top - cts - em >= floor + stc);
    let out = circuit.apply(&engine, &raised, &targets, 1.0).unwrap();
    assert_eq!(top - engine.level(&out), circuit.depth());
    let got = ClearDecryptor.decrypt(&out).unwrap();
    let err = got
        .iter()
        .zip(&z)
        .map(|(g, w)| (*g - *w).abs())
        .fold(0.0, f64::max);
    eprintln!(
        "bootstrap circuit (clear, n = {n}): max error 2^{:.1}, depth {}",
        err.log2(),
        circuit.depth()
    );
    assert!(err < 2f64.powi(-20), "max error {err}");
    let rotations = circuit.rotations();
    assert!(!rotations.is_empty() && rotations.iter().all(|&r| r < n));
}
