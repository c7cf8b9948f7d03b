use super::*;
use crate::engine::{ClearConfig, ClearDecryptor, ClearEngine, Decryptor};

fn engine(levels: usize) -> ClearEngine {
    ClearEngine::new(ClearConfig::exact(64, levels)).unwrap()
}

fn inputs(a: f64, b: f64) -> Vec<f64> {
    (0..64).map(|i| a + (b - a) * i as f64 / 63.0).collect()
}

fn check(p: &Chebyshev, tol: f64) {
    let e = engine(30);
    let xs = inputs(p.a, p.b);
    let ct = e.encrypt_real(&xs, 30).unwrap();
    let out = p.eval_ct(&e, &ct).unwrap();
    let got = ClearDecryptor.decrypt_real(&out).unwrap();
    for (x, g) in xs.iter().zip(&got) {
        let want = p.eval(*x);
        assert!(
            (g - want).abs() < tol * want.abs().max(1.0),
            "deg {} x {x}: {g} vs {want}",
            p.degree()
        );
    }
    let used = 30 - e.level(&out);
    assert_eq!(used, p.depth(), "degree {} consumed levels", p.degree());
    let affine = usize::from(p.a != -1.0 || p.b != 1.0);
    let optimal = if p.degree() == 0 {
        1
    } else {
        affine + ceil_log2(p.degree() + 1)
    };
    assert_eq!(used, optimal, "degree {}: not level-optimal", p.degree());
    // One more level to spend buys a plan with no more products, landing
    // exactly where asked.
    let e2 = engine(30);
    let ct2 = e2.encrypt_real(&xs, 30).unwrap();
    let out2 = p.eval_ct_to(&e2, &ct2, 29 - used).unwrap();
    assert_eq!(e2.level(&out2), 29 - used);
    assert!(e2.counts().mult <= e.counts().mult);
    let got2 = ClearDecryptor.decrypt_real(&out2).unwrap();
    for (g, h) in got.iter().zip(&got2) {
        assert!((g - h).abs() < tol * g.abs().max(1.0));
    }
}

#[test]
fn a_larger_budget_buys_fewer_products() {
    let p = Chebyshev::interpolate(|x: f64| (9.0 * x).cos() + (2.0 * x).exp(), -1.0, 1.0, 31);
    let mults = |spare: usize| {
        let e = engine(30);
        let ct = e.encrypt_real(&inputs(-1.0, 1.0), 30).unwrap();
        p.eval_ct_to(&e, &ct, 30 - p.depth() - spare).unwrap();
        e.counts().mult
    };
    let (tight, loose) = (mults(0), mults(1));
    eprintln!(
        "degree 31: {tight} products at depth {}, {loose} with one more level",
        p.depth()
    );
    assert!(loose < tight, "{loose} vs {tight}");
}

#[test]
fn interpolation_converges_for_smooth_functions() {
    let p = Chebyshev::interpolate(f64::exp, -1.0, 1.0, 15);
    for x in inputs(-1.0, 1.0) {
        assert!((p.eval(x) - x.exp()).abs() < 1e-13);
    }
    let c = Chebyshev::interpolate(|x: f64| (6.0 * x).cos(), -2.0, 3.0, 40);
    for x in inputs(-2.0, 3.0) {
        assert!((c.eval(x) - (6.0 * x).cos()).abs() < 1e-10);
    }
}

#[test]
fn every_degree_matches_clenshaw_on_an_asymmetric_interval() {
    let mut s = 1u64;
    for degree in 0..=40 {
        let coeffs = (0..=degree)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
            })
            .collect();
        check(
            &Chebyshev {
                a: -3.0,
                b: 5.0,
                coeffs,
            },
            1e-9,
        );
    }
}

#[test]
fn zero_coefficients_and_unit_interval() {
    // An odd polynomial on [-1, 1] (no affine level) with many zero coefficients.
    let odd = Chebyshev::interpolate(|x: f64| (3.0 * x).sin(), -1.0, 1.0, 31);
    let coeffs: Vec<f64> = odd
        .coeffs
        .iter()
        .enumerate()
        .map(|(j, &c)| if j % 2 == 0 { 0.0 } else { c })
        .collect();
    check(&Chebyshev { coeffs, ..odd }, 1e-9);
    check(
        &Chebyshev {
            a: -1.0,
            b: 1.0,
            coeffs: vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
        },
        1e-9,
    );
    check(
        &Chebyshev {
            a: 0.0,
            b: 1.0,
            coeffs: vec![2.5],
        },
        1e-12,
    );
}

#[test]
fn errors_are_typed() {
    let e = engine(3);
    let ct = e.encrypt_real(&[0.5], 3).unwrap();
    let deep = Chebyshev::interpolate(f64::exp, -1.0, 2.0, 63);
    assert!(matches!(
        deep.eval_ct(&e, &ct),
        Err(CircuitError::Engine(_))
    ));
    let bad = Chebyshev {
        a: 1.0,
        b: 1.0,
        coeffs: vec![1.0],
    };
    assert_eq!(
        bad.eval_ct(&e, &ct).unwrap_err(),
        CircuitError::BadInterval { a: 1.0, b: 1.0 }
    );
    let empty = Chebyshev {
        a: 0.0,
        b: 1.0,
        coeffs: vec![],
    };
    assert_eq!(empty.eval_ct(&e, &ct).unwrap_err(), CircuitError::Empty);
}

#[test]
fn ckks_evaluation_lands_exactly_and_matches_clenshaw() {
    use crate::ckks_engine::{CkksDecryptor, CkksEngine};
    use hetal_nostd::params::presets::INSECURE_N10;
    use hetal_nostd::ring::sampling::Csprng;
    let e = CkksEngine::new(&INSECURE_N10, 64, &[], Csprng::from_entropy([11; 32])).unwrap();
    let (a, b) = (-3.0, 5.0);
    let xs = inputs(a, b);
    // Random coefficients with zeros, degree 13: the quotient and remainder
    // branches land on targets of different levels and scales.
    let coeffs: Vec<f64> = (0..14)
        .map(|j| {
            if j % 3 == 1 {
                0.0
            } else {
                ((j * 37 % 11) as f64 - 5.0) / 7.0
            }
        })
        .collect();
    let p = Chebyshev { a, b, coeffs };
    let ct = e.encrypt_real(&xs, 9).unwrap();
    let out = p.eval_ct(&e, &ct).unwrap();
    assert_eq!(9 - e.level(&out), p.depth());
    assert_eq!(e.target_of(&out).scale, e.target_of(&ct).scale);
    let got = CkksDecryptor(&e).decrypt_real(&out).unwrap();
    let err = xs
        .iter()
        .zip(&got)
        .map(|(x, g)| (g - p.eval(*x)).abs())
        .fold(0.0, f64::max);
    eprintln!(
        "degree 13 on CKKS (INSECURE-n10): max error 2^{:.1}",
        err.log2()
    );
    assert!(err < 2f64.powi(-20), "{err:e}");
}
