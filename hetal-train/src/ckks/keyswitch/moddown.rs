//! ModDown, the division by P that ends a key switch: of a polynomial over
//! QP, and of a key switch's inner product computed limb by limb, on its own
//! or fused with the rescale that follows a product.
//!
//! The fused forms compute the product's P limbs first; each Q limb of the
//! product is then computed into a scratch limb and divided while it is in
//! cache, so the product never exists over Q as a whole polynomial (no
//! zeroing, writing and reading back of 2 × (level + 1) limbs). They are
//! bit-identical to the inner product as whole polynomials followed by
//! [`mod_down`] (and a rescale).

use hetal_nostd::ring::{Context, RnsPoly};
use rayon::prelude::*;

use super::{inner_product_limb, BaseConv, LevelTables, PreparedKey};

/// ModDown: `x` over the extended basis at `level` (NTT) divided by P and
/// rounded, over the Q primes `0..=level` (NTT).
pub(crate) fn mod_down(ctx: &Context, tables: &LevelTables, level: usize, x: &RnsPoly) -> RnsPoly {
    divide_round(ctx, &tables.moddown, &tables.p_inv, level, x)
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
        .for_each(|(i, limb)| divide_limb(ctx, conv, &y, i, inv[i], x.limb(i), limb));
    out
}

/// ModDown's step on target limb `i` (NTT): `o = (x − conv_i(y))·inv`, with
/// `y` the premultiplied sources and `inv = S^{-1} mod q_i`.
fn divide_limb(
    ctx: &Context,
    conv: &BaseConv,
    y: &[u64],
    i: usize,
    (w, ws): (u64, u64),
    x: &[u64],
    o: &mut [u64],
) {
    conv.convert_limb(ctx, y, i, o);
    ctx.table(i).forward(o);
    let m = ctx.modulus(i);
    for (o, &v) in o.iter_mut().zip(x) {
        *o = m.mul_shoup(m.sub(v, *o), w, ws);
    }
}

/// The product of a key switch at `level`: the raised digits times the key
/// and, on the Q limbs, `P·d_k` added to part `k` when `plus` holds
/// `(d_0, d_1)` (ModDown then returns `d_k` plus the switched part).
pub(crate) struct SwitchProduct<'a> {
    /// The level of the switch.
    pub level: usize,
    /// ModUp's digits (extended basis, NTT).
    pub digits: &'a [RnsPoly],
    /// The switching key.
    pub key: &'a PreparedKey,
    /// Polynomials over Q (NTT) lifted by P into the two parts.
    pub plus: Option<(&'a RnsPoly, &'a RnsPoly)>,
}

impl SwitchProduct<'_> {
    /// Limb `t` of the extended basis of both parts, into `o0` and `o1`.
    fn limb(&self, ctx: &Context, tables: &LevelTables, t: usize, o0: &mut [u64], o1: &mut [u64]) {
        inner_product_limb(ctx, self.level, self.digits, self.key, t, o0, o1);
        if let Some(plus) = self.plus.filter(|_| t <= self.level) {
            let m = ctx.modulus(t);
            let (w, ws) = tables.p_mod[t];
            for (o, d) in [(o0, plus.0), (o1, plus.1)] {
                for (x, &v) in o.iter_mut().zip(d.limb(t)) {
                    *x = m.add(*x, m.mul_shoup(v, w, ws));
                }
            }
        }
    }

    /// The premultiplied P limbs of both parts (ModDown's base-conversion
    /// sources).
    fn p_sources(&self, ctx: &Context, tables: &LevelTables) -> [Vec<u64>; 2] {
        let n = ctx.n();
        let conv = &tables.moddown;
        let mut p0 = vec![0u64; conv.src.len() * n];
        let mut p1 = vec![0u64; conv.src.len() * n];
        p0.par_chunks_mut(n)
            .zip(p1.par_chunks_mut(n))
            .zip(conv.src.par_iter())
            .enumerate()
            .for_each(|(k, ((l0, l1), &qp))| {
                self.limb(ctx, tables, self.level + 1 + k, l0, l1);
                ctx.table(qp).inverse(l0);
                ctx.table(qp).inverse(l1);
            });
        let (y0, y1) = rayon::join(
            || conv.premultiply(ctx, &p0.chunks(n).collect::<Vec<_>>(), n),
            || conv.premultiply(ctx, &p1.chunks(n).collect::<Vec<_>>(), n),
        );
        [y0, y1]
    }
}

/// Both parts over the Q primes `0..limbs` (NTT): limb `i` of part `k` is
/// written by `finish(i, k, out, e)`, `e` being limb `i` of part `k` of the
/// product, computed into a scratch limb just before.
fn by_q_limb(
    ctx: &Context,
    tables: &LevelTables,
    prod: &SwitchProduct,
    limbs: usize,
    finish: impl Fn(usize, usize, &mut [u64], &[u64]) + Sync,
) -> (RnsPoly, RnsPoly) {
    let n = ctx.n();
    let mut c0 = RnsPoly::zero(n, limbs);
    let mut c1 = RnsPoly::zero(n, limbs);
    c0.data_mut()
        .par_chunks_mut(n)
        .zip(c1.data_mut().par_chunks_mut(n))
        .enumerate()
        .for_each_init(
            || (vec![0u64; n], vec![0u64; n]),
            |(e0, e1), (i, (o0, o1))| {
                prod.limb(ctx, tables, i, e0, e1);
                finish(i, 0, o0, e0);
                finish(i, 1, o1, e1);
            },
        );
    (c0, c1)
}

/// ModDown of both parts of `prod`, over the Q primes `0..=level` (NTT).
pub(crate) fn product_mod_down(
    ctx: &Context,
    tables: &LevelTables,
    prod: &SwitchProduct,
) -> (RnsPoly, RnsPoly) {
    let conv = &tables.moddown;
    let y = prod.p_sources(ctx, tables);
    by_q_limb(ctx, tables, prod, prod.level + 1, |i, k, o, e| {
        divide_limb(ctx, conv, &y[k], i, tables.p_inv[i], e, o);
    })
}

/// ModDown of both parts of `prod` (at `level ≥ 1`) followed by a rescale,
/// sharing NTTs: divided by P and rounded, then by `q_level` and rounded,
/// over the Q primes `0..level` (NTT). By linearity of the NTT each
/// remaining limb needs one forward NTT instead of two; the result is
/// bit-identical to [`mod_down`] then a rescale.
pub(crate) fn product_mod_down_rescale(
    ctx: &Context,
    tables: &LevelTables,
    prod: &SwitchProduct,
) -> (RnsPoly, RnsPoly) {
    let (n, level) = (ctx.n(), prod.level);
    let conv = &tables.moddown;
    let y = prod.p_sources(ctx, tables);
    // The ModDown result on the last limb, coefficient domain.
    let ml = ctx.modulus(level);
    let (mut x0, mut x1) = (vec![0u64; n], vec![0u64; n]);
    prod.limb(ctx, tables, level, &mut x0, &mut x1);
    let last = |mut x: Vec<u64>, y: &[u64]| {
        ctx.table(level).inverse(&mut x);
        let mut r = vec![0u64; n];
        conv.convert_limb(ctx, y, level, &mut r);
        let (w, ws) = tables.p_inv[level];
        for (r, &v) in r.iter_mut().zip(x.iter()) {
            *r = ml.mul_shoup(ml.sub(v, *r), w, ws);
        }
        r
    };
    let (last0, last1) = rayon::join(|| last(x0, &y[0]), || last(x1, &y[1]));
    let last = [last0, last1];
    let (ql, half) = (ml.value(), ml.value() >> 1);
    by_q_limb(ctx, tables, prod, level, |i, k, o, e| {
        let m = ctx.modulus(i);
        let (pw, pws) = tables.p_inv[i];
        let (a, a_s) = tables.pq_inv[i];
        let (b, b_s) = tables.ql_inv[i];
        let ql_mod = m.reduce(ql);
        conv.convert_limb(ctx, &y[k], i, o);
        // conv_i·P^{-1} + (centred last limb mod q_i), then one NTT.
        for (o, &r) in o.iter_mut().zip(&last[k]) {
            let t = m.reduce(r);
            let t = if r > half { m.sub(t, ql_mod) } else { t };
            *o = m.add(m.mul_shoup(*o, pw, pws), t);
        }
        ctx.table(i).forward(o);
        for (o, &v) in o.iter_mut().zip(e) {
            *o = m.sub(m.mul_shoup(v, a, a_s), m.mul_shoup(*o, b, b_s));
        }
    })
}
