//! Bootstrapping on CkksEngine at insecure small presets (the fast tier).

use super::*;
use crate::ckks_engine::CkksDecryptor;
use crate::engine::{ClearConfig, ClearEngine, Complex, Decryptor};
use hetal_nostd::math::galois::galois_element_for_rotation;
use hetal_nostd::params::presets::{
    INSECURE_N10, INSECURE_N10_TRAIN, INSECURE_N11, INSECURE_N12, INSECURE_N12_TRAIN, PROD_N16,
    PROD_N16_TRAIN,
};

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
    let engine = engine(lit, slots, seed);
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

fn engine(lit: &ParamsLiteral<'_>, slots: usize, seed: u8) -> CkksEngine {
    CkksEngine::bootstrappable(
        lit,
        slots,
        &[],
        &BootstrapConfig::for_chain(lit),
        Csprng::from_entropy([seed; 32]),
    )
    .unwrap()
}

/// Bootstraps on the training layout, then spends every level left on
/// constant products and checks the values at level 0.
fn run_training_chain(lit: &ParamsLiteral<'_>, slots: usize, seed: u8) -> (f64, f64, f64) {
    let e = engine(lit, slots, seed);
    assert_eq!(e.bootstrap_levels(), Some((4, 8, 3)));
    let z = values(slots, f64::from(seed));
    let out = e.bootstrap(&e.encrypt(&z, 0).unwrap()).unwrap();
    let left = e.level(&out);
    assert_eq!(left, e.bootstrap_level());
    assert!(left >= 14, "{left} levels left");
    let (min_bits, mean_bits) = precision(&CkksDecryptor(&e).decrypt(&out).unwrap(), &z);
    let mut ct = out;
    while e.level(&ct) > 0 {
        ct = e.mul_const(&ct, Complex::real(0.95)).unwrap();
    }
    let factor = 0.95f64.powi(left as i32);
    let want: Vec<Complex> = z.iter().map(|v| v.scale(factor)).collect();
    let (bottom_bits, _) = precision(&CkksDecryptor(&e).decrypt(&ct).unwrap(), &want);
    eprintln!(
        "bootstrap {} slots {slots}: {left} levels left, min {min_bits:.1} bits, mean \
         {mean_bits:.1} bits; after {left} products: min {bottom_bits:.1} bits",
        lit.name
    );
    (min_bits, mean_bits, bottom_bits)
}

#[test]
fn the_training_chain_leaves_15_levels_at_n12() {
    let (min_bits, mean_bits, bottom_bits) = run_training_chain(&INSECURE_N12_TRAIN, 2048, 11);
    assert!(
        min_bits >= 17.0 && mean_bits >= 21.0,
        "{min_bits:.1} / {mean_bits:.1} bits"
    );
    assert!(bottom_bits >= 16.0, "{bottom_bits:.1} bits at level 0");
}

#[test]
fn the_training_chain_refreshes_sparse_slots_at_n10() {
    // 64 slots concentrate the message on few coefficients, where the sine's
    // curvature costs bits at q0/Δ = 2^8: both chains lose them alike.
    let (min_bits, mean_bits, bottom_bits) = run_training_chain(&INSECURE_N10_TRAIN, 64, 12);
    let (prod_min, prod_mean) = run(&INSECURE_N10, 64, 12);
    assert!(
        min_bits >= 16.0 && mean_bits >= 17.5,
        "{min_bits:.1} / {mean_bits:.1} bits"
    );
    assert!(mean_bits >= prod_mean - 1.0 && min_bits >= prod_min - 1.0);
    assert!(bottom_bits >= 16.0, "{bottom_bits:.1} bits at level 0");
}

#[test]
fn each_chain_gets_an_eval_mod_that_fits() {
    assert_eq!(
        BootstrapConfig::for_chain(&PROD_N16),
        BootstrapConfig::default()
    );
    let lean = BootstrapConfig::for_chain(&PROD_N16_TRAIN);
    assert_eq!(lean, BootstrapConfig::lean());
    assert_eq!(lean.eval_mod.depth(), 8);
    // The interpolant and its steps stay within 2^-30 of sin(2πy) on (−K, K).
    let k = lean.eval_mod.k;
    let worst = (0..=20_000)
        .map(|i| -k + 2.0 * k * f64::from(i) / 20_000.0)
        .map(|y| (lean.eval_mod.apply_clear(y) - (2.0 * std::f64::consts::PI * y).sin()).abs())
        .fold(0.0, f64::max);
    assert!(worst < 2f64.powi(-30), "2^{:.1}", worst.log2());
    // The default EvalMod does not fit in the training chain's 8 levels.
    assert!(matches!(
        CkksEngine::bootstrappable(
            &INSECURE_N10_TRAIN,
            64,
            &[],
            &BootstrapConfig::default(),
            Csprng::from_entropy([13; 32])
        ),
        Err(EngineError::Unavailable(_))
    ));
}

#[test]
fn each_rotation_key_serves_the_highest_level_it_runs_at() {
    let params = PROD_N16_TRAIN.build().unwrap();
    let slots = params.max_slots();
    let log_n = params.log_n();
    let config = BootstrapConfig::for_chain(&PROD_N16_TRAIN);
    let bare = KeyPlan::new(&PROD_N16_TRAIN, slots, &[], &config).unwrap();
    let (cts, stc) = bare.circuit.stage_rotations();
    // A training step that bootstrapping does not use, and one it does.
    let own = (1..slots as i64)
        .find(|&s| !cts.contains(&(s as usize)) && !stc.contains(&(s as usize)))
        .unwrap();
    let shared = *cts.iter().next().unwrap() as i64;
    let mut plan = KeyPlan::new(&PROD_N16_TRAIN, slots, &[own, shared], &config).unwrap();
    let level = |plan: &KeyPlan, step: i64| plan.levels[&galois_element_for_rotation(log_n, step)];
    assert_eq!(level(&plan, own), params.user_top_level());
    assert_eq!(level(&plan, shared), params.max_level());
    for r in stc.iter().filter(|r| !cts.contains(r)) {
        assert_eq!(level(&plan, *r as i64), params.user_top_level() + plan.stc);
    }
    // Fewer bytes in memory than the same keys all at the top.
    let served = plan.expanded_bytes();
    plan.levels
        .values_mut()
        .for_each(|l| *l = params.max_level());
    assert!(served < plan.expanded_bytes());
}

#[test]
fn two_real_ciphertexts_share_one_bootstrap() {
    let slots = 1024;
    let e = engine(&INSECURE_N11, slots, 4);
    let a: Vec<f64> = (0..slots).map(|i| (i as f64 * 0.11).sin()).collect();
    let b: Vec<f64> = (0..slots).map(|i| (i as f64 * 0.07).cos() * 0.9).collect();
    let ca = e.encrypt_real(&a, 1).unwrap();
    let cb = e.encrypt_real(&b, 3).unwrap();
    let (ra, rb) = e.bootstrap_pair(&ca, &cb).unwrap();
    assert_eq!(e.level(&ra), e.bootstrap_level());
    assert_eq!(e.level(&rb), e.bootstrap_level());
    for (ct, want) in [(&ra, &a), (&rb, &b)] {
        let got = CkksDecryptor(&e).decrypt(ct).unwrap();
        let err = got
            .iter()
            .zip(want)
            .map(|(g, w)| (g.re - w).abs().max(g.im.abs()))
            .fold(0.0, f64::max);
        eprintln!("real pair (INSECURE-n11): {:.1} bits", -err.log2());
        assert!(err < 2f64.powi(-15), "{err:e}");
    }
    // The refreshed halves are ordinary ciphertexts: multiply them.
    let prod = CkksDecryptor(&e)
        .decrypt_real(&e.mul(&ra, &rb).unwrap())
        .unwrap();
    let err = prod
        .iter()
        .zip(a.iter().zip(&b))
        .map(|(p, (x, y))| (p - x * y).abs())
        .fold(0.0, f64::max);
    assert!(err < 2f64.powi(-14), "{err:e}");
}

#[test]
fn bootstrapping_errors_are_typed() {
    let e = engine(&INSECURE_N10, 64, 5);
    let ct = e.encrypt_real(&[0.5; 64], 3).unwrap();
    let lazy = e.mul_lazy(&ct, &ct).unwrap();
    assert_eq!(e.bootstrap(&lazy).unwrap_err(), EngineError::NeedsRescale);
    // A scale with no headroom below q0.
    let mut big = ct.clone();
    big.ct.scale = e.ev.context().params().q()[0] as f64 / 4.0;
    assert!(matches!(
        e.bootstrap(&big),
        Err(EngineError::BootstrapHeadroom { .. })
    ));
    // A Hamming weight whose failure probability is above 2^-100.
    let heavy = BootstrapConfig {
        hamming_weight: 64,
        ..BootstrapConfig::default()
    };
    let err = CkksEngine::bootstrappable(
        &INSECURE_N10,
        64,
        &[],
        &heavy,
        Csprng::from_entropy([6; 32]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("probability"), "{err}");
    // Settings that cannot work.
    for bad in [
        BootstrapConfig {
            hamming_weight: 8,
            ..BootstrapConfig::default()
        },
        BootstrapConfig {
            hamming_weight: 4096,
            ..BootstrapConfig::default()
        },
        BootstrapConfig {
            eval_mod: EvalMod {
                double_angle: 40,
                ..BootstrapConfig::default().eval_mod
            },
            ..BootstrapConfig::default()
        },
        BootstrapConfig {
            eval_mod: EvalMod {
                k: f64::NAN,
                ..BootstrapConfig::default().eval_mod
            },
            ..BootstrapConfig::default()
        },
    ] {
        assert!(matches!(
            CkksEngine::bootstrappable(&INSECURE_N10, 64, &[], &bad, Csprng::from_entropy([8; 32])),
            Err(EngineError::InvalidConfig(_))
        ));
    }
    // An EvalMod deeper than the chain's EvalMod levels.
    let deep = BootstrapConfig {
        eval_mod: EvalMod {
            degree: 200,
            ..BootstrapConfig::default().eval_mod
        },
        ..BootstrapConfig::default()
    };
    assert!(matches!(
        CkksEngine::bootstrappable(&INSECURE_N10, 64, &[], &deep, Csprng::from_entropy([7; 32])),
        Err(EngineError::Unavailable(_))
    ));
}

#[test]
fn the_production_failure_probability_is_below_2_to_the_minus_100() {
    let p = hetal_nostd::params::bootstrap::log2_failure_probability(32, 16.0, 1 << 15);
    assert!(p < -138.0 && p > -141.0, "2^{p}");
}

#[test]
fn the_clear_engine_refuses_out_of_range_bootstrap_inputs() {
    let e = ClearEngine::new(ClearConfig {
        bootstrap_bound: Some(1.0),
        ..ClearConfig::exact(4, 5)
    })
    .unwrap();
    let ok = e.encrypt_real(&[0.5, -1.0, 0.0, 0.25], 0).unwrap();
    assert!(e.bootstrap(&ok).is_ok());
    let far = e.encrypt_real(&[0.5, -1.5, 0.0, 0.25], 0).unwrap();
    assert_eq!(
        e.bootstrap(&far).unwrap_err(),
        EngineError::BootstrapRange {
            peak: 1.5,
            bound: 1.0
        }
    );
}

/// Long tier: N = 2^16, 2^15 slots (minutes; several GB of keys).
#[test]
#[ignore = "production size: run by hand (cargo test --release -- --ignored)"]
fn bootstrapping_at_the_production_preset() {
    let slots = 1 << 15;
    let e = engine(&PROD_N16, slots, 8);
    let mut bits = Vec::new();
    for run in 0..2 {
        let z = values(slots, run as f64 * 1000.0);
        let out = e.bootstrap(&e.encrypt(&z, 0).unwrap()).unwrap();
        assert_eq!(e.level(&out), 9);
        let got = CkksDecryptor(&e).decrypt(&out).unwrap();
        let (min_bits, mean_bits) = precision(&got, &z);
        eprintln!("prod-n16 run {run}: min {min_bits:.1} bits, mean {mean_bits:.1} bits");
        bits.push((min_bits, mean_bits));
        // A multiply after bootstrapping.
        let sq = CkksDecryptor(&e)
            .decrypt(&e.mul(&out, &out).unwrap())
            .unwrap();
        let err = sq
            .iter()
            .zip(&z)
            .map(|(g, w)| (*g - *w * *w).abs())
            .fold(0.0, f64::max);
        assert!(err < 2f64.powi(-14), "square after bootstrap: {err:e}");
    }
    assert!(
        bits.iter().all(|&(min, mean)| min >= 15.0 && mean >= 20.0),
        "{bits:?}"
    );
}

/// Long tier: the training preset at N = 2^16, 2^15 slots (minutes; GBs of keys).
#[test]
#[ignore = "production size: run by hand (cargo test --release -- --ignored)"]
fn bootstrapping_at_the_training_preset() {
    let (min_bits, mean_bits, bottom_bits) = run_training_chain(&PROD_N16_TRAIN, 1 << 15, 14);
    assert!(
        min_bits >= 15.0 && mean_bits >= 18.0,
        "{min_bits:.1} / {mean_bits:.1} bits"
    );
    assert!(bottom_bits >= 14.0, "{bottom_bits:.1} bits at level 0");
}

/// Rotations report the evaluator's real error: a key that exists but
/// serves lower levels (SlotsToCoeffs-only keys) is `KeyLevel`; only a step
/// with neither its own key nor every power of two it needs is
/// `MissingRotation`.
#[test]
fn rotation_errors_name_the_real_cause() {
    let e = engine(&INSECURE_N10, 64, 6);
    let top = e.encrypt_real(&[0.25; 64], e.max_level()).unwrap();
    let ev = e.evaluator();
    let mut key_level = 0;
    for shift in 1..64usize {
        match e.rotate(&top, shift as isize) {
            Ok(_) => {}
            Err(EngineError::Eval(crate::ckks::EvalError::KeyLevel { level, max })) => {
                assert!(max < level, "shift {shift}: key up to {max}, ct at {level}");
                key_level += 1;
            }
            Err(EngineError::MissingRotation(s)) => {
                assert_eq!(s, shift);
                let bits_present = (0..6)
                    .filter(|b| shift >> b & 1 == 1)
                    .all(|b| ev.has_rotation(1 << b));
                assert!(
                    !ev.has_rotation(shift as i64) && !bits_present,
                    "shift {shift} reported missing although its keys exist"
                );
            }
            Err(other) => panic!("shift {shift}: unexpected {other}"),
        }
    }
    assert!(key_level > 0, "no SlotsToCoeffs-only key was exercised");
}
