//! The key owner and the server as separate parties.
//!
//! * [`OwnerKeys`]: the key owner's secret and public keys; it generates the
//!   evaluation keys ([`OwnerKeys::evaluation_keys`]) and decrypts.
//! * [`CkksEngine::server`]: an engine built from the public evaluation keys
//!   only. It cannot decrypt, and it "encrypts" trivially (`c1 = 0`): such
//!   a ciphertext hides nothing, which is right for the only values a
//!   server makes itself, public constants such as the zero initial
//!   weights, and makes its computation deterministic.
//! * [`CkksEngine::producer`]: encrypts with the public key (no evaluation
//!   keys, no decryption).
//!
//! [`EvalKeysBuilder`] reads evaluation keys frame by frame, each checked
//! against the parameters (and a secret-key frame refused).

use std::sync::{Arc, Mutex};

use hetal_nostd::decrypt::decrypt;
use hetal_nostd::encapsulation::EncapsulationKeys;
use hetal_nostd::encrypt::{Ciphertext, C1};
use hetal_nostd::evk::{EvaluationKeys, KeyKind, SwitchingKey};
use hetal_nostd::keys::{PublicKey, SecretKey};
use hetal_nostd::params::{Params, ParamsLiteral};
use hetal_nostd::ring::sampling::Csprng;
use hetal_nostd::ring::{Context, RnsPoly};
use hetal_nostd::wire::{
    decode_base_switching_key, decode_public_key, decode_secret_key, decode_switching_key,
    encode_base_switching_key, encode_public_key, encode_secret_key, encode_switching_key,
    frame_kind, Kind, Limits, WireError,
};
use thiserror::Error;

use super::bootstrap::plan::KeyPlan;
use super::bootstrap::KeySizes;
use super::{engine_error, BootstrapConfig, CkksCt, CkksEngine, PlainCache};
use crate::engine::{Complex, Decryptor, Engine, EngineError, EngineResult};

/// How a [`CkksEngine`] encrypts.
pub enum EncryptKey {
    /// With the secret key (the all-in-one engine of tests and benchmarks).
    Secret(SecretKey),
    /// With the public key (a producer).
    Public(PublicKey),
    /// Trivially, `c1 = 0`: hides nothing (a server's public constants).
    Trivial,
}

/// The public evaluation keys: relinearisation, Galois (rotations and
/// conjugation) and the sparse-secret encapsulation keys of bootstrapping.
#[derive(Clone, Debug)]
pub struct PublicEvalKeys {
    /// Relinearisation and Galois keys.
    pub keys: EvaluationKeys,
    /// Bootstrapping's encapsulation keys.
    pub encapsulation: EncapsulationKeys,
}

/// Errors of key files and key frames.
#[derive(Debug, Error)]
pub enum KeyError {
    /// A frame failed validation.
    #[error("invalid key frame: {0}")]
    Wire(#[from] WireError),
    /// A secret-key frame where public keys were expected.
    #[error("a secret-key frame among public keys: refused")]
    SecretFrame,
    /// A frame type that does not belong in an evaluation-key set.
    #[error("unexpected frame type {0} in an evaluation-key set")]
    UnexpectedFrame(u8),
    /// A key given twice.
    #[error("duplicate {0}")]
    Duplicate(&'static str),
    /// A key missing at the end.
    #[error("missing {0}")]
    Missing(&'static str),
    /// Building the engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl PublicEvalKeys {
    /// The keys as wire frames (switching keys seeded: `b` plus a seed).
    pub fn frames(&self, params: &Params) -> Result<Vec<Vec<u8>>, KeyError> {
        let mut out = Vec::with_capacity(self.keys.galois.len() + 3);
        for k in self
            .keys
            .relin
            .iter()
            .chain(&self.keys.galois)
            .chain([&self.encapsulation.to_dense])
        {
            out.push(encode_switching_key(k, params)?);
        }
        out.push(encode_base_switching_key(
            &self.encapsulation.to_sparse,
            params,
        )?);
        Ok(out)
    }
}

/// Reassembles [`PublicEvalKeys`] from frames, validating each.
#[derive(Debug, Default)]
pub struct EvalKeysBuilder {
    relin: Option<SwitchingKey>,
    galois: Vec<SwitchingKey>,
    to_dense: Option<SwitchingKey>,
    to_sparse: Option<hetal_nostd::encapsulation::BaseSwitchingKey>,
}

impl EvalKeysBuilder {
    /// Validates one frame against `params` and keeps its key.
    pub fn push(&mut self, frame: &[u8], params: &Params, limits: &Limits) -> Result<(), KeyError> {
        let kind = frame_kind(frame)?;
        if kind == Kind::SecretKey as u8 {
            return Err(KeyError::SecretFrame);
        }
        if kind == Kind::BaseSwitchingKey as u8 {
            if self.to_sparse.is_some() {
                return Err(KeyError::Duplicate("dense-to-sparse key"));
            }
            self.to_sparse = Some(decode_base_switching_key(frame, params, limits)?);
            return Ok(());
        }
        if kind != Kind::SwitchingKey as u8 {
            return Err(KeyError::UnexpectedFrame(kind));
        }
        let key = decode_switching_key(frame, params, limits)?;
        match key.kind {
            KeyKind::Relin if self.relin.is_some() => {
                Err(KeyError::Duplicate("relinearisation key"))
            }
            KeyKind::Relin => {
                self.relin = Some(key);
                Ok(())
            }
            KeyKind::SparseToDense if self.to_dense.is_some() => {
                Err(KeyError::Duplicate("sparse-to-dense key"))
            }
            KeyKind::SparseToDense => {
                self.to_dense = Some(key);
                Ok(())
            }
            KeyKind::Galois(g) => {
                if self.galois.iter().any(|k| k.kind == KeyKind::Galois(g)) {
                    return Err(KeyError::Duplicate("Galois key"));
                }
                self.galois.push(key);
                Ok(())
            }
        }
    }

    /// The key set, once complete.
    pub fn finish(self) -> Result<PublicEvalKeys, KeyError> {
        Ok(PublicEvalKeys {
            keys: EvaluationKeys {
                relin: Some(self.relin.ok_or(KeyError::Missing("relinearisation key"))?),
                galois: self.galois,
            },
            encapsulation: EncapsulationKeys {
                to_dense: self
                    .to_dense
                    .ok_or(KeyError::Missing("sparse-to-dense key"))?,
                to_sparse: self
                    .to_sparse
                    .ok_or(KeyError::Missing("dense-to-sparse key"))?,
            },
        })
    }
}

/// The key owner's keys. The secret key is wiped on drop and never printed.
pub struct OwnerKeys {
    lit: &'static ParamsLiteral<'static>,
    ctx: Arc<Context>,
    sk: SecretKey,
    pk: PublicKey,
}

impl std::fmt::Debug for OwnerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnerKeys")
            .field("params", &self.ctx.params().name())
            .finish_non_exhaustive()
    }
}

fn build_context(lit: &ParamsLiteral<'_>) -> EngineResult<Arc<Context>> {
    Ok(Arc::new(Context::new(lit.build()?)?))
}

impl OwnerKeys {
    /// Generates a secret key and its public key.
    pub fn generate(lit: &'static ParamsLiteral<'static>, rng: &mut Csprng) -> EngineResult<Self> {
        let ctx = build_context(lit)?;
        let sk = SecretKey::generate(&ctx, rng);
        let pk = PublicKey::generate(&ctx, &sk, rng);
        Ok(OwnerKeys { lit, ctx, sk, pk })
    }

    /// Loads the keys from their frames (the public key is checked to
    /// belong to the same parameters).
    pub fn from_frames(
        lit: &'static ParamsLiteral<'static>,
        secret: &[u8],
        public: &[u8],
    ) -> Result<Self, KeyError> {
        let ctx = build_context(lit)?;
        let limits = Limits::default();
        let sk = decode_secret_key(secret, &ctx, &limits)?;
        let pk = decode_public_key(public, ctx.params(), &limits)?;
        Ok(OwnerKeys { lit, ctx, sk, pk })
    }

    /// The secret-key frame (the caller must wipe it after writing it to
    /// the owner's disk).
    pub fn secret_frame(&self) -> Result<Vec<u8>, KeyError> {
        Ok(encode_secret_key(&self.sk, self.ctx.params())?)
    }

    /// The public-key frame.
    pub fn public_frame(&self) -> Vec<u8> {
        encode_public_key(&self.pk, self.ctx.params())
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.pk
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        self.ctx.params()
    }

    /// Generates the evaluation keys a server needs for a bootstrappable
    /// engine of `slots` slots with rotations by `extra_steps`.
    pub fn evaluation_keys(
        &self,
        slots: usize,
        extra_steps: &[i64],
        config: &BootstrapConfig,
        rng: &mut Csprng,
    ) -> EngineResult<PublicEvalKeys> {
        let plan = KeyPlan::new(self.lit, slots, extra_steps, config)?;
        Ok(plan.generate(&self.ctx, &self.sk, rng))
    }
}

impl Decryptor<CkksEngine> for OwnerKeys {
    fn decrypt(&self, ct: &CkksCt) -> EngineResult<Vec<Complex>> {
        Ok(decrypt(&self.ctx, &self.sk, &ct.ct)?)
    }
}

/// Number of evaluation keys [`OwnerKeys::evaluation_keys`] (or
/// [`CkksEngine::bootstrappable`]) makes, their bytes as seeded wire frames
/// (headers aside) and in memory once expanded, computed from the plan
/// before any key exists.
pub fn evaluation_key_sizes(
    lit: &ParamsLiteral<'_>,
    slots: usize,
    extra_steps: &[i64],
    config: &BootstrapConfig,
) -> EngineResult<KeySizes> {
    let plan = KeyPlan::new(lit, slots, extra_steps, config)?;
    Ok(KeySizes {
        count: plan.key_count(),
        seeded: plan.frame_bytes(),
        expanded: plan.expanded_bytes(),
    })
}

/// Number of evaluation keys [`OwnerKeys::evaluation_keys`] makes.
pub fn evaluation_key_count(
    lit: &ParamsLiteral<'_>,
    slots: usize,
    extra_steps: &[i64],
    config: &BootstrapConfig,
) -> EngineResult<usize> {
    Ok(KeyPlan::new(lit, slots, extra_steps, config)?.key_count())
}

impl CkksEngine {
    /// The server's engine: bootstrappable, built from the public
    /// evaluation keys only (checked complete against the plan for `slots`,
    /// `extra_steps` and `config`). It cannot decrypt and encrypts
    /// trivially (see the module documentation).
    pub fn server(
        lit: &ParamsLiteral<'_>,
        slots: usize,
        extra_steps: &[i64],
        config: &BootstrapConfig,
        keys: PublicEvalKeys,
    ) -> EngineResult<Self> {
        let plan = KeyPlan::new(lit, slots, extra_steps, config)?;
        let ctx = plan.context()?;
        // The generator is never drawn from: trivial encryption needs none.
        let rng = Csprng::from_entropy([0; 32]);
        Self::assemble(plan, ctx, keys, EncryptKey::Trivial, rng)?.warm_up()
    }

    /// A producer's engine: encrypts with the public key `pk`; no
    /// evaluation keys (rotations and bootstrapping are unavailable).
    pub fn producer(
        lit: &ParamsLiteral<'_>,
        slots: usize,
        pk: PublicKey,
        rng: Csprng,
    ) -> EngineResult<Self> {
        let ctx = build_context(lit)?;
        if &pk.digest != ctx.params().digest() {
            return Err(WireError::WrongParams.into());
        }
        let log_slots = hetal_nostd::encoding::log_slots_for(slots, ctx.params().log_n())?;
        let ev =
            crate::ckks::Evaluator::new(ctx, EvaluationKeys::default()).map_err(engine_error)?;
        Ok(CkksEngine {
            ev,
            key: EncryptKey::Public(pk),
            rng: Mutex::new(rng),
            log_slots,
            boot: None,
            plain_cache: PlainCache::default(),
            range_audit: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Takes a decoded ciphertext into the engine (its parameters and slot
    /// count are checked; a seeded `c1` is expanded).
    pub fn import(&self, ct: &Ciphertext) -> EngineResult<CkksCt> {
        if ct.log_slots != self.log_slots {
            return Err(EngineError::SizeMismatch {
                len: 1 << ct.log_slots,
                slots: self.slots(),
            });
        }
        Self::wrap(self.ev.expand(ct), false)
    }

    /// A ciphertext as its wire frame (a product awaiting a rescale is refused).
    pub fn export(&self, ct: &CkksCt) -> EngineResult<Vec<u8>> {
        if ct.pending_rescale {
            return Err(EngineError::NeedsRescale);
        }
        Ok(hetal_nostd::wire::encode_ciphertext(
            &ct.ct,
            self.ev.context().params(),
        ))
    }

    /// `c0 = encode(values)`, `c1 = 0` at `level`.
    pub(super) fn encrypt_trivial(&self, values: &[Complex], level: usize) -> EngineResult<CkksCt> {
        let ctx = self.ev.context();
        let scale = ctx.params().scale();
        let c0 = self
            .ev
            .encode(values, self.log_slots, level, scale)
            .map_err(engine_error)?;
        Ok(CkksCt {
            ct: Ciphertext {
                digest: *ctx.params().digest(),
                level,
                scale,
                log_slots: self.log_slots,
                c0,
                c1: C1::Full(RnsPoly::zero(ctx.n(), level + 1)),
            },
            pending_rescale: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ConfigError;
    use hetal_nostd::params::presets::INSECURE_N10;

    fn steps() -> Vec<i64> {
        (0..9).flat_map(|i| [1i64 << i, -(1i64 << i)]).collect()
    }

    #[test]
    fn a_server_built_from_public_keys_computes_but_cannot_decrypt() {
        let mut rng = Csprng::from_entropy([11; 32]);
        let owner = OwnerKeys::generate(&INSECURE_N10, &mut rng).unwrap();
        let config = BootstrapConfig::default();
        let eval = owner
            .evaluation_keys(512, &steps(), &config, &mut rng)
            .unwrap();
        let params = owner.params().clone();
        let limits = Limits::default();
        // Through the wire, frame by frame.
        let mut builder = EvalKeysBuilder::default();
        let frames = eval.frames(&params).unwrap();
        for f in &frames {
            builder.push(f, &params, &limits).unwrap();
        }
        assert!(matches!(
            builder.push(&frames[0], &params, &limits),
            Err(KeyError::Duplicate(_))
        ));
        let secret = owner.secret_frame().unwrap();
        assert!(matches!(
            builder.push(&secret, &params, &limits),
            Err(KeyError::SecretFrame)
        ));
        let keys = builder.finish().unwrap();
        let server =
            CkksEngine::server(&INSECURE_N10, 512, &steps(), &config, keys.clone()).unwrap();
        // The producer encrypts with the public key; the server rotates,
        // multiplies and bootstraps; only the owner decrypts.
        let producer = CkksEngine::producer(
            &INSECURE_N10,
            512,
            owner.public_key().clone(),
            Csprng::from_entropy([12; 32]),
        )
        .unwrap();
        let values: Vec<f64> = (0..512).map(|i| ((i % 17) as f64 - 8.0) / 16.0).collect();
        let ct = producer.encrypt_real(&values, 9).unwrap();
        let ct = server.import(ct.ciphertext()).unwrap();
        let r = server.rotate(&ct, 3).unwrap();
        let sq = server.mul(&r, &r).unwrap();
        let boot = server.bootstrap(&sq).unwrap();
        assert!(matches!(
            crate::ckks_engine::CkksDecryptor(&server).decrypt(&boot),
            Err(EngineError::Unavailable(_))
        ));
        let got = owner.decrypt_real(&boot).unwrap();
        let err = (0..512)
            .map(|j| (got[j] - values[(j + 3) % 512].powi(2)).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-3, "error {err}");
        // The server's own encryption is trivial: c1 = 0.
        let zero = server.encrypt_real(&[0.0; 4], 3).unwrap();
        match &zero.ciphertext().c1 {
            C1::Full(p) => assert!(p.data().iter().all(|&x| x == 0)),
            C1::Seeded(_) => panic!("a seeded c1 from the server"),
        }
        // An incomplete key set is refused with the missing key named.
        let mut partial = keys.clone();
        partial.keys.galois.pop();
        assert!(matches!(
            CkksEngine::server(&INSECURE_N10, 512, &steps(), &config, partial),
            Err(EngineError::InvalidConfig(
                ConfigError::MissingGaloisKey { .. }
            ))
        ));
    }
}
