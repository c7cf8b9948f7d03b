//! The base conversion on every kernel path this CPU has, against exact
//! `u128` arithmetic (paths the CPU lacks are skipped, saying so).

use super::kernels::inner_simd;
use super::*;

/// A deterministic stream of 64-bit values (SplitMix64).
fn stream(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Target moduli below 2^49 and 2^50, around 2^52, at the presets' sizes and up to
/// the largest supported (both sides of the wide-sum switch at 2^61);
/// 1 to 10 sources (more than one register group on no path, but more than
/// the 8 the evaluator admits); inputs random and at the top of their
/// range (`1.5·2^62`); lengths 64 and 36 (a multiple of 4, not of 8).
#[test]
fn conversion_is_exact_on_every_path() {
    let mut rng = stream(21);
    let mut moduli: Vec<u64> = [30u32, 40, 48, 49, 50, 52, 53, 56, 60, 61, 62]
        .iter()
        .map(|&bits| ((1 << (bits - 1)) + (rng() >> (65 - bits))) | 1)
        .collect();
    // Both sides of the floating-point bound 2^49 and the wide-sum switch at 2^61.
    moduli.extend([
        (1 << 49) - 1,
        (1 << 49) + 1,
        (1 << 61) - 1,
        (1 << 61) + 1,
        (1 << 62) - 1,
    ]);
    for path in Kernel::ALL {
        if !path.is_available() {
            println!("skipping the {path} path: this CPU lacks it");
            continue;
        }
        // Sources below 2^62 (values up to 1.5·2^62) and, promised as such,
        // below 2^50 (values up to 1.5·2^50, the floating-point variant).
        for (small, top_bits) in [(false, 62), (true, 50)] {
            let tops = 3 * ((1u64 << top_bits) - 1) / 2;
            for &t in &moduli {
                let m = Modulus::new(t).unwrap();
                for n in [64, 36] {
                    for sources in 1..=10 {
                        let hat: Vec<u64> = (0..sources).map(|_| rng() % t).collect();
                        let hat_shoup: Vec<u64> = hat.iter().map(|&h| m.shoup(h)).collect();
                        let offset = rng() % t;
                        let y: Vec<u64> = (0..n * sources)
                            .map(|k| match k % 3 {
                                0 => tops,
                                1 => tops - (rng() >> 40) % (tops / 2),
                                _ => rng() % tops,
                            })
                            .collect();
                        let expect: Vec<u64> = (0..n)
                            .map(|k| {
                                let acc = (0..sources).fold(u128::from(offset), |acc, c| {
                                    acc + u128::from(y[c * n + k]) * u128::from(hat[c])
                                });
                                (acc % u128::from(t)) as u64
                            })
                            .collect();
                        let mut out = vec![0; n];
                        convert_on(path, small, &y, (&hat, &hat_shoup), &m, offset, &mut out);
                        assert_eq!(
                            out, expect,
                            "{path}, t = {t}, {sources} sources, n = {n}, small {small}"
                        );
                    }
                }
            }
        }
    }
}

/// The AVX2 premultiplication against the portable formula (`x·w mod s`,
/// centred and shifted), for moduli of 30 to 62 bits, inputs below `s`, at
/// `s − 1` and arbitrary 64-bit words.
#[test]
fn premultiply_matches_portable() {
    let Some(k) = avx2::Avx2::detect() else {
        println!("skipping the AVX2 premultiplication: this CPU lacks AVX2");
        return;
    };
    let mut rng = stream(22);
    for bits in [30u32, 40, 49, 50, 52, 56, 60, 61, 62] {
        let s = ((1u64 << (bits - 1)) + (rng() >> (65 - bits))) | 1;
        let m = Modulus::new(s).unwrap();
        let w = rng() % s;
        let ws = m.shoup(w);
        let x: Vec<u64> = (0..256)
            .map(|k| match k % 4 {
                0 => s - 1,
                1 => rng(),
                _ => rng() % s,
            })
            .collect();
        let expect: Vec<u64> = x
            .iter()
            .map(|&v| {
                let r = m.mul(m.reduce(v), w);
                if r <= s / 2 {
                    r + s
                } else {
                    r
                }
            })
            .collect();
        let mut out = vec![0; x.len()];
        assert!(avx2::premultiply(k, &x, (w, ws), s, &mut out));
        assert_eq!(out, expect, "{bits} bits");
        assert!(!avx2::premultiply(k, &x[..6], (w, ws), s, &mut out[..6]));
    }
}

/// Slices of the vectors of `x`.
fn view(x: &[Vec<u64>]) -> Vec<&[u64]> {
    x.iter().map(Vec::as_slice).collect()
}

/// The inner product on every kernel path this CPU has against the portable
/// one: moduli on both sides of 2^49 and 2^50, 1 to 8 digits, random inputs
/// and inputs at `q − 1`; an input of
/// 2^50 or more sends every SIMD kernel back to the portable code.
#[test]
fn inner_product_matches_portable_on_every_path() {
    let mut rng = stream(23);
    let n = 64;
    for path in Kernel::ALL {
        if !path.is_available() {
            println!("skipping the {path} path: this CPU lacks it");
            continue;
        }
        let mut simd_used = false;
        for q in [
            (1 << 30) + 3,
            (1 << 40) + 15,
            (1 << 49) - 81,
            (1 << 49) + 69,
            (1 << 50) - 27,
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
                                        rng() % q
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
                    let (mut o0, mut o1) = (vec![0; n], vec![0; n]);
                    if inner_simd(path, &m, (&d, &b, &a), (&mut o0, &mut o1)) {
                        simd_used = true;
                        assert_eq!((o0, o1), (e0, e1), "{path}, q = {q}, {digits} digits");
                    }
                }
            }
        }
        assert_eq!(simd_used, path != Kernel::Portable, "{path}");
        // A non-canonical input of 2^50 is declined.
        let m = Modulus::new((1 << 40) + 15).unwrap();
        let (big, small) = (vec![1u64 << 50; n], vec![1u64; n]);
        let (mut o0, mut o1) = (vec![0; n], vec![0; n]);
        let (d, b) = ([&small[..]], [&big[..]]);
        assert!(
            !inner_simd(path, &m, (&d, &b, &d), (&mut o0, &mut o1)),
            "{path}"
        );
    }
}

/// The portable inner product against exact `u128` arithmetic: moduli on
/// both sides of the SIMD bounds up to 2^61, 1 to 8 digits, key parts
/// longer than the digits, random inputs and inputs at `q − 1`, and
/// lengths that are and are not a multiple of its block.
#[test]
fn portable_inner_product_is_exact() {
    let mut rng = stream(31);
    for q in [
        (1u64 << 40) + 15,
        (1 << 49) - 1,
        (1 << 56) - 5,
        (1 << 61) - 1,
    ] {
        let m = Modulus::new(q).unwrap();
        for n in [64, 36, 5] {
            for digits in 1..=8 {
                let mut poly = |count: usize| -> Vec<Vec<u64>> {
                    (0..count)
                        .map(|j| {
                            (0..n)
                                .map(|k| if (j + k) % 3 == 0 { q - 1 } else { rng() % q })
                                .collect()
                        })
                        .collect()
                };
                let (d, b, a) = (poly(digits), poly(digits + 1), poly(digits + 1));
                let expect = |key: &[Vec<u64>]| -> Vec<u64> {
                    (0..n)
                        .map(|k| {
                            let acc = (0..digits).fold(0u128, |acc, j| {
                                acc + u128::from(d[j][k]) * u128::from(key[j][k])
                            });
                            (acc % u128::from(q)) as u64
                        })
                        .collect()
                };
                let (mut o0, mut o1) = (vec![0; n], vec![0; n]);
                inner_portable(&m, &view(&d), &view(&b), &view(&a), &mut o0, &mut o1);
                let case = format!("q = {q}, n = {n}, {digits} digits");
                assert_eq!(o0, expect(&b), "{case}");
                assert_eq!(o1, expect(&a), "{case}");
            }
        }
    }
}
