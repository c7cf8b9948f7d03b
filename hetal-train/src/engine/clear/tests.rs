//! ClearEngine: level and scale bookkeeping, operation counts, noise.

use super::*;

fn engine() -> ClearEngine {
    ClearEngine::new(ClearConfig::exact(8, 3)).unwrap()
}

fn ramp() -> Vec<f64> {
    (0..8).map(|j| j as f64).collect()
}

#[test]
fn bootstraps_refuse_inputs_outside_the_precise_range_by_default() {
    let e = engine();
    assert_eq!(e.bootstrap_range(), crate::engine::BOOTSTRAP_RANGE);
    let inside = e.encrypt_real(&[2.0, -2.0, 0.5], 0).unwrap();
    assert_eq!(e.level(&e.bootstrap(&inside).unwrap()), 3);
    let outside = e.encrypt_real(&[0.0, 2.01], 0).unwrap();
    assert!(matches!(
        e.bootstrap(&outside),
        Err(EngineError::BootstrapRange { .. })
    ));
    let imaginary = e.encrypt(&[Complex::new(0.0, -3.0)], 0).unwrap();
    assert!(e.bootstrap_pair(&inside, &imaginary).is_err());
    assert_eq!(
        e.counts().bootstrap,
        1,
        "refused bootstraps are not counted"
    );
}

#[test]
fn a_pair_of_bootstraps_counts_once() {
    let e = engine();
    let a = e.encrypt_real(&[0.5; 8], 0).unwrap();
    let b = e.encrypt_real(&[-0.25; 8], 1).unwrap();
    let (ra, rb) = e.bootstrap_pair(&a, &b).unwrap();
    assert_eq!((e.level(&ra), e.level(&rb)), (3, 3));
    assert_eq!(ClearDecryptor.decrypt_real(&rb).unwrap()[7], -0.25);
    assert_eq!(e.counts().bootstrap, 1);
}

#[test]
fn rotation_is_cyclic_left_and_counted() {
    let e = engine();
    let ct = e.encrypt_real(&ramp(), 3).unwrap();
    let r = ClearDecryptor
        .decrypt_real(&e.rotate(&ct, 3).unwrap())
        .unwrap();
    assert_eq!(r, vec![3.0, 4.0, 5.0, 6.0, 7.0, 0.0, 1.0, 2.0]);
    let l = ClearDecryptor
        .decrypt_real(&e.rotate(&ct, -1).unwrap())
        .unwrap();
    assert_eq!(l[0], 7.0);
    e.rotate(&ct, 8).unwrap();
    assert_eq!(e.counts().rot, 2);
    assert_eq!(e.rotations_used(), BTreeSet::from([3, 7]));
}

#[test]
fn multiplications_consume_levels_and_refuse_at_level_zero() {
    let e = ClearEngine::new(ClearConfig {
        bootstrap_bound: None,
        ..ClearConfig::exact(8, 3)
    })
    .unwrap();
    let a = e.encrypt_real(&ramp(), 2).unwrap();
    let b = e.encrypt_real(&ramp(), 3).unwrap();
    let ab = e.mul(&a, &b).unwrap();
    assert_eq!(e.level(&ab), 1);
    assert_eq!(ab.depth(), 1);
    let half = e.mul_real(&ab, 0.5).unwrap();
    assert_eq!(e.level(&half), 0);
    assert_eq!(ClearDecryptor.decrypt_real(&half).unwrap()[3], 4.5, "3·3/2");
    assert_eq!(
        e.mul(&half, &b),
        Err(EngineError::LevelExhausted {
            needed: 1,
            level: 0
        })
    );
    let twice = e.mul_const(&half, Complex::new(2.0, 0.0)).unwrap();
    let by_i = e.mul_const(&twice, Complex::I).unwrap();
    assert_eq!(e.level(&by_i), 0, "integer and i constants are free");
    assert_eq!(
        ClearDecryptor.decrypt(&by_i).unwrap()[3],
        Complex::new(0.0, 9.0)
    );
    let counts = e.counts();
    assert_eq!((counts.mult, counts.cmult), (1, 1));
    let boot = e.bootstrap(&by_i).unwrap();
    assert_eq!(e.level(&boot), 3);
    assert_eq!(e.max_bootstrap_input(), 49.0, "|7·7·i|");
    assert_eq!(e.counts().bootstrap, 1);
}

#[test]
fn lazy_products_add_before_one_rescale() {
    let e = engine();
    let a = e.encrypt_real(&ramp(), 3).unwrap();
    let p = e.mul_lazy(&a, &a).unwrap();
    let q = e
        .mul_plain_lazy(&a, &crate::engine::to_complex(&ramp()))
        .unwrap();
    let s = e.add(&p, &q).unwrap();
    assert_eq!(e.add(&s, &a), Err(EngineError::ScaleMismatch));
    assert_eq!(e.mul(&s, &a), Err(EngineError::NeedsRescale));
    let r = e.rescale(&s).unwrap();
    assert_eq!(e.level(&r), 2);
    assert_eq!(e.rescale(&r), Err(EngineError::NothingToRescale));
    assert_eq!(ClearDecryptor.decrypt_real(&r).unwrap()[5], 50.0);
}

#[test]
fn bad_inputs_are_typed_errors() {
    let e = engine();
    assert!(matches!(
        e.encrypt_real(&[0.0; 9], 0),
        Err(EngineError::SizeMismatch { len: 9, slots: 8 })
    ));
    assert!(matches!(
        e.encrypt_real(&[0.0; 8], 4),
        Err(EngineError::InvalidLevel {
            requested: 4,
            max: 3
        })
    ));
    let a = e.encrypt_real(&ramp(), 1).unwrap();
    assert!(e.mul_plain_real(&a, &[1.0; 4]).is_err());
    assert!(e.drop_level(&a, 2).is_err());
    assert_eq!(e.level(&e.drop_level(&a, 0).unwrap()), 0);
    assert!(ClearEngine::new(ClearConfig::exact(12, 3)).is_err());
    let mut cfg = ClearConfig::exact(8, 3);
    cfg.rotation_keys = Some(BTreeSet::from([1]));
    let limited = ClearEngine::new(cfg).unwrap();
    let c = limited.encrypt_real(&ramp(), 1).unwrap();
    assert!(limited.rotate(&c, 1).is_ok());
    assert_eq!(limited.rotate(&c, 2), Err(EngineError::MissingRotation(2)));
    let wide = ClearEngine::new(ClearConfig::exact(16, 3)).unwrap();
    let foreign = wide.encrypt_real(&[1.0; 16], 1).unwrap();
    assert!(matches!(
        e.rotate(&foreign, 1),
        Err(EngineError::SizeMismatch { .. })
    ));
    assert!(matches!(
        e.add(&a, &foreign),
        Err(EngineError::SizeMismatch { .. })
    ));
}

#[test]
fn noise_is_ckks_sized_and_seeded() {
    let mut cfg = ClearConfig::exact(1024, 3);
    cfg.noise = Some(NoiseConfig::ckks_like(11));
    let noisy = |cfg: &ClearConfig| {
        let e = ClearEngine::new(cfg.clone()).unwrap();
        let ct = e.encrypt_real(&vec![0.5; 1024], 3).unwrap();
        let out = e.bootstrap(&e.mul(&ct, &ct).unwrap()).unwrap();
        ClearDecryptor.decrypt_real(&out).unwrap()
    };
    let first = noisy(&cfg);
    assert_eq!(first, noisy(&cfg), "same seed, same noise");
    let max_err = first.iter().map(|v| (v - 0.25).abs()).fold(0.0, f64::max);
    assert!(max_err > 0.0 && max_err < 2f64.powi(-16), "error {max_err}");
}
