use super::*;
use alloc::vec;
use alloc::vec::Vec;

fn lcg(state: &mut u64) -> f64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

/// Slot j of the real polynomial c is c(ζ^(5^j)), ζ = exp(iπ/N): evaluated directly.
fn naive_slots(c: &[f64], slots: usize) -> Vec<Complex> {
    let n = c.len();
    let two_n = 2 * n as u64;
    let mut out = Vec::new();
    let mut g = 1u64;
    for _ in 0..slots {
        let mut acc = Complex::default();
        for (t, &ct) in c.iter().enumerate() {
            let e = (g * t as u64) % two_n;
            let angle = core::f64::consts::PI * e as f64 / n as f64;
            acc = acc + Complex::new(libm::cos(angle), libm::sin(angle)).scale(ct);
        }
        out.push(acc);
        g = g * 5 % two_n;
    }
    out
}

fn packed_to_real_coeffs(packed: &[Complex], n_ring: usize, scale: f64) -> Vec<f64> {
    let gap = n_ring / (2 * packed.len());
    let mut c = vec![0.0; n_ring];
    for (k, w) in packed.iter().enumerate() {
        c[k * gap] = w.re / scale;
        c[k * gap + n_ring / 2] = w.im / scale;
    }
    c
}

#[test]
fn fft_round_trip() {
    let mut s = 1;
    for log_n in 0..12 {
        let n = 1 << log_n;
        let z: Vec<Complex> = (0..n)
            .map(|_| Complex::new(lcg(&mut s), lcg(&mut s)))
            .collect();
        let mut v = z.clone();
        fft::slots_to_coeffs(&mut v);
        fft::coeffs_to_slots(&mut v);
        for (a, b) in v.iter().zip(&z) {
            assert!((*a - *b).abs() < 1e-12);
        }
    }
}

#[test]
fn encoding_matches_naive_canonical_embedding() {
    let mut s = 7;
    let n_ring = 64;
    for slots in [1usize, 2, 4, 8, 16, 32] {
        let z: Vec<Complex> = (0..slots)
            .map(|_| Complex::new(lcg(&mut s), lcg(&mut s)))
            .collect();
        let scale = (1u64 << 40) as f64;
        let mut packed = vec![Complex::default(); slots];
        encode_into(&z, scale, &mut packed).unwrap();
        let c = packed_to_real_coeffs(&packed, n_ring, scale);
        let naive = naive_slots(&c, slots);
        for (a, b) in naive.iter().zip(&z) {
            assert!((*a - *b).abs() < 1e-9, "slots {slots}: {a:?} vs {b:?}");
        }
        let mut decoded = vec![Complex::default(); slots];
        decode_into(&c, &mut decoded);
        for (a, b) in decoded.iter().zip(&naive) {
            assert!((*a - *b).abs() < 1e-12);
        }
    }
}

#[test]
fn rotation_is_the_automorphism_five() {
    // Slot j of c(X^5) equals slot j+1 of c(X): rotation by one to the left.
    let mut s = 3;
    let n_ring = 32usize;
    let c: Vec<f64> = (0..n_ring).map(|_| lcg(&mut s)).collect();
    let mut c5 = vec![0.0; n_ring];
    for (t, &ct) in c.iter().enumerate() {
        let e = (5 * t) % (2 * n_ring);
        if e < n_ring {
            c5[e] += ct;
        } else {
            c5[e - n_ring] -= ct;
        }
    }
    let a = naive_slots(&c, n_ring / 2);
    let b = naive_slots(&c5, n_ring / 2);
    for j in 0..n_ring / 2 {
        assert!((b[j] - a[(j + 1) % (n_ring / 2)]).abs() < 1e-9);
    }
}

#[test]
fn encoder_rejects_bad_input() {
    let mut packed = vec![Complex::default(); 4];
    let too_many = vec![Complex::real(1.0); 5];
    assert!(matches!(
        encode_into(&too_many, 1.0, &mut packed),
        Err(EncodeError::BadSlotCount { .. })
    ));
    assert_eq!(
        encode_into(&[Complex::real(f64::NAN)], 1.0, &mut packed),
        Err(EncodeError::NotFinite)
    );
    assert_eq!(
        encode_into(&[Complex::real(1e30)], 1e12, &mut packed),
        Err(EncodeError::TooLarge)
    );
    assert!(log_slots_for(3, 10).is_err());
    assert!(log_slots_for(1024, 10).is_err());
    assert_eq!(log_slots_for(512, 10), Ok(9));
}
