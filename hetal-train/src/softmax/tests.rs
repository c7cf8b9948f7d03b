//! Softmax approximations against the exact softmax.

use super::*;
use crate::engine::{ClearConfig, ClearDecryptor, ClearEngine};
use crate::linalg::{decrypt_matrix, encrypt_matrix, padded_classes, Layout, Matrix, TileShape};

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
    let pe = softmax(&e, &xe, method).unwrap();
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
    (worst, mean, depth, e.counts().bootstrap)
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

#[test]
fn non_horizontal_input_is_a_typed_error() {
    let e = ClearEngine::new(ClearConfig::exact(64, 12)).unwrap();
    let shape = TileShape::new(8, 8, 64).unwrap();
    let x = encrypt_matrix(&e, &Matrix::zeros(8, 3), shape, Layout::Plain, 12).unwrap();
    assert!(softmax(&e, &x, SoftmaxMethod::Hetal).is_err());
}
