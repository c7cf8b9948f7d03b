//! Encryption → decryption precision at every preset, streaming vs owned
//! encryption, and parameter mismatches.

mod common;

use common::*;
use hetal_nostd::decrypt::{decrypt, DecryptError};
use hetal_nostd::encoding::Complex;
use hetal_nostd::encrypt::{encrypt, EncryptError, EncryptionKey, LimbSource, PublicKeyView, C1};
use hetal_nostd::params::presets;
use hetal_nostd::ring::sampling::{Csprng, GAUSSIAN_SIGMA};

/// Expected max slot error (real or imaginary part) for a fresh ciphertext:
/// coefficient noise of standard deviation `sigma_c` gives each slot
/// component a standard deviation sigma_c·sqrt(N/2); the maximum of N such
/// Gaussian values is about sqrt(2 ln N) standard deviations.
fn predicted_max_error(sigma_c: f64, n: usize, scale: f64) -> f64 {
    sigma_c * (n as f64 / 2.0).sqrt() * (2.0 * (n as f64).ln()).sqrt() / scale
}

fn sk_noise_sigma() -> f64 {
    GAUSSIAN_SIGMA
}

/// v·e + e0 + e1·s with v, s uniform ternary (variance 2/3 per coefficient).
fn pk_noise_sigma(n: usize) -> f64 {
    GAUSSIAN_SIGMA * (1.0 + 4.0 * n as f64 / 3.0).sqrt()
}

fn check_preset(lit: &hetal_nostd::params::ParamsLiteral<'_>, bounds: Option<(f64, f64)>) {
    let mut s = setup(lit, 11);
    let params = s.ctx.params().clone();
    let n = params.n();
    let slots = params.max_slots();
    let values = unit_values(slots, 5);
    for level in [params.user_top_level(), params.max_level()] {
        for public in [false, true] {
            let ct = if public {
                encrypt(&s.ctx, &s.pk, &values, slots, level, &mut s.rng).unwrap()
            } else {
                encrypt(&s.ctx, &s.sk, &values, slots, level, &mut s.rng).unwrap()
            };
            assert_eq!(ct.level, level);
            assert_eq!(matches!(ct.c1, C1::Seeded(_)), !public);
            let out = decrypt(&s.ctx, &s.sk, &ct).unwrap();
            let max = max_error(&out, &values);
            let mean = mean_error(&out, &values);
            let sigma = if public {
                pk_noise_sigma(n)
            } else {
                sk_noise_sigma()
            };
            let predicted = predicted_max_error(sigma, n, params.scale());
            eprintln!(
                "{} level {level} {}-key: max error 2^{:.2} (predicted 2^{:.2}), mean 2^{:.2}",
                params.name(),
                if public { "public" } else { "secret" },
                max.log2(),
                predicted.log2(),
                mean.log2()
            );
            assert!(
                max < 4.0 * predicted,
                "more than 2 bits worse than predicted"
            );
            assert!(
                max > predicted / 16.0,
                "suspiciously precise: is noise sampled?"
            );
            if let Some((sk_bound, pk_bound)) = bounds {
                assert!(max < if public { pk_bound } else { sk_bound });
            }
        }
    }
}

#[test]
fn production_n16_precision() {
    // The bounds: below 2^-26 (secret key) and 2^-18 (public key).
    check_preset(&presets::PROD_N16, Some((2f64.powi(-26), 2f64.powi(-18))));
}

#[test]
fn insecure_presets_precision() {
    for lit in [
        presets::INSECURE_N10,
        presets::INSECURE_N11,
        presets::INSECURE_N12,
        presets::INSECURE_N13,
    ] {
        check_preset(&lit, None);
    }
}

#[test]
fn sparse_slots_and_real_vectors() {
    let mut s = setup(&presets::INSECURE_N12, 3);
    for slots in [1usize, 8, 64, 1024, 2048] {
        let values: Vec<Complex> = unit_values(slots, slots as u64)
            .iter()
            .map(|c| Complex::real(c.re))
            .collect();
        let ct = encrypt(&s.ctx, &s.pk, &values, slots, 3, &mut s.rng).unwrap();
        let out = decrypt(&s.ctx, &s.sk, &ct).unwrap();
        assert_eq!(out.len(), slots);
        assert!(max_error(&out, &values) < 1e-4, "slots {slots}");
    }
    // Fewer values than slots: the rest decrypt to zero.
    let ct = encrypt(&s.ctx, &s.sk, &[Complex::real(0.5)], 16, 0, &mut s.rng).unwrap();
    let out = decrypt(&s.ctx, &s.sk, &ct).unwrap();
    assert!((out[0].re - 0.5).abs() < 1e-6);
    assert!(out[1..].iter().all(|c| c.abs() < 1e-6));
}

fn stream_limbs(
    s: &Setup,
    key: EncryptionKey<'_>,
    values: &[Complex],
    slots: usize,
    level: usize,
    seed: u8,
) -> (Vec<Vec<u64>>, Vec<Vec<u64>>) {
    let params = s.ctx.params();
    let mut bufs = StreamBuffers::new(params, slots);
    let mut rng = Csprng::from_entropy([seed; 32]);
    let mut enc = bufs.encryptor(params, key, values, level, &mut rng);
    let (mut c0, mut c1) = (Vec::new(), Vec::new());
    while let Some(limb) = enc.next_limb() {
        let limb = limb.unwrap();
        c0.push(limb.c0.to_vec());
        if let Some(l) = limb.c1 {
            c1.push(l.to_vec());
        }
    }
    drop(enc);
    assert!(
        bufs.small.iter().all(|&x| x == 0),
        "secret randomness must be wiped"
    );
    assert!(bufs.work.iter().all(|&x| x == 0));
    (c0, c1)
}

#[test]
fn streaming_and_owned_paths_are_identical() {
    let s = setup(&presets::INSECURE_N11, 21);
    let params = s.ctx.params();
    let slots = params.max_slots();
    let values = unit_values(slots, 9);
    let level = params.user_top_level();
    let pk_view = EncryptionKey::Public(PublicKeyView {
        digest: &s.pk.digest,
        seed: &s.pk.seed,
        b: LimbSource::Words(s.pk.b.data()),
    });
    let (c0, c1) = stream_limbs(&s, pk_view, &values, slots, level, 42);
    let ct = encrypt(
        &s.ctx,
        &s.pk,
        &values,
        slots,
        level,
        &mut Csprng::from_entropy([42; 32]),
    )
    .unwrap();
    assert_eq!(c0.concat(), ct.c0.data());
    match &ct.c1 {
        C1::Full(p) => assert_eq!(c1.concat(), p.data()),
        C1::Seeded(_) => panic!("public-key ciphertexts carry c1"),
    }
    let sk_key = EncryptionKey::Secret {
        digest: s.sk.digest(),
        coeffs: s.sk.coeffs(),
    };
    let (c0, c1) = stream_limbs(&s, sk_key, &values, slots, level, 43);
    assert!(c1.is_empty());
    let ct = encrypt(
        &s.ctx,
        &s.sk,
        &values,
        slots,
        level,
        &mut Csprng::from_entropy([43; 32]),
    )
    .unwrap();
    assert_eq!(c0.concat(), ct.c0.data());
}

#[test]
fn mismatched_parameters_are_errors() {
    let mut a = setup(&presets::INSECURE_N10, 1);
    let b = setup(&presets::INSECURE_N11, 2);
    let values = unit_values(4, 1);
    let err = encrypt(&a.ctx, &b.pk, &values, 4, 0, &mut a.rng).unwrap_err();
    assert_eq!(err, EncryptError::WrongParams);
    let ct = encrypt(&a.ctx, &a.sk, &values, 4, 0, &mut a.rng).unwrap();
    assert_eq!(
        decrypt(&b.ctx, &b.sk, &ct).unwrap_err(),
        DecryptError::WrongParams
    );
    let top = a.ctx.params().max_level();
    assert!(matches!(
        encrypt(&a.ctx, &a.sk, &values, 4, top + 1, &mut a.rng),
        Err(EncryptError::LevelOutOfRange { .. })
    ));
    let low_pk = a.pk.at_level(2).unwrap();
    assert!(matches!(
        encrypt(&a.ctx, &low_pk, &values, 4, 3, &mut a.rng),
        Err(EncryptError::LevelOutOfRange { level: 3, max: 2 })
    ));
    assert!(encrypt(&a.ctx, &low_pk, &values, 4, 2, &mut a.rng).is_ok());
    assert!(matches!(
        encrypt(&a.ctx, &a.sk, &values, 3, 0, &mut a.rng),
        Err(EncryptError::Encode(_))
    ));
}
