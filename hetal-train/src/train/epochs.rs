//! The pieces of [`super::train_encrypted`]'s epoch loop, for a server that
//! runs the loop itself (to checkpoint between epochs and to wait for a
//! remote key owner): the zero initial state and the validation logits.
//! With [`super::step`] and [`super::TrainConfig::epoch_order`] they give
//! exactly the computation of [`super::train_encrypted`].

use super::encrypted::{ensure_all, ABT_DEPTH};
use super::{State, TrainError};
use crate::engine::Engine;
use crate::linalg::{
    diag_abt, encrypt_matrix, padded_classes, BlockMatrix, Layout, Matrix, TileShape,
};

/// The initial state: zero weights `classes × cols` (vertical layout),
/// encrypted at the bootstrap level, as [`super::train_encrypted`] starts.
pub fn initial_state<E: Engine>(
    engine: &E,
    classes: usize,
    cols: usize,
    shape: TileShape,
) -> Result<State<E::Ct>, TrainError> {
    let w0 = encrypt_matrix(
        engine,
        &Matrix::zeros(classes, cols),
        shape,
        Layout::Vertical {
            period: padded_classes(classes),
        },
        engine.bootstrap_level(),
    )?;
    Ok(State::zero(w0))
}

/// Encrypted validation logits `X·Wᵀ` of weights `w`, one block matrix
/// per validation batch (what the key owner judges after each epoch).
pub fn validation_logits<E: Engine>(
    engine: &E,
    w: &BlockMatrix<E::Ct>,
    validation: &[BlockMatrix<E::Ct>],
) -> Result<Vec<BlockMatrix<E::Ct>>, TrainError> {
    let w = ensure_all(engine, w, ABT_DEPTH)?;
    validation
        .iter()
        .map(|x| Ok(diag_abt(engine, x, &w)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::digits;
    use crate::engine::ClearDecryptor;
    use crate::engine::{ClearConfig, ClearEngine};
    use crate::softmax::SoftmaxMethod;
    use crate::train::{
        encrypt_dataset, step, train_encrypted, KeyOwner, Optimizer, TrainConfig, ValidationJudge,
        Verdict, WeightRefresh,
    };

    #[test]
    fn the_pieces_reproduce_train_encrypted() {
        let data = digits().unwrap();
        let split = data.split(0.2, 0.2, 7).unwrap();
        let (train, val) = (
            split.train.select(&(0..96).collect::<Vec<_>>()),
            split.validation.select(&(0..32).collect::<Vec<_>>()),
        );
        let config = TrainConfig {
            learning_rate: 1.0,
            batch_size: 32,
            max_epochs: 2,
            patience: 5,
            min_improvement: 0.0,
            optimizer: Optimizer::Nesterov { momentum: 0.9 },
            seed: 3,
            weight_refresh: WeightRefresh::PerTile,
            weight_scale: 1.0,
            logit_bound: crate::softmax::HETAL_LOGIT_BOUND,
        };
        let engine = ClearEngine::new(ClearConfig::exact(1024, 12)).unwrap();
        let enc = encrypt_dataset(&engine, &train, &val, &config, 9).unwrap();
        let method = SoftmaxMethod::HetalLean;
        let mut judge = KeyOwner::new(ClearDecryptor, val.labels.clone(), config.early_stopping());
        let report = train_encrypted(&engine, &enc, &config, &mut judge, method).unwrap();
        // The same loop by hand.
        let mut mine = KeyOwner::new(ClearDecryptor, val.labels.clone(), config.early_stopping());
        let cols = enc.train[0].x.cols();
        let mut state = initial_state(&engine, enc.classes, cols, enc.shape).unwrap();
        let mut held = Vec::new();
        for epoch in 1..=config.max_epochs {
            for b in config.epoch_order(enc.train.len(), epoch) {
                state = step(&engine, state, &enc.train[b], &config, method).unwrap();
            }
            let logits = validation_logits(&engine, &state.w, &enc.validation).unwrap();
            let verdict = ValidationJudge::<ClearEngine>::judge(&mut mine, &logits).unwrap();
            assert_eq!(verdict, Verdict::Continue);
            held.push(state.w.clone());
        }
        assert_eq!(mine.losses(), judge.losses());
        let a = crate::linalg::decrypt_matrix(&ClearDecryptor, &report.weights).unwrap();
        let best = &held[report.best_epoch - 1];
        let b = crate::linalg::decrypt_matrix(&ClearDecryptor, best).unwrap();
        assert_eq!(a, b);
    }
}
