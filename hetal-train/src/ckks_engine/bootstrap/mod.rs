//! Bootstrapping on the CKKS engine, gathered in one place: the settings
//! ([`BootstrapConfig`]), the key plan (which Galois keys serve which
//! levels, the encapsulation keys, their sizes), the landing places of the
//! stages and the glue that runs ModRaise on the evaluator and then the
//! slot circuit ([`BootstrapCircuit`], generic over [`Engine`]).

mod census;
mod circuit;
pub(super) mod plan;
mod pricing;
#[cfg(test)]
mod tests;

pub use census::{bootstrap_census, Census, Work};
pub use circuit::{BootstrapCircuit, StageTargets};
pub use pricing::{measure_prices, Prices, RUNS};

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use hetal_nostd::encapsulation::EncapsulationKeys;
use hetal_nostd::evk::EvaluationKeys;
use hetal_nostd::keys::SecretKey;
use hetal_nostd::params::{LevelRole, ParamsLiteral, Segment};
use hetal_nostd::ring::sampling::Csprng;
use hetal_nostd::ring::Context;
use hetal_nostd::wire::{encode_base_switching_key, encode_switching_key};

use super::plain_cache::PlainCache;
use super::{engine_error, CkksCt, CkksEngine, CkksTarget, EncryptKey, PublicEvalKeys};
use crate::circuits::{CircuitError, EvalMod};
use crate::ckks::Evaluator;
use crate::engine::{Decryptor, Engine, EngineError, EngineResult};
use crate::error::ConfigError;
use plan::KeyPlan;

/// Bootstrapping settings: the sparse secret's Hamming weight and EvalMod.
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrapConfig {
    /// Hamming weight h of the short-lived sparse secret.
    pub hamming_weight: usize,
    /// EvalMod: the bound K on the integer part, the double-angle steps and
    /// the cosine's degree.
    pub eval_mod: EvalMod,
}

impl Default for BootstrapConfig {
    /// h = 32, K = 16 (failure probability 2^-139 at 2^15 slots), 3 double
    /// angles, a degree-40 cosine.
    fn default() -> Self {
        BootstrapConfig {
            hamming_weight: 32,
            eval_mod: EvalMod {
                k: 16.0,
                double_angle: 3,
                degree: 40,
            },
        }
    }
}

impl BootstrapConfig {
    /// The EvalMod for chains with 8 EvalMod levels (`prod-n16-train`):
    /// h = 32, K = 16 as by default, a degree-55 cosine (7 levels) and 2
    /// double angles (interpolation and steps together within 2^-41 of
    /// sin(2πy) on (−K, K)).
    pub fn lean() -> Self {
        BootstrapConfig {
            eval_mod: EvalMod {
                k: 16.0,
                double_angle: 2,
                degree: 55,
            },
            ..Self::default()
        }
    }

    /// The settings for a chain: [`Default`] where its EvalMod levels
    /// suffice (`prod-n16` and its twins), otherwise [`lean`](Self::lean)
    /// (the training presets).
    pub fn for_chain(lit: &ParamsLiteral<'_>) -> Self {
        Self::for_segments(lit.q)
    }

    /// [`for_chain`](Self::for_chain) from a chain's segments (as
    /// [`Params::segments`](hetal_nostd::params::Params::segments) gives them).
    pub fn for_segments(segments: &[Segment]) -> Self {
        let levels: usize = segments
            .iter()
            .filter(|s| s.role == LevelRole::EvalMod)
            .map(|s| s.count as usize)
            .sum();
        let default = Self::default();
        if default.eval_mod.depth() <= levels {
            default
        } else {
            Self::lean()
        }
    }

    /// Smallest Hamming weight accepted: the s → s' key is an RLWE sample
    /// under s', which must not be guessable.
    pub const MIN_HAMMING_WEIGHT: usize = 32;

    /// Checks the settings for ring degree `n`.
    fn check(&self, n: usize) -> Result<(), ConfigError> {
        let em = &self.eval_mod;
        if !(Self::MIN_HAMMING_WEIGHT..=n / 2).contains(&self.hamming_weight) {
            Err(ConfigError::HammingWeight {
                weight: self.hamming_weight,
                min: Self::MIN_HAMMING_WEIGHT,
                max: n / 2,
            })
        } else if !(em.k.is_finite() && em.k >= 1.0) {
            Err(ConfigError::EvalModBound(em.k))
        } else if em.double_angle > 16 || !(1..=1024).contains(&em.degree) {
            Err(ConfigError::EvalModShape {
                double_angle: em.double_angle,
                degree: em.degree,
            })
        } else {
            Ok(())
        }
    }
}

/// Bootstrapping keys and plan of a [`CkksEngine`].
pub(super) struct Bootstrapper {
    circuit: BootstrapCircuit,
    /// Scale read into a raised ciphertext: q0 times N/2n (the trace's gain).
    raised_scale: f64,
    targets: StageTargets<CkksTarget>,
    key_sizes: KeySizes,
    log2_failure: f64,
}

impl CkksEngine {
    /// An engine that can bootstrap: besides the relinearisation and
    /// conjugation keys and rotations by `extra_steps`, the key owner
    /// generates the rotation keys of the bootstrapping circuit (and of the
    /// trace for sparse slots) and the sparse-secret encapsulation keys.
    /// Rotation keys by powers of two are not added: other rotations need
    /// their steps in `extra_steps`. Keys only SlotsToCoeffs uses serve its
    /// levels only (smaller to send). The chain must have CoeffsToSlots,
    /// EvalMod and SlotsToCoeffs levels, and the failure probability must be
    /// at most 2^-100. Setup ends with one bootstrap of zeros, which encodes
    /// the transforms' plaintexts once for all later bootstraps.
    pub fn bootstrappable(
        lit: &ParamsLiteral<'_>,
        slots: usize,
        extra_steps: &[i64],
        config: &BootstrapConfig,
        mut rng: Csprng,
    ) -> EngineResult<Self> {
        let plan = KeyPlan::new(lit, slots, extra_steps, config)?;
        let ctx = plan.context()?;
        let sk = SecretKey::generate(&ctx, &mut rng);
        let keys = plan.generate(&ctx, &sk, &mut rng);
        Self::assemble(plan, ctx, keys, EncryptKey::Secret(sk), rng)?.warm_up()
    }

    /// Builds a bootstrappable engine from `plan`'s evaluation keys (checked
    /// complete), consuming them key by key; [`CkksEngine::warm_up`] then
    /// makes it ready.
    pub(super) fn assemble(
        plan: KeyPlan,
        ctx: Arc<Context>,
        keys: PublicEvalKeys,
        key: EncryptKey,
        rng: Csprng,
    ) -> EngineResult<Self> {
        plan.check(&keys.keys)?;
        let key_sizes = key_sizes(&ctx, &keys.keys, &keys.encapsulation)?;
        let mut ev = Evaluator::new(ctx.clone(), keys.keys).map_err(engine_error)?;
        ev.set_encapsulation(&keys.encapsulation)
            .map_err(engine_error)?;
        let q0 = ctx.params().q()[0] as f64;
        let raised_scale = q0 * (ctx.n() / (2 * plan.slots)) as f64;
        let targets = stage_targets(ctx.params(), plan.cts, plan.stc);
        let engine = CkksEngine {
            ev,
            key,
            rng: Mutex::new(rng),
            log_slots: plan.log_slots,
            plain_cache: PlainCache::default(),
            range_audit: std::sync::atomic::AtomicBool::new(false),
            boot: Some(Bootstrapper {
                circuit: plan.circuit,
                raised_scale,
                targets,
                key_sizes,
                log2_failure: plan.log2_failure,
            }),
        };
        Ok(engine)
    }

    /// Setup: one bootstrap of zeros encodes and keeps every diagonal
    /// plaintext of the transforms (and checks the plan end to end).
    pub(super) fn warm_up(self) -> EngineResult<Self> {
        self.bootstrap(&self.encrypt(&[], 0)?)?;
        Ok(self)
    }

    /// Sizes of every evaluation key a bootstrappable engine holds, and log2
    /// of the bootstrapping failure probability.
    pub fn bootstrap_key_info(&self) -> Option<(KeySizes, f64)> {
        self.boot.as_ref().map(|b| (b.key_sizes, b.log2_failure))
    }

    /// Levels of CoeffsToSlots, EvalMod and SlotsToCoeffs in bootstrapping.
    pub fn bootstrap_levels(&self) -> Option<(usize, usize, usize)> {
        self.boot.as_ref().map(|b| b.circuit.levels())
    }

    /// Turns the range audit on or off. With it on, this engine (which holds
    /// the secret key: a key owner's or a test's engine, never a server's)
    /// decrypts every bootstrap input and fails with
    /// [`EngineError::BootstrapRange`] when a slot lies outside
    /// [`Engine::bootstrap_range`], instead of silently returning imprecise
    /// values. It costs one decryption per bootstrap.
    pub fn set_range_audit(&self, on: bool) {
        self.range_audit.store(on, Ordering::Relaxed);
    }

    fn audit_range(&self, a: &CkksCt) -> EngineResult<()> {
        if !self.range_audit.load(Ordering::Relaxed) {
            return Ok(());
        }
        let values = super::CkksDecryptor(self).decrypt(a)?;
        let peak = values
            .iter()
            .map(|z| z.re.abs().max(z.im.abs()))
            .fold(0.0, f64::max);
        let bound = self.bootstrap_range();
        if peak > bound {
            return Err(EngineError::BootstrapRange { peak, bound });
        }
        Ok(())
    }

    /// Bootstraps `a` with its output multiplied by `gain` (free).
    pub(super) fn bootstrap_with_gain(&self, a: &CkksCt, gain: f64) -> EngineResult<CkksCt> {
        self.bootstrap_marked(a, gain, &mut |_| {})
    }

    /// Bootstraps `a` with its output multiplied by `gain`, calling `mark`
    /// with the name of each stage as it ends: `mod_raise` (down to level 0,
    /// ModRaise with the sparse-secret switches, trace to the slots), then
    /// the circuit's (see [`BootstrapCircuit::apply_marked`]).
    pub fn bootstrap_marked(
        &self,
        a: &CkksCt,
        gain: f64,
        mark: &mut dyn FnMut(&'static str),
    ) -> EngineResult<CkksCt> {
        let boot = self.boot.as_ref().ok_or(EngineError::Unavailable(
            "this engine was built without bootstrapping keys (use CkksEngine::bootstrappable)",
        ))?;
        if a.pending_rescale {
            return Err(EngineError::NeedsRescale);
        }
        let params = self.ev.context().params();
        let headroom = params.q()[0] as f64 / a.ct.scale;
        if headroom < MIN_HEADROOM {
            return Err(EngineError::BootstrapHeadroom {
                log2_scale: a.ct.scale.log2(),
                headroom_bits: headroom.log2(),
                needed_bits: MIN_HEADROOM.log2(),
            });
        }
        self.audit_range(a)?;
        let ev = &self.ev;
        let bottom = ev.drop_level(&a.ct, 0).map_err(engine_error)?;
        let sparse = ev.to_sparse(&bottom).map_err(engine_error)?;
        let raised = ev
            .mod_raise(&sparse, params.max_level())
            .map_err(engine_error)?;
        let mut raised = ev.to_dense(&raised).map_err(engine_error)?;
        raised = ev.trace_to_slots(&raised).map_err(engine_error)?;
        raised.scale = boot.raised_scale;
        mark("mod_raise");
        // The message arrives at scale a.scale; EvalMod returns it at Δ.
        let gain = gain * params.scale() / a.ct.scale;
        let raised = CkksCt {
            ct: raised,
            pending_rescale: false,
        };
        boot.circuit
            .apply_marked(self, &raised, &boot.targets, gain, mark)
            .map_err(circuit_error)
    }
}

/// Bootstrapping needs q0/scale ≥ 2^8: messages up to 2^7 in magnitude then
/// stay below q0/2 (full precision needs |m| ≤ 1, see the presets).
const MIN_HEADROOM: f64 = 16.0;

/// EvalMod's output scale: SlotsToCoeffs runs from there down to Δ, so that
/// the noise of its rotations is small against the message.
const SLOTS_TO_COEFFS_LOG_SCALE: f64 = 50.0;

/// The landing places of bootstrapping's stages: CoeffsToSlots at the scale
/// of EvalMod's top prime (EvalMod's squarings keep scales near their
/// primes), EvalMod at 2^50, SlotsToCoeffs from there to Δ at the user's
/// top level in equal ratios.
fn stage_targets(
    params: &hetal_nostd::params::Params,
    cts: usize,
    stc: usize,
) -> StageTargets<CkksTarget> {
    let levels = stage_levels(params, cts, stc);
    let slot_scale = params.q()[params.max_level() - cts] as f64;
    let (high, low) = (2f64.powf(SLOTS_TO_COEFFS_LOG_SCALE), params.scale());
    StageTargets {
        coeffs_to_slots: levels
            .coeffs_to_slots
            .iter()
            .map(|&level| CkksTarget {
                level,
                scale: slot_scale,
            })
            .collect(),
        eval_mod: CkksTarget {
            level: levels.eval_mod,
            scale: high,
        },
        slots_to_coeffs: (1..=stc)
            .zip(&levels.slots_to_coeffs)
            .map(|(i, &level)| CkksTarget {
                level,
                scale: if i == stc {
                    low
                } else {
                    high * (low / high).powf(i as f64 / stc as f64)
                },
            })
            .collect(),
    }
}

/// The levels of [`stage_targets`]: CoeffsToSlots one below the other from
/// the top, EvalMod landing `stc` above the user top, SlotsToCoeffs down to
/// the user top.
fn stage_levels(
    params: &hetal_nostd::params::Params,
    cts: usize,
    stc: usize,
) -> StageTargets<usize> {
    let top = params.max_level();
    let out = params.user_top_level();
    StageTargets {
        coeffs_to_slots: (1..=cts).map(|i| top - i).collect(),
        eval_mod: out + stc,
        slots_to_coeffs: (1..=stc).map(|i| out + stc - i).collect(),
    }
}

/// A circuit's error as the engine's: engine failures as themselves, the
/// rest wrapped.
fn circuit_error(e: CircuitError) -> EngineError {
    match e {
        CircuitError::Engine(e) => e,
        other => EngineError::Circuit(Box::new(other)),
    }
}

/// Bootstrapping may fail with probability at most 2^-100.
const MAX_LOG2_FAILURE: f64 = -100.0;

/// Sizes of a bootstrappable engine's evaluation keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySizes {
    /// Number of keys (switching keys plus the dense-to-sparse key).
    pub count: usize,
    /// Bytes as sent: every key as its wire frame (b plus a seed).
    pub seeded: usize,
    /// Bytes in memory once every `a` is expanded (8 bytes per residue).
    pub expanded: usize,
}

fn key_sizes(
    ctx: &Context,
    keys: &EvaluationKeys,
    encapsulation: &EncapsulationKeys,
) -> EngineResult<KeySizes> {
    let params = ctx.params();
    let mut sizes = KeySizes {
        count: 1,
        seeded: 0,
        expanded: 2 * encapsulation.to_sparse.b.data().len() * 8,
    };
    for k in keys
        .relin
        .iter()
        .chain(&keys.galois)
        .chain([&encapsulation.to_dense])
    {
        sizes.count += 1;
        sizes.seeded += encode_switching_key(k, params)?.len();
        sizes.expanded += k.expanded_bytes();
    }
    sizes.seeded += encode_base_switching_key(&encapsulation.to_sparse, params)?.len();
    Ok(sizes)
}
