//! Which evaluation keys a bootstrappable engine needs, at which levels:
//! the one plan shared by the key owner (who generates them) and the server
//! (who checks that the keys it was sent are complete).

use std::collections::BTreeMap;
use std::sync::Arc;

use hetal_nostd::encapsulation::EncapsulationKeys;
use hetal_nostd::evk::{galois_key_at, relin_key, EvaluationKeys, KeyKind};
use hetal_nostd::keys::SecretKey;
use hetal_nostd::math::galois::{galois_element_conjugate, galois_element_for_rotation};
use hetal_nostd::params::bootstrap::check_failure_probability;
use hetal_nostd::params::{LevelRole, Params, ParamsLiteral};
use hetal_nostd::ring::sampling::Csprng;
use hetal_nostd::ring::Context;

use super::{circuit_error, BootstrapCircuit, BootstrapConfig, MAX_LOG2_FAILURE};
use crate::ckks_engine::PublicEvalKeys;
use crate::engine::{EngineError, EngineResult};
use crate::error::ConfigError;

/// The evaluation-key plan of a bootstrappable engine.
pub(crate) struct KeyPlan {
    pub(crate) params: Params,
    pub(crate) slots: usize,
    pub(crate) log_slots: u32,
    pub(crate) circuit: BootstrapCircuit,
    /// Galois element → level its key must serve.
    pub(crate) levels: BTreeMap<u64, usize>,
    pub(crate) log2_failure: f64,
    pub(crate) cts: usize,
    pub(crate) stc: usize,
    pub(crate) hamming_weight: usize,
}

impl KeyPlan {
    /// Plans the keys for `slots` slots, rotations by `extra_steps` and
    /// bootstrapping by `config` (see [`super::CkksEngine::bootstrappable`]).
    pub(crate) fn new(
        lit: &ParamsLiteral<'_>,
        slots: usize,
        extra_steps: &[i64],
        config: &BootstrapConfig,
    ) -> EngineResult<Self> {
        let params = lit.build()?;
        let log_slots = hetal_nostd::encoding::log_slots_for(slots, params.log_n())?;
        config.check(params.n())?;
        let log2_failure = check_failure_probability(
            config.hamming_weight as u32,
            config.eval_mod.k,
            slots,
            MAX_LOG2_FAILURE,
        )
        .map_err(ConfigError::FailureProbability)?;
        let count = |role| {
            params
                .segments()
                .iter()
                .filter(|s| s.role == role)
                .map(|s| s.count as usize)
                .sum::<usize>()
        };
        let (cts, em, stc) = (
            count(LevelRole::CoeffsToSlots),
            count(LevelRole::EvalMod),
            count(LevelRole::SlotsToCoeffs),
        );
        if cts == 0 || stc == 0 || config.eval_mod.depth() > em {
            return Err(EngineError::Unavailable(
                "the chain has too few bootstrapping levels for this configuration \
                 (BootstrapConfig::for_chain picks one that fits)",
            ));
        }
        let q0 = params.q()[0] as f64;
        let circuit = BootstrapCircuit::new(
            slots,
            cts,
            stc,
            config.eval_mod.clone(),
            q0 / params.scale(),
        )
        .map_err(circuit_error)?;
        // Each key serves the highest level its rotation runs at: those of
        // CoeffsToSlots and the trace run at the top; those of SlotsToCoeffs
        // at its levels; the caller's (training) on user levels only, since
        // a bootstrap lands at the user top.
        let log_n = params.log_n();
        let (cts_steps, stc_steps) = circuit.stage_rotations();
        let mut levels: BTreeMap<u64, usize> = BTreeMap::new();
        let mut need = |step: i64, level: usize| {
            let slot = levels
                .entry(galois_element_for_rotation(log_n, step))
                .or_insert(level);
            *slot = (*slot).max(level);
        };
        let top = params.max_level();
        for &r in &stc_steps {
            need(r as i64, params.user_top_level() + stc);
        }
        for &step in extra_steps {
            need(step, params.user_top_level());
        }
        for step in cts_steps.iter().map(|&r| r as i64) {
            need(step, top);
        }
        for step in (log_slots..log_n - 1).map(|i| 1i64 << i) {
            need(step, top);
        }
        levels.insert(galois_element_conjugate(log_n), top);
        levels.remove(&1);
        Ok(KeyPlan {
            params,
            slots,
            log_slots,
            circuit,
            levels,
            log2_failure,
            cts,
            stc,
            hamming_weight: config.hamming_weight,
        })
    }

    /// The ring context of the plan's parameters.
    pub(crate) fn context(&self) -> EngineResult<Arc<Context>> {
        Ok(Arc::new(Context::new(self.params.clone())?))
    }

    /// Generates every key of the plan (the key owner's side).
    pub(crate) fn generate(
        &self,
        ctx: &Context,
        sk: &SecretKey,
        rng: &mut Csprng,
    ) -> PublicEvalKeys {
        let keys = EvaluationKeys {
            relin: Some(relin_key(ctx, sk, rng)),
            galois: self
                .levels
                .iter()
                .map(|(&g, &level)| galois_key_at(ctx, sk, g, level, rng))
                .collect(),
        };
        let encapsulation = EncapsulationKeys::generate(ctx, sk, self.hamming_weight, rng);
        PublicEvalKeys {
            keys,
            encapsulation,
        }
    }

    /// Checks that `keys` hold the relinearisation key and a Galois key for
    /// every planned element, each serving at least its planned level.
    pub(crate) fn check(&self, keys: &EvaluationKeys) -> EngineResult<()> {
        if keys.relin.is_none() {
            return Err(ConfigError::MissingKey("relinearisation").into());
        }
        let have: BTreeMap<u64, usize> = keys
            .galois
            .iter()
            .filter_map(|k| match k.kind {
                KeyKind::Galois(g) => Some((g, k.level)),
                _ => None,
            })
            .collect();
        for (&g, &level) in &self.levels {
            let have_level = have.get(&g).copied();
            if have_level.is_none_or(|l| l < level) {
                return Err(ConfigError::MissingGaloisKey {
                    element: g,
                    needed_level: level,
                    have_level,
                }
                .into());
            }
        }
        Ok(())
    }

    /// Number of keys the plan makes (relinearisation, Galois, both
    /// encapsulation keys).
    pub(crate) fn key_count(&self) -> usize {
        1 + self.levels.len() + 2
    }

    /// Bytes of the plan's keys as seeded wire frames (`b` plus a seed),
    /// not counting the few bytes of each frame's header.
    pub(crate) fn frame_bytes(&self) -> usize {
        use hetal_nostd::math::pack::packed_len_for;
        let params = &self.params;
        let n = params.n();
        let switching = |level: usize| {
            let mut primes = params.q()[..=level].to_vec();
            primes.extend_from_slice(params.p());
            (level + 1).div_ceil(params.digit_size()) * packed_len_for(n, &primes)
        };
        let top = params.max_level();
        let galois: usize = self.levels.values().map(|&l| switching(l)).sum();
        galois + 2 * switching(top) + packed_len_for(n, &[params.q()[0], params.p()[0]])
    }

    /// Bytes of the plan's keys in memory once every `a` is expanded (8 bytes
    /// per residue, `b` and `a` of every digit), as an evaluator holds them.
    pub(crate) fn expanded_bytes(&self) -> usize {
        let params = &self.params;
        let residues = |level: usize| {
            (level + 1).div_ceil(params.digit_size()) * (level + 1 + params.p().len())
        };
        let top = params.max_level();
        let limbs: usize =
            self.levels.values().map(|&l| residues(l)).sum::<usize>() + 2 * residues(top) + 2;
        2 * limbs * params.n() * 8
    }
}
