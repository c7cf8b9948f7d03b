//! `JOB.toml`: what the key owner asks the server to train.
//!
//! ```toml
//! preset = "prod-n16"        # required: a parameter preset (`hetal presets`)
//! classes = 10               # required: number of classes (2..=1024)
//! features = 768             # required: features per sample (without the bias column)
//! batch_size = 1024          # samples per mini-batch            (default 1024)
//! learning_rate = 1.0        # gradient step                     (default 1.0)
//! max_epochs = 10            # epoch cap                         (default 10)
//! patience = 3               # epochs without a better validation loss before stopping (default 3)
//! min_improvement = 0.0      # fraction by which a validation loss must beat the last better
//!                            # epoch's to count as better, in [0, 1) (default 0: any lower loss)
//! optimizer = "nesterov"     # "nesterov" (momentum 0.9) or "sgd" (default "nesterov")
//! momentum = 0.9             # Nesterov momentum in [0, 1)       (default 0.9)
//! softmax = "hetal-lean"     # "hetal-lean" (Goldschmidt with R = 2c', 8 steps: 8 levels
//!                            # fewer, same accuracy in our runs), "hetal", "hetal-precise",
//!                            # or the baselines "hong" and "jin-pairwise" (default "hetal-lean")
//! seed = 1                   # seed of the per-epoch batch order (default 1)
//! weight_refresh = "packed"  # "packed" or "per-tile" bootstraps of the weights (default "packed")
//! weight_scale = 8.0         # the trainer keeps weights divided by this bound on their
//!                            # magnitude, inside bootstrapping's precise range (default 8.0)
//! logit_bound = 128.0        # bound on the logits' magnitude that the HETAL softmax covers,
//!                            # in (0, 128]; 32 or less takes 16 levels fewer (default 128)
//! ```
//!
//! Unknown keys are errors. `min_improvement`, `momentum`, `seed`,
//! `weight_refresh`, `weight_scale` and `logit_bound` are additions to the
//! issue's list of keys.

use hetal_nostd::params::{presets, ParamsLiteral};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::softmax::SoftmaxMethod;
use crate::train::{Optimizer, TrainConfig, WeightRefresh};

/// Errors of a job file.
#[derive(Debug, Error)]
pub enum JobError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not parse or has unknown keys or wrong types.
    #[error("{path}: line {line}: {message}")]
    Toml {
        /// The file.
        path: String,
        /// 1-based line of the problem (1 when the parser gives none).
        line: usize,
        /// The parser's message (one line).
        message: String,
        /// The parser's error.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A value outside its allowed range.
    #[error("{path}: `{key}` {problem}")]
    Invalid {
        /// The file.
        path: String,
        /// The key.
        key: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// An insecure preset without `--insecure`.
    #[error("preset `{0}` is INSECURE (tests only); pass --insecure to use it anyway")]
    Insecure(String),
}

/// Optimiser names of the job file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerName {
    /// Nesterov accelerated gradient.
    Nesterov,
    /// Plain mini-batch gradient descent.
    Sgd,
}

/// Softmax approximations a job may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SoftmaxName {
    /// HETAL's Algorithm 1.
    Hetal,
    /// Algorithm 1 with the precise domain-extension correction.
    HetalPrecise,
    /// The lean Goldschmidt variant (8 levels fewer).
    HetalLean,
    /// Hong et al.'s softmax (a baseline, not HETAL's).
    Hong,
    /// Jin et al.'s pairwise sigmoids (a baseline, not HETAL's).
    JinPairwise,
}

/// Weight refresh strategies of the job file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefreshName {
    /// Bootstrap the weights packed into few ciphertexts.
    Packed,
    /// Bootstrap every weight tile (the paper's way).
    PerTile,
}

/// A parsed job file (see the module documentation for keys and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Parameter preset name.
    pub preset: String,
    /// Number of classes.
    pub classes: usize,
    /// Features per sample (without the bias column).
    pub features: usize,
    /// Samples per mini-batch.
    #[serde(default = "defaults::batch_size")]
    pub batch_size: usize,
    /// Learning rate.
    #[serde(default = "defaults::learning_rate")]
    pub learning_rate: f64,
    /// Epoch cap.
    #[serde(default = "defaults::max_epochs")]
    pub max_epochs: usize,
    /// Patience of early stopping.
    #[serde(default = "defaults::patience")]
    pub patience: usize,
    /// Relative margin of an improvement for early stopping.
    #[serde(default)]
    pub min_improvement: f64,
    /// Optimiser.
    #[serde(default = "defaults::optimizer")]
    pub optimizer: OptimizerName,
    /// Nesterov momentum.
    #[serde(default = "defaults::momentum")]
    pub momentum: f64,
    /// Softmax approximation.
    #[serde(default = "defaults::softmax")]
    pub softmax: SoftmaxName,
    /// Seed of the batch order.
    #[serde(default = "defaults::seed")]
    pub seed: u64,
    /// Weight refresh strategy.
    #[serde(default = "defaults::weight_refresh")]
    pub weight_refresh: RefreshName,
    /// Bound on the weights' magnitude the trainer divides by.
    #[serde(default = "defaults::weight_scale")]
    pub weight_scale: f64,
    /// Bound on the logits' magnitude that the softmax covers.
    #[serde(default = "defaults::logit_bound")]
    pub logit_bound: f64,
}

mod defaults {
    use super::{OptimizerName, RefreshName, SoftmaxName};
    pub fn weight_refresh() -> RefreshName {
        RefreshName::Packed
    }
    pub fn weight_scale() -> f64 {
        8.0
    }
    pub fn logit_bound() -> f64 {
        crate::softmax::HETAL_LOGIT_BOUND
    }
    pub fn batch_size() -> usize {
        1024
    }
    pub fn learning_rate() -> f64 {
        1.0
    }
    pub fn max_epochs() -> usize {
        10
    }
    pub fn patience() -> usize {
        3
    }
    pub fn optimizer() -> OptimizerName {
        OptimizerName::Nesterov
    }
    pub fn momentum() -> f64 {
        0.9
    }
    pub fn softmax() -> SoftmaxName {
        SoftmaxName::HetalLean
    }
    pub fn seed() -> u64 {
        1
    }
}

/// Largest class count a job may declare.
pub const MAX_CLASSES: usize = 1024;
/// Largest feature count a job may declare.
pub const MAX_FEATURES: usize = 1 << 16;

impl JobSpec {
    /// Reads and validates a job file.
    pub fn read(path: &std::path::Path) -> Result<Self, JobError> {
        let text = std::fs::read_to_string(path).map_err(|source| JobError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates job-file text; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Self, JobError> {
        let spec: JobSpec = toml::from_str(text).map_err(|e| JobError::Toml {
            path: path.to_string(),
            line: e.span().map_or(1, |s| {
                text[..s.start.min(text.len())].lines().count().max(1)
            }),
            message: e.message().replace('\n', " "),
            source: Box::new(e),
        })?;
        spec.validate(path)?;
        Ok(spec)
    }

    /// The job as TOML text (what the server stores).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    fn validate(&self, path: &str) -> Result<(), JobError> {
        let bad = |key, problem: &str| JobError::Invalid {
            path: path.to_string(),
            key,
            problem: problem.to_string(),
        };
        if presets::by_name(&self.preset).is_none() {
            let names: Vec<_> = presets::ALL.iter().map(|p| p.name).collect();
            return Err(bad(
                "preset",
                &format!("`{}` is not a preset (one of {names:?})", self.preset),
            ));
        }
        if !(2..=MAX_CLASSES).contains(&self.classes) {
            return Err(bad("classes", &format!("must be in 2..={MAX_CLASSES}")));
        }
        if !(1..=MAX_FEATURES).contains(&self.features) {
            return Err(bad("features", &format!("must be in 1..={MAX_FEATURES}")));
        }
        if self.batch_size == 0 {
            return Err(bad("batch_size", "must be at least 1"));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(bad("learning_rate", "must be a positive number"));
        }
        if self.max_epochs == 0 || self.max_epochs > 10_000 {
            return Err(bad("max_epochs", "must be in 1..=10000"));
        }
        if self.patience == 0 {
            return Err(bad("patience", "must be at least 1"));
        }
        if !(0.0..1.0).contains(&self.min_improvement) {
            return Err(bad("min_improvement", "must be in [0, 1)"));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(bad("momentum", "must be in [0, 1)"));
        }
        if !(self.weight_scale.is_finite() && self.weight_scale >= 1.0) {
            return Err(bad("weight_scale", "must be a finite number ≥ 1"));
        }
        if let Err(e) = crate::softmax::check_logit_bound(self.logit_bound) {
            return Err(bad("logit_bound", &e.to_string()));
        }
        Ok(())
    }

    /// The parameter preset.
    pub fn preset(&self) -> &'static ParamsLiteral<'static> {
        // Validated on parsing.
        presets::by_name(&self.preset).unwrap_or(&presets::PROD_N16)
    }

    /// Refuses an insecure preset unless `insecure` is set.
    pub fn check_security(&self, insecure: bool) -> Result<(), JobError> {
        let insecure_preset = self
            .preset()
            .build()
            .map(|p| p.is_insecure())
            .unwrap_or(true);
        if insecure_preset && !insecure {
            Err(JobError::Insecure(self.preset.clone()))
        } else {
            Ok(())
        }
    }

    /// The trainer's configuration.
    pub fn train_config(&self) -> TrainConfig {
        TrainConfig {
            learning_rate: self.learning_rate,
            batch_size: self.batch_size,
            max_epochs: self.max_epochs,
            patience: self.patience,
            min_improvement: self.min_improvement,
            optimizer: match self.optimizer {
                OptimizerName::Nesterov => Optimizer::Nesterov {
                    momentum: self.momentum,
                },
                OptimizerName::Sgd => Optimizer::Sgd,
            },
            seed: self.seed,
            weight_refresh: match self.weight_refresh {
                RefreshName::Packed => WeightRefresh::Packed,
                RefreshName::PerTile => WeightRefresh::PerTile,
            },
            weight_scale: self.weight_scale,
            logit_bound: self.logit_bound,
        }
    }

    /// The softmax approximation.
    pub fn softmax_method(&self) -> SoftmaxMethod {
        match self.softmax {
            SoftmaxName::Hetal => SoftmaxMethod::Hetal,
            SoftmaxName::HetalPrecise => SoftmaxMethod::HetalPrecise,
            SoftmaxName::HetalLean => SoftmaxMethod::HetalLean,
            SoftmaxName::Hong => SoftmaxMethod::Hong,
            SoftmaxName::JinPairwise => SoftmaxMethod::JinPairwise,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Verdict;

    #[test]
    fn a_job_bootstraps_with_the_settings_its_chain_fits() {
        use crate::ckks_engine::{evaluation_key_sizes, BootstrapConfig};
        use crate::job::geometry::Geometry;
        use hetal_nostd::params::presets::PROD_N16_TRAIN;
        let spec = JobSpec::parse(
            "preset = \"prod-n16-train\"\nclasses = 10\nfeatures = 64\n",
            "JOB.toml",
        )
        .unwrap();
        let geo = Geometry::of(&spec).unwrap();
        assert_eq!(
            geo.bootstrap_config(),
            BootstrapConfig::for_chain(&PROD_N16_TRAIN)
        );
        // The key plan of the training chain exists (it failed with the
        // default EvalMod, which needs more levels than the chain has).
        let sizes = evaluation_key_sizes(
            spec.preset(),
            geo.slots,
            &geo.rotation_steps(&spec).unwrap(),
            &geo.bootstrap_config(),
        )
        .unwrap();
        assert!(sizes.count > 3);
    }

    #[test]
    fn defaults_apply_and_unknown_keys_are_refused() {
        let spec = JobSpec::parse(
            "preset = \"INSECURE-n10\"\nclasses = 4\nfeatures = 7\n",
            "JOB.toml",
        )
        .unwrap();
        assert_eq!(spec.batch_size, 1024);
        assert_eq!(spec.optimizer, OptimizerName::Nesterov);
        assert!(matches!(
            spec.check_security(false),
            Err(JobError::Insecure(_))
        ));
        assert!(spec.check_security(true).is_ok());
        let again = JobSpec::parse(&spec.to_toml(), "x").unwrap();
        assert_eq!(again, spec);
        let err = JobSpec::parse(
            "preset = \"INSECURE-n10\"\nclasses = 4\nfeatures = 7\nlearnig_rate = 2\n",
            "JOB.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("learnig_rate"), "{err}");
        let err = JobSpec::parse("preset = \"nope\"\nclasses = 4\nfeatures = 7\n", "J")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`preset`") && err.contains("nope"), "{err}");
        let err = JobSpec::parse("preset = \"prod-n16\"\nclasses = 1\nfeatures = 7\n", "J")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`classes`"), "{err}");
        assert!(JobSpec::parse("preset = 3", "J").is_err());
    }

    #[test]
    fn the_early_stopping_margin_reaches_the_trainer_and_is_checked() {
        let base = "preset = \"INSECURE-n10\"\nclasses = 4\nfeatures = 7\n";
        let spec = JobSpec::parse(base, "J").unwrap();
        assert_eq!(spec.train_config().min_improvement, 0.0);
        let spec = JobSpec::parse(&format!("{base}min_improvement = 0.02\n"), "J").unwrap();
        assert_eq!(spec.train_config().min_improvement, 0.02);
        assert_eq!(JobSpec::parse(&spec.to_toml(), "J").unwrap(), spec);
        // Two epochs at 1.5 % below the first loss: better, but not by 2 %.
        let mut stopping = spec.train_config().early_stopping();
        for loss in [1.0, 0.985, 0.985] {
            assert_eq!(stopping.observe(loss), Verdict::Continue);
        }
        assert_eq!(stopping.observe(0.984), Verdict::Stop);
        for bad in ["1.0", "-0.1", "nan"] {
            let err = JobSpec::parse(&format!("{base}min_improvement = {bad}\n"), "J")
                .unwrap_err()
                .to_string();
            assert!(err.contains("`min_improvement`"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_logit_bound_reaches_the_trainer_and_is_checked() {
        let base = "preset = \"INSECURE-n10\"\nclasses = 4\nfeatures = 7\n";
        let spec = JobSpec::parse(base, "J").unwrap();
        assert_eq!(spec.train_config().logit_bound, 128.0);
        let spec = JobSpec::parse(&format!("{base}logit_bound = 32.0\n"), "J").unwrap();
        assert_eq!(spec.train_config().logit_bound, 32.0);
        assert_eq!(JobSpec::parse(&spec.to_toml(), "J").unwrap(), spec);
        for bad in ["0.0", "-4.0", "200.0", "nan"] {
            let text = format!("{base}logit_bound = {bad}\n");
            assert!(
                matches!(JobSpec::parse(&text, "J"), Err(JobError::Invalid { .. })),
                "{bad}"
            );
        }
    }
}
