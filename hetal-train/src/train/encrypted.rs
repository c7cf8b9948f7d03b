//! The server-side trainer: weights, gradients and logits stay engine
//! ciphertexts; bootstraps come from the general rule
//! ([`crate::engine::ensure_levels`]) before each step that needs levels.

use std::collections::VecDeque;

use super::epochs::{initial_state, validation_logits};
use super::{Optimizer, TrainConfig, TrainError, ValidationJudge, Verdict, WeightRefresh};
use crate::data::Dataset;
use crate::engine::{ensure_levels, ensure_levels_pair, Engine};
use crate::linalg::{
    bootstrap_vertical_packed, diag_abt, diag_atb_scaled, drop_all, encrypt_matrix, min_level,
    padded_classes, AtbSchedule, BlockMatrix, Layout, LinalgError, Matrix, TileShape,
};
use crate::softmax::{softmax_scaled, uniform, SoftmaxMethod};

/// Levels DiagABT consumes (its inputs must have them).
pub(super) const ABT_DEPTH: usize = 3;
/// Levels the weights need before a training step: DiagABT's, plus the
/// softmax's first constant product, so that the logits (whose range is not
/// bounded by the bootstrap's) are never bootstrapped.
pub(super) const FORWARD_DEPTH: usize = ABT_DEPTH + 1;
/// Levels DiagATB's PRotUp variant consumes below the error matrix.
const ATB_DEPTH: usize = 3;
/// DiagATB's schedule in a training step.
const ATB_SCHEDULE: AtbSchedule = AtbSchedule::PackedColumns;

/// One encrypted mini-batch: features with the bias column (plain layout)
/// and one-hot labels (horizontal layout).
#[derive(Clone, Debug)]
pub struct EncryptedBatch<C> {
    /// `rows × (features + 1)`.
    pub x: BlockMatrix<C>,
    /// `rows × classes`.
    pub y: BlockMatrix<C>,
}

/// What the data producers send the server.
#[derive(Clone, Debug)]
pub struct EncryptedData<C> {
    /// Training batches in plan order.
    pub train: Vec<EncryptedBatch<C>>,
    /// Validation features in batches (labels stay with the key owner).
    pub validation: Vec<BlockMatrix<C>>,
    /// Number of classes.
    pub classes: usize,
    /// Tile shape of every block matrix.
    pub shape: TileShape,
}

/// Result of encrypted training.
#[derive(Clone, Debug)]
pub struct TrainReport<C> {
    /// Encrypted weights of the best epoch, `classes × (features + 1)`, vertical layout.
    pub weights: BlockMatrix<C>,
    /// Epochs run.
    pub epochs: usize,
    /// Gradient steps taken.
    pub iterations: usize,
    /// Epoch whose weights are returned.
    pub best_epoch: usize,
}

/// The data producer's side: encodes and encrypts the training batches of
/// `config` and the validation features at `level`, with the paper's tile
/// shape for the batch size.
pub fn encrypt_dataset<E: Engine>(
    engine: &E,
    train: &Dataset,
    validation: &Dataset,
    config: &TrainConfig,
    level: usize,
) -> Result<EncryptedData<E::Ct>, TrainError> {
    if train.is_empty() || config.batch_size == 0 {
        return Err(TrainError::Empty);
    }
    let period = padded_classes(train.classes);
    let shape = TileShape::for_batch(config.batch_size, period, engine.slots())?;
    let horizontal = Layout::Horizontal { period };
    let x_all = train.with_bias();
    let y_all = train.one_hot();
    let rows_of = |m: &Matrix, range: std::ops::Range<usize>| {
        Matrix::from_fn(range.len(), m.cols(), |r, c| m.row(range.start + r)[c])
    };
    let batches = config
        .batches(train.len())
        .into_iter()
        .map(|range| {
            Ok(EncryptedBatch {
                x: encrypt_matrix(
                    engine,
                    &rows_of(&x_all, range.clone()),
                    shape,
                    Layout::Plain,
                    level,
                )?,
                y: encrypt_matrix(engine, &rows_of(&y_all, range), shape, horizontal, level)?,
            })
        })
        .collect::<Result<_, LinalgError>>()?;
    let x_val = validation.with_bias();
    let validation = config
        .batches(validation.len())
        .into_iter()
        .map(|range| encrypt_matrix(engine, &rows_of(&x_val, range), shape, Layout::Plain, level))
        .collect::<Result<_, _>>()?;
    Ok(EncryptedData {
        train: batches,
        validation,
        classes: train.classes,
        shape,
    })
}

/// Gives every tile of `m` at least `needed` levels; the tiles that fall
/// short are refreshed two by two ([`Engine::bootstrap_pair`]: one bootstrap
/// per pair on CKKS).
pub(super) fn ensure_all<E: Engine>(
    engine: &E,
    m: &BlockMatrix<E::Ct>,
    needed: usize,
) -> Result<BlockMatrix<E::Ct>, TrainError> {
    let mut tiles = m.tiles().to_vec();
    let short: Vec<usize> = (0..tiles.len())
        .filter(|&i| engine.level(&tiles[i]) < needed)
        .collect();
    for pair in short.chunks(2) {
        match *pair {
            [a, b] => {
                let (x, y) = ensure_levels_pair(engine, (&tiles[a], needed), (&tiles[b], needed))?;
                tiles[a] = x;
                tiles[b] = y;
            }
            [a] => tiles[a] = ensure_levels(engine, &tiles[a], needed)?,
            _ => {}
        }
    }
    Ok(BlockMatrix::from_tiles(
        m.rows(),
        m.cols(),
        m.shape(),
        m.layout(),
        tiles,
    )?)
}

/// Optimiser state: the encrypted weights `w` and, for Nesterov, the
/// previous plain step `v`.
#[derive(Clone, Debug)]
pub struct State<C> {
    /// Current weights (vertical layout).
    pub w: BlockMatrix<C>,
    /// Previous plain gradient step (equal to `w` at the start).
    pub v: BlockMatrix<C>,
    /// Whether `w` is publicly known to be zero (the initial state, which
    /// the server made itself): every logit is then 0 and the softmax is
    /// exactly uniform over the real classes, so [`step`] takes the error
    /// as `1/c − Y` without the forward pass and the softmax (no bootstrap).
    pub zero: bool,
}

impl<C: Clone> State<C> {
    /// Starts from weights `w` (not known to the server).
    pub fn new(w: BlockMatrix<C>) -> Self {
        State {
            v: w.clone(),
            w,
            zero: false,
        }
    }

    /// Starts from `w`, an encryption of zero weights: the caller vouches
    /// for the zeros ([`super::initial_state`] makes such a state), since
    /// the first [`step`] does not look at `w`'s values.
    pub fn zero(w: BlockMatrix<C>) -> Self {
        State {
            zero: true,
            ..State::new(w)
        }
    }
}

/// The phases of one training step, in order (for per-phase accounting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Weights bootstrapped when they lack DiagABT's levels.
    WeightRefresh,
    /// Logits `X·Wᵀ` (DiagABT).
    Forward,
    /// Softmax approximation.
    Softmax,
    /// Error `P − Y`, bootstrapped when it lacks DiagATB's levels.
    Error,
    /// Gradient `(lr/n)·(P − Y)ᵀ·X` (DiagATB).
    Gradient,
    /// Optimiser update.
    Update,
}

/// One gradient step on one batch: forward (DiagABT), softmax, error,
/// gradient (DiagATB with `lr / n` folded in), update.
pub fn step<E: Engine>(
    engine: &E,
    state: State<E::Ct>,
    batch: &EncryptedBatch<E::Ct>,
    config: &TrainConfig,
    method: SoftmaxMethod,
) -> Result<State<E::Ct>, TrainError> {
    step_observed(engine, state, batch, config, method, &mut |_| {})
}

/// [`step`], calling `done` after each [`Phase`].
pub fn step_observed<E: Engine>(
    engine: &E,
    state: State<E::Ct>,
    batch: &EncryptedBatch<E::Ct>,
    config: &TrainConfig,
    method: SoftmaxMethod,
    done: &mut dyn FnMut(Phase),
) -> Result<State<E::Ct>, TrainError> {
    let w = refresh_weights(engine, &state.w, config.weight_refresh)?;
    done(Phase::WeightRefresh);
    let d = if state.zero {
        done(Phase::Forward);
        done(Phase::Softmax);
        uniform_error(engine, &batch.y)?
    } else {
        let logits = diag_abt(engine, &batch.x, &w)?;
        done(Phase::Forward);
        let p = softmax_scaled(
            engine,
            &logits,
            method,
            config.weight_scale,
            config.logit_bound,
        )?;
        done(Phase::Softmax);
        p.try_zip(&batch.y, |a, b| Ok(engine.sub(a, b)?))?
    };
    let d = ensure_all(engine, &d, error_level(engine, &w, &batch.x, config))?;
    done(Phase::Error);
    let scale = config.learning_rate / (batch.x.rows() as f64 * config.weight_scale);
    let (d, x, target) = gradient_operands(engine, d, &batch.x, &w, ATB_SCHEDULE)?;
    let g = diag_atb_scaled(engine, &d, &x, scale, ATB_SCHEDULE, target)?;
    done(Phase::Gradient);
    let v_new = w.try_zip(&g, |a, b| Ok(engine.sub(a, b)?))?;
    let out = update(engine, state, v_new, config)?;
    done(Phase::Update);
    Ok(out)
}

/// The error `P − Y` where every logit is 0: `P` is `1/c` at the real
/// classes and 0 at the padded ones (the softmax's layout), a plaintext.
fn uniform_error<E: Engine>(
    engine: &E,
    y: &BlockMatrix<E::Ct>,
) -> Result<BlockMatrix<E::Ct>, TrainError> {
    let Layout::Horizontal { period } = y.layout() else {
        return Err(LinalgError::LayoutMismatch {
            expected: Layout::Horizontal { period: 0 },
            found: y.layout(),
        }
        .into());
    };
    let p = uniform(y.shape(), period, y.cols());
    Ok(y.try_map(|t| engine.add_plain(&engine.neg(t)?, &p))?)
}

/// The fewest levels the error matrix `P − Y` has when it enters DiagATB:
/// the PRotUp variant's three, plus what the update needs after it (the
/// packed refresh masks the next weights once, so they must keep a level
/// after the gradient, and after Nesterov's momentum product).
pub fn gradient_level(config: &TrainConfig) -> usize {
    let spare = match (config.weight_refresh, config.optimizer) {
        (WeightRefresh::PerTile, _) => 0,
        (WeightRefresh::Packed, Optimizer::Sgd) => 1,
        (WeightRefresh::Packed, Optimizer::Nesterov { .. }) => 2,
    };
    ATB_DEPTH + spare
}

/// The levels the error `P − Y` is given before DiagATB: at least
/// [`gradient_level`], and as many as land the gradient on the weights'
/// level ([`gradient_operands`]) where a bootstrap can give them. An error
/// lower than that would pull the weights down to the gradient's level, and
/// weights that fall fast cost a refresh in the next iteration and another
/// in its validation pass: one bootstrap of `P − Y` here is cheaper.
fn error_level<E: Engine>(
    engine: &E,
    w: &BlockMatrix<E::Ct>,
    x: &BlockMatrix<E::Ct>,
    config: &TrainConfig,
) -> usize {
    let (d_above, _) = ATB_SCHEDULE.operand_levels(x.col_tiles());
    let onto_weights = min_level(engine, w.tiles()) + d_above;
    gradient_level(config).max(onto_weights.min(engine.bootstrap_level()))
}

/// DiagATB's operands at the fewest levels that let the gradient land
/// exactly on the weights' target (its rotations cost less the lower they
/// run, and the update needs the gradient no higher than the weights): `D`
/// and `X` dropped to the weights' level plus
/// [`AtbSchedule::operand_levels`] of `schedule`. Where they lack those
/// levels (weights just refreshed), they stay as they are and the gradient
/// lands below the weights.
pub fn gradient_operands<E: Engine>(
    engine: &E,
    d: BlockMatrix<E::Ct>,
    x: &BlockMatrix<E::Ct>,
    w: &BlockMatrix<E::Ct>,
    schedule: AtbSchedule,
) -> Result<GradientOperands<E::Ct, E::Target>, TrainError> {
    let w_low = w
        .tiles()
        .iter()
        .min_by_key(|t| engine.level(t))
        .ok_or(TrainError::Empty)?;
    let target = engine.target_of(w_low);
    let (d_above, x_above) = schedule.operand_levels(x.col_tiles());
    let level = engine.target_level(target);
    let (d_level, x_level) = (level + d_above, level + x_above);
    if d_level > min_level(engine, d.tiles()) || x_level > min_level(engine, x.tiles()) {
        return Ok((d, x.clone(), None));
    }
    Ok((
        drop_all(engine, &d, d_level)?,
        drop_all(engine, x, x_level)?,
        Some(target),
    ))
}

/// `D`, `X` and the gradient's target (see [`gradient_operands`]).
pub type GradientOperands<C, T> = (BlockMatrix<C>, BlockMatrix<C>, Option<T>);

/// Gives the weights DiagABT's levels by the configured strategy.
fn refresh_weights<E: Engine>(
    engine: &E,
    w: &BlockMatrix<E::Ct>,
    refresh: WeightRefresh,
) -> Result<BlockMatrix<E::Ct>, TrainError> {
    let lowest = min_level(engine, w.tiles());
    match refresh {
        WeightRefresh::PerTile => ensure_all(engine, w, FORWARD_DEPTH),
        WeightRefresh::Packed if lowest < FORWARD_DEPTH => {
            let cuttable = ensure_all(engine, w, 1)?;
            Ok(bootstrap_vertical_packed(engine, &cuttable)?)
        }
        WeightRefresh::Packed => Ok(w.clone()),
    }
}

fn update<E: Engine>(
    engine: &E,
    state: State<E::Ct>,
    v_new: BlockMatrix<E::Ct>,
    config: &TrainConfig,
) -> Result<State<E::Ct>, TrainError> {
    match config.optimizer {
        Optimizer::Sgd => Ok(State {
            w: v_new.clone(),
            v: v_new,
            zero: false,
        }),
        Optimizer::Nesterov { momentum } => {
            let w_new = v_new.try_zip(&state.v, |a, b| {
                let diff = ensure_levels(engine, &engine.sub(a, b)?, 1)?;
                Ok(engine.add(a, &engine.mul_real(&diff, momentum)?)?)
            })?;
            Ok(State {
                w: w_new,
                v: v_new,
                zero: false,
            })
        }
    }
}

/// Where a training run stands, reported after every iteration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Current epoch (from 1).
    pub epoch: usize,
    /// Iterations done so far in the run.
    pub iterations: usize,
    /// Iterations in one epoch.
    pub per_epoch: usize,
    /// Epoch cap.
    pub max_epochs: usize,
}

/// Trains on encrypted data. After each epoch the encrypted validation
/// logits go to `judge` (the key owner); the weights of the epoch it names
/// best are returned. Weights start at zero (encrypted at the bootstrap level).
pub fn train_encrypted<E: Engine, J: ValidationJudge<E>>(
    engine: &E,
    data: &EncryptedData<E::Ct>,
    config: &TrainConfig,
    judge: &mut J,
    method: SoftmaxMethod,
) -> Result<TrainReport<E::Ct>, TrainError> {
    train_encrypted_observed(engine, data, config, judge, method, &mut |_| {})
}

/// [`train_encrypted`], calling `progress` after every iteration.
pub fn train_encrypted_observed<E: Engine, J: ValidationJudge<E>>(
    engine: &E,
    data: &EncryptedData<E::Ct>,
    config: &TrainConfig,
    judge: &mut J,
    method: SoftmaxMethod,
    progress: &mut dyn FnMut(Progress),
) -> Result<TrainReport<E::Ct>, TrainError> {
    let first = data.train.first().ok_or(TrainError::Empty)?;
    let mut state = initial_state(engine, data.classes, first.x.cols(), data.shape)?;
    let mut held: VecDeque<(usize, BlockMatrix<E::Ct>)> = VecDeque::new();
    let mut iterations = 0;
    let mut epochs = 0;
    for epoch in 1..=config.max_epochs {
        for b in config.epoch_order(data.train.len(), epoch) {
            state = step(engine, state, &data.train[b], config, method)?;
            iterations += 1;
            progress(Progress {
                epoch,
                iterations,
                per_epoch: data.train.len(),
                max_epochs: config.max_epochs,
            });
        }
        epochs = epoch;
        let logits = validation_logits(engine, &state.w, &data.validation)?;
        held.push_back((epoch, state.w.clone()));
        if held.len() > config.patience + 1 {
            held.pop_front();
        }
        if judge.judge(&logits)? == Verdict::Stop {
            break;
        }
    }
    let best = judge.best_epoch().unwrap_or(epochs);
    let weights = held
        .into_iter()
        .find(|(e, _)| *e == best)
        .map(|(_, w)| w)
        .ok_or(TrainError::BestEpochLost(best))?;
    Ok(TrainReport {
        weights,
        epochs,
        iterations,
        best_epoch: best,
    })
}
