//! Polynomials in the Chebyshev basis: interpolation in the clear and
//! baby-step giant-step evaluation on ciphertexts.
//!
//! A polynomial on [a, b] is Σ c_j T_j(t) with t = (2x − a − b)/(b − a).
//! Evaluation computes the baby steps T_1 … T_{2^l} and the giant steps
//! T_{2^l}, T_{2^{l+1}}, … (each by T_{2k} = 2T_k² − 1 and
//! T_{2k+1} = 2T_kT_{k+1} − T_1, so T_j sits at depth ⌈log2 j⌉), then
//! splits the coefficients recursively with
//! T_{2^k + i} = 2·T_{2^k}·T_i − T_{2^k − i}: p = q·T_{2^k} + r.
//! Leaves (degree < 2^l) are linear combinations of baby steps; zero
//! coefficients are skipped, so odd or even polynomials cost nothing extra.
//! Depth: at most ⌈log2(d+1)⌉ + 1, plus one level for the map x → t unless
//! the interval is [−1, 1].
//!
//! Scale-aware: the result lands on an [`Engine::Target`] chosen by the
//! caller. Each quotient is evaluated onto the target from which its product
//! with the giant step lands exactly on the parent's target, and each leaf
//! is one [`Engine::linear_combination`] onto its target, so every addition
//! joins operands of identical level and scale (on CKKS, whatever the primes).

use crate::engine::{Coefficient, Complex, Engine, EngineError};
pub use crate::error::{CircuitError, CircuitResult};

/// A polynomial in the Chebyshev basis of an interval.
#[derive(Clone, Debug, PartialEq)]
pub struct Chebyshev {
    /// Lower end of the interval.
    pub a: f64,
    /// Upper end of the interval.
    pub b: f64,
    /// Coefficients c_0, c_1, … of T_0, T_1, ….
    pub coeffs: Vec<f64>,
}

/// Coefficients below this magnitude are treated as zero.
const ZERO: f64 = 1e-300;

impl Chebyshev {
    /// Interpolates `f` on [a, b] at the `degree + 1` Chebyshev nodes.
    pub fn interpolate(f: impl Fn(f64) -> f64, a: f64, b: f64, degree: usize) -> Self {
        let n = degree + 1;
        let nodes: Vec<f64> = (0..n)
            .map(|k| (std::f64::consts::PI * (k as f64 + 0.5) / n as f64).cos())
            .collect();
        let values: Vec<f64> = nodes
            .iter()
            .map(|&t| f(0.5 * (b - a) * t + 0.5 * (a + b)))
            .collect();
        let coeffs = (0..n)
            .map(|j| {
                let s: f64 = nodes
                    .iter()
                    .zip(&values)
                    .map(|(&t, &v)| v * (j as f64 * t.acos()).cos())
                    .sum();
                s * if j == 0 { 1.0 } else { 2.0 } / n as f64
            })
            .collect();
        Chebyshev { a, b, coeffs }
    }

    /// Degree (index of the last coefficient).
    pub fn degree(&self) -> usize {
        self.coeffs.len().saturating_sub(1)
    }

    /// Evaluates in f64 with Clenshaw's recurrence.
    pub fn eval(&self, x: f64) -> f64 {
        let t = (2.0 * x - self.a - self.b) / (self.b - self.a);
        let (mut b1, mut b2) = (0.0, 0.0);
        for &c in self.coeffs.iter().skip(1).rev() {
            let b0 = 2.0 * t * b1 - b2 + c;
            b2 = b1;
            b1 = b0;
        }
        t * b1 - b2 + self.coeffs.first().copied().unwrap_or(0.0)
    }

    /// Fewest levels [`eval_ct`](Self::eval_ct) can consume, computed from
    /// the same structure as the evaluation: ⌈log2(d+1)⌉ for d ≥ 1, plus 1
    /// for the map x → t off [−1, 1] (a constant polynomial costs one level).
    pub fn depth(&self) -> usize {
        if self.degree() == 0 {
            1
        } else {
            self.depth_with(1)
        }
    }

    /// Depth with 2^l baby steps (l ≥ 1, degree ≥ 1).
    fn depth_with(&self, l: usize) -> usize {
        let affine = usize::from(!self.is_unit_interval());
        let m = ceil_log2(self.degree() + 1);
        let giants: Vec<usize> = (l..m).collect();
        affine + split_depth(&self.coeffs, &giants, l)
    }

    /// The baby-step exponent l (2^l baby steps) with the fewest products
    /// whose depth fits in `budget` levels. Larger l means fewer products;
    /// l = 1 reaches the minimal depth.
    fn plan(&self, budget: usize) -> Option<usize> {
        let d = self.degree();
        if d == 0 {
            return (budget >= 1).then_some(0);
        }
        let m = ceil_log2(d + 1);
        (1..=m.div_ceil(2).max(1))
            .rev()
            .find(|&l| self.depth_with(l) <= budget)
    }

    fn is_unit_interval(&self) -> bool {
        self.a == -1.0 && self.b == 1.0
    }

    /// Evaluates the polynomial on every slot of `x` (real values in [a, b]);
    /// the result has `x`'s scale, [`depth`](Self::depth) levels lower.
    pub fn eval_ct<E: Engine>(&self, engine: &E, x: &E::Ct) -> CircuitResult<E::Ct> {
        let depth = self.depth();
        let level = engine.level(x);
        let out_level = level
            .checked_sub(depth)
            .ok_or(EngineError::LevelExhausted {
                needed: depth,
                level,
            })?;
        let out = engine.target_at(engine.target_of(x), out_level)?;
        self.eval_ct_to(engine, x, out)
    }

    /// Evaluates the polynomial on every slot of `x`, landing exactly on
    /// `out` (at least [`depth`](Self::depth) levels below `x`).
    pub fn eval_ct_to<E: Engine>(
        &self,
        engine: &E,
        x: &E::Ct,
        out: E::Target,
    ) -> CircuitResult<E::Ct> {
        if !(self.a < self.b && self.a.is_finite() && self.b.is_finite()) {
            return Err(CircuitError::BadInterval {
                a: self.a,
                b: self.b,
            });
        }
        if self.coeffs.is_empty() {
            return Err(CircuitError::Empty);
        }
        let level = engine.level(x);
        let budget = level.saturating_sub(engine.target_level(out));
        let l = self.plan(budget).ok_or(EngineError::LevelExhausted {
            needed: self.depth(),
            level: budget,
        })?;
        if self.degree() == 0 {
            return Ok(engine.linear_combination(
                &[(x, Coefficient::Const(Complex::default()))],
                Complex::real(self.coeffs[0]),
                out,
            )?);
        }
        let t = if self.is_unit_interval() {
            x.clone()
        } else {
            let scaled = engine.mul_real(x, 2.0 / (self.b - self.a))?;
            engine.add_real(&scaled, -(self.a + self.b) / (self.b - self.a))?
        };
        let m = ceil_log2(self.degree() + 1);
        let baby = 1usize << l;
        // baby[j - 1] = T_j for j = 1..=2^l.
        let mut baby_steps: Vec<E::Ct> = vec![t];
        for j in 2..=baby {
            let next = chebyshev_step(engine, &baby_steps, j)?;
            baby_steps.push(next);
        }
        // giants[i] = T_{2^(l+i)}.
        let mut giants: Vec<E::Ct> = Vec::new();
        for _ in l..m {
            let g = match giants.last() {
                None => baby_steps[baby - 1].clone(),
                Some(prev) => {
                    let sq = engine.mul(prev, prev)?;
                    engine.add_real(&engine.mul_const(&sq, Complex::new(2.0, 0.0))?, -1.0)?
                }
            };
            giants.push(g);
        }
        split_eval(engine, &self.coeffs, &baby_steps, &giants, l, out)
    }
}

fn ceil_log2(n: usize) -> usize {
    (usize::BITS - (n.max(1) - 1).leading_zeros()) as usize
}

/// Depth of [`split_eval`] for the same arguments (giant i is T_{2^i} at depth i).
fn split_depth(coeffs: &[f64], giants: &[usize], l: usize) -> usize {
    let d = coeffs.len().saturating_sub(1);
    if d < (1 << l) || giants.is_empty() {
        return coeffs
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, c)| c.abs() >= ZERO)
            .map(|(j, _)| ceil_log2(j))
            .max()
            .unwrap_or(0)
            + 1;
    }
    let k = (usize::BITS - 1 - d.leading_zeros()) as usize;
    let gi = (k - l).min(giants.len() - 1);
    let (q, r) = divide(coeffs, 1 << (gi + l));
    let qt = split_depth(&q, &giants[..gi], l).max(giants[gi]) + 1;
    if r.iter().all(|c| c.abs() < ZERO) {
        qt
    } else {
        qt.max(split_depth(&r, &giants[..gi], l))
    }
}

/// p = q·T_split + r for p of degree < 2·split, by T_{s+i} = 2·T_s·T_i − T_{s−i}.
fn divide(coeffs: &[f64], split: usize) -> (Vec<f64>, Vec<f64>) {
    let d = coeffs.len() - 1;
    let mut r: Vec<f64> = coeffs[..split].to_vec();
    let mut q = vec![0.0; d - split + 1];
    q[0] = coeffs[split];
    for i in 1..=d - split {
        let c = coeffs[split + i];
        q[i] += 2.0 * c;
        r[split - i] -= c;
    }
    (q, r)
}

/// T_j from T_{⌈j/2⌉} and T_{⌊j/2⌋}, with `baby[i - 1] = T_i` for i < j.
fn chebyshev_step<E: Engine>(engine: &E, baby: &[E::Ct], j: usize) -> CircuitResult<E::Ct> {
    let (hi, lo) = (j.div_ceil(2), j / 2);
    let prod = engine.mul(&baby[hi - 1], &baby[lo - 1])?;
    let twice = engine.mul_const(&prod, Complex::new(2.0, 0.0))?;
    Ok(if hi == lo {
        engine.add_real(&twice, -1.0)?
    } else {
        engine.sub(&twice, &baby[0])?
    })
}

/// Σ c_j T_j landing on `out`, by recursive division by the largest giant
/// step that fits: the quotient lands where its product with the giant step
/// lands on `out`, the remainder on `out` itself.
fn split_eval<E: Engine>(
    engine: &E,
    coeffs: &[f64],
    baby: &[E::Ct],
    giants: &[E::Ct],
    l: usize,
    out: E::Target,
) -> CircuitResult<E::Ct> {
    let d = coeffs.len().saturating_sub(1);
    if d < (1 << l) || giants.is_empty() {
        return leaf(engine, coeffs, baby, out);
    }
    // Largest giant step T_{2^k} with 2^k <= d.
    let k = (usize::BITS - 1 - d.leading_zeros()) as usize;
    let gi = (k - l).min(giants.len() - 1);
    let (q, r) = divide(coeffs, 1 << (gi + l));
    let q_out = engine.factor_target(out, Some(&giants[gi]))?;
    let q_ct = split_eval(engine, &q, baby, &giants[..gi], l, q_out)?;
    let qt = engine.mul(&q_ct, &giants[gi])?;
    if r.iter().all(|c| c.abs() < ZERO) {
        return Ok(qt);
    }
    let r_ct = split_eval(engine, &r, baby, &giants[..gi], l, out)?;
    Ok(engine.add(&qt, &r_ct)?)
}

/// c_0 + Σ_{j ≥ 1} c_j T_j with the baby steps T_1, T_2, …, landing on `out`.
fn leaf<E: Engine>(
    engine: &E,
    coeffs: &[f64],
    baby: &[E::Ct],
    out: E::Target,
) -> CircuitResult<E::Ct> {
    let mut terms: Vec<(&E::Ct, Coefficient<'_>)> = coeffs
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, c)| c.abs() >= ZERO)
        .map(|(j, &c)| (&baby[j - 1], Coefficient::Const(Complex::real(c))))
        .collect();
    if terms.is_empty() {
        terms.push((&baby[0], Coefficient::Const(Complex::default())));
    }
    let c0 = coeffs.first().copied().unwrap_or(0.0);
    Ok(engine.linear_combination(&terms, Complex::real(c0), out)?)
}

#[cfg(test)]
mod tests;
