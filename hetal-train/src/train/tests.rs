//! Encrypted training on digits against the f64 reference.

use super::*;
use crate::data::digits;
use crate::engine::{ClearConfig, ClearDecryptor, ClearEngine, NoiseConfig};
use crate::softmax::SoftmaxMethod;

fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        learning_rate: 1.0,
        batch_size: 64,
        max_epochs: epochs,
        patience: 3,
        min_improvement: 0.0,
        optimizer: Optimizer::Nesterov { momentum: 0.9 },
        seed: 3,
        weight_refresh: WeightRefresh::PerTile,
        weight_scale: 8.0,
        logit_bound: crate::softmax::HETAL_LOGIT_BOUND,
    }
}

#[test]
fn reference_trainer_learns_digits() {
    let split = digits().unwrap().split(0.15, 0.3, 1).unwrap();
    let report = train_reference(&split.train, &split.validation, &config(10)).unwrap();
    let acc = accuracy(&report.weights, &split.test).unwrap();
    assert!(acc > 0.93, "test accuracy {acc}");
    assert!(report.losses[0] > *report.losses.last().unwrap());
}

/// Trains on digits with CKKS-like noise on the clear engine and compares
/// test accuracy with the f64 reference under the same hyper-parameters.
fn encrypted_vs_reference(
    epochs: usize,
    slots: usize,
) -> (f64, f64, TrainReport<crate::engine::ClearCt>, u64) {
    let split = digits().unwrap().split(0.15, 0.3, 1).unwrap();
    let cfg = config(epochs);
    let mut clear = ClearConfig::exact(slots, 12);
    clear.bootstrap_level = 9;
    clear.noise = Some(NoiseConfig::ckks_like(42));
    let engine = ClearEngine::new(clear).unwrap();
    let data = encrypt_dataset(&engine, &split.train, &split.validation, &cfg, 12).unwrap();
    let mut key_owner = KeyOwner::new(
        ClearDecryptor,
        split.validation.labels.clone(),
        cfg.early_stopping(),
    )
    .with_scale(cfg.weight_scale)
    .with_logit_bound(cfg.logit_bound);
    let report =
        train_encrypted(&engine, &data, &cfg, &mut key_owner, SoftmaxMethod::Hetal).unwrap();
    let weights = key_owner
        .decrypt_weights::<ClearEngine>(&report.weights)
        .unwrap();
    let acc = accuracy(&weights, &split.test).unwrap();
    let reference = train_reference(&split.train, &split.validation, &cfg).unwrap();
    let acc_ref = accuracy(&reference.weights, &split.test).unwrap();
    assert_eq!(report.iterations, reference.iterations);
    (acc, acc_ref, report, engine.counts().bootstrap)
}

#[test]
fn encrypted_training_matches_the_reference_within_half_a_point() {
    let (acc, acc_ref, report, boots) = encrypted_vs_reference(3, 1 << 13);
    assert!(
        (acc - acc_ref).abs() <= 0.005,
        "encrypted {acc} vs reference {acc_ref}"
    );
    assert!(acc > 0.9, "accuracy {acc}");
    assert!(boots > 0);
    assert_eq!(report.epochs, 3);
}

/// One Nesterov step from zero weights, encrypted (exact engine) against
/// the same step in f64: through the softmax approximation (weights not
/// known to be zero) and through the exact uniform error of the initial
/// state (no forward pass, no softmax, no bootstrap, no rotation before
/// DiagATB), which matches f64 to rounding.
#[test]
fn one_encrypted_step_equals_the_f64_step() {
    let split = digits().unwrap().split(0.15, 0.3, 1).unwrap();
    let cfg = config(1);
    // No noise, but a chain short enough that the softmax bootstraps.
    let mut clear = ClearConfig::exact(1 << 13, 12);
    clear.bootstrap_level = 9;
    let engine = ClearEngine::new(clear).unwrap();
    let data = encrypt_dataset(&engine, &split.train, &split.validation, &cfg, 12).unwrap();
    let batch = &data.train[0];
    let w0 = initial_state(&engine, 10, 65, data.shape).unwrap().w;
    let n = 64;
    let x = crate::linalg::Matrix::from_fn(n, 65, |r, c| split.train.with_bias().row(r)[c]);
    let y = crate::linalg::Matrix::from_fn(n, 10, |r, c| split.train.one_hot().row(r)[c]);
    let d = crate::linalg::Matrix::from_fn(n, 10, |r, c| 0.1 - y.row(r)[c]);
    let g = d.t_mul(&x).unwrap();
    let want = crate::linalg::Matrix::from_fn(10, 65, |r, c| -(1.0 + 0.9) * g.row(r)[c] / n as f64);
    let first_step = |state: State<crate::engine::ClearCt>| {
        let before = engine.counts();
        let mut forward_and_softmax = None;
        let mut mark = engine.counts();
        let out = step_observed(
            &engine,
            state,
            batch,
            &cfg,
            SoftmaxMethod::Hetal,
            &mut |phase| {
                if phase == Phase::WeightRefresh {
                    mark = engine.counts();
                }
                if phase == Phase::Softmax {
                    forward_and_softmax = Some(engine.counts().since(&mark));
                }
            },
        )
        .unwrap();
        let w = KeyOwner::new(ClearDecryptor, vec![], Patience::new(1))
            .with_scale(cfg.weight_scale)
            .with_logit_bound(cfg.logit_bound)
            .decrypt_weights::<ClearEngine>(&out.w)
            .unwrap();
        assert!(!out.zero, "the next state's weights are not known zero");
        let counts = forward_and_softmax.unwrap();
        (
            w.max_abs_diff(&want).unwrap(),
            counts,
            engine.counts().since(&before),
        )
    };
    let (err, through, _) = first_step(State::new(w0.clone()));
    assert!(err < 1e-6, "first step differs by {err}");
    assert!(through.bootstrap > 0 && through.rot > 0 && through.mult > 0);
    let (err, skipped, whole) = first_step(State::zero(w0));
    assert!(
        err < 1e-12,
        "first step from the zero state differs by {err}"
    );
    assert_eq!((skipped.bootstrap, skipped.rot, skipped.mult), (0, 0, 0));
    assert_eq!(whole.bootstrap, 0);
}

/// A judge that stops after a fixed epoch and names another one best,
/// decrypting nothing: it checks the server's bookkeeping of held weights.
struct Scripted {
    stop_after: usize,
    best: usize,
    seen: usize,
}

impl ValidationJudge<ClearEngine> for Scripted {
    fn judge(
        &mut self,
        logits: &[crate::linalg::BlockMatrix<crate::engine::ClearCt>],
    ) -> Result<Verdict, TrainError> {
        assert!(!logits.is_empty());
        self.seen += 1;
        Ok(if self.seen >= self.stop_after {
            Verdict::Stop
        } else {
            Verdict::Continue
        })
    }

    fn best_epoch(&self) -> Option<usize> {
        Some(self.best)
    }
}

#[test]
fn early_stopping_returns_the_named_epoch_and_sgd_runs() {
    let split = digits().unwrap().split(0.15, 0.3, 1).unwrap();
    let small = split.train.select(&(0..128).collect::<Vec<_>>());
    let mut cfg = config(5);
    cfg.optimizer = Optimizer::Sgd;
    cfg.patience = 2;
    let engine = ClearEngine::new(ClearConfig::exact(1 << 13, 12)).unwrap();
    let data = encrypt_dataset(&engine, &small, &split.validation, &cfg, 12).unwrap();
    let run = |stop_after, best| {
        let mut judge = Scripted {
            stop_after,
            best,
            seen: 0,
        };
        train_encrypted(&engine, &data, &cfg, &mut judge, SoftmaxMethod::Hetal)
    };
    let stopped = run(3, 1).unwrap();
    assert_eq!(
        (stopped.epochs, stopped.best_epoch, stopped.iterations),
        (3, 1, 6)
    );
    let one_epoch = run(1, 1).unwrap();
    let a = crate::linalg::decrypt_matrix(&ClearDecryptor, &stopped.weights).unwrap();
    let b = crate::linalg::decrypt_matrix(&ClearDecryptor, &one_epoch.weights).unwrap();
    assert_eq!(a, b, "the weights of epoch 1 are returned");
    let later =
        crate::linalg::decrypt_matrix(&ClearDecryptor, &run(3, 3).unwrap().weights).unwrap();
    assert_ne!(a, later);
    assert_eq!(
        run(5, 1).unwrap_err(),
        TrainError::BestEpochLost(1),
        "outside the patience window"
    );
    let reference = train_reference(&small, &split.validation, &cfg).unwrap();
    assert!(reference.losses[0] > reference.losses[reference.losses.len() - 1]);
}

#[test]
fn packed_weight_refresh_trains_the_same_weights_with_no_more_bootstraps() {
    let split = digits().unwrap().split(0.15, 0.3, 1).unwrap();
    let small = split.train.select(&(0..192).collect::<Vec<_>>());
    let run = |refresh| {
        let mut cfg = config(2);
        cfg.weight_refresh = refresh;
        let mut clear = ClearConfig::exact(1 << 12, 12);
        clear.bootstrap_level = 9;
        let engine = ClearEngine::new(clear).unwrap();
        let data = encrypt_dataset(&engine, &small, &split.validation, &cfg, 12).unwrap();
        let mut key_owner = KeyOwner::new(
            ClearDecryptor,
            split.validation.labels.clone(),
            Patience::new(3),
        )
        .with_scale(cfg.weight_scale)
        .with_logit_bound(cfg.logit_bound);
        let report =
            train_encrypted(&engine, &data, &cfg, &mut key_owner, SoftmaxMethod::Hetal).unwrap();
        let w = key_owner
            .decrypt_weights::<ClearEngine>(&report.weights)
            .unwrap();
        (w, engine.counts().bootstrap, report.weights.tiles().len())
    };
    let (faithful, boots_faithful, tiles) = run(WeightRefresh::PerTile);
    let (packed, boots_packed, _) = run(WeightRefresh::Packed);
    assert_eq!(tiles, 2, "65 columns in tiles of 64 columns");
    assert!(faithful.max_abs_diff(&packed).unwrap() < 1e-9);
    assert!(
        boots_packed <= boots_faithful,
        "{boots_packed} vs {boots_faithful}"
    );
}

/// Bootstraps per iteration on the training chain (15 levels), counted on
/// the dry-run engine at the digits and MNIST shapes over twenty iterations
/// with their validation passes: six in every steady iteration (three in
/// the max rounds, one in the domain extension, one in the inverse, one for
/// `P − Y`), seven where the weights' packed refresh closes a cycle. Before
/// the round refreshes took `u` along, the max rounds paid four and every
/// iteration seven; an error left below the weights' level pulled them down
/// and made every later iteration pay eight (nineteen at the MNIST shape).
/// With the softmax covering logits within ±32 (16 levels fewer), five and
/// six.
#[test]
fn the_training_chain_pays_six_bootstraps_per_steady_iteration() {
    use hetal_nostd::params::presets::PROD_N16_TRAIN;
    let params = PROD_N16_TRAIN.build().unwrap();
    // (logit bound, bootstraps of a steady iteration, of a refresh one):
    // covering ±32 instead of ±128 takes the softmax 16 levels fewer.
    for (bound, steady_boots, refresh_boots) in [(128.0, 6, 7), (32.0, 5, 6)] {
        for (features, rows) in [(64, 988), (768, 1024)] {
            let slots = 1 << 15;
            let shape = JobShape::new(&params, slots, features, 10);
            let mut cfg = config(20);
            cfg.batch_size = filling_batch(rows, 10, slots);
            cfg.weight_refresh = WeightRefresh::Packed;
            cfg.logit_bound = bound;
            let plan::DryRun {
                engine,
                batch,
                mut state,
                ..
            } = plan::DryRun::new(&shape, &cfg).unwrap();
            let mut per_iteration = Vec::new();
            for _ in 0..20 {
                let before = engine.counts().bootstrap;
                state = step(&engine, state, &batch, &cfg, SoftmaxMethod::HetalLean).unwrap();
                validation_logits(&engine, &state.w, std::slice::from_ref(&batch.x)).unwrap();
                per_iteration.push(engine.counts().bootstrap - before);
            }
            let steady = &per_iteration[1..];
            let refreshes = steady.iter().filter(|&&b| b == refresh_boots).count();
            assert!(
                steady
                    .iter()
                    .all(|&b| b == steady_boots || b == refresh_boots)
                    && refreshes <= 3,
                "bound {bound}, {features} features: {per_iteration:?}"
            );
        }
    }
}
