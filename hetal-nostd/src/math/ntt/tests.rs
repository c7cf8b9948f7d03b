//! Tests of the NTT tables and transforms, and of the SIMD kernel against the portable one.

use super::*;
use crate::math::SplitMix64;
use alloc::vec;
use alloc::vec::Vec;

/// A friendly prime of about `bits` bits for `log_n` (from `primes_near`).
fn prime(bits: u32, log_n: u32) -> Modulus {
    Modulus::new(primes::primes_near(bits, log_n).next().unwrap()).unwrap()
}

fn random_poly(rng: &mut SplitMix64, n: usize, q: u64) -> Vec<u64> {
    (0..n).map(|_| rng.below(q)).collect()
}

/// Schoolbook product in Z_q[X]/(X^N + 1), with u128 arithmetic.
fn negacyclic_mul(a: &[u64], b: &[u64], q: u64) -> Vec<u64> {
    let n = a.len();
    let q128 = u128::from(q);
    let mut acc = vec![0u128; n];
    for (i, &ai) in a.iter().enumerate() {
        for (j, &bj) in b.iter().enumerate() {
            let p = u128::from(ai) * u128::from(bj) % q128;
            let k = i + j;
            if k < n {
                acc[k] = (acc[k] + p) % q128;
            } else {
                acc[k - n] = (acc[k - n] + q128 - p) % q128;
            }
        }
    }
    acc.into_iter().map(|x| x as u64).collect()
}

fn ntt_mul(t: &NttTable<Vec<u64>>, a: &[u64], b: &[u64]) -> Vec<u64> {
    let (mut fa, mut fb) = (a.to_vec(), b.to_vec());
    t.forward(&mut fa);
    t.forward(&mut fb);
    let q = t.modulus();
    let mut c: Vec<u64> = fa.iter().zip(&fb).map(|(&x, &y)| q.mul(x, y)).collect();
    t.inverse(&mut c);
    c
}

#[test]
fn bit_reverse_matches_definition() {
    for bits in 0..12u32 {
        for x in 0..(1usize << bits) {
            let mut r = 0;
            for b in 0..bits {
                r |= ((x >> b) & 1) << (bits - 1 - b);
            }
            assert_eq!(bit_reverse(x, bits), r);
        }
    }
    assert_eq!(bit_reverse(1, usize::BITS), 1 << (usize::BITS - 1));
}

#[test]
fn psi_is_smallest_primitive_root() {
    for (q, log_n) in [(17u64, 3u32), (97, 4), (12289, 10), (7681, 8), (257, 7)] {
        let t = NttTable::new(Modulus::new(q).unwrap(), log_n).unwrap();
        let two_n = 2u64 << log_n;
        let order = |x: u64| {
            let mut p = x;
            let mut k = 1;
            while p != 1 {
                p = p * x % q;
                k += 1;
            }
            k
        };
        let expect = (2..q).find(|&x| order(x) == two_n).unwrap();
        assert_eq!(t.psi(), expect, "q={q}");
    }
}

#[test]
fn evaluation_formula() {
    let mut rng = SplitMix64(6);
    for (bits, log_n) in [(20, 1), (20, 3), (30, 5), (61, 6), (50, 12)] {
        let q = prime(bits, log_n);
        let t = NttTable::new(q, log_n).unwrap();
        let n = t.n();
        let psi = t.psi();
        assert_eq!(q.pow(psi, n as u64), q.value() - 1);
        let a = random_poly(&mut rng, n, q.value());
        let mut f = a.clone();
        t.forward(&mut f);
        for (j, &fj) in f.iter().enumerate() {
            let x = q.pow(psi, 2 * bit_reverse(j, log_n) as u64 + 1);
            // Horner evaluation of a at x.
            let expect = a.iter().rev().fold(0, |acc, &c| q.mul_add(acc, x, c));
            assert_eq!(fj, expect, "j={j}");
        }
    }
}

#[test]
fn roundtrip_is_identity() {
    let mut rng = SplitMix64(7);
    for log_n in 1..=MAX_LOG_N {
        for bits in [30, 50, 61] {
            let q = prime(bits, log_n.max(10));
            let t = NttTable::new(q, log_n).unwrap();
            let mut a = random_poly(&mut rng, t.n(), q.value());
            a[0] = q.value() - 1;
            let orig = a.clone();
            t.forward(&mut a);
            assert!(a.iter().all(|&x| x < q.value()));
            t.inverse(&mut a);
            assert_eq!(a, orig, "log_n={log_n} q={}", q.value());
        }
    }
    // Inverse also accepts lazy inputs in [0, 2q).
    let q = prime(61, 10);
    let t = NttTable::new(q, 10).unwrap();
    let orig = random_poly(&mut rng, 1024, q.value());
    let mut a = orig.clone();
    t.forward(&mut a);
    for x in a.iter_mut().step_by(3) {
        *x += q.value();
    }
    t.inverse(&mut a);
    assert_eq!(a, orig);
}

#[test]
fn convolution_matches_schoolbook() {
    let mut rng = SplitMix64(8);
    for bits in [20, 30, 45, 55, 60, 61] {
        let q = prime(bits, 10);
        let t = NttTable::new(q, 10).unwrap();
        let a = random_poly(&mut rng, 1024, q.value());
        let b = random_poly(&mut rng, 1024, q.value());
        assert_eq!(ntt_mul(&t, &a, &b), negacyclic_mul(&a, &b, q.value()));
    }
    // Extreme values: all coefficients q - 1.
    let q = prime(61, 10);
    let t = NttTable::new(q, 10).unwrap();
    let a = vec![q.value() - 1; 1024];
    assert_eq!(ntt_mul(&t, &a, &a), negacyclic_mul(&a, &a, q.value()));
}

#[test]
fn tiny_convolution_exhaustive() {
    // N = 8, q = 17: every pair of basis-scaled monomials and random pairs,
    // plus all 17^2 values of (a_0, b_7) with the rest fixed.
    let q = Modulus::new(17).unwrap();
    let t = NttTable::new(q, 3).unwrap();
    for i in 0..8 {
        for j in 0..8 {
            for (ca, cb) in [(1, 1), (16, 3), (5, 16)] {
                let mut a = vec![0u64; 8];
                let mut b = vec![0u64; 8];
                a[i] = ca;
                b[j] = cb;
                assert_eq!(ntt_mul(&t, &a, &b), negacyclic_mul(&a, &b, 17));
            }
        }
    }
    let mut a = vec![3, 1, 4, 1, 5, 9, 2, 6];
    let mut b = vec![2, 7, 1, 8, 2, 8, 1, 8];
    for x in 0..17 {
        for y in 0..17 {
            a[0] = x;
            b[7] = y;
            assert_eq!(ntt_mul(&t, &a, &b), negacyclic_mul(&a, &b, 17));
        }
    }
}

#[test]
fn constructor_errors() {
    let q = prime(30, 10);
    assert_eq!(
        NttTable::new(q, 0).unwrap_err(),
        MathError::UnsupportedDegree(0)
    );
    assert_eq!(
        NttTable::new(q, 18).unwrap_err(),
        MathError::UnsupportedDegree(18)
    );
    // q ≡ 1 mod 2^11 but not mod 2^12 or higher? Check against the definition.
    let v = q.value();
    let max_ok = (v - 1).trailing_zeros() - 1;
    assert!(NttTable::new(q, max_ok.min(MAX_LOG_N)).is_ok());
    if max_ok < MAX_LOG_N {
        assert_eq!(
            NttTable::new(q, max_ok + 1).unwrap_err(),
            MathError::NotNttFriendly {
                q: v,
                log_n: max_ok + 1
            }
        );
    }
    let composite = Modulus::new(12289 * 40961).unwrap();
    assert_eq!(
        NttTable::new(composite, 10).unwrap_err(),
        MathError::NotNttFriendly {
            q: 12289 * 40961,
            log_n: 10
        }
    );
    // Caller storage: a too short and a too long buffer, then the exact size.
    let words = NttTable::<&mut [u64]>::storage_words(10);
    assert_eq!(words, 4096);
    assert_eq!(NttTable::<&mut [u64]>::storage_words(0), 0);
    assert_eq!(NttTable::<&mut [u64]>::storage_words(18), 0);
    let mut buf = vec![0u64; words + 1];
    assert_eq!(
        NttTable::new_in(&mut buf[..words - 1], q, 10).unwrap_err(),
        MathError::BufferSize {
            expected: words,
            got: words - 1
        }
    );
    assert_eq!(
        NttTable::new_in(&mut buf[..], q, 10).unwrap_err(),
        MathError::BufferSize {
            expected: words,
            got: words + 1
        }
    );
    let borrowed = NttTable::new_in(&mut buf[..words], q, 10).unwrap();
    let owned = NttTable::new(q, 10).unwrap();
    assert_eq!(
        (borrowed.n(), borrowed.log_n(), borrowed.psi()),
        (1024, 10, owned.psi())
    );
    assert_eq!(borrowed.modulus(), owned.modulus());
    let mut rng = SplitMix64(9);
    let mut a = random_poly(&mut rng, 1024, q.value());
    let mut b = a.clone();
    borrowed.forward(&mut a);
    owned.forward(&mut b);
    assert_eq!(a, b);
    // A fixed-size array works too (no allocator involved).
    let arr = NttTable::new_in([0u64; 8], Modulus::new(17).unwrap(), 1).unwrap();
    assert_eq!(arr.psi(), 4); // 4^2 = 16 = -1 mod 17, smallest such
}

/// The moduli the kernels are checked with at `log_n`: primes of the
/// preset sizes (40, 42, 56, 60, 61 bits), around the IFMA limit (the
/// largest prime below 2^50 and primes near 2^49 and 2^51), the first prime
/// above 2^61 (the presets' "61-bit" special primes lie on both sides of
/// 2^61) and the largest below 2^62 (the largest supported modulus).
fn test_moduli(log_n: u32) -> Vec<Modulus> {
    let l = log_n.max(12);
    let first = |bits: u32, keep: &dyn Fn(u64) -> bool| {
        let q = primes::primes_near(bits, l).find(|&q| keep(q)).unwrap();
        Modulus::new(q).unwrap()
    };
    let mut moduli: Vec<Modulus> = [40, 42, 49, 51, 56, 60, 61, 62]
        .iter()
        .map(|&bits| prime(bits, l))
        .collect();
    moduli.push(first(50, &|q| q < 1 << 50));
    // The floating-point AVX2 kernel's bound, 2^49, from below.
    moduli.push(first(49, &|q| q < 1 << 49));
    moduli.push(prime(30, l));
    moduli.push(first(61, &|q| q > 1 << 61));
    moduli
}

/// Checks kernel `k` (called `name`) against the portable kernel for the
/// [`test_moduli`], `N = 2^4 ..= 2^16`, forward and inverse, on random
/// inputs and at the tops of the input ranges (`q - 1` forward, `2q - 1`
/// inverse).
fn check_kernel<K: Kernel>(k: &K, name: &str) {
    check_kernel_where(k, name, &|_| true)
}

/// [`check_kernel`] for the [`test_moduli`] that `applies` accepts.
fn check_kernel_where<K: Kernel>(k: &K, name: &str, applies: &dyn Fn(&Modulus) -> bool) {
    let mut rng = SplitMix64(10);
    for log_n in 4..=16 {
        for q in test_moduli(log_n).into_iter().filter(|q| applies(q)) {
            let t = NttTable::new(q, log_n).unwrap();
            let (qv, n) = (q.value(), t.n());
            let inputs = [
                random_poly(&mut rng, n, qv),
                vec![qv - 1; n],
                (0..n)
                    .map(|i| if i % 3 == 0 { qv - 1 } else { rng.below(qv) })
                    .collect(),
            ];
            for a in inputs {
                let (mut fast, mut slow) = (a.clone(), a.clone());
                t.forward_with(k, &mut fast);
                t.forward_with(&portable::Portable, &mut slow);
                assert_eq!(fast, slow, "{name} forward, q = {qv}, log_n = {log_n}");
                // Lazy inverse inputs: some evaluations raised by q.
                let lazy: Vec<u64> = slow
                    .iter()
                    .zip(&a)
                    .map(|(&f, &x)| f + (x & 1) * qv)
                    .collect();
                for b in [slow, lazy, vec![2 * qv - 1; n]] {
                    let (mut fast, mut slow) = (b.clone(), b);
                    t.inverse_with(k, &mut fast);
                    t.inverse_with(&portable::Portable, &mut slow);
                    assert_eq!(fast, slow, "{name} inverse, q = {qv}, log_n = {log_n}");
                }
            }
        }
    }
}

#[test]
fn simd_kernels_match_portable() {
    #[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(unused_mut))]
    let mut checked = 0;
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        if let Some(k) = avx512::Avx512::detect(4) {
            check_kernel(&k, "AVX-512 IFMA");
            checked += 1;
        } else {
            std::println!("skipping the AVX-512 IFMA kernel: this CPU lacks AVX-512F/DQ/IFMA");
        }
        if let Some(k) = avx2_fp::Avx2Fp::detect(4, &prime(40, 12)) {
            // `check_kernel` also runs it above 2^49, which it does not take
            // in `forward`: the moduli it serves are checked in
            // `every_available_path_matches_portable`.
            check_fp_kernel(&k);
            checked += 1;
        } else {
            std::println!("skipping the AVX2 FMA kernel: this CPU lacks AVX2/FMA");
        }
        if let Some(k) = avx2::Avx2::detect(4) {
            check_kernel(&k, "AVX2");
            checked += 1;
        } else {
            std::println!("skipping the AVX2 kernel: this CPU lacks AVX2");
        }
    }
    if checked == 0 {
        std::println!(
            "no SIMD kernel (needs x86_64, the std feature and AVX2 or AVX-512): \
             comparing the portable kernel with itself"
        );
        check_kernel(&portable::Portable, "portable");
    }
}

/// The floating-point AVX2 kernel on the moduli it serves (below 2^49).
#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn check_fp_kernel(k: &avx2_fp::Avx2Fp) {
    let below = |q: &Modulus| q.value() < 1 << 49;
    assert!(test_moduli(16).iter().filter(|q| below(q)).count() >= 4);
    check_kernel_where(k, "AVX2 FMA", &below);
}

#[test]
fn every_available_path_matches_portable() {
    // The public per-path transforms, for every path this CPU has (and the
    // typed refusal for the others), at N = 2^4 .. 2^13 for small, mid and
    // large primes.
    let mut rng = SplitMix64(12);
    for path in Path::ALL {
        if !path.is_available() {
            std::println!("skipping the {path} path: this CPU lacks it");
            let t = NttTable::new(prime(40, 12), 4).unwrap();
            let err = t.forward_using(path, &mut [0; 16]).unwrap_err();
            assert!(matches!(err, KernelError::Unsupported { requested, .. } if requested == path));
            continue;
        }
        for bits in [30, 40, 48, 49, 50, 52, 60, 61, 62] {
            for log_n in [4, 5, 8, 13] {
                let q = prime(bits, 13);
                let t = NttTable::new(q, log_n).unwrap();
                let a = random_poly(&mut rng, t.n(), q.value());
                let (mut fast, mut slow) = (a.clone(), a);
                t.forward_using(path, &mut fast).unwrap();
                t.forward_with(&portable::Portable, &mut slow);
                assert_eq!(fast, slow, "{path} forward, {bits} bits, log_n={log_n}");
                t.inverse_using(path, &mut fast).unwrap();
                t.inverse_with(&portable::Portable, &mut slow);
                assert_eq!(fast, slow, "{path} inverse, {bits} bits, log_n={log_n}");
            }
        }
    }
}

#[test]
fn public_transforms_match_portable() {
    // Whatever kernel `forward` and `inverse` pick, including the portable
    // one below 16 points, the results equal the portable kernel's.
    let mut rng = SplitMix64(11);
    for bits in [40, 60, 61] {
        for log_n in 1..=12 {
            let q = prime(bits, 12);
            let t = NttTable::new(q, log_n).unwrap();
            let a = random_poly(&mut rng, t.n(), q.value());
            let (mut public, mut slow) = (a.clone(), a);
            t.forward(&mut public);
            t.forward_with(&portable::Portable, &mut slow);
            assert_eq!(public, slow, "forward, {bits} bits, log_n={log_n}");
            t.inverse(&mut public);
            t.inverse_with(&portable::Portable, &mut slow);
            assert_eq!(public, slow, "inverse, {bits} bits, log_n={log_n}");
        }
    }
}
