//! Hybrid key switching: ModUp (digit decomposition and fast base
//! conversion to the other Q primes and the special primes P), the inner
//! product with a switching key, and ModDown (division by P).
//!
//! Everything stays in the NTT domain except the limbs a base conversion
//! reads or writes. Work is split over limbs with rayon; every limb is
//! computed by the same sequence of operations whatever the thread count,
//! so results are bit-identical for any number of threads.

use hetal_nostd::math::kernel::{self, Kernel};
use hetal_nostd::math::zq::Modulus;
use hetal_nostd::ring::{Context, RnsPoly};
use rayon::prelude::*;

// AVX-512 intrinsics and target features: stable since Rust 1.89 (the MSRV).
#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(all(test, target_arch = "x86_64"))]
mod kernel_tests;
mod kernels;
mod moddown;

#[cfg(target_arch = "x86_64")]
use kernels::inner_simd;
use kernels::{convert_on, Operands};
pub(crate) use moddown::{mod_down, product_mod_down, product_mod_down_rescale, SwitchProduct};

/// Fast base conversion from a set of source primes to a set of target
/// primes (indices in the Q-then-P basis of the [`Context`]):
/// `x -> Σ_i [x_i·(S/s_i)^{-1}]_{s_i}·(S/s_i) mod t`, exact up to a small
/// multiple of `S = Π s_i`.
#[derive(Debug)]
pub(crate) struct BaseConv {
    /// Source primes.
    pub src: Vec<usize>,
    /// Target primes.
    pub dst: Vec<usize>,
    /// `(S/s_i)^{-1} mod s_i` and its Shoup constant, per source.
    inv: Vec<(u64, u64)>,
    /// `(S/s_i) mod t`, row `t` (target), column `i` (source).
    hat: Vec<u64>,
    /// The Shoup constants of `hat`, same layout.
    hat_shoup: Vec<u64>,
    /// `−Σ_i s_i·(S/s_i) mod t` per target: undoes the shift by `s_i` of
    /// the premultiplied values.
    offset: Vec<u64>,
    /// `⌊s_i/2⌋` per source: `y_i` above it is centred to `y_i − s_i`.
    half: Vec<u64>,
}

impl BaseConv {
    pub fn new(ctx: &Context, src: Vec<usize>, dst: Vec<usize>) -> Self {
        let prod_except = |m: &Modulus, skip: usize| {
            src.iter()
                .filter(|&&k| k != skip)
                .fold(1u64, |acc, &k| m.mul(acc, m.reduce(ctx.modulus(k).value())))
        };
        let inv = src
            .iter()
            .map(|&i| {
                let m = ctx.modulus(i);
                // The primes are distinct, so the product is invertible.
                let v = m.inv(prod_except(m, i)).unwrap_or(0);
                (v, m.shoup(v))
            })
            .collect();
        let hat = dst
            .iter()
            .flat_map(|&t| {
                let m = ctx.modulus(t);
                src.iter()
                    .map(move |&i| prod_except(m, i))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<u64>>();
        let row_len = src.len();
        let hat_shoup = hat
            .iter()
            .enumerate()
            .map(|(k, &h)| ctx.modulus(dst[k / row_len]).shoup(h))
            .collect();
        let offset = dst
            .iter()
            .zip(hat.chunks(row_len.max(1)))
            .map(|(&t, row)| {
                let m = ctx.modulus(t);
                let sum = src.iter().zip(row).fold(0, |acc, (&i, &h)| {
                    m.add(acc, m.mul(m.reduce(ctx.modulus(i).value()), h))
                });
                m.neg(sum)
            })
            .collect();
        let half = src.iter().map(|&i| ctx.modulus(i).value() >> 1).collect();
        BaseConv {
            src,
            dst,
            inv,
            hat,
            hat_shoup,
            offset,
            half,
        }
    }

    /// `y_i = [x_i·(S/s_i)^{-1}]_{s_i}` for every source limb (coefficients),
    /// centred: values above `s_i/2` are taken as `y_i − s_i`. Centring makes
    /// the conversion's overflow `v·S` spread evenly around zero (no bias,
    /// which the canonical embedding would amplify). The values are returned
    /// shifted by `s_i`, as `y_i + s_i` in `(s_i/2, 3s_i/2)`, so that they are
    /// non-negative; [`BaseConv::convert_limb`] takes the shift back.
    pub fn premultiply(&self, ctx: &Context, x: &[&[u64]], n: usize) -> Vec<u64> {
        let mut y = vec![0u64; n * self.src.len()];
        y.par_chunks_mut(n)
            .zip(self.src.par_iter().zip(&self.inv[..]).zip(&self.half[..]))
            .zip(x.par_iter())
            .for_each(|((out, ((&i, &(w, ws)), &half)), xi)| {
                let m = ctx.modulus(i);
                let s = m.value();
                #[cfg(target_arch = "x86_64")]
                if let Some(k) =
                    avx2::Avx2::detect().filter(|_| kernel::active() != Kernel::Portable)
                {
                    if avx2::premultiply(k, xi, (w, ws), s, out) {
                        return;
                    }
                }
                for (o, &v) in out.iter_mut().zip(xi.iter()) {
                    let r = m.mul_shoup(v, w, ws);
                    // s if r <= half (kept as r), else 0 (centred to r - s).
                    let mask = !((half.wrapping_sub(r) as i64 >> 63) as u64) & s;
                    *o = r + mask;
                }
            });
        y
    }

    /// Target limb `t` (an index into `dst`) of the conversion of the
    /// premultiplied sources `y`, written into `out` (coefficients).
    pub fn convert_limb(&self, ctx: &Context, y: &[u64], t: usize, out: &mut [u64]) {
        let m = ctx.modulus(self.dst[t]);
        let row = t * self.src.len()..(t + 1) * self.src.len();
        let (hat, offset) = (&self.hat[row.clone()], self.offset[t]);
        // Sources below 2^50 keep the premultiplied values below 2^51.
        let small = self.half.iter().all(|&h| h < 1 << 49);
        convert_on(
            kernel::active(),
            small,
            y,
            (hat, &self.hat_shoup[row]),
            m,
            offset,
            out,
        );
    }
}

/// `out[k] = (Σ_c y_c[k]·hat[c] + offset) mod t` where `y` holds the sources
/// `y_c` one after the other, `out.len()` words each.
fn convert_portable(y: &[u64], hat: &[u64], t: &Modulus, offset: u64, out: &mut [u64]) {
    // y_c < 1.5·2^62 and the constants are below 2^62: at most 8 sources
    // (checked by the evaluator) of terms below 1.5·2^124 fit in a u128.
    let n = out.len();
    let ys: Vec<&[u64]> = y.chunks_exact(n).collect();
    // Four outputs at a time: four independent carry chains per source
    // instead of one, and fixed-size slices without bounds checks inside.
    let body = n - n % LANES;
    for (base, block) in out[..body].chunks_exact_mut(LANES).enumerate() {
        let start = base * LANES;
        let mut acc = [0u128; LANES];
        for (yc, &h) in ys.iter().zip(hat) {
            let seg: &[u64; LANES] = yc[start..start + LANES]
                .try_into()
                .expect("a block of LANES words");
            for (a, &v) in acc.iter_mut().zip(seg) {
                *a += u128::from(v) * u128::from(h);
            }
        }
        for (o, a) in block.iter_mut().zip(acc) {
            *o = t.add(t.reduce_u128(a), offset);
        }
    }
    for (k, o) in out.iter_mut().enumerate().skip(body) {
        let acc = ys.iter().zip(hat).fold(0u128, |acc, (yc, &h)| {
            acc + u128::from(yc[k]) * u128::from(h)
        });
        *o = t.add(t.reduce_u128(acc), offset);
    }
}

/// Outputs per block of [`convert_portable`].
const LANES: usize = 4;

/// Constants of ModUp and ModDown at one level.
#[derive(Debug)]
pub(crate) struct LevelTables {
    /// One conversion per digit present at this level: digit primes to the
    /// other Q primes `0..=level` and the P primes.
    pub modup: Vec<BaseConv>,
    /// P primes to Q primes `0..=level`.
    pub moddown: BaseConv,
    /// `P^{-1} mod q_i` and its Shoup constant, `i` in `0..=level`.
    pub p_inv: Vec<(u64, u64)>,
    /// `P mod q_i` and its Shoup constant, `i` in `0..=level`.
    pub p_mod: Vec<(u64, u64)>,
    /// `(P·q_level)^{-1} mod q_i` and its Shoup constant, `i` in `0..level`.
    pub pq_inv: Vec<(u64, u64)>,
    /// `q_level^{-1} mod q_i` and its Shoup constant, `i` in `0..level`.
    pub ql_inv: Vec<(u64, u64)>,
}

impl LevelTables {
    pub fn new(ctx: &Context, level: usize) -> Self {
        let alpha = ctx.params().digit_size();
        let q_len = ctx.q_len();
        let p_range: Vec<usize> = (q_len..q_len + ctx.p_len()).collect();
        let digits = (level + 1).div_ceil(alpha);
        let modup = (0..digits)
            .map(|j| {
                let src: Vec<usize> = (j * alpha..((j + 1) * alpha).min(level + 1)).collect();
                let dst: Vec<usize> = (0..=level)
                    .filter(|i| !src.contains(i))
                    .chain(p_range.iter().copied())
                    .collect();
                BaseConv::new(ctx, src, dst)
            })
            .collect();
        let moddown = BaseConv::new(ctx, p_range.clone(), (0..=level).collect());
        let p_inv = (0..=level)
            .map(|i| {
                let m = ctx.modulus(i);
                let p = p_range
                    .iter()
                    .fold(1u64, |acc, &k| m.mul(acc, m.reduce(ctx.modulus(k).value())));
                let v = m.inv(p).unwrap_or(0);
                (v, m.shoup(v))
            })
            .collect();
        let p_mod: Vec<(u64, u64)> = (0..=level)
            .map(|i| {
                let m = ctx.modulus(i);
                let p = p_range
                    .iter()
                    .fold(1u64, |acc, &k| m.mul(acc, m.reduce(ctx.modulus(k).value())));
                (p, m.shoup(p))
            })
            .collect();
        let inv_pair = |i: usize, v: u64| {
            let m = ctx.modulus(i);
            let v = m.inv(v).unwrap_or(0);
            (v, m.shoup(v))
        };
        let ql = ctx.modulus(level).value();
        let pq_inv = (0..level)
            .map(|i| {
                let m = ctx.modulus(i);
                inv_pair(i, m.mul(p_mod[i].0, m.reduce(ql)))
            })
            .collect();
        let ql_inv = (0..level)
            .map(|i| inv_pair(i, ctx.modulus(i).reduce(ql)))
            .collect();
        LevelTables {
            modup,
            moddown,
            p_inv,
            p_mod,
            pq_inv,
            ql_inv,
        }
    }
}

/// The QP-basis index of limb `t` of an extended polynomial at `level`
/// (limbs `0..=level` are Q primes, then the P primes).
#[inline]
pub(crate) fn ext_index(ctx: &Context, level: usize, t: usize) -> usize {
    if t <= level {
        t
    } else {
        ctx.q_len() + (t - level - 1)
    }
}

/// ModUp: decomposes `d` (level `level`, NTT) into its digits, each raised to
/// the Q primes `0..=level` and the P primes (NTT domain).
pub(crate) fn mod_up(
    ctx: &Context,
    tables: &LevelTables,
    level: usize,
    d: &RnsPoly,
) -> Vec<RnsPoly> {
    let n = ctx.n();
    let mut coeff = d.clone();
    coeff
        .data_mut()
        .par_chunks_mut(n)
        .enumerate()
        .for_each(|(i, limb)| ctx.table(i).inverse(limb));
    let ext = level + 1 + ctx.p_len();
    tables
        .modup
        .iter()
        .map(|conv| {
            let src: Vec<&[u64]> = conv.src.iter().map(|&i| coeff.limb(i)).collect();
            let y = conv.premultiply(ctx, &src, n);
            let mut out = RnsPoly::zero(n, ext);
            out.data_mut()
                .par_chunks_mut(n)
                .enumerate()
                .for_each(|(t, limb)| {
                    let qp = ext_index(ctx, level, t);
                    if let Some(pos) = conv.dst.iter().position(|&x| x == qp) {
                        conv.convert_limb(ctx, &y, pos, limb);
                        ctx.table(qp).forward(limb);
                    } else {
                        limb.copy_from_slice(d.limb(t));
                    }
                });
            out
        })
        .collect()
}

/// A prepared switching key: `b_j` and the expanded `a_j` of the digits it
/// has, each over its limbs only (the Q primes `0..=level`, then P).
///
/// A Galois key for σ is kept with its NTT slots moved by σ^{-1}: a key
/// switch then reads the ciphertext's digits as they are and applies σ once
/// to its result (see [`super::Evaluator::automorphism`]), instead of to
/// every digit.
#[derive(Debug)]
pub(crate) struct PreparedKey {
    /// Highest ciphertext level the key serves.
    pub level: usize,
    pub b: Vec<RnsPoly>,
    pub a: Vec<RnsPoly>,
}

impl PreparedKey {
    /// The key's limb for position `t` of the extended basis at `level`
    /// (at most the key's): Q prime `t`, or the `(t − level − 1)`-th P prime.
    fn row(&self, level: usize, t: usize) -> usize {
        if t <= level {
            t
        } else {
            self.level + 1 + (t - level - 1)
        }
    }
}

/// Limb `t` (of the extended basis at `level`) of the inner product of the
/// raised digits with a key, written into `o0` and `o1` (NTT).
pub(crate) fn inner_product_limb(
    ctx: &Context,
    level: usize,
    digits: &[RnsPoly],
    key: &PreparedKey,
    t: usize,
    o0: &mut [u64],
    o1: &mut [u64],
) {
    let m = ctx.modulus(ext_index(ctx, level, t));
    let d: Vec<&[u64]> = digits.iter().map(|dj| dj.limb(t)).collect();
    let row = key.row(level, t);
    let b: Vec<&[u64]> = key.b.iter().map(|bj| bj.limb(row)).collect();
    let a: Vec<&[u64]> = key.a.iter().map(|aj| aj.limb(row)).collect();
    dot_pair(m, (&d, &b, &a), (o0, o1));
}

/// `o0[k] = Σ_j d_j[k]·b_j[k] mod q` and `o1[k] = Σ_j d_j[k]·a_j[k] mod q`
/// for at most 8 terms, every value below `q`: the SIMD kernel of the active
/// path where it applies, else the portable code. Key switching's inner
/// product, and the plaintext products of linear combinations.
pub(crate) fn dot_pair(m: &Modulus, (d, b, a): Operands, (o0, o1): (&mut [u64], &mut [u64])) {
    #[cfg(target_arch = "x86_64")]
    if inner_simd(kernel::active(), m, (d, b, a), (&mut *o0, &mut *o1)) {
        return;
    }
    inner_portable(m, d, b, a, o0, o1);
}

/// `o0[k] = Σ_j d_j[k]·b_j[k] mod q` and `o1[k] = Σ_j d_j[k]·a_j[k] mod q`
/// over the digits `d_j` (`b` and `a` may hold more).
fn inner_portable(
    m: &Modulus,
    d: &[&[u64]],
    b: &[&[u64]],
    a: &[&[u64]],
    o0: &mut [u64],
    o1: &mut [u64],
) {
    // The evaluator admits at most 8 digits: at most 8 products below
    // 2^124 each, so the sums cannot overflow a u128. A block of outputs at
    // a time: independent carry chains instead of two, and fixed-size
    // slices without bounds checks.
    let terms = d.len().min(b.len()).min(a.len());
    let n = o0.len();
    let body = n - n % IP_LANES;
    let block = |s: &[u64], at: usize| -> [u64; IP_LANES] {
        s[at..at + IP_LANES]
            .try_into()
            .expect("a block of IP_LANES words")
    };
    for at in (0..body).step_by(IP_LANES) {
        let (mut acc0, mut acc1) = ([0u128; IP_LANES], [0u128; IP_LANES]);
        for j in 0..terms {
            let (dj, bj, aj) = (block(d[j], at), block(b[j], at), block(a[j], at));
            for l in 0..IP_LANES {
                let v = u128::from(dj[l]);
                acc0[l] += v * u128::from(bj[l]);
                acc1[l] += v * u128::from(aj[l]);
            }
        }
        for l in 0..IP_LANES {
            o0[at + l] = m.reduce_u128(acc0[l]);
            o1[at + l] = m.reduce_u128(acc1[l]);
        }
    }
    for k in body..n {
        let (mut acc0, mut acc1) = (0u128, 0u128);
        for j in 0..terms {
            let v = u128::from(d[j][k]);
            acc0 += v * u128::from(b[j][k]);
            acc1 += v * u128::from(a[j][k]);
        }
        o0[k] = m.reduce_u128(acc0);
        o1[k] = m.reduce_u128(acc1);
    }
}

/// Outputs per block of [`inner_portable`]. At 5 digits of a 61-bit prime on
/// an AMD EPYC core, with the operands in cache, 8 took 0.40x the time of
/// one output at a time and 4 took 0.5–0.55x; with operands read from
/// memory, as in a key switch, the gain shrinks to about 4 %.
const IP_LANES: usize = 8;

#[cfg(test)]
mod tests;
