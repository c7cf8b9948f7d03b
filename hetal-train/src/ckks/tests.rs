//! Evaluator operations against decryption of the same operations in the clear.

use super::*;
use crate::reproducible::Xorshift;
use hetal_nostd::decrypt::decrypt;
use hetal_nostd::encoding::Complex;
use hetal_nostd::encrypt::encrypt;
use hetal_nostd::evk::{relin_key, rotation_key};
use hetal_nostd::keys::SecretKey;
use hetal_nostd::params::{presets, ParamsLiteral};
use hetal_nostd::ring::sampling::Csprng;

mod products;

struct Setup {
    ctx: Arc<Context>,
    sk: SecretKey,
    ev: Evaluator,
    rng: std::sync::Mutex<Csprng>,
}

fn setup(lit: &ParamsLiteral<'_>, steps: &[i64], conj: bool, seed: u8) -> Setup {
    let ctx = Arc::new(Context::new(lit.build().unwrap()).unwrap());
    let mut rng = Csprng::from_entropy([seed; 32]);
    let sk = SecretKey::generate(&ctx, &mut rng);
    let keys = EvaluationKeys::generate(&ctx, &sk, steps, conj, &mut rng);
    let ev = Evaluator::new(ctx.clone(), keys).unwrap();
    Setup {
        ctx,
        sk,
        ev,
        rng: std::sync::Mutex::new(rng),
    }
}

impl Setup {
    fn enc(&self, v: &[Complex], level: usize) -> Ciphertext {
        let slots = v.len();
        let mut rng = self.rng.lock().unwrap();
        encrypt(&self.ctx, &self.sk, v, slots, level, &mut rng).unwrap()
    }
    fn dec(&self, ct: &Ciphertext) -> Vec<Complex> {
        decrypt(&self.ctx, &self.sk, ct).unwrap()
    }
}

fn values(count: usize, seed: u64) -> Vec<Complex> {
    let mut rng = Xorshift::new(seed);
    (0..count)
        .map(|_| Complex::new(rng.symmetric(), rng.symmetric()))
        .collect()
}

fn max_err(a: &[Complex], b: &[Complex]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x - *y).abs())
        .fold(0.0, f64::max)
}

fn bits(err: f64) -> f64 {
    -err.log2()
}

fn rot(v: &[Complex], k: i64) -> Vec<Complex> {
    let n = v.len() as i64;
    (0..n).map(|j| v[(j + k).rem_euclid(n) as usize]).collect()
}

const N10: &ParamsLiteral<'static> = &presets::INSECURE_N10;
const N12: &ParamsLiteral<'static> = &presets::INSECURE_N12;

#[test]
fn additions_and_constants_match_clear_ops() {
    let s = setup(N10, &[], false, 1);
    let (x, y) = (values(512, 1), values(512, 2));
    let (cx, cy) = (s.enc(&x, 5), s.enc(&y, 5));
    let k = Complex::new(0.3, -0.7);
    let cases: Vec<(Ciphertext, Vec<Complex>)> = vec![
        (
            s.ev.add(&cx, &cy).unwrap(),
            x.iter().zip(&y).map(|(a, b)| *a + *b).collect(),
        ),
        (
            s.ev.sub(&cx, &cy).unwrap(),
            x.iter().zip(&y).map(|(a, b)| *a - *b).collect(),
        ),
        (
            s.ev.neg(&cx).unwrap(),
            x.iter().map(|a| a.scale(-1.0)).collect(),
        ),
        (
            s.ev.add_plain(&cx, &y).unwrap(),
            x.iter().zip(&y).map(|(a, b)| *a + *b).collect(),
        ),
        (
            s.ev.sub_plain(&cx, &y).unwrap(),
            x.iter().zip(&y).map(|(a, b)| *a - *b).collect(),
        ),
        (
            s.ev.add_const(&cx, k).unwrap(),
            x.iter().map(|a| *a + k).collect(),
        ),
        (
            s.ev.mul_i(&cx).unwrap(),
            x.iter().map(|a| *a * Complex::new(0.0, 1.0)).collect(),
        ),
        (
            s.ev.mul_gaussian_int(&cx, 2, -3).unwrap(),
            x.iter().map(|a| *a * Complex::new(2.0, -3.0)).collect(),
        ),
    ];
    for (i, (ct, want)) in cases.iter().enumerate() {
        let err = max_err(&s.dec(ct), want);
        assert!(err < 1e-6, "case {i}: error {err}");
    }
}

#[test]
fn products_rescale_with_exact_scales() {
    let s = setup(N10, &[], false, 2);
    let (x, y) = (values(512, 3), values(512, 4));
    let (cx, cy) = (s.enc(&x, 6), s.enc(&y, 6));
    let k = Complex::new(-0.8, 0.45);
    let prod: Vec<Complex> = x.iter().zip(&y).map(|(a, b)| *a * *b).collect();
    let by_k: Vec<Complex> = x.iter().map(|a| *a * k).collect();
    let q6 = s.ctx.modulus(6).value() as f64;
    // ct × ct + relin + rescale.
    let m = s.ev.rescale(&s.ev.mul(&cx, &cy).unwrap()).unwrap();
    assert_eq!(m.level, 5);
    assert_eq!(m.scale, cx.scale * cy.scale / q6);
    let e = max_err(&s.dec(&m), &prod);
    assert!(e < 1e-6, "mul error {e}");
    // The fused form: same level and scale, same values.
    let fused = s.ev.mul_rescale(&cx, &cy).unwrap();
    assert_eq!(fused, m);
    assert_eq!(
        s.ev.mul_rescale(&s.enc(&x, 0), &s.enc(&y, 0)),
        Err(EvalError::LevelExhausted(0))
    );
    // Plaintext and constant products restore the scale exactly.
    let mp = s.ev.rescale(&s.ev.mul_plain(&cx, &y).unwrap()).unwrap();
    assert_eq!(mp.scale, cx.scale);
    assert!(max_err(&s.dec(&mp), &prod) < 1e-6);
    let mc = s.ev.rescale(&s.ev.mul_const(&cx, k).unwrap()).unwrap();
    assert_eq!(mc.scale, cx.scale);
    assert!(max_err(&s.dec(&mc), &by_k) < 1e-6);
    // Level drop keeps values and scale.
    let d = s.ev.drop_level(&cx, 2).unwrap();
    assert_eq!((d.level, d.scale), (2, cx.scale));
    assert!(max_err(&s.dec(&d), &x) < 1e-6);
    assert!(s.ev.drop_level(&d, 3).is_err());
    // Adding the product (other scale, lower level) to a fresh ciphertext at
    // a higher level aligns the fresh one automatically.
    let sum = s.ev.add(&cx, &m).unwrap();
    assert_eq!(sum.level, 5);
    let want: Vec<Complex> = x.iter().zip(&prod).map(|(a, b)| *a + *b).collect();
    assert!(max_err(&s.dec(&sum), &want) < 1e-6);
    // Same level, different scales: a clear error.
    let unscaled = s.ev.mul(&cx, &cy).unwrap();
    assert!(matches!(
        s.ev.add(&unscaled, &cx),
        Err(EvalError::ScaleMismatch(..))
    ));
    // Level 0 cannot be rescaled.
    let bottom = s.enc(&x, 0);
    assert_eq!(s.ev.rescale(&bottom), Err(EvalError::LevelExhausted(0)));
}

#[test]
fn rotations_at_several_levels_and_inverse() {
    let steps = [1, -1, 3, -3, 7, 100, -100];
    let s = setup(N12, &steps, true, 3);
    let slots = 2048;
    let x = values(slots, 5);
    for level in [0, 4, 12, 26] {
        let cx = s.enc(&x, level);
        for &k in &[1i64, 3, 7, 100, -100] {
            let r = s.ev.rotate(&cx, k).unwrap();
            let e = max_err(&s.dec(&r), &rot(&x, k));
            assert!(e < 1e-5, "level {level} step {k}: error {e}");
        }
        let back = s.ev.rotate(&s.ev.rotate(&cx, 3).unwrap(), -3).unwrap();
        assert!(max_err(&s.dec(&back), &x) < 1e-5);
        let c = s.ev.conjugate(&cx).unwrap();
        let want: Vec<Complex> = x.iter().map(|z| z.conj()).collect();
        assert!(max_err(&s.dec(&c), &want) < 1e-5);
    }
    assert_eq!(
        s.ev.rotate(&s.enc(&x, 3), 5),
        Err(EvalError::MissingRotationKey(5))
    );
    // Rotation by the slot count is the identity and needs no key.
    let cx = s.enc(&x, 3);
    assert!(max_err(&s.dec(&s.ev.rotate(&cx, slots as i64).unwrap()), &x) < 1e-6);
}

#[test]
fn sparse_slots_rotate_cyclically() {
    let s = setup(N10, &[5, -1], false, 4);
    let x = values(64, 6);
    let cx = s.enc(&x, 3);
    // A key for 5 also serves 5 + 64 and 5 − 64; a key for −1 serves 63.
    for k in [5, 69, -59, -1, 63] {
        let r = s.ev.rotate(&cx, k).unwrap();
        assert!(max_err(&s.dec(&r), &rot(&x, k)) < 1e-6, "step {k}");
    }
}

#[test]
fn hoisted_rotations_equal_plain_ones() {
    let steps = [1, 2, 4, 8, -5, 33];
    let s = setup(N12, &steps, false, 5);
    let x = values(2048, 7);
    let cx = s.enc(&x, 9);
    let hoisted = s.ev.rotate_hoisted(&cx, &[0, 1, 2, 4, 8, -5, 33]).unwrap();
    for (h, k) in hoisted.iter().zip([0, 1, 2, 4, 8, -5, 33]) {
        let plain = s.ev.rotate(&cx, k).unwrap();
        assert_eq!(h, &plain, "step {k}");
        assert!(max_err(&s.dec(h), &rot(&x, k)) < 1e-5);
    }
    assert_eq!(
        s.ev.rotate_hoisted(&cx, &[1, 3]),
        Err(EvalError::MissingRotationKey(3))
    );
    // Rotate-and-sum over 8 slots.
    let rs = s.ev.rotate_sum(&cx, 8).unwrap();
    let want: Vec<Complex> = (0..2048)
        .map(|j| (0..8).fold(Complex::default(), |acc, i| acc + x[(j + i) % 2048]))
        .collect();
    assert!(max_err(&s.dec(&rs), &want) < 1e-5);
}

/// A sum of rotations with one ModDown decrypts to the rotations added one
/// by one (to the noise of a rotation), at the top and at a low level,
/// with a term that does not move, and refuses terms it cannot add.
#[test]
fn a_sum_of_rotations_decrypts_to_the_rotations_added() {
    let steps = [1, 4, -5];
    let s = setup(N12, &steps, false, 6);
    let (x, y, z) = (values(2048, 8), values(2048, 9), values(2048, 10));
    for level in [9, 2] {
        let (cx, cy, cz) = (s.enc(&x, level), s.enc(&y, level), s.enc(&z, level));
        let terms = [(&cx, 1), (&cy, -5), (&cz, 0), (&cx, 4)];
        let lazy = s.ev.sum_rotations(&terms).unwrap();
        assert_eq!((lazy.level, lazy.scale), (cx.level, cx.scale));
        let mut eager = s.ev.rotate(&cx, 1).unwrap();
        for &(a, k) in &terms[1..] {
            eager = s.ev.add(&eager, &s.ev.rotate(a, k).unwrap()).unwrap();
        }
        let want: Vec<Complex> = (0..2048)
            .map(|j| rot(&x, 1)[j] + rot(&y, -5)[j] + z[j] + rot(&x, 4)[j])
            .collect();
        let (got, plain) = (s.dec(&lazy), s.dec(&eager));
        assert!(max_err(&got, &want) < 1e-5, "level {level}");
        assert!(max_err(&got, &plain) < 1e-5, "level {level}");
        assert_ne!(lazy, eager, "one rounding, not four");
    }
    let (top, low) = (s.enc(&x, 9), s.enc(&x, 8));
    assert!(matches!(
        s.ev.sum_rotations(&[]),
        Err(EvalError::Malformed(_))
    ));
    assert_eq!(
        s.ev.sum_rotations(&[(&top, 1), (&low, 1)]),
        Err(EvalError::LevelMismatch(8, 9))
    );
    assert_eq!(
        s.ev.sum_rotations(&[(&top, 1), (&top, 3)]),
        Err(EvalError::MissingRotationKey(3))
    );
    let mut sum = s.ev.rotation_sum(&top).unwrap();
    let doubled = s.ev.add(&top, &top).unwrap();
    assert!(sum.accepts(&doubled) && !sum.accepts(&low));
    let unscaled = s.ev.mul_const(&top, Complex::real(0.5)).unwrap();
    assert!(!sum.accepts(&unscaled));
    assert!(matches!(
        sum.add(&unscaled, 1),
        Err(EvalError::ScaleMismatch(..))
    ));
}

/// The Galois key is kept moved by σ^{-1} and σ applied after the switch;
/// the result must be the textbook automorphism bit for bit: the switch of
/// σ(c1) with the key as generated (regenerated here from the same seed,
/// not taken from the evaluator), plus σ(c0). The switch is taken in its
/// textbook steps (inner product as whole polynomials, then ModDown), which
/// the evaluator's fused inner product and ModDown must equal as well.
/// Rotations at two levels and the conjugation, whose primes (36- to
/// 61-bit, below and above every SIMD bound) cover both sides of each
/// kernel.
#[test]
fn automorphism_after_the_switch_is_the_textbook_one_bit_for_bit() {
    let (steps, seed) = ([3, -70], 11);
    let s = setup(N12, &steps, true, seed);
    let mut rng = Csprng::from_entropy([seed; 32]);
    let sk = SecretKey::generate(&s.ctx, &mut rng);
    let generated = EvaluationKeys::generate(&s.ctx, &sk, &steps, true, &mut rng);
    assert_eq!(sk.ntt().data(), s.sk.ntt().data(), "same seed, same secret");
    let x = values(2048, 12);
    for level in [s.ctx.params().max_level(), 4] {
        let ct = s.ev.expand(&s.enc(&x, level)).unwrap();
        let C1::Full(c1) = &ct.c1 else {
            panic!("expanded ciphertexts carry c1")
        };
        for key in &generated.galois {
            let KeyKind::Galois(g) = key.kind else {
                panic!("Galois keys only")
            };
            let textbook = PreparedKey {
                level: key.level,
                b: key.b.clone(),
                a: (0..key.b.len()).map(|j| key.expand_a(&s.ctx, j)).collect(),
            };
            let perm = rotation::galois_permutation(&s.ctx, g);
            let permuted = |p: &RnsPoly| {
                let mut q = p.clone();
                s.ev.permute_in_place(&mut q, &perm);
                q
            };
            let (l, n) = (level + 1, s.ctx.n());
            // The switch in its textbook steps: ModUp, the inner product
            // as whole polynomials, ModDown of each part.
            let tables = &s.ev.levels[level];
            let digits = keyswitch::mod_up(&s.ctx, tables, level, &permuted(c1));
            let ext = l + s.ctx.p_len();
            let (mut e0, mut e1) = (RnsPoly::zero(n, ext), RnsPoly::zero(n, ext));
            for t in 0..ext {
                let (o0, o1) = (e0.limb_mut(t), e1.limb_mut(t));
                keyswitch::inner_product_limb(&s.ctx, level, &digits, &textbook, t, o0, o1);
            }
            let k0 = keyswitch::mod_down(&s.ctx, tables, level, &e0);
            let k1 = keyswitch::mod_down(&s.ctx, tables, level, &e1);
            let fused = s.ev.key_switch(level, &permuted(c1), &textbook);
            assert_eq!(fused, (k0.clone(), k1.clone()), "g = {g}, level {level}");
            let c0 =
                s.ev.zip_limbs(&permuted(&ct.c0), &k0, l, |m, u, v| m.add(u, v));
            let got =
                s.ev.automorphism(&ct, g, s.ev.galois_key(g, level).unwrap())
                    .unwrap();
            assert_eq!(got.c0, c0, "g = {g}, level {level}");
            assert_eq!(got.c1, C1::Full(k1), "g = {g}, level {level}");
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let s = setup(N12, &[1, 2, 4, 8], true, 6);
    let (x, y) = (values(2048, 8), values(2048, 9));
    let (cx, cy) = (s.enc(&x, 9), s.enc(&y, 9));
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let m = s.ev.rescale(&s.ev.mul(&cx, &cy).unwrap()).unwrap();
                let r = s.ev.rotate(&m, 4).unwrap();
                let h = s.ev.rotate_hoisted(&cx, &[1, 2, 8]).unwrap();
                let c = s.ev.conjugate(&r).unwrap();
                (m, r, h, c)
            })
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn bad_keys_and_mismatched_parameters_are_errors() {
    let s = setup(N10, &[], false, 7);
    let other = setup(&presets::INSECURE_N11, &[], false, 8);
    let cx = s.enc(&values(512, 1), 3);
    let co = other.enc(&values(1024, 1), 3);
    assert_eq!(s.ev.add(&cx, &co), Err(EvalError::ParamsMismatch));
    assert_eq!(s.ev.rotate(&co, 1), Err(EvalError::ParamsMismatch));
    let mut rng = Csprng::from_entropy([9; 32]);
    // A key of another parameter set.
    let foreign = EvaluationKeys {
        relin: Some(relin_key(&other.ctx, &other.sk, &mut rng)),
        galois: vec![],
    };
    assert_eq!(
        Evaluator::new(s.ctx.clone(), foreign).unwrap_err(),
        EvalError::ParamsMismatch
    );
    // A relinearisation key passed as a Galois key, a truncated key, an out-of-range residue.
    let relin = relin_key(&s.ctx, &s.sk, &mut rng);
    let wrong_kind = EvaluationKeys {
        relin: None,
        galois: vec![relin.clone()],
    };
    assert!(matches!(
        Evaluator::new(s.ctx.clone(), wrong_kind),
        Err(EvalError::Malformed(_))
    ));
    let mut short = relin.clone();
    short.b.pop();
    let bad = EvaluationKeys {
        relin: Some(short),
        galois: vec![],
    };
    assert!(matches!(
        Evaluator::new(s.ctx.clone(), bad),
        Err(EvalError::Malformed(_))
    ));
    let mut big = relin.clone();
    big.b[0].limb_mut(0)[0] = u64::MAX;
    let bad = EvaluationKeys {
        relin: Some(big),
        galois: vec![rotation_key(&s.ctx, &s.sk, 1, &mut rng)],
    };
    assert!(matches!(
        Evaluator::new(s.ctx.clone(), bad),
        Err(EvalError::Malformed(_))
    ));
    // Missing keys.
    let bare = Evaluator::new(s.ctx.clone(), EvaluationKeys::default()).unwrap();
    assert_eq!(bare.mul(&cx, &cx), Err(EvalError::MissingRelinKey));
    assert_eq!(bare.conjugate(&cx), Err(EvalError::MissingConjugationKey));
    // A malformed ciphertext.
    let mut broken = cx.clone();
    broken.level = 4;
    assert!(matches!(s.ev.neg(&broken), Err(EvalError::Malformed(_))));
}

/// Production preset: one multiply + relin + rescale, one rotation, and ten
/// consecutive multiply + relin + rescale steps keeping ≥ 20 bits.
#[test]
fn production_preset_precision() {
    let s = setup(&presets::PROD_N16, &[1], false, 10);
    let slots = 1 << 15;
    let top = s.ctx.params().user_top_level() + 1;
    let x: Vec<Complex> = values(slots, 11)
        .iter()
        .map(|z| Complex::real(z.re))
        .collect();
    let mut cur = s.enc(&x, top.max(10));
    let mut want = x.clone();
    let start = std::time::Instant::now();
    let r = s.ev.rotate(&cur, 1).unwrap();
    let e = max_err(&s.dec(&r), &rot(&x, 1));
    eprintln!(
        "prod-n16 rotation by 1: {:.1} bits ({:.2?})",
        bits(e),
        start.elapsed()
    );
    assert!(bits(e) >= 20.0);
    for step in 0..10 {
        let y: Vec<Complex> = values(slots, 100 + step)
            .iter()
            .map(|z| Complex::real(z.re))
            .collect();
        let cy = s.enc(&y, cur.level);
        let t = std::time::Instant::now();
        cur = if step % 2 == 0 {
            s.ev.mul_rescale(&cur, &cy).unwrap()
        } else {
            s.ev.rescale(&s.ev.mul(&cur, &cy).unwrap()).unwrap()
        };
        let el = t.elapsed();
        want = want.iter().zip(&y).map(|(a, b)| *a * *b).collect();
        let e = max_err(&s.dec(&cur), &want);
        eprintln!(
            "prod-n16 mul+relin+rescale step {}: level {}, {:.1} bits ({el:.2?})",
            step + 1,
            cur.level,
            bits(e)
        );
        assert!(bits(e) >= 20.0, "step {step}: {} bits", bits(e));
    }
}

/// Key sizes at the production preset, on the wire and in memory.
#[test]
fn production_key_sizes() {
    let ctx = Context::new(presets::PROD_N16.build().unwrap()).unwrap();
    let params = ctx.params();
    let mut rng = Csprng::from_entropy([12; 32]);
    let sk = SecretKey::generate(&ctx, &mut rng);
    let bits: u64 = params
        .q()
        .iter()
        .chain(params.p())
        .map(|&q| 64 - u64::from(q.leading_zeros()))
        .sum();
    let dnum = params.q().len().div_ceil(params.digit_size()) as u64;
    let packed = (dnum * bits * params.n() as u64).div_ceil(8);
    for (name, key) in [
        ("relinearisation", relin_key(&ctx, &sk, &mut rng)),
        (
            "Galois (rotation by 1)",
            rotation_key(&ctx, &sk, 1, &mut rng),
        ),
    ] {
        let wire = hetal_nostd::wire::encode_switching_key(&key, params).unwrap();
        let memory = key.expanded_bytes();
        eprintln!(
            "prod-n16 {name} key: {:.1} MiB on the wire, {:.1} MiB in memory (b and expanded a)",
            wire.len() as f64 / (1 << 20) as f64,
            memory as f64 / (1 << 20) as f64
        );
        assert!(wire.len() as u64 >= packed && wire.len() as u64 <= packed + 128);
        assert_eq!(
            memory as u64,
            2 * dnum * (params.q().len() + params.p().len()) as u64 * params.n() as u64 * 8
        );
    }
}

#[test]
fn galois_keys_for_fewer_levels_rotate_there_and_refuse_above() {
    let s = setup(&presets::INSECURE_N10, &[], false, 21);
    let mut rng = Csprng::from_entropy([22; 32]);
    let low = hetal_nostd::evk::rotation_key_at(&s.ctx, &s.sk, 3, 5, &mut rng);
    assert_eq!(low.b.len(), hetal_nostd::evk::key_digits(&s.ctx, 5));
    // On the wire, smaller than a top-level key, and it round-trips.
    let params = s.ctx.params();
    let limits = hetal_nostd::wire::Limits::default();
    let bytes = hetal_nostd::wire::encode_switching_key(&low, params).unwrap();
    let full = rotation_key(&s.ctx, &s.sk, 3, &mut rng);
    let full_bytes = hetal_nostd::wire::encode_switching_key(&full, params).unwrap();
    assert!(
        bytes.len() * 3 < full_bytes.len(),
        "{} vs {}",
        bytes.len(),
        full_bytes.len()
    );
    let back = hetal_nostd::wire::decode_switching_key(&bytes, params, &limits).unwrap();
    assert_eq!(back, low);
    let ev = Evaluator::new(
        s.ctx.clone(),
        EvaluationKeys {
            relin: None,
            galois: vec![low],
        },
    )
    .unwrap();
    let v = values(512, 4);
    for level in [0, 2, 5] {
        let got = s.dec(&ev.rotate(&s.enc(&v, level), 3).unwrap());
        assert!(bits(max_err(&got, &rot(&v, 3))) > 20.0, "level {level}");
    }
    assert_eq!(
        ev.rotate(&s.enc(&v, 6), 3).unwrap_err(),
        EvalError::KeyLevel { level: 6, max: 5 }
    );
    // Relinearisation keys must serve every level.
    let mut short_relin = relin_key(&s.ctx, &s.sk, &mut rng);
    short_relin.level = 5;
    short_relin
        .b
        .truncate(hetal_nostd::evk::key_digits(&s.ctx, 5));
    assert!(matches!(
        Evaluator::new(
            s.ctx.clone(),
            EvaluationKeys {
                relin: Some(short_relin),
                galois: vec![],
            }
        ),
        Err(EvalError::Malformed(_))
    ));
}
