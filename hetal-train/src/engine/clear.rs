//! [`ClearEngine`]: slot vectors in f64 that follow CKKS's level rules, count
//! every operation and can add CKKS-sized noise.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::noise::NoiseSource;
use super::{
    add_to, check_above, Coefficient, Complex, Decryptor, Engine, EngineError, EngineResult,
    NoiseConfig,
};

/// `|v|²`, whose square root is `|v|` for the slot magnitudes an engine
/// holds (no overflow below 1e150), without `hypot`'s cost.
fn norm_sqr(v: Complex) -> f64 {
    v.re * v.re + v.im * v.im
}

/// Settings of a [`ClearEngine`].
#[derive(Clone, Debug, PartialEq)]
pub struct ClearConfig {
    /// Number of slots (a power of two).
    pub slots: usize,
    /// Highest level.
    pub max_level: usize,
    /// Level of a bootstrap's output.
    pub bootstrap_level: usize,
    /// Noise model; `None` computes exactly.
    pub noise: Option<NoiseConfig>,
    /// Rotation amounts (left, in `0..slots`) that have keys; `None` allows all.
    pub rotation_keys: Option<BTreeSet<usize>>,
    /// Count operations and track levels without computing slot values
    /// (for operation counts at sizes where computing would be slow).
    pub counting_only: bool,
    /// Largest slot magnitude (real or imaginary part) a bootstrap accepts,
    /// as CKKS bootstrapping's EvalMod only works on a bounded range (by
    /// default [`super::BOOTSTRAP_RANGE`], where the CKKS bootstrap is
    /// precise, so that a simulated run fails where CKKS would lose
    /// precision); `None` accepts any.
    pub bootstrap_bound: Option<f64>,
}

impl ClearConfig {
    /// Exact arithmetic with `slots` slots, levels up to `max_level` and
    /// bootstraps back to `max_level`.
    pub fn exact(slots: usize, max_level: usize) -> Self {
        ClearConfig {
            slots,
            max_level,
            bootstrap_level: max_level,
            noise: None,
            rotation_keys: None,
            counting_only: false,
            bootstrap_bound: Some(super::BOOTSTRAP_RANGE),
        }
    }

    /// The paper's setting: 2^15 slots, top level 12, 9 levels left after a bootstrap.
    pub fn paper() -> Self {
        ClearConfig {
            bootstrap_level: 9,
            ..ClearConfig::exact(1 << 15, 12)
        }
    }
}

/// A clear "ciphertext": slot values, a level and the circuit depth behind it.
#[derive(Clone, Debug, PartialEq)]
pub struct ClearCt {
    values: Vec<Complex>,
    level: usize,
    depth: usize,
    pending_rescale: bool,
}

impl ClearCt {
    /// Multiplicative depth of the circuit that produced this value
    /// (levels consumed along the longest path, bootstraps not resetting it).
    pub fn depth(&self) -> usize {
        self.depth
    }
}

/// Operation counts of a [`ClearEngine`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Plaintext-vector and non-integer constant multiplications.
    pub cmult: u64,
    /// Ciphertext-by-ciphertext multiplications.
    pub mult: u64,
    /// Rotations (conjugations are not rotations).
    pub rot: u64,
    /// Conjugations.
    pub conj: u64,
    /// Bootstraps.
    pub bootstrap: u64,
}

impl OpCounts {
    /// Counts accumulated since `earlier`.
    pub fn since(&self, earlier: &OpCounts) -> OpCounts {
        OpCounts {
            cmult: self.cmult.saturating_sub(earlier.cmult),
            mult: self.mult.saturating_sub(earlier.mult),
            rot: self.rot.saturating_sub(earlier.rot),
            conj: self.conj.saturating_sub(earlier.conj),
            bootstrap: self.bootstrap.saturating_sub(earlier.bootstrap),
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    cmult: AtomicU64,
    mult: AtomicU64,
    rot: AtomicU64,
    conj: AtomicU64,
    bootstrap: AtomicU64,
    /// Bits of the largest |slot| fed to a bootstrap (non-negative f64s
    /// order like their bit patterns).
    bootstrap_peak: AtomicU64,
}

/// The clear-slot engine. See the module documentation of [`crate::engine`]
/// for the level conventions it enforces.
#[derive(Debug)]
pub struct ClearEngine {
    config: ClearConfig,
    counters: Counters,
    noise: Option<NoiseSource>,
    rotations_used: Mutex<BTreeSet<usize>>,
}

/// The key owner's decryptor for a [`ClearEngine`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ClearDecryptor;

impl Decryptor<ClearEngine> for ClearDecryptor {
    fn decrypt(&self, ct: &ClearCt) -> EngineResult<Vec<Complex>> {
        if ct.values.is_empty() {
            return Err(EngineError::ValuesNotTracked);
        }
        Ok(ct.values.clone())
    }
}

impl ClearEngine {
    /// Builds an engine. Fails when `slots` is not a power of two or the
    /// bootstrap level exceeds the top level.
    pub fn new(config: ClearConfig) -> EngineResult<Self> {
        if !config.slots.is_power_of_two() {
            return Err(EngineError::SizeMismatch {
                len: config.slots,
                slots: config.slots.next_power_of_two(),
            });
        }
        if config.bootstrap_level > config.max_level {
            return Err(EngineError::InvalidLevel {
                requested: config.bootstrap_level,
                max: config.max_level,
            });
        }
        let noise = config.noise.map(|n| NoiseSource::new(n.seed));
        Ok(ClearEngine {
            config,
            counters: Counters::default(),
            noise,
            rotations_used: Mutex::new(BTreeSet::new()),
        })
    }

    /// The engine's settings.
    pub fn config(&self) -> &ClearConfig {
        &self.config
    }

    /// Operation counts so far.
    pub fn counts(&self) -> OpCounts {
        let c = &self.counters;
        OpCounts {
            cmult: c.cmult.load(Ordering::Relaxed),
            mult: c.mult.load(Ordering::Relaxed),
            rot: c.rot.load(Ordering::Relaxed),
            conj: c.conj.load(Ordering::Relaxed),
            bootstrap: c.bootstrap.load(Ordering::Relaxed),
        }
    }

    /// Largest slot modulus any bootstrap input had so far: the input range a
    /// CKKS bootstrap (its EvalMod interval) must accept for the same run.
    pub fn max_bootstrap_input(&self) -> f64 {
        f64::from_bits(self.counters.bootstrap_peak.load(Ordering::Relaxed))
    }

    /// Distinct left-rotation amounts used so far (the Galois keys a CKKS run needs).
    pub fn rotations_used(&self) -> BTreeSet<usize> {
        self.rotations_used
            .lock()
            .map(|set| set.clone())
            .unwrap_or_default()
    }

    /// A bootstrap's output (level, noise) after the range check, uncounted.
    fn refresh(&self, a: &ClearCt) -> EngineResult<ClearCt> {
        if a.pending_rescale {
            return Err(EngineError::NeedsRescale);
        }
        let peak = a
            .values
            .iter()
            .map(|v| v.re.abs().max(v.im.abs()))
            .fold(0.0, f64::max);
        if let Some(bound) = self.config.bootstrap_bound {
            if peak > bound {
                return Err(EngineError::BootstrapRange { peak, bound });
            }
        }
        let mut out = ClearCt {
            level: self.config.bootstrap_level,
            ..a.clone()
        };
        let peak = out.values.iter().map(|&v| norm_sqr(v)).fold(0.0, f64::max);
        let peak = peak.sqrt();
        self.counters
            .bootstrap_peak
            .fetch_max(peak.to_bits(), Ordering::Relaxed);
        if let (Some(src), Some(cfg)) = (&self.noise, &self.config.noise) {
            let sigma = cfg.bootstrap_absolute * peak.max(1.0);
            src.perturb(&mut out.values, |_| sigma);
        }
        Ok(out)
    }

    fn check_len(&self, len: usize) -> EngineResult<()> {
        if len == self.config.slots {
            Ok(())
        } else {
            Err(EngineError::SizeMismatch {
                len,
                slots: self.config.slots,
            })
        }
    }

    /// A ciphertext of another engine (other slot count or value tracking) is a size error.
    fn check_ct(&self, a: &ClearCt) -> EngineResult<()> {
        let expected = if self.config.counting_only {
            0
        } else {
            self.config.slots
        };
        if a.values.len() == expected {
            Ok(())
        } else {
            Err(EngineError::SizeMismatch {
                len: a.values.len(),
                slots: self.config.slots,
            })
        }
    }

    fn op_noise(&self, values: &mut [Complex]) {
        if let (Some(src), Some(cfg)) = (&self.noise, &self.config.noise) {
            src.perturb(values, |v| {
                cfg.op_relative * norm_sqr(v).sqrt() + cfg.op_absolute
            });
        }
    }

    fn binary(
        &self,
        a: &ClearCt,
        b: &ClearCt,
        f: impl Fn(Complex, Complex) -> Complex,
    ) -> EngineResult<ClearCt> {
        self.check_ct(a)?;
        self.check_ct(b)?;
        if a.pending_rescale != b.pending_rescale {
            return Err(EngineError::ScaleMismatch);
        }
        Ok(ClearCt {
            values: a
                .values
                .iter()
                .zip(&b.values)
                .map(|(&x, &y)| f(x, y))
                .collect(),
            level: a.level.min(b.level),
            depth: a.depth.max(b.depth),
            pending_rescale: a.pending_rescale,
        })
    }

    /// `a` with `f(j, value)` in slot `j` (the values are not copied first).
    fn map(&self, a: &ClearCt, f: impl Fn(usize, Complex) -> Complex) -> ClearCt {
        ClearCt {
            values: a.values.iter().enumerate().map(|(j, &x)| f(j, x)).collect(),
            level: a.level,
            depth: a.depth,
            pending_rescale: a.pending_rescale,
        }
    }

    fn need_level(a: &ClearCt) -> EngineResult<()> {
        if a.pending_rescale {
            Err(EngineError::NeedsRescale)
        } else if a.level == 0 {
            Err(EngineError::LevelExhausted {
                needed: 1,
                level: 0,
            })
        } else {
            Ok(())
        }
    }
}

impl Engine for ClearEngine {
    type Ct = ClearCt;
    type Target = usize;
    type Products = ClearCt;

    fn slots(&self) -> usize {
        self.config.slots
    }

    fn max_level(&self) -> usize {
        self.config.max_level
    }

    fn bootstrap_level(&self) -> usize {
        self.config.bootstrap_level
    }

    fn level(&self, ct: &ClearCt) -> usize {
        ct.level
    }

    fn encrypt(&self, values: &[Complex], level: usize) -> EngineResult<ClearCt> {
        if values.len() > self.config.slots {
            return Err(EngineError::SizeMismatch {
                len: values.len(),
                slots: self.config.slots,
            });
        }
        if level > self.config.max_level {
            return Err(EngineError::InvalidLevel {
                requested: level,
                max: self.config.max_level,
            });
        }
        let mut slots = values.to_vec();
        slots.resize(self.config.slots, Complex::ZERO);
        if self.config.counting_only {
            slots = Vec::new();
        }
        self.op_noise(&mut slots);
        Ok(ClearCt {
            values: slots,
            level,
            depth: 0,
            pending_rescale: false,
        })
    }

    fn add(&self, a: &ClearCt, b: &ClearCt) -> EngineResult<ClearCt> {
        self.binary(a, b, |x, y| x + y)
    }

    fn sub(&self, a: &ClearCt, b: &ClearCt) -> EngineResult<ClearCt> {
        self.binary(a, b, |x, y| x - y)
    }

    fn neg(&self, a: &ClearCt) -> EngineResult<ClearCt> {
        Ok(self.map(a, |_, x| -x))
    }

    fn add_plain(&self, a: &ClearCt, p: &[Complex]) -> EngineResult<ClearCt> {
        self.check_len(p.len())?;
        self.check_ct(a)?;
        Ok(self.map(a, |j, x| x + p[j]))
    }

    fn add_const(&self, a: &ClearCt, k: Complex) -> EngineResult<ClearCt> {
        Ok(self.map(a, |_, x| x + k))
    }

    fn mul_lazy(&self, a: &ClearCt, b: &ClearCt) -> EngineResult<ClearCt> {
        Self::need_level(a)?;
        Self::need_level(b)?;
        self.counters.mult.fetch_add(1, Ordering::Relaxed);
        let mut out = self.binary(a, b, |x, y| x * y)?;
        out.pending_rescale = true;
        Ok(out)
    }

    fn mul_accumulate(
        &self,
        acc: Option<ClearCt>,
        a: &ClearCt,
        b: &ClearCt,
    ) -> EngineResult<ClearCt> {
        add_to(self, acc, self.mul_lazy(a, b)?)
    }

    fn relinearize(&self, products: ClearCt) -> EngineResult<ClearCt> {
        Ok(products)
    }

    fn mul_plain_lazy(&self, a: &ClearCt, p: &[Complex]) -> EngineResult<ClearCt> {
        self.check_len(p.len())?;
        self.check_ct(a)?;
        Self::need_level(a)?;
        self.counters.cmult.fetch_add(1, Ordering::Relaxed);
        let mut out = self.map(a, |j, x| x * p[j]);
        out.pending_rescale = true;
        Ok(out)
    }

    fn mul_const(&self, a: &ClearCt, k: Complex) -> EngineResult<ClearCt> {
        if a.pending_rescale {
            return Err(EngineError::NeedsRescale);
        }
        if k.is_gaussian_integer() {
            return Ok(self.map(a, |_, x| x * k));
        }
        Self::need_level(a)?;
        self.counters.cmult.fetch_add(1, Ordering::Relaxed);
        let mut out = self.map(a, |_, x| x * k);
        out.pending_rescale = true;
        self.rescale(&out)
    }

    fn rescale(&self, a: &ClearCt) -> EngineResult<ClearCt> {
        if !a.pending_rescale {
            return Err(EngineError::NothingToRescale);
        }
        let mut out = a.clone();
        out.pending_rescale = false;
        out.level -= 1;
        out.depth += 1;
        self.op_noise(&mut out.values);
        Ok(out)
    }

    fn rotate(&self, a: &ClearCt, k: isize) -> EngineResult<ClearCt> {
        self.check_ct(a)?;
        let n = self.config.slots;
        let shift = k.rem_euclid(n as isize) as usize;
        if shift == 0 {
            return Ok(a.clone());
        }
        if let Some(keys) = &self.config.rotation_keys {
            if !keys.contains(&shift) {
                return Err(EngineError::MissingRotation(shift));
            }
        }
        self.counters.rot.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut used) = self.rotations_used.lock() {
            used.insert(shift);
        }
        // Slot j takes slot j + shift: the tail first, then the head (no
        // values when only counting).
        let split = shift.min(a.values.len());
        let mut values = Vec::with_capacity(a.values.len());
        values.extend_from_slice(&a.values[split..]);
        values.extend_from_slice(&a.values[..split]);
        self.op_noise(&mut values);
        Ok(ClearCt { values, ..*a })
    }

    fn conjugate(&self, a: &ClearCt) -> EngineResult<ClearCt> {
        self.counters.conj.fetch_add(1, Ordering::Relaxed);
        let mut out = self.map(a, |_, x| x.conj());
        self.op_noise(&mut out.values);
        Ok(out)
    }

    fn drop_level(&self, a: &ClearCt, level: usize) -> EngineResult<ClearCt> {
        if level > a.level {
            return Err(EngineError::InvalidLevel {
                requested: level,
                max: a.level,
            });
        }
        Ok(ClearCt { level, ..a.clone() })
    }

    fn target_of(&self, ct: &ClearCt) -> usize {
        ct.level
    }

    fn target_level(&self, t: usize) -> usize {
        t
    }

    fn target_at(&self, _t: usize, level: usize) -> EngineResult<usize> {
        if level > self.config.max_level {
            return Err(EngineError::InvalidLevel {
                requested: level,
                max: self.config.max_level,
            });
        }
        Ok(level)
    }

    fn factor_target(&self, out: usize, factor: Option<&ClearCt>) -> EngineResult<usize> {
        if let Some(f) = factor {
            check_above(f.level, out)?;
        }
        self.target_at(out, out + 1)
    }

    fn linear_combination(
        &self,
        terms: &[(&ClearCt, Coefficient<'_>)],
        constant: Complex,
        out: usize,
    ) -> EngineResult<ClearCt> {
        let (first, _) = terms.first().ok_or(EngineError::NoTerms)?;
        let mut values = vec![constant; first.values.len()];
        let mut depth = 0;
        for &(a, k) in terms {
            self.check_ct(a)?;
            if a.pending_rescale {
                return Err(EngineError::NeedsRescale);
            }
            check_above(a.level, out)?;
            if !k.is_free() {
                self.counters.cmult.fetch_add(1, Ordering::Relaxed);
            }
            match k {
                Coefficient::Const(k) => {
                    for (v, &x) in values.iter_mut().zip(&a.values) {
                        *v = *v + x * k;
                    }
                }
                Coefficient::Plain(p) | Coefficient::Reused(p) => {
                    self.check_len(p.len())?;
                    for ((v, &x), &k) in values.iter_mut().zip(&a.values).zip(p) {
                        *v = *v + x * k;
                    }
                }
            }
            depth = depth.max(a.depth + 1);
        }
        self.op_noise(&mut values);
        Ok(ClearCt {
            values,
            level: out,
            depth,
            pending_rescale: false,
        })
    }

    fn bootstrap(&self, a: &ClearCt) -> EngineResult<ClearCt> {
        let out = self.refresh(a)?;
        self.counters.bootstrap.fetch_add(1, Ordering::Relaxed);
        Ok(out)
    }

    /// Both in one bootstrap, as CKKS does (one count); each input's real
    /// and imaginary parts must lie within the bound.
    fn bootstrap_pair(&self, a: &ClearCt, b: &ClearCt) -> EngineResult<(ClearCt, ClearCt)> {
        let out = (self.refresh(a)?, self.refresh(b)?);
        self.counters.bootstrap.fetch_add(1, Ordering::Relaxed);
        Ok(out)
    }

    fn bootstrap_range(&self) -> f64 {
        self.config.bootstrap_bound.unwrap_or(f64::INFINITY)
    }
}

#[cfg(test)]
mod tests;
