//! Softmax approximations against the exact softmax.

use super::*;
use crate::engine::{ClearConfig, ClearDecryptor, ClearEngine, EngineError};
use crate::linalg::{
    decrypt_matrix, encrypt_matrix, padded_classes, Layout, LinalgError, Matrix, TileShape,
};

#[test]
fn exact_softmax_is_a_distribution() {
    let p = exact(&[1000.0, 999.0, -5.0]);
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!((p[0] / p[1] - 1f64.exp()).abs() < 1e-9);
}

/// Max and mean (over rows) of the row-wise max absolute error, and the
/// output depth, on an engine with `levels` levels and bootstraps back to 9,
/// with tiles of one row per sample (`s1 = c'`).
fn errors(
    method: SoftmaxMethod,
    classes: usize,
    range: f64,
    slots: usize,
    levels: usize,
) -> (f64, f64, usize, u64) {
    errors_in_tiles(method, classes, range, slots, slots, levels)
}

/// [`errors`] of the softmax covering logits within `±bound`.
fn errors_within(
    method: SoftmaxMethod,
    classes: usize,
    range: f64,
    bound: f64,
    levels: usize,
) -> Result<(f64, f64, usize, u64), LinalgError> {
    softmax_errors(method, classes, range, bound, 1 << 10, 1 << 10, levels)
}

/// [`errors`] with tiles of `batch` rows: `s1 / c'` replicas of each row
/// when `batch · c' < slots`, as in training.
fn errors_in_tiles(
    method: SoftmaxMethod,
    classes: usize,
    range: f64,
    batch: usize,
    slots: usize,
    levels: usize,
) -> (f64, f64, usize, u64) {
    let bound = method.supported_range();
    softmax_errors(method, classes, range, bound, batch, slots, levels).unwrap()
}

fn softmax_errors(
    method: SoftmaxMethod,
    classes: usize,
    range: f64,
    bound: f64,
    batch: usize,
    slots: usize,
    levels: usize,
) -> Result<(f64, f64, usize, u64), LinalgError> {
    let period = padded_classes(classes);
    let shape = TileShape::for_batch(batch, period, slots).unwrap();
    let rows = 2 * shape.s0;
    let x = sample_logits(rows, classes, range, classes as u64);
    let mut cfg = ClearConfig::exact(slots, levels);
    cfg.bootstrap_level = levels.min(9);
    if !matches!(
        method,
        SoftmaxMethod::Hetal | SoftmaxMethod::HetalPrecise | SoftmaxMethod::HetalLean
    ) {
        // The baselines were not designed for a bounded bootstrap range.
        cfg.bootstrap_bound = None;
    }
    let e = ClearEngine::new(cfg).unwrap();
    let xe = encrypt_matrix(&e, &x, shape, Layout::Horizontal { period }, levels).unwrap();
    let pe = softmax_scaled(&e, &xe, method, 1.0, bound)?;
    let depth = pe.tiles()[0].depth();
    let p = decrypt_matrix(&ClearDecryptor, &pe).unwrap();
    let (worst, mean) = row_errors(&x, &p);
    // padded classes stay exactly zero in every replica
    let copies =
        crate::linalg::BlockMatrix::encode(&p, shape, Layout::Horizontal { period }).unwrap();
    for (tile, ct) in copies.tiles().iter().zip(pe.tiles()) {
        let back = crate::engine::Decryptor::decrypt_real(&ClearDecryptor, ct).unwrap();
        let gap = tile
            .iter()
            .zip(&back)
            .map(|(u, v)| (u - v).abs())
            .fold(0.0, f64::max);
        assert!(gap < 1e-9, "{method:?}: replicas or padding off by {gap}");
    }
    Ok((worst, mean, depth, e.counts().bootstrap))
}

#[test]
fn hetal_softmax_meets_the_paper_error_on_wide_inputs() {
    // Paper (facts file): about 3.7e-3 for 3 classes up to 2.0e-2 for 10 classes on [-128, 128].
    for (classes, bound) in [(3, 3.7e-3), (5, 2.0e-2), (7, 2.0e-2), (10, 2.0e-2)] {
        for method in [
            SoftmaxMethod::Hetal,
            SoftmaxMethod::HetalPrecise,
            SoftmaxMethod::HetalLean,
        ] {
            let (max, mean, _, boots) = errors(method, classes, 128.0, 1 << 10, 12);
            assert!(
                max <= bound * 1.05,
                "{method:?} {classes} classes: max error {max}"
            );
            assert!(mean < max && mean > 0.0);
            assert!(
                boots > 0,
                "a 12-level engine must bootstrap inside the softmax"
            );
        }
    }
}

/// Training tiles hold `s1 / c'` replicas of each row. The approximate row
/// max found by cyclic rotations differs from column to column (each
/// column's window meets the classes in another order); the softmax must
/// subtract one value from all of a row's columns, or the probabilities are
/// off by far more than the approximation error (0.0995 here when each
/// column kept its own).
#[test]
fn replicated_rows_share_one_shift() {
    for (classes, bound) in [(3, 5e-3), (10, 5e-3)] {
        let (batch, slots) = (32, 1 << 11);
        let (max, _, _, _) =
            errors_in_tiles(SoftmaxMethod::HetalPrecise, classes, 4.0, batch, slots, 200);
        assert!(max <= bound, "{classes} classes: max error {max}");
    }
}

#[test]
fn baselines_work_on_their_own_ranges_only() {
    for method in [
        SoftmaxMethod::LeeGumbel,
        SoftmaxMethod::Hong,
        SoftmaxMethod::JinPairwise,
    ] {
        let (max, _, _, _) = errors(method, 3, method.supported_range(), 1 << 8, 12);
        assert!(max.is_finite() && max < 1.0, "{method:?}: {max}");
        let (hetal, _, _, _) = errors(
            SoftmaxMethod::Hetal,
            3,
            method.supported_range(),
            1 << 8,
            12,
        );
        assert!(hetal < max, "{method:?}: HETAL {hetal} vs {max}");
    }
}

#[test]
fn depth_matches_the_stage_by_stage_count() {
    for classes in [2, 3, 5, 10] {
        for method in SoftmaxMethod::ALL {
            let (_, _, depth, boots) = errors(method, classes, 4.0, 1 << 8, 200);
            assert_eq!(boots, 0);
            assert_eq!(
                depth,
                method.depth(padded_classes(classes)),
                "{method:?}, {classes} classes"
            );
        }
    }
    assert_eq!(SoftmaxMethod::Hetal.depth(16), 79);
    assert_eq!(SoftmaxMethod::HetalLean.depth(16), 71);
}

/// Covering ±32 instead of ±128: two domain-extension steps and one
/// comparison polynomial per max round fewer (16 levels at ten classes), and
/// no larger error on logits within the bound than the paper's setting has
/// on ±128. Logits beyond the bound make the max search diverge, which the
/// simulator's bootstrap bound reports; a bound outside (0, 128] is refused.
#[test]
fn a_narrower_logit_bound_takes_fewer_levels_at_the_same_error() {
    for (classes, paper) in [(3, 3.7e-3), (5, 2.0e-2), (10, 2.0e-2)] {
        for method in [SoftmaxMethod::HetalLean, SoftmaxMethod::HetalPrecise] {
            let (max, _, _, boots) = errors_within(method, classes, 32.0, 32.0, 12).unwrap();
            let (wide, _, _, _) = errors_within(method, classes, 32.0, 128.0, 12).unwrap();
            eprintln!("{method:?}, {classes} classes, logits in ±32: error {max:.2e} covering ±32, {wide:.2e} covering ±128");
            assert!(max <= paper, "{method:?} {classes} classes: {max}");
            assert!(boots > 0);
            let (_, _, depth, _) = errors_within(method, classes, 4.0, 32.0, 200).unwrap();
            let period = padded_classes(classes);
            assert_eq!(depth, method.depth_within(period, 32.0));
            let saved = method.depth(period) - depth;
            assert_eq!(saved, 4 + 3 * period.trailing_zeros() as usize);
        }
    }
    assert_eq!(SoftmaxMethod::HetalLean.depth_within(16, 32.0), 55);
    // Bounds between powers of two round up; 128 is the paper's setting.
    assert_eq!(SoftmaxMethod::HetalLean.depth_within(16, 20.0), 55);
    assert_eq!(SoftmaxMethod::HetalLean.depth_within(16, 128.0), 71);
    let beyond = errors_within(SoftmaxMethod::HetalLean, 10, 128.0, 32.0, 12);
    assert!(
        matches!(
            beyond,
            Err(LinalgError::Engine(EngineError::BootstrapRange { .. }))
        ),
        "{beyond:?}"
    );
    for bad in [0.0, -1.0, 129.0, f64::NAN] {
        let refused = errors_within(SoftmaxMethod::HetalLean, 3, 4.0, bad, 200);
        assert!(matches!(refused, Err(LinalgError::LogitBound(_))), "{bad}");
    }
}

#[test]
fn non_horizontal_input_is_a_typed_error() {
    let e = ClearEngine::new(ClearConfig::exact(64, 12)).unwrap();
    let shape = TileShape::new(8, 8, 64).unwrap();
    let x = encrypt_matrix(&e, &Matrix::zeros(8, 3), shape, Layout::Plain, 12).unwrap();
    assert!(softmax(&e, &x, SoftmaxMethod::Hetal).is_err());
}
