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

#[cfg(target_arch = "x86_64")]
use kernels::inner_simd;
use kernels::{convert_on, Operands};

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

/// Inner product of the raised digits with a key, at `level`: returns the
/// pair over the extended basis (NTT).
pub(crate) fn inner_product(
    ctx: &Context,
    level: usize,
    digits: &[RnsPoly],
    key: &PreparedKey,
) -> (RnsPoly, RnsPoly) {
    let n = ctx.n();
    let ext = level + 1 + ctx.p_len();
    let mut out0 = RnsPoly::zero(n, ext);
    let mut out1 = RnsPoly::zero(n, ext);
    out0.data_mut()
        .par_chunks_mut(n)
        .zip(out1.data_mut().par_chunks_mut(n))
        .enumerate()
        .for_each(|(t, (o0, o1))| inner_product_limb(ctx, level, digits, key, t, o0, o1));
    (out0, out1)
}

/// Limb `t` of [`inner_product`] (the extended basis at `level`), written
/// into `o0` and `o1`.
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
    // 2^124 each, so the sums cannot overflow a u128.
    for k in 0..o0.len() {
        let (mut acc0, mut acc1) = (0u128, 0u128);
        for ((dj, bj), aj) in d.iter().zip(b).zip(a) {
            let v = dj[k] as u128;
            acc0 += v * bj[k] as u128;
            acc1 += v * aj[k] as u128;
        }
        o0[k] = m.reduce_u128(acc0);
        o1[k] = m.reduce_u128(acc1);
    }
}

/// ModDown: `x` over the extended basis at `level` (NTT) divided by P and
/// rounded, over the Q primes `0..=level` (NTT).
pub(crate) fn mod_down(ctx: &Context, tables: &LevelTables, level: usize, x: &RnsPoly) -> RnsPoly {
    divide_round(ctx, &tables.moddown, &tables.p_inv, level, x)
}

/// ModDown followed by a rescale, sharing NTTs: `x` over the extended
/// basis at `level ≥ 1` (NTT) divided by P and rounded, then divided by
/// `q_level` and rounded, over the Q primes `0..level` (NTT). By linearity of
/// the NTT, each remaining limb needs one forward NTT instead of two; the
/// result is bit-identical to [`mod_down`] then a rescale.
pub(crate) fn mod_down_rescale(
    ctx: &Context,
    tables: &LevelTables,
    level: usize,
    x: &RnsPoly,
) -> RnsPoly {
    let n = ctx.n();
    let conv = &tables.moddown;
    let mut p_coeff: Vec<u64> = x.data()[(level + 1) * n..].to_vec();
    p_coeff
        .par_chunks_mut(n)
        .zip(conv.src.par_iter())
        .for_each(|(limb, &i)| ctx.table(i).inverse(limb));
    let src: Vec<&[u64]> = p_coeff.chunks(n).collect();
    let y = conv.premultiply(ctx, &src, n);
    // The ModDown result on the last limb, coefficient domain.
    let ml = ctx.modulus(level);
    let mut last = vec![0u64; n];
    conv.convert_limb(ctx, &y, level, &mut last);
    let mut x_last = x.limb(level).to_vec();
    ctx.table(level).inverse(&mut x_last);
    let (w, ws) = tables.p_inv[level];
    for (r, &v) in last.iter_mut().zip(&x_last) {
        *r = ml.mul_shoup(ml.sub(v, *r), w, ws);
    }
    let (ql, half) = (ml.value(), ml.value() >> 1);
    let mut out = RnsPoly::zero(n, level);
    out.data_mut()
        .par_chunks_mut(n)
        .enumerate()
        .for_each(|(i, limb)| {
            let m = ctx.modulus(i);
            conv.convert_limb(ctx, &y, i, limb);
            // w = conv_i·P^{-1} + (centred last limb mod q_i), then one NTT.
            let (pw, pws) = tables.p_inv[i];
            let ql_mod = m.reduce(ql);
            for (o, &r) in limb.iter_mut().zip(&last) {
                let t = m.reduce(r);
                let t = if r > half { m.sub(t, ql_mod) } else { t };
                *o = m.add(m.mul_shoup(*o, pw, pws), t);
            }
            ctx.table(i).forward(limb);
            let (a, a_s) = tables.pq_inv[i];
            let (b, b_s) = tables.ql_inv[i];
            for (o, &v) in limb.iter_mut().zip(x.limb(i)) {
                *o = m.sub(m.mul_shoup(v, a, a_s), m.mul_shoup(*o, b, b_s));
            }
        });
    out
}

/// `(x − [x]_S)/S` for the product `S` of `conv`'s sources, on `conv`'s
/// targets (the Q primes `0..targets`), NTT domain; `inv` holds `S^{-1}`
/// per target.
fn divide_round(
    ctx: &Context,
    conv: &BaseConv,
    inv: &[(u64, u64)],
    level: usize,
    x: &RnsPoly,
) -> RnsPoly {
    let n = ctx.n();
    let q_len = ctx.q_len();
    let pos = |qp: usize| {
        if qp < q_len {
            qp
        } else {
            level + 1 + (qp - q_len)
        }
    };
    let mut s_coeff = vec![0u64; conv.src.len() * n];
    s_coeff
        .par_chunks_mut(n)
        .zip(conv.src.par_iter())
        .for_each(|(limb, &i)| {
            limb.copy_from_slice(x.limb(pos(i)));
            ctx.table(i).inverse(limb);
        });
    let src: Vec<&[u64]> = s_coeff.chunks(n).collect();
    let y = conv.premultiply(ctx, &src, n);
    let mut out = RnsPoly::zero(n, conv.dst.len());
    out.data_mut()
        .par_chunks_mut(n)
        .enumerate()
        .for_each(|(i, limb)| {
            conv.convert_limb(ctx, &y, i, limb);
            ctx.table(i).forward(limb);
            let m = ctx.modulus(i);
            let (w, ws) = inv[i];
            for (o, &v) in limb.iter_mut().zip(x.limb(i)) {
                *o = m.mul_shoup(m.sub(v, *o), w, ws);
            }
        });
    out
}

#[cfg(test)]
mod tests;
