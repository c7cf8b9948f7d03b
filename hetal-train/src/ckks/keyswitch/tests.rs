//! Key-switching kernels: the inner product and the exact base conversions,
//! AVX-512 against portable.

use super::*;
use crate::reproducible::Xorshift;

/// Slices of the vectors of `x`.
fn view(x: &[Vec<u64>]) -> Vec<&[u64]> {
    x.iter().map(Vec::as_slice).collect()
}

/// The inner-product kernels against each other (the portable one is
/// plain `u128` arithmetic): moduli below and above the IFMA bound 2^50,
/// 1 to 8 digits, random inputs and inputs at `q - 1`; the SIMD kernel must
/// decline inputs of 2^50 or more.
#[test]
fn inner_product_kernels_agree() {
    let mut rng = Xorshift::new(7);
    let n = 64;
    #[cfg(target_arch = "x86_64")]
    let simd = avx512::Avx512::detect().filter(|k| k.ifma);
    #[cfg(not(target_arch = "x86_64"))]
    let simd: Option<()> = None;
    if simd.is_none() {
        println!("no IFMA kernel (needs x86_64 with AVX-512F/DQ/IFMA): nothing to compare");
    }
    for q in [
        (1 << 40) + 15,
        (1 << 42) - 11,
        (1 << 50) - 27,
        (1 << 50) + 3,
        (1 << 61) - 1,
    ] {
        let m = Modulus::new(q).unwrap();
        for digits in 1..=8 {
            let mut poly = |top: bool| -> Vec<Vec<u64>> {
                (0..digits)
                    .map(|j| {
                        (0..n)
                            .map(|k| {
                                if top && (j + k) % 2 == 0 {
                                    q - 1
                                } else {
                                    rng.next_u64() % q
                                }
                            })
                            .collect()
                    })
                    .collect()
            };
            for top in [false, true] {
                let (d, b, a) = (poly(top), poly(top), poly(top));
                let (d, b, a) = (view(&d), view(&b), view(&a));
                let (mut e0, mut e1) = (vec![0; n], vec![0; n]);
                inner_portable(&m, &d, &b, &a, &mut e0, &mut e1);
                #[cfg(target_arch = "x86_64")]
                if let Some(k) = simd {
                    let (mut o0, mut o1) = (vec![0; n], vec![0; n]);
                    let done = k.inner_product(&m, &d, &b, &a, (&mut o0, &mut o1));
                    assert_eq!(done, q < 1 << 50, "q = {q}");
                    if done {
                        assert_eq!((o0, o1), (e0, e1), "q = {q}, {digits} digits");
                    }
                }
            }
        }
    }
    // An input of 2^50 or more (non-canonical) sends the caller to the portable code.
    #[cfg(target_arch = "x86_64")]
    if let Some(k) = simd {
        let m = Modulus::new((1 << 40) + 15).unwrap();
        let big = vec![1u64 << 50; n];
        let small = vec![1u64; n];
        let (mut o0, mut o1) = (vec![0; n], vec![0; n]);
        let (d, b) = ([&small[..]], [&big[..]]);
        assert!(!k.inner_product(&m, &d, &b, &d, (&mut o0, &mut o1)));
    }
}

/// The conversion kernels against exact `u128` arithmetic, for target
/// moduli of the preset sizes (the 61-bit P primes reach 62 bits),
/// 1 to 8 sources, random inputs and inputs at the top of their range
/// (`y_c` up to `1.5·s_c` for sources `s_c < 2^62`).
#[test]
fn conversion_kernels_are_exact() {
    let mut rng = Xorshift::new(5);
    let n = 64;
    #[cfg(target_arch = "x86_64")]
    let simd = avx512::Avx512::detect();
    #[cfg(not(target_arch = "x86_64"))]
    let simd: Option<()> = None;
    if simd.is_none() {
        println!(
            "no SIMD kernel (needs x86_64 with AVX-512F/DQ): \
             checking the portable conversion only"
        );
    }
    let mut moduli: Vec<u64> = [40u32, 42, 56, 60, 61, 62]
        .iter()
        .map(|&bits| ((1 << (bits - 1)) + (rng.next_u64() >> (65 - bits))) | 1)
        .collect();
    // Both sides of the SIMD kernel's switch at 2^61, and the largest modulus.
    moduli.extend([(1 << 61) - 1, (1 << 61) + 1, (1 << 62) - 1]);
    for t in moduli {
        let t = Modulus::new(t).unwrap();
        let bits = t.bits();
        for sources in 1..=8 {
            let hat: Vec<u64> = (0..sources).map(|_| rng.next_u64() % t.value()).collect();
            let hat_shoup: Vec<u64> = hat.iter().map(|&h| t.shoup(h)).collect();
            let offset = rng.next_u64() % t.value();
            let tops = 3 * ((1u64 << 62) - 1) / 2;
            let y: Vec<u64> = (0..n * sources)
                .map(|k| match k % 4 {
                    0 => tops,
                    1 => tops - (rng.next_u64() >> 40),
                    _ => rng.next_u64() % tops,
                })
                .collect();
            let expect: Vec<u64> = (0..n)
                .map(|k| {
                    let acc = (0..sources).fold(u128::from(offset), |acc, c| {
                        acc + u128::from(y[c * n + k]) * u128::from(hat[c])
                    });
                    (acc % u128::from(t.value())) as u64
                })
                .collect();
            let mut out = vec![0; n];
            convert_portable(&y, &hat, &t, offset, &mut out);
            assert_eq!(out, expect, "portable, {bits} bits, {sources} sources");
            #[cfg(target_arch = "x86_64")]
            if let Some(k) = simd {
                let mut out = vec![0; n];
                assert!(k.convert(&y, &hat, &hat_shoup, &t, offset, &mut out));
                assert_eq!(out, expect, "AVX-512, {bits} bits, {sources} sources");
            }
            let _ = hat_shoup;
        }
    }
}
