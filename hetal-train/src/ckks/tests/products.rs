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
