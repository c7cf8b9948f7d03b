//! CkksEngine against ClearEngine and its typed errors.

use super::*;
use crate::engine::{ClearConfig, ClearDecryptor, ClearEngine, Coefficient};
use crate::linalg::tests::random_matrix;
use crate::linalg::{
    decrypt_matrix, diag_abt, diag_atb, diag_atb_scaled, encrypt_matrix, padded_classes,
    AtbSchedule, Layout, Matrix, TileShape,
};
use hetal_nostd::params::presets::{INSECURE_N10, INSECURE_N11};

#[test]
fn diag_products_match_the_clear_engine() {
    let slots = 64;
    let ckks = CkksEngine::new(&INSECURE_N10, slots, &[], Csprng::from_entropy([3; 32])).unwrap();
    let clear = ClearEngine::new(ClearConfig::exact(slots, ckks.max_level())).unwrap();
    let (a, b, c) = (8, 8, 4);
    let p = padded_classes(c);
    let shape = TileShape::for_batch(a, p, slots).unwrap();
    let (x, w, d) = (
        random_matrix(a, b, 1),
        random_matrix(c, b, 2),
        random_matrix(a, c, 3),
    );
    let top = 12;
    let vertical = Layout::Vertical { period: p };
    let horizontal = Layout::Horizontal { period: p };
    // DiagABT.
    let got = {
        let xe = encrypt_matrix(&ckks, &x, shape, Layout::Plain, top).unwrap();
        let we = encrypt_matrix(&ckks, &w, shape, vertical, top).unwrap();
        let out = diag_abt(&ckks, &xe, &we).unwrap();
        assert_eq!(ckks.level(&out.tiles()[0]), 9);
        decrypt_matrix(&CkksDecryptor(&ckks), &out).unwrap()
    };
    let want = {
        let xe = encrypt_matrix(&clear, &x, shape, Layout::Plain, top).unwrap();
        let we = encrypt_matrix(&clear, &w, shape, vertical, top).unwrap();
        decrypt_matrix(&ClearDecryptor, &diag_abt(&clear, &xe, &we).unwrap()).unwrap()
    };
    let err = got.max_abs_diff(&want).unwrap();
    eprintln!("DiagABT on CkksEngine (INSECURE-n10): max error {err:.2e}");
    assert!(err < 1e-6, "DiagABT: {err}");
    // DiagATB.
    let got = {
        let de = encrypt_matrix(&ckks, &d, shape, horizontal, top).unwrap();
        let xe = encrypt_matrix(&ckks, &x, shape, Layout::Plain, top).unwrap();
        decrypt_matrix(&CkksDecryptor(&ckks), &diag_atb(&ckks, &de, &xe).unwrap()).unwrap()
    };
    let err = got.max_abs_diff(&d.t_mul(&x).unwrap()).unwrap();
    eprintln!("DiagATB on CkksEngine (INSECURE-n10): max error {err:.2e}");
    assert!(err < 1e-6, "DiagATB: {err}");
}

/// The trainer's gradient lands on the weights' target, whatever its scale:
/// the update then subtracts at equal levels and scales, with no alignment
/// (an equal level with another scale would be a `ScaleMismatch`).
#[test]
fn diag_atb_lands_exactly_on_a_given_target() {
    let slots = 64;
    let ckks = CkksEngine::new(&INSECURE_N10, slots, &[], Csprng::from_entropy([4; 32])).unwrap();
    let (a, b, c) = (8, 8, 4);
    let p = padded_classes(c);
    let shape = TileShape::for_batch(a, p, slots).unwrap();
    let (x, d) = (random_matrix(a, b, 5), random_matrix(a, c, 6));
    let de = encrypt_matrix(&ckks, &d, shape, Layout::Horizontal { period: p }, 8).unwrap();
    let xe = encrypt_matrix(&ckks, &x, shape, Layout::Plain, 8).unwrap();
    let w = ckks.encrypt_real(&[0.0; 64], 9).unwrap();
    let target = CkksTarget {
        level: 4,
        scale: ckks.target_of(&w).scale * (1.0 + 3e-3),
    };
    let exact = d.t_mul(&x).unwrap();
    let want = Matrix::from_fn(exact.rows(), exact.cols(), |r, c| 0.5 * exact.row(r)[c]);
    let mut g = None;
    for schedule in [AtbSchedule::Shared, AtbSchedule::MasksFirst] {
        let got = diag_atb_scaled(&ckks, &de, &xe, 0.5, schedule, Some(target)).unwrap();
        for tile in got.tiles() {
            let t = ckks.target_of(tile);
            assert_eq!((t.level, t.scale), (target.level, target.scale));
        }
        let err = decrypt_matrix(&CkksDecryptor(&ckks), &got)
            .unwrap()
            .max_abs_diff(&want)
            .unwrap();
        assert!(err < 1e-6, "DiagATB landed ({schedule:?}): {err}");
        g = Some(got);
    }
    // MasksFirst's masks are released when it returns.
    assert_eq!(ckks.plain_cache_bytes(), 0);
    let g = g.unwrap();
    let on_target = ckks
        .linear_combination(
            &[(&w, Coefficient::Const(Complex::real(1.0)))],
            Complex::default(),
            target,
        )
        .unwrap();
    ckks.sub(&on_target, &g.tiles()[0]).unwrap();
}

/// Packed columns on CKKS: three column tiles (a pair and a lone one), `X`
/// a level below `D`, the real and imaginary halves separated onto a
/// target one level below the row sums.
#[test]
fn packed_columns_atb_lands_on_a_target() {
    let slots = 64;
    let ckks = CkksEngine::new(&INSECURE_N10, slots, &[], Csprng::from_entropy([5; 32])).unwrap();
    let (a, b, c) = (8, 20, 4);
    let p = padded_classes(c);
    let shape = TileShape::for_batch(a, p, slots).unwrap();
    let (x, d) = (random_matrix(a, b, 7), random_matrix(a, c, 8));
    let de = encrypt_matrix(&ckks, &d, shape, Layout::Horizontal { period: p }, 8).unwrap();
    let xe = encrypt_matrix(&ckks, &x, shape, Layout::Plain, 7).unwrap();
    assert_eq!(xe.col_tiles(), 3);
    let w = ckks.encrypt_real(&[0.0; 64], 9).unwrap();
    let target = CkksTarget {
        level: 5,
        scale: ckks.target_of(&w).scale * (1.0 - 2e-3),
    };
    let got = diag_atb_scaled(
        &ckks,
        &de,
        &xe,
        -0.5,
        AtbSchedule::PackedColumns,
        Some(target),
    )
    .unwrap();
    for tile in got.tiles() {
        let t = ckks.target_of(tile);
        assert_eq!((t.level, t.scale), (target.level, target.scale));
    }
    let exact = d.t_mul(&x).unwrap();
    let want = Matrix::from_fn(exact.rows(), exact.cols(), |r, c| -0.5 * exact.row(r)[c]);
    let err = decrypt_matrix(&CkksDecryptor(&ckks), &got)
        .unwrap()
        .max_abs_diff(&want)
        .unwrap();
    assert!(err < 1e-6, "packed columns: {err}");
    assert_eq!(ckks.plain_cache_bytes(), 0);
    // A target the row sums do not reach is refused.
    let high = CkksTarget { level: 6, ..target };
    assert!(diag_atb_scaled(
        &ckks,
        &de,
        &xe,
        -0.5,
        AtbSchedule::PackedColumns,
        Some(high)
    )
    .is_err());
}

#[test]
fn nearly_equal_scales_are_aligned_exactly() {
    let e = CkksEngine::new(&INSECURE_N10, 64, &[], Csprng::from_entropy([9; 32])).unwrap();
    let vals: Vec<f64> = (0..64).map(|i| (i as f64 * 0.3).sin()).collect();
    let x = e.encrypt_real(&vals, 6).unwrap();
    let one = |a: &CkksCt, level: usize, scale: f64| {
        e.linear_combination(
            &[(a, Coefficient::Const(Complex::real(1.0)))],
            Complex::default(),
            CkksTarget { level, scale },
        )
        .unwrap()
    };
    let hi = one(&x, 5, 2f64.powi(55));
    // Within the tolerance of equal-level additions, but not equal.
    let lo = one(&hi, 3, 2f64.powi(55) * (1.0 + 4e-10));
    let sum = CkksDecryptor(&e)
        .decrypt_real(&e.add(&hi, &lo).unwrap())
        .unwrap();
    let want = CkksDecryptor(&e).decrypt_real(&hi).unwrap();
    let err = sum
        .iter()
        .zip(&want)
        .map(|(s, w)| (s - 2.0 * w).abs())
        .fold(0.0, f64::max);
    assert!(err < 2f64.powi(-40), "error 2^{:.1}", err.log2());
}

#[test]
fn bootstrap_and_level_errors_are_typed() {
    let ckks = CkksEngine::new(&INSECURE_N10, 16, &[], Csprng::from_entropy([4; 32])).unwrap();
    let ct = ckks.encrypt_real(&[0.5; 16], 0).unwrap();
    assert!(matches!(
        ckks.bootstrap(&ct),
        Err(EngineError::Unavailable(_))
    ));
    assert_eq!(
        ckks.mul_real(&ct, 0.3).unwrap_err(),
        EngineError::LevelExhausted {
            needed: 1,
            level: 0
        }
    );
    let up = ckks.encrypt_real(&[0.5; 16], 3).unwrap();
    let lazy = ckks.mul_lazy(&up, &up).unwrap();
    assert_eq!(
        ckks.add(&lazy, &up).unwrap_err(),
        EngineError::ScaleMismatch
    );
    assert_eq!(
        ckks.mul_lazy(&lazy, &up).unwrap_err(),
        EngineError::NeedsRescale
    );
    let sq = ckks.rescale(&lazy).unwrap();
    let v = CkksDecryptor(&ckks).decrypt_real(&sq).unwrap();
    assert!(v.iter().all(|x| (x - 0.25).abs() < 1e-6));
    let r = ckks
        .rotate(
            &ckks
                .encrypt_real(&(0..16).map(|i| i as f64 / 16.0).collect::<Vec<_>>(), 3)
                .unwrap(),
            5,
        )
        .unwrap();
    let v = CkksDecryptor(&ckks).decrypt_real(&r).unwrap();
    assert!((v[0] - 5.0 / 16.0).abs() < 1e-6 && (v[15] - 4.0 / 16.0).abs() < 1e-6);
}

/// A rotation composed from powers of two reports the evaluator's error
/// (here: a ciphertext of another parameter set), not a missing key.
#[test]
fn composed_rotations_report_the_evaluator_error() {
    let a = CkksEngine::new(&INSECURE_N10, 16, &[], Csprng::from_entropy([5; 32])).unwrap();
    let b = CkksEngine::new(&INSECURE_N11, 16, &[], Csprng::from_entropy([6; 32])).unwrap();
    let foreign = b.encrypt_real(&[0.5; 16], 3).unwrap();
    assert!(!a.evaluator().has_rotation(3));
    assert_eq!(
        a.rotate(&foreign, 3).unwrap_err(),
        EngineError::Eval(EvalError::ParamsMismatch)
    );
    // The same composed rotation of one of its own ciphertexts works.
    let own = a.encrypt_real(&[0.5; 16], 3).unwrap();
    assert!(a.rotate(&own, 3).is_ok());
}

#[test]
fn key_sizes_are_known_before_the_keys_exist() {
    let steps = [3i64, 5, -7, 96];
    let config = BootstrapConfig::for_chain(&INSECURE_N10);
    let predicted = evaluation_key_sizes(&INSECURE_N10, 512, &steps, &config).unwrap();
    let engine = CkksEngine::bootstrappable(
        &INSECURE_N10,
        512,
        &steps,
        &config,
        Csprng::from_entropy([5; 32]),
    )
    .unwrap();
    let (made, _) = engine.bootstrap_key_info().unwrap();
    assert_eq!(predicted.count, made.count);
    assert_eq!(predicted.expanded, made.expanded);
    // Frames add a header of a few dozen bytes each to the packed data.
    assert!(predicted.seeded <= made.seeded);
    assert!(
        made.seeded - predicted.seeded <= 128 * made.count,
        "{predicted:?} vs {made:?}"
    );
}

/// A sum of rotations adds the terms it can share one ModDown for (equal
/// level and scale, a key for the amount) and rotates the others one by
/// one; either way it decrypts to the rotations added, with one Rot each.
#[test]
fn a_sum_of_rotations_mixes_shared_and_single_rotations() {
    use crate::engine::Decryptor;
    let slots = 64;
    let ckks = CkksEngine::new(&INSECURE_N10, slots, &[], Csprng::from_entropy([5; 32])).unwrap();
    let values = |seed: usize| -> Vec<Complex> {
        (0..slots)
            .map(|j| Complex::new(((j * 7 + seed) % 11) as f64 / 11.0 - 0.5, 0.1))
            .collect()
    };
    let top = ckks.max_level();
    let xs: Vec<Vec<Complex>> = (0..4).map(values).collect();
    let cts = [
        ckks.encrypt(&xs[0], top).unwrap(),
        ckks.encrypt(&xs[1], top).unwrap(),
        // No key for 3 (composed of 1 and 2), another level: one by one.
        ckks.encrypt(&xs[2], top).unwrap(),
        ckks.encrypt(&xs[3], top - 1).unwrap(),
    ];
    let steps = [1isize, -4, 3, 2];
    let sum = ckks
        .add_rotations(cts.iter().cloned().zip(steps).map(Ok))
        .unwrap();
    let got = CkksDecryptor(&ckks).decrypt(&sum).unwrap();
    for (j, g) in got.iter().enumerate() {
        let want = xs
            .iter()
            .zip(steps)
            .fold(Complex::default(), |acc, (x, k)| {
                acc + x[(j as isize + k).rem_euclid(slots as isize) as usize]
            });
        assert!((*g - want).abs() < 1e-6, "slot {j}: {g:?} vs {want:?}");
    }
    assert_eq!(ckks.level(&sum), top - 1);
    assert!(matches!(
        ckks.add_rotations(std::iter::empty()),
        Err(EngineError::NoTerms)
    ));
}
