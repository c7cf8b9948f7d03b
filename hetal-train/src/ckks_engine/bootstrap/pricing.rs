//! Prices for a [`Census`]: each kind of [`Work`] timed on this machine at
//! each level where a bootstrap runs it, on a small key set (the
//! relinearisation key and two rotation keys, all at the top level: fast
//! to make, and as costly to use at a given level as the bootstrap's).
//!
//! What is measured, per level (median of [`RUNS`]): a rotation on its own,
//! a hoisted group of one and of two rotations, a product with
//! relinearisation and rescale, a product by a prepared plaintext, a
//! rescale. A hoisted group of `k` rotations is priced as its decomposition
//! plus `k` rotations, both read off the one- and two-rotation groups (the
//! second rotation's cost is the difference; the decomposition the rest).
//! A sum of rotations ([`crate::engine::Engine::add_rotations`]) of `k`
//! terms is priced the same way, from sums of one and two rotations: `k`
//! terms and the final ModDown.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use hetal_nostd::encrypt::encrypt;
use hetal_nostd::evk::{relin_key, rotation_key, EvaluationKeys};
use hetal_nostd::keys::SecretKey;
use hetal_nostd::params::ParamsLiteral;
use hetal_nostd::ring::sampling::Csprng;
use hetal_nostd::ring::Context;

use super::census::{Census, Work};
use crate::ckks::Evaluator;
use crate::engine::{EngineError, EngineResult};

/// Timed runs per measurement (after one untimed run).
pub const RUNS: usize = 3;

/// Seconds of each kind of work at each level measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prices {
    seconds: BTreeMap<(Work, usize), f64>,
}

impl Prices {
    /// Seconds of `work` at `level`, if measured.
    pub fn get(&self, work: Work, level: usize) -> Option<f64> {
        self.seconds.get(&(work, level)).copied()
    }

    /// Seconds of `census`'s work at these prices; `None` if some level of
    /// it was not measured.
    pub fn price(&self, census: &Census) -> Option<f64> {
        census
            .entries()
            .map(|(w, l, n)| self.get(w, l).map(|s| s * n as f64))
            .sum()
    }

    /// Seconds of `census`'s `work` only, at these prices.
    pub fn price_of(&self, census: &Census, work: Work) -> Option<f64> {
        census
            .entries()
            .filter(|&(w, _, _)| w == work)
            .map(|(w, l, n)| self.get(w, l).map(|s| s * n as f64))
            .sum()
    }
}

fn median(mut f: impl FnMut() -> EngineResult<()>) -> EngineResult<f64> {
    f()?;
    let mut t = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        f()?;
        t.push(start.elapsed().as_secs_f64());
    }
    t.sort_by(f64::total_cmp);
    Ok(t[RUNS / 2])
}

/// Measures every kind of [`Work`] at each of `levels` of `lit`'s chain,
/// on ciphertexts of `slots` slots.
pub fn measure_prices(
    lit: &ParamsLiteral<'_>,
    slots: usize,
    levels: impl IntoIterator<Item = usize>,
) -> EngineResult<Prices> {
    let ev_err = crate::ckks_engine::engine_error;
    let params = lit.build()?;
    let ctx = Arc::new(Context::new(params.clone())?);
    let mut rng = Csprng::from_os().map_err(|_| EngineError::Unavailable("no OS entropy"))?;
    let sk = SecretKey::generate(&ctx, &mut rng);
    let keys = EvaluationKeys {
        relin: Some(relin_key(&ctx, &sk, &mut rng)),
        galois: vec![
            rotation_key(&ctx, &sk, 1, &mut rng),
            rotation_key(&ctx, &sk, 2, &mut rng),
        ],
    };
    let ev = Evaluator::new(ctx.clone(), keys).map_err(ev_err)?;
    let log_slots = hetal_nostd::encoding::log_slots_for(slots, params.log_n())?;
    let mut prices = Prices::default();
    for level in levels {
        if level > params.max_level() {
            continue;
        }
        let ct = encrypt(&ctx, &sk, &[], slots, level, &mut rng)?;
        let ct = ev.expand(&ct).map_err(ev_err)?;
        let single = median(|| ev.rotate(&ct, 1).map(drop).map_err(ev_err))?;
        let one = median(|| ev.rotate_hoisted(&ct, &[1]).map(drop).map_err(ev_err))?;
        let two = median(|| ev.rotate_hoisted(&ct, &[1, 2]).map(drop).map_err(ev_err))?;
        let rotation = (two - one).max(0.0);
        let sum_one = median(|| ev.sum_rotations(&[(&ct, 1)]).map(drop).map_err(ev_err))?;
        let sum_two = median(|| {
            ev.sum_rotations(&[(&ct, 1), (&ct, 2)])
                .map(drop)
                .map_err(ev_err)
        })?;
        let term = (sum_two - sum_one).max(0.0);
        let scale = ctx.modulus(level).value() as f64;
        let pt = ev.encode(&[], log_slots, level, scale).map_err(ev_err)?;
        let pt = ev.prepare_plaintext(pt, scale).map_err(ev_err)?;
        let plain = median(|| ev.mul_plain_prepared(&ct, &pt).map(drop).map_err(ev_err))?;
        let mut set = |work, s| {
            prices.seconds.insert((work, level), s);
        };
        set(Work::Switch, single);
        set(Work::HoistedRotation, rotation);
        set(Work::HoistedDecomposition, (one - rotation).max(0.0));
        set(Work::LazyRotation, term);
        set(Work::LazySum, (sum_one - term).max(0.0));
        set(Work::PlainProduct, plain);
        if level > 0 {
            let product = median(|| ev.mul_rescale(&ct, &ct).map(drop).map_err(ev_err))?;
            let rescale = median(|| ev.rescale(&ct).map(drop).map_err(ev_err))?;
            set(Work::Product, product);
            set(Work::Rescale, rescale);
        }
    }
    Ok(prices)
}
