//! What a training job needs from the engine, found by a dry run: the exact
//! rotation amounts (the Galois keys the key owner generates, and no
//! others) and the operation counts of one iteration.
//!
//! The level flow of the trainer depends only on levels, never on values,
//! so a run of the same code on a counting [`ClearEngine`] with the CKKS
//! chain's levels makes exactly the rotations and bootstraps a CKKS run
//! makes. One mechanism serves every layout, softmax variant and refresh
//! strategy: a change to the algorithms changes the keys with it.

use hetal_nostd::params::Params;

use super::encrypted::{step, EncryptedBatch, State};
use super::epochs::{initial_state, validation_logits};
use super::{TrainConfig, TrainError};
use crate::engine::{ClearConfig, ClearCt, ClearEngine, OpCounts};
use crate::linalg::{encrypt_matrix, padded_classes, Layout, Matrix, TileShape};
use crate::softmax::SoftmaxMethod;

/// The sizes of a job, as the server sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobShape {
    /// Slots of a ciphertext.
    pub slots: usize,
    /// Highest level of the chain (fresh ciphertexts may be encrypted there).
    pub max_level: usize,
    /// Level of a bootstrap's output.
    pub bootstrap_level: usize,
    /// Level at which the data producers encrypt batches.
    pub data_level: usize,
    /// Features per sample (without the bias column).
    pub features: usize,
    /// Classes.
    pub classes: usize,
}

impl JobShape {
    /// A job on `params` with `slots` slots, `features` features and
    /// `classes` classes: levels from the chain, data encrypted at the top
    /// user level (where bootstrapping returns ciphertexts).
    pub fn new(params: &Params, slots: usize, features: usize, classes: usize) -> Self {
        JobShape {
            slots,
            max_level: params.max_level(),
            bootstrap_level: params.user_top_level(),
            data_level: params.user_top_level(),
            features,
            classes,
        }
    }

    /// The clear simulator's configuration for this job: its slots, the
    /// chain's levels, bootstraps back to the job's bootstrap level, exact
    /// arithmetic and the CKKS bootstrap's input bound (set noise or
    /// counting on the result as needed).
    pub fn clear_config(&self) -> ClearConfig {
        ClearConfig {
            bootstrap_level: self.bootstrap_level,
            ..ClearConfig::exact(self.slots, self.max_level)
        }
    }
}

/// The outcome of a dry run.
#[derive(Clone, Debug, PartialEq)]
pub struct JobPlan {
    /// Tile shape of every block matrix.
    pub shape: TileShape,
    /// Left rotation amounts (in `1..slots`) the job uses.
    pub rotations: Vec<usize>,
    /// Operations of one steady-state iteration.
    pub iteration: OpCounts,
    /// Operations of one validation batch's logits.
    pub validation: OpCounts,
}

/// Iterations run before the counted one, so that the counted one starts
/// from weights at the level the training loop leaves them at.
const WARM_UP: usize = 2;

/// A job's starting point on a counting engine with the job's levels: one
/// batch of zeros, encrypted as the producers encrypt it, and the zero
/// weights (the trainer's level flow depends on levels, not values).
pub(crate) struct DryRun {
    /// The counting engine.
    pub engine: ClearEngine,
    /// Tile shape of every block matrix.
    pub tiles: TileShape,
    /// One batch of zeros at the data level.
    pub batch: EncryptedBatch<ClearCt>,
    /// The initial (zero) training state.
    pub state: State<ClearCt>,
}

impl DryRun {
    /// The starting point of a job of `shape` trained with `config`.
    pub fn new(shape: &JobShape, config: &TrainConfig) -> Result<Self, TrainError> {
        if config.batch_size == 0 || shape.classes == 0 {
            return Err(TrainError::Empty);
        }
        let engine = ClearEngine::new(ClearConfig {
            counting_only: true,
            ..shape.clear_config()
        })?;
        let period = padded_classes(shape.classes);
        let tiles = TileShape::for_batch(config.batch_size, period, shape.slots)?;
        let cols = shape.features + 1;
        let zeros = |cols, layout| {
            let m = Matrix::zeros(config.batch_size, cols);
            encrypt_matrix(&engine, &m, tiles, layout, shape.data_level)
        };
        let batch = EncryptedBatch {
            x: zeros(cols, Layout::Plain)?,
            y: zeros(shape.classes, Layout::Horizontal { period })?,
        };
        let state = initial_state(&engine, shape.classes, cols, tiles)?;
        Ok(DryRun {
            engine,
            tiles,
            batch,
            state,
        })
    }
}

/// Runs `WARM_UP` + 1 training steps and one validation forward pass on
/// zeros on a counting engine with `shape`'s levels.
pub fn plan_job(
    shape: &JobShape,
    config: &TrainConfig,
    method: SoftmaxMethod,
) -> Result<JobPlan, TrainError> {
    let DryRun {
        engine,
        tiles,
        batch,
        mut state,
    } = DryRun::new(shape, config)?;
    for _ in 0..WARM_UP {
        state = step(&engine, state, &batch, config, method)?;
    }
    let before = engine.counts();
    state = step(&engine, state, &batch, config, method)?;
    let iteration = engine.counts().since(&before);
    let before = engine.counts();
    validation_logits(&engine, &state.w, std::slice::from_ref(&batch.x))?;
    let validation = engine.counts().since(&before);
    Ok(JobPlan {
        shape: tiles,
        rotations: engine.rotations_used().into_iter().collect(),
        iteration,
        validation,
    })
}
