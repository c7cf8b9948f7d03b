//! Plaintext products: prepared plaintexts, alone and in linear combinations,
//! against the same factors encoded on the fly.

use super::*;

#[test]
fn prepared_plaintexts_multiply_bit_identically() {
    let s = setup(&presets::INSECURE_N10, &[], false, 23);
    let v = values(512, 5);
    let ct = s.enc(&v, 7);
    let q = s.ctx.modulus(7).value() as f64;
    let pt = s.ev.encode(&values(512, 6), ct.log_slots, 7, q).unwrap();
    let plain = s.ev.mul_plain_poly(&ct, &pt, q).unwrap();
    let prepared = s.ev.prepare_plaintext(pt.clone(), q).unwrap();
    let fast = s.ev.mul_plain_prepared(&ct, &prepared).unwrap();
    assert_eq!(plain, fast);
    // A plaintext with a residue out of range, or too short, is refused.
    let mut bad = pt.clone();
    bad.limb_mut(0)[0] = u64::MAX;
    assert!(s.ev.prepare_plaintext(bad, q).is_err());
    let short =
        s.ev.prepare_plaintext(s.ev.encode(&v, ct.log_slots, 3, q).unwrap(), q)
            .unwrap();
    assert!(s.ev.mul_plain_prepared(&ct, &short).is_err());
}

/// Prepared plaintext factors (summed on the dot-product kernel, 8 at a
/// time) give the same ciphertext as the same factors encoded on the fly,
/// bit for bit, beside constants; 11 terms make two kernel groups.
#[test]
fn linear_combinations_of_prepared_plaintexts_are_bit_identical() {
    let s = setup(&presets::INSECURE_N10, &[], false, 29);
    let (level, scale) = (5, 2f64.powi(30));
    let vals: Vec<Vec<Complex>> = (0..11).map(|j| values(512, 40 + j)).collect();
    let cts: Vec<Ciphertext> = vals.iter().map(|v| s.enc(v, 7)).collect();
    let factors: Vec<Vec<Complex>> = (0..11).map(|j| values(512, 60 + j)).collect();
    let q = s.ctx.modulus(level + 1).value() as f64;
    let prepared: Vec<PreparedPlaintext> = cts
        .iter()
        .zip(&factors)
        .map(|(ct, f)| {
            let f_scale = scale * q / ct.scale;
            let pt = s.ev.encode(f, ct.log_slots, level + 1, f_scale).unwrap();
            s.ev.prepare_plaintext(pt, f_scale).unwrap()
        })
        .collect();
    let k = Complex::new(0.25, -1.5);
    let plain: Vec<(&Ciphertext, Factor)> = cts
        .iter()
        .zip(&factors)
        .map(|(ct, f)| (ct, Factor::Plain(f)))
        .chain([(&cts[0], Factor::Const(k))])
        .collect();
    let fast: Vec<(&Ciphertext, Factor)> = cts
        .iter()
        .zip(&prepared)
        .map(|(ct, pp)| (ct, Factor::Prepared(pp)))
        .chain([(&cts[0], Factor::Const(k))])
        .collect();
    let c = Complex::real(0.5);
    let want = s.ev.linear_combination(&plain, c, level, scale).unwrap();
    let got = s.ev.linear_combination(&fast, c, level, scale).unwrap();
    assert_eq!(want, got);
    let clear: Vec<Complex> = (0..512)
        .map(|i| {
            (0..11).fold(c + vals[0][i] * k, |acc, j| {
                acc + vals[j][i] * factors[j][i]
            })
        })
        .collect();
    assert!(max_err(&s.dec(&got), &clear) < 1e-4);
}

/// Lazy relinearisation: 6 products added as tensors and relinearised once
/// decrypt to the sum of the products, within the error of the same products
/// relinearised one by one; the sum keeps the lower level of its terms; terms
/// of other slot counts or scales are refused.
#[test]
fn tensor_sums_relinearise_once_to_the_sum_of_the_products() {
    let s = setup(N12, &[], false, 29);
    let level = 5;
    let pairs: Vec<(Ciphertext, Ciphertext)> = (0..6)
        .map(|j| {
            // One sum term two levels up: the sum drops it to the others'.
            let lv = if j == 3 { level + 2 } else { level };
            (
                s.enc(&values(2048, 60 + j), lv),
                s.enc(&values(2048, 70 + j), lv),
            )
        })
        .collect();
    let clear: Vec<Complex> = (0..2048)
        .map(|i| {
            (0..6).fold(Complex::real(0.0), |acc, j| {
                acc + values(2048, 60 + j)[i] * values(2048, 70 + j)[i]
            })
        })
        .collect();
    let mut sum = s.ev.tensor_product(&pairs[0].0, &pairs[0].1).unwrap();
    let mut eager = s.ev.mul(&pairs[0].0, &pairs[0].1).unwrap();
    for (a, b) in &pairs[1..] {
        s.ev.add_tensor(&mut sum, &s.ev.tensor_product(a, b).unwrap())
            .unwrap();
        eager = s.ev.add(&eager, &s.ev.mul(a, b).unwrap()).unwrap();
    }
    assert_eq!(sum.level(), level);
    let lazy = s.ev.rescale(&s.ev.relinearize(&sum).unwrap()).unwrap();
    let eager = s.ev.rescale(&eager).unwrap();
    let (lazy_err, eager_err) = (
        max_err(&s.dec(&lazy), &clear),
        max_err(&s.dec(&eager), &clear),
    );
    assert!(lazy_err < 1e-4, "lazy error {lazy_err}");
    assert!(
        lazy_err < 2.0 * eager_err.max(1e-7),
        "lazy {lazy_err}, eager {eager_err}"
    );
    // One product through the tensor path is `mul`, bit for bit.
    let (a, b) = &pairs[1];
    let once =
        s.ev.relinearize(&s.ev.tensor_product(a, b).unwrap())
            .unwrap();
    assert_eq!(once, s.ev.mul(a, b).unwrap());
    // A sum without its quadratic part switched is not a ciphertext of it.
    let mut skipped = sum.clone();
    skipped.d[2] = RnsPoly::zero(s.ctx.n(), level + 1);
    let wrong = s.ev.rescale(&s.ev.relinearize(&skipped).unwrap()).unwrap();
    assert!(max_err(&s.dec(&wrong), &clear) > 1e-2);
    let fewer = s.enc(&values(1024, 80), level);
    let other_slots = s.ev.tensor_product(&fewer, &fewer).unwrap();
    assert!(s.ev.add_tensor(&mut sum.clone(), &other_slots).is_err());
    let mut other_scale = sum.clone();
    other_scale.scale *= 1.0 + 1e-6;
    assert!(s.ev.add_tensor(&mut sum.clone(), &other_scale).is_err());
}
