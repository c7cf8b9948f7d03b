//! The softmax methods, tile by tile.

use super::poly;
use super::rows::Rows;
use crate::engine::{
    add_across_paths, ensure_levels, ensure_levels_pair, ensure_levels_with, Complex, Engine,
    EngineResult,
};
use crate::linalg::{rot_left, BlockMatrix, Layout, LinalgError, LinalgResult};

/// A softmax approximation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SoftmaxMethod {
    /// HETAL's Algorithm 1: approximate row max, domain extension, exp by a
    /// degree-8 polynomial and three squarings, Goldschmidt inverse.
    Hetal,
    /// Algorithm 1 with the precise domain-extension correction.
    HetalPrecise,
    /// Variant of Algorithm 1 (not the paper's): the Goldschmidt inverse
    /// uses `R = 2c'` and 8 steps instead of `R = 100` and 16. The row sum
    /// `z` lies in about `[1, c]`, so `z / R ≤ 1/2` and
    /// `(1 − z/R)^(2^9) < 10^-6` already for `z ≥ 0.9`: 8 levels fewer.
    HetalLean,
    /// Lee et al.'s Gumbel softmax: exp(x/4) by a degree-12 polynomial of
    /// x/256 and six squarings, inverse with R = 10000 and 8 steps.
    LeeGumbel,
    /// Hong et al.: exp(x) ≈ ((x + 16)/32)^16, inverse with R = 80 and 30 steps.
    Hong,
    /// Jin et al.: products of pairwise sigmoids 0.5 + 0.15012x − 0.00156x³.
    JinPairwise,
}

/// HETAL's domain extension: r = 8, ratio 2, so that `s` steps cover
/// logits within `R = (r/2)·2^s` (the paper: 5 steps, `R_max = 128`).
const EXT_R: f64 = 8.0;
/// The paper's logit range, `R_max = (r/2)·2^5`: the HETAL methods' widest
/// (and default) bound on the logits' magnitude.
pub const HETAL_LOGIT_BOUND: f64 = 128.0;
/// Squarings after the degree-8 exponential: exp(y) = p(y/8)^8.
const EXP_SQUARINGS: usize = 3;
/// Goldschmidt scale and steps of Algorithm 1.
const HETAL_INV: (f64, usize) = (100.0, 16);
/// Goldschmidt steps of the lean variant (scale `2c'`).
const LEAN_INV_STEPS: usize = 8;
/// g(x) = (4589x − 16577x³ + 25614x⁵ − 12860x⁷)/1024.
const G: [f64; 8] = [
    0.0,
    4589.0 / 1024.0,
    0.0,
    -16577.0 / 1024.0,
    0.0,
    25614.0 / 1024.0,
    0.0,
    -12860.0 / 1024.0,
];
/// (1 + f(x))/2 with f(x) = (35x − 35x³ + 21x⁵ − 5x⁷)/16.
const F_STEP: [f64; 8] = [
    0.5,
    35.0 / 32.0,
    0.0,
    -35.0 / 32.0,
    0.0,
    21.0 / 32.0,
    0.0,
    -5.0 / 32.0,
];
/// exp(x) ≈ p(x) on [-1, 0]-ish, degree 8 (constant first).
const EXP8: [f64; 9] = [
    1.000000001945585,
    0.9999999388932228,
    0.499999859398392,
    0.16666798775227673,
    0.04166711228500117,
    0.008328336039797088,
    0.0013881473292497602,
    0.00020492629147503022,
    2.551385701569812e-05,
];
/// Lee et al.'s degree-12 exp polynomial (constant first).
const EXP12: [f64; 13] = [
    1.0,
    1.0,
    5.0e-01,
    1.66666667e-01,
    4.16666667e-02,
    8.33333323e-03,
    1.38888888e-03,
    1.98413061e-04,
    2.48016226e-05,
    2.75510749e-06,
    2.75519884e-07,
    2.55652816e-08,
    2.12732465e-09,
];

/// How the HETAL methods cover logits within `±bound`: the normalising
/// range `R` (the power of two `(r/2)·2^s` at or above the bound, at least
/// 8), the domain-extension steps `s`, and the polynomials of each max
/// round's comparison. The comparison's error in logits is `R` times that
/// of the composite polynomial, and a max round is off by at most that
/// much: HETAL's `g∘g∘f` at `R = 128` gives 1.31; `g∘f` gives 0.88 at
/// `R = 32` (0.44 at 16), so at `R ≤ 32` one `g` (three levels per round,
/// twelve per softmax at ten classes) goes, besides the two extension
/// steps (four levels) that `R = 32` does not need.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Coverage {
    range: f64,
    ext_steps: i32,
    sign: &'static [&'static [f64; 8]],
}

impl Coverage {
    fn of(bound: f64) -> Self {
        let mut ext_steps = 1;
        while EXT_R / 2.0 * 2f64.powi(ext_steps) < bound {
            ext_steps += 1;
        }
        let range = EXT_R / 2.0 * 2f64.powi(ext_steps);
        let sign: &'static [&'static [f64; 8]] = if range <= 32.0 {
            &[&G, &F_STEP]
        } else {
            &[&G, &G, &F_STEP]
        };
        Coverage {
            range,
            ext_steps,
            sign,
        }
    }
}

/// `coeffs` of p(x) turned into those of p(x · k).
fn rescaled(coeffs: &[f64], k: f64) -> Vec<f64> {
    coeffs
        .iter()
        .enumerate()
        .map(|(i, c)| c * k.powi(i as i32))
        .collect()
}

impl SoftmaxMethod {
    /// All methods.
    pub const ALL: [SoftmaxMethod; 6] = [
        SoftmaxMethod::Hetal,
        SoftmaxMethod::HetalPrecise,
        SoftmaxMethod::HetalLean,
        SoftmaxMethod::LeeGumbel,
        SoftmaxMethod::Hong,
        SoftmaxMethod::JinPairwise,
    ];

    /// Short name (used in benchmark records).
    pub fn name(self) -> &'static str {
        match self {
            SoftmaxMethod::Hetal => "hetal",
            SoftmaxMethod::HetalPrecise => "hetal_precise",
            SoftmaxMethod::HetalLean => "hetal_lean",
            SoftmaxMethod::LeeGumbel => "lee_gumbel",
            SoftmaxMethod::Hong => "hong",
            SoftmaxMethod::JinPairwise => "jin_pairwise",
        }
    }

    /// Largest input range `[-r, r]` the method was designed for (the paper
    /// compares each method up to its own range).
    pub fn supported_range(self) -> f64 {
        match self {
            SoftmaxMethod::Hetal | SoftmaxMethod::HetalPrecise | SoftmaxMethod::HetalLean => {
                HETAL_LOGIT_BOUND
            }
            SoftmaxMethod::LeeGumbel => 32.0,
            SoftmaxMethod::Hong => 8.0,
            SoftmaxMethod::JinPairwise => 4.0,
        }
    }

    /// Multiplicative depth of one softmax with period `c'` over the
    /// method's whole range, stage by stage.
    pub fn depth(self, period: usize) -> usize {
        self.depth_within(period, self.supported_range())
    }

    /// Multiplicative depth of one softmax with period `c'` for logits
    /// within `±bound` (see [`softmax_scaled`]; only the HETAL methods
    /// depend on it).
    pub fn depth_within(self, period: usize, bound: f64) -> usize {
        let log_p = period.trailing_zeros() as usize;
        let cover = Coverage::of(bound);
        // Goldschmidt from a row sum at depth d: n steps, then the product.
        let inverse = |d: usize, steps: usize| d + steps + 2;
        match self {
            SoftmaxMethod::Hetal | SoftmaxMethod::HetalPrecise | SoftmaxMethod::HetalLean => {
                let max_round = cover.sign.len() * poly::depth(7) + 1;
                let max = 1 + max_round * log_p + 1;
                let precise = if self == SoftmaxMethod::HetalPrecise {
                    poly::depth(5)
                } else {
                    0
                };
                let extension = cover.ext_steps as usize * poly::depth(3) + precise;
                let exp = poly::depth(8) + 3;
                // masked exp (1), broadcast row sum (1)
                let steps = if self == SoftmaxMethod::HetalLean {
                    LEAN_INV_STEPS
                } else {
                    HETAL_INV.1
                };
                inverse(max + extension + exp + 2, steps)
            }
            SoftmaxMethod::LeeGumbel => inverse(poly::depth(12) + 6 + 2, 8),
            SoftmaxMethod::Hong => inverse(1 + 4 + 2, 30),
            SoftmaxMethod::JinPairwise => {
                let factors = period.saturating_sub(1).max(1);
                let tree = (usize::BITS - (factors - 1).leading_zeros()) as usize;
                1 + poly::depth(3) + 1 + tree + 1
            }
        }
    }
}

/// Softmax of each row of horizontally tiled logits (`batch × c`, period
/// `c'`), returned in the same layout with padded classes 0.
pub fn softmax<E: Engine>(
    engine: &E,
    logits: &BlockMatrix<E::Ct>,
    method: SoftmaxMethod,
) -> LinalgResult<BlockMatrix<E::Ct>> {
    softmax_scaled(engine, logits, method, 1.0, method.supported_range())
}

/// Checks a bound on the logits' magnitude for [`softmax_scaled`]: it
/// must lie in `(0, HETAL_LOGIT_BOUND]` ([`LinalgError::LogitBound`]).
pub fn check_logit_bound(bound: f64) -> LinalgResult<()> {
    if bound > 0.0 && bound <= HETAL_LOGIT_BOUND {
        Ok(())
    } else {
        Err(LinalgError::LogitBound(bound))
    }
}

/// [`softmax`] of `logit_scale ·` the encrypted values: the trainer keeps
/// logits divided by the weights' scale, and the HETAL methods fold the
/// factor into their first constant product (no level). The other methods
/// multiply by it first (one level unless it is 1).
///
/// `logit_bound` bounds the logits' magnitude (after the scale). The HETAL
/// methods cover `±bound` rounded up to a power of two and take fewer
/// levels for a smaller one (see [`SoftmaxMethod::depth_within`]); a logit
/// beyond the covered range makes the max search diverge (on
/// [`crate::engine::ClearEngine`], a bootstrap input out of range). A bound
/// above [`HETAL_LOGIT_BOUND`] or not positive is refused.
pub fn softmax_scaled<E: Engine>(
    engine: &E,
    logits: &BlockMatrix<E::Ct>,
    method: SoftmaxMethod,
    logit_scale: f64,
    logit_bound: f64,
) -> LinalgResult<BlockMatrix<E::Ct>> {
    check_logit_bound(logit_bound)?;
    let cover = Coverage::of(logit_bound);
    let Layout::Horizontal { period } = logits.layout() else {
        return Err(LinalgError::LayoutMismatch {
            expected: Layout::Horizontal { period: 0 },
            found: logits.layout(),
        });
    };
    let rows = Rows {
        shape: logits.shape(),
        period,
        classes: logits.cols(),
    };
    let plain = |z: &E::Ct| -> EngineResult<E::Ct> {
        if logit_scale == 1.0 {
            Ok(z.clone())
        } else {
            engine.mul_real(&ensure_levels(engine, z, 1)?, logit_scale)
        }
    };
    logits.try_map(|z| {
        let p = match method {
            SoftmaxMethod::Hetal => hetal(engine, z, &rows, cover, false, HETAL_INV, logit_scale),
            SoftmaxMethod::HetalPrecise => {
                hetal(engine, z, &rows, cover, true, HETAL_INV, logit_scale)
            }
            SoftmaxMethod::HetalLean => {
                let inverse = (2.0 * period as f64, LEAN_INV_STEPS);
                hetal(engine, z, &rows, cover, false, inverse, logit_scale)
            }
            SoftmaxMethod::LeeGumbel => plain(z).and_then(|z| lee_gumbel(engine, &z, &rows)),
            SoftmaxMethod::Hong => plain(z).and_then(|z| hong(engine, &z, &rows)),
            SoftmaxMethod::JinPairwise => return jin_pairwise(engine, &plain(z)?, &rows),
        };
        p.map_err(LinalgError::from)
    })
}

/// `a · b` after making sure both have a level to spend.
fn mul<E: Engine>(engine: &E, a: &E::Ct, b: &E::Ct) -> EngineResult<E::Ct> {
    let a = ensure_levels(engine, a, 1)?;
    let b = ensure_levels(engine, b, 1)?;
    engine.mul(&a, &b)
}

/// `x²`, bootstrapping `x` once (not once per factor) when it has no level left.
fn square<E: Engine>(engine: &E, x: &E::Ct) -> EngineResult<E::Ct> {
    let x = ensure_levels(engine, x, 1)?;
    engine.mul(&x, &x)
}

fn square_times<E: Engine>(engine: &E, x: &E::Ct, times: usize) -> EngineResult<E::Ct> {
    let mut x = x.clone();
    for _ in 0..times {
        x = square(engine, &x)?;
    }
    Ok(x)
}

/// From exponentials `e` (any values at padded classes) to probabilities:
/// mask padded classes with `1/R` folded in, row sum, broadcast, Goldschmidt
/// inverse of `z/R` (`steps` steps), product. The inverse is carried
/// divided by `R` (so every value a bootstrap sees stays in `[0, 2]`), and
/// the final product takes `R` back as a free integer factor.
fn normalise<E: Engine>(
    engine: &E,
    e: &E::Ct,
    rows: &Rows,
    r: f64,
    steps: usize,
) -> EngineResult<E::Ct> {
    let masked = engine.mul_plain(&ensure_levels(engine, e, 1)?, &rows.real_classes(1.0 / r))?;
    let sums = rows.window_sum(engine, &masked)?;
    // h = z/(2R) in (0, 1): t = 1 − z/R = 1 − 2h (an integer factor, free)
    // and w = (2 − z/R)/R = (1 − h)·(2/R), whose constant costs w no level
    // since its first product waits for t² anyway. Both stay in [−1, 1].
    let h = rows.broadcast(engine, &ensure_levels(engine, &sums, 1)?, 0.5)?;
    let minus_two_h = engine.mul_const(&h, Complex::real(-2.0))?;
    let (mut t, one_minus_h) = ensure_levels_pair(
        engine,
        (&engine.add_real(&minus_two_h, 1.0)?, 2),
        (&engine.add_real(&engine.neg(&h)?, 1.0)?, 2),
    )?;
    let mut w = engine.mul_real(&one_minus_h, 2.0 / r)?;
    for _ in 0..steps {
        (t, w) = ensure_levels_pair(engine, (&t, 2), (&w, 1))?;
        t = engine.mul(&t, &t)?;
        w = engine.mul(&w, &engine.add_real(&t, 1.0)?)?;
    }
    let (masked, w) = ensure_levels_pair(engine, (&masked, 1), (&w, 1))?;
    // Every scale R in use is an integer, so this product is free.
    let whole = engine.mul_const(&masked, Complex::real(r))?;
    engine.mul(&whole, &w)
}

/// Largest `|y − c·y³|` over `|y| ≤ bound`.
fn cubic_bound(bound: f64, c: f64) -> f64 {
    let f = |y: f64| (y - c * y * y * y).abs();
    let critical = (1.0 / (3.0 * c)).sqrt();
    if bound <= critical {
        f(bound)
    } else {
        f(critical).max(f(bound))
    }
}

/// Algorithm 1 over the logits `cover` covers; `inverse` is the Goldschmidt
/// scale `R` and step count, `logit_scale` multiplies the encrypted values. Every intermediate value is
/// carried divided by a known bound on its magnitude, so that any bootstrap
/// the general rule inserts sees values in `[−1, 1]`: the normalised logits
/// and the max-search state in `[−1/2, 1/2]`, the shifted logits `y` and
/// each domain-extension step divided by its own range (folded into the
/// polynomial's coefficients), the exponentials in `[0, 1]`.
fn hetal<E: Engine>(
    engine: &E,
    z: &E::Ct,
    rows: &Rows,
    cover: Coverage,
    precise: bool,
    inverse: (f64, usize),
    logit_scale: f64,
) -> EngineResult<E::Ct> {
    // Normalise to [-1/2, 1/2]; padded classes sit at -1/2.
    let z1 = ensure_levels(engine, z, 1)?;
    let u0 = engine.mul_real(&z1, logit_scale / (2.0 * cover.range))?;
    let u0 = engine.add_plain(&u0, &rows.padded_classes(-0.5))?;
    // A low u0 is refreshed before the first round (not inside it), so that
    // it is still high when the shift y = u0 − max needs it.
    let u0 = ensure_levels(engine, &u0, poly::depth(7))?;
    let mut u = u0.clone();
    let mut shift = 1;
    while shift < rows.period {
        // u ← v + s·d with d = u − v, v = u rotated and s the comparison
        // (1 + f(g(g(d))))/2, or (1 + f(g(d)))/2 over a narrow range: ten
        // or seven levels, so at least one refresh in most rounds.
        // A refresh at the round's start takes d and v together; one inside
        // it takes u along with s (below), so that every operand of the
        // round's end is fresh and the new u lands high.
        let v = engine.rotate(&u, shift as isize)?;
        let d = engine.sub(&u, &v)?;
        let (mut d, mut v) = ensure_levels_with(engine, (&d, poly::depth(7)), &v)?;
        let mut s = d.clone();
        // The three polynomials, then the product s·d (one level).
        for step in cover.sign.iter().copied().map(Some).chain([None]) {
            let need = step.map_or(1, |_| poly::depth(7));
            if engine.level(&s) < need {
                // The round's end needs v and d besides s, and both derive
                // from u: u goes along with s, and v and d are taken again
                // from the fresh u (one rotation by a step already keyed).
                let fresh;
                (s, fresh) = ensure_levels_with(engine, (&s, need), &u)?;
                v = engine.rotate(&fresh, shift as isize)?;
                d = engine.sub(&fresh, &v)?;
                u = fresh;
            }
            if let Some(coeffs) = step {
                s = poly::eval(engine, &s, coeffs)?;
            }
        }
        u = add_across_paths(engine, &v, &engine.mul(&s, &d)?)?;
        shift *= 2;
    }
    // Row max m (normalised), y = (z − max)/(2R) in [-1, 0] (padded
    // classes too, at -1/2 − m).
    let (u, u0) = ensure_levels_with(engine, (&u, 1), &u0)?;
    let m = rows.broadcast(engine, &u, 1.0)?;
    let mut y = add_across_paths(engine, &u0, &engine.neg(&m)?)?;
    let mut range = 2.0 * cover.range;
    for i in (0..cover.ext_steps).rev() {
        let c = 4.0 / 27.0 / (EXT_R * EXT_R * 4f64.powi(i));
        let next = cubic_bound(range, c);
        let coeffs = [0.0, range / next, 0.0, -c * range.powi(3) / next];
        y = poly::eval(engine, &y, &coeffs)?;
        range = next;
    }
    if precise {
        let c = 4.0 / 27.0 * (2f64.powi(2 * cover.ext_steps) - 1.0)
            / (2f64.powi(2 * cover.ext_steps - 2) * 3.0);
        let r2 = EXT_R * EXT_R;
        let (k3, k5) = (c / r2, -c / (r2 * r2));
        let next = (range + k3 * range.powi(3)).abs().max(range);
        let coeffs = [
            0.0,
            range / next,
            0.0,
            k3 * range.powi(3) / next,
            0.0,
            k5 * range.powi(5) / next,
        ];
        y = poly::eval(engine, &y, &coeffs)?;
        range = next;
    }
    let p = poly::eval(engine, &y, &rescaled(&EXP8, range / 8.0))?;
    // The approximate max may fall short of the true one by δ, so the
    // exponentials reach e^δ. p = e^(y/8) stays below 2 for δ < 5.5 (worse
    // than the four rounds' worst case), so the refresh happens here: the
    // squarings, the mask and the broadcast then need no bootstrap.
    let p = ensure_levels(engine, &p, EXP_SQUARINGS + 2)?;
    let e = square_times(engine, &p, EXP_SQUARINGS)?;
    normalise(engine, &e, rows, inverse.0, inverse.1)
}

fn lee_gumbel<E: Engine>(engine: &E, z: &E::Ct, rows: &Rows) -> EngineResult<E::Ct> {
    let e = poly::eval(engine, z, &rescaled(&EXP12, 1.0 / (4.0 * 64.0)))?;
    let e = square_times(engine, &e, 6)?;
    normalise(engine, &e, rows, 10_000.0, 8)
}

fn hong<E: Engine>(engine: &E, z: &E::Ct, rows: &Rows) -> EngineResult<E::Ct> {
    let z1 = ensure_levels(engine, z, 1)?;
    let base = engine.mul_real(&engine.add_real(&z1, 16.0)?, 1.0 / 32.0)?;
    let e = square_times(engine, &base, 4)?;
    normalise(engine, &e, rows, 80.0, 30)
}

fn jin_pairwise<E: Engine>(engine: &E, z: &E::Ct, rows: &Rows) -> LinalgResult<E::Ct> {
    let mut factors = Vec::with_capacity(rows.period - 1);
    for t in 1..rows.period {
        let partner = rot_left(engine, &ensure_levels(engine, z, 1)?, t, rows.shape)?;
        let d = engine.sub(z, &partner)?;
        let s = poly::eval(engine, &d, &[0.5, 0.15012, 0.0, -0.00156])?;
        let s_minus_one = engine.add_real(&ensure_levels(engine, &s, 1)?, -1.0)?;
        let masked = engine.mul_plain(&s_minus_one, &rows.partner_real(t))?;
        factors.push(engine.add_real(&masked, 1.0)?);
    }
    while factors.len() > 1 {
        let mut next = Vec::with_capacity(factors.len().div_ceil(2));
        let mut items = factors.into_iter();
        while let Some(a) = items.next() {
            next.push(match items.next() {
                Some(b) => mul(engine, &a, &b)?,
                None => a,
            });
        }
        factors = next;
    }
    let product = factors.pop().ok_or(LinalgError::ShapeMismatch {
        context: "classes for the pairwise softmax",
        expected: 2,
        found: rows.period,
    })?;
    let p = ensure_levels(engine, &product, 1)?;
    Ok(engine.mul_plain(&p, &rows.real_classes(1.0))?)
}
