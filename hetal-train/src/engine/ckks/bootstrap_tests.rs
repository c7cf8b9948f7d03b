//! Bootstrapping on CkksEngine at insecure small presets (the fast tier).

use super::*;
use hetal_nostd::params::presets::{INSECURE_N10, INSECURE_N12};

fn precision(got: &[Complex], want: &[Complex]) -> (f64, f64) {
    let errs: Vec<f64> = got.iter().zip(want).map(|(g, w)| (*g - *w).abs()).collect();
    let max = errs.iter().copied().fold(0.0, f64::max);
    let mean_bits = errs.iter().map(|e| -e.max(1e-300).log2()).sum::<f64>() / errs.len() as f64;
    (-max.log2(), mean_bits)
}

fn values(n: usize, seed: f64) -> Vec<Complex> {
    (0..n)
        .map(|i| {
            let t = i as f64 + seed;
            Complex::new((t * 0.37).sin(), (t * 0.23).cos() * 0.8)
        })
        .collect()
}

fn run(lit: &ParamsLiteral<'_>, slots: usize, seed: u8) -> (f64, f64) {
    let engine = CkksEngine::bootstrappable(
        lit,
        slots,
        &[],
        &BootstrapConfig::default(),
        Csprng::from_entropy([seed; 32]),
    )
    .unwrap();
    let z = values(slots, f64::from(seed));
    let ct = engine.encrypt(&z, 2).unwrap();
    let ct = engine.mul_const(&ct, Complex::real(1.0)).unwrap();
    let out = engine.bootstrap(&ct).unwrap();
    assert_eq!(engine.level(&out), engine.bootstrap_level());
    let got = CkksDecryptor(&engine).decrypt(&out).unwrap();
    let (min_bits, mean_bits) = precision(&got, &z);
    eprintln!(
        "bootstrap {} slots {slots}: min {min_bits:.1} bits, mean {mean_bits:.1} bits",
        lit.name
    );
    (min_bits, mean_bits)
}

#[test]
fn bootstrapping_refreshes_full_and_sparse_slots_at_n10() {
    let (min_full, _) = run(&INSECURE_N10, 512, 1);
    assert!(min_full >= 15.0, "full slots: {min_full:.1} bits");
    let (min_sparse, _) = run(&INSECURE_N10, 64, 2);
    assert!(min_sparse >= 15.0, "sparse slots: {min_sparse:.1} bits");
}

#[test]
fn bootstrapping_keeps_15_bits_at_n12() {
    let (min_bits, _) = run(&INSECURE_N12, 2048, 3);
    assert!(min_bits >= 15.0, "{min_bits:.1} bits");
}
