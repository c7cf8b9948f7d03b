//! Products against the f64 reference, and operation counts against the
//! paper's corrected Table 7.

use super::*;
use crate::engine::{
    ClearConfig, ClearCt, ClearDecryptor, ClearEngine, Decryptor, Engine, OpCounts,
};
use crate::reproducible::Xorshift;

/// A reproducible matrix of entries in [−1, 1).
pub(crate) fn random_matrix(rows: usize, cols: usize, seed: u64) -> Matrix {
    let mut rng = Xorshift::new(seed);
    Matrix::from_fn(rows, cols, |_, _| rng.symmetric())
}

/// The largest |Δ| between `expected` and the slots of `ct`, every slot.
fn slot_gap(expected: &[f64], ct: &ClearCt) -> f64 {
    let got = ClearDecryptor.decrypt_real(ct).unwrap();
    expected
        .iter()
        .zip(&got)
        .map(|(u, v)| (u - v).abs())
        .fold(0.0, f64::max)
}

fn engine(slots: usize) -> ClearEngine {
    ClearEngine::new(ClearConfig::exact(slots, 12)).unwrap()
}

/// (slots, a, b, c): small slot counts, sizes off the tile, odd class counts.
const SHAPES: &[(usize, usize, usize, usize)] = &[
    (16, 3, 5, 2),
    (64, 8, 8, 4),
    (64, 5, 13, 3),
    (256, 20, 37, 7),
    (256, 16, 100, 4),
    (1024, 70, 65, 10),
    (1024, 300, 33, 5),
];

#[test]
fn diag_products_match_f64_for_many_shapes() {
    for (n, &(slots, a, b, c)) in SHAPES.iter().enumerate() {
        let e = engine(slots);
        let p = padded_classes(c);
        let shape = TileShape::for_batch(a.min(64), p, slots).unwrap();
        let x = random_matrix(a, b, n as u64);
        let w = random_matrix(c, b, 100 + n as u64);
        let d = random_matrix(a, c, 200 + n as u64);
        let xe = encrypt_matrix(&e, &x, shape, Layout::Plain, 12).unwrap();
        let we = encrypt_matrix(&e, &w, shape, Layout::Vertical { period: p }, 12).unwrap();
        let logits = diag_abt(&e, &xe, &we).unwrap();
        let got = decrypt_matrix(&ClearDecryptor, &logits).unwrap();
        let err = got.max_abs_diff(&x.mul_bt(&w).unwrap()).unwrap();
        assert!(err < 1e-9, "DiagABT {a}x{b}x{c} on {slots} slots: {err}");
        assert_eq!(e.level(&logits.tiles()[0]), 9, "depth 3");
        // every replicated copy is right, not just the first period
        let copies = BlockMatrix::encode(&got, shape, Layout::Horizontal { period: p }).unwrap();
        for (tile, ct) in copies.tiles().iter().zip(logits.tiles()) {
            let worst = slot_gap(tile, ct);
            assert!(worst < 1e-9, "replicas differ by {worst}");
        }

        let want = d.t_mul(&x).unwrap();
        for d_level in [12, 11, 7] {
            let de =
                encrypt_matrix(&e, &d, shape, Layout::Horizontal { period: p }, d_level).unwrap();
            let grad = diag_atb(&e, &de, &xe).unwrap();
            let err = decrypt_matrix(&ClearDecryptor, &grad)
                .unwrap()
                .max_abs_diff(&want)
                .unwrap();
            assert!(err < 1e-9, "DiagATB {a}x{c}x{b}, D at {d_level}: {err}");
            for schedule in [
                AtbSchedule::Paper,
                AtbSchedule::Shared,
                AtbSchedule::MasksFirst,
                AtbSchedule::PackedColumns,
            ] {
                let scaled = diag_atb_scaled(&e, &de, &xe, -0.25, schedule, None).unwrap();
                let err = decrypt_matrix(&ClearDecryptor, &scaled)
                    .unwrap()
                    .max_abs_diff(&Matrix::from_fn(c, b, |i, j| {
                        -0.25 * want.get(i, j).unwrap_or(0.0)
                    }))
                    .unwrap();
                assert!(err < 1e-9, "scaled DiagATB ({schedule:?}): {err}");
                // Packed columns land three levels below D wherever they
                // apply (X a level below D).
                let level = if schedule == AtbSchedule::PackedColumns && xe.col_tiles() >= 2 {
                    d_level - 3
                } else {
                    e.level(&grad.tiles()[0])
                };
                assert_eq!(e.level(&scaled.tiles()[0]), level, "{schedule:?}");
                // every slot, replicas and padding included, as the paper's schedule
                let paper = diag_atb_scaled(&e, &de, &xe, -0.25, AtbSchedule::Paper, None).unwrap();
                for (u, v) in scaled.tiles().iter().zip(paper.tiles()) {
                    let worst = slot_gap(&ClearDecryptor.decrypt_real(v).unwrap(), u);
                    assert!(worst < 1e-9, "{schedule:?} differs from Paper by {worst}");
                }
            }
            let expected_level = if d_level == 12 { 8 } else { d_level - 3 };
            let expected_level = if p == 2 && d_level == 12 {
                9
            } else {
                expected_level
            };
            assert_eq!(
                e.level(&grad.tiles()[0]),
                expected_level,
                "D at {d_level}, c' {p}"
            );
        }
    }
}

#[test]
fn baseline_products_match_f64() {
    for (n, &(slots, a, b, c)) in SHAPES.iter().enumerate() {
        let e = engine(slots);
        let p = padded_classes(c);
        let shape = TileShape::for_batch(a.min(64), p, slots).unwrap();
        let x = random_matrix(a, b, n as u64);
        let w = random_matrix(c, b, 100 + n as u64);
        let d = random_matrix(a, c, 200 + n as u64);
        let xe = encrypt_matrix(&e, &x, shape, Layout::Plain, 12).unwrap();
        let we = encrypt_matrix(&e, &w, shape, Layout::Vertical { period: p }, 12).unwrap();
        let de = encrypt_matrix(&e, &d, shape, Layout::Horizontal { period: p }, 12).unwrap();
        let cm = decrypt_matrix(&ClearDecryptor, &col_major(&e, &xe, &we).unwrap()).unwrap();
        assert!(
            cm.max_abs_diff(&x.mul_bt(&w).unwrap()).unwrap() < 1e-9,
            "ColMajor {n}"
        );
        let rm = decrypt_matrix(&ClearDecryptor, &row_major(&e, &de, &xe).unwrap()).unwrap();
        assert!(
            rm.max_abs_diff(&d.t_mul(&x).unwrap()).unwrap() < 1e-9,
            "RowMajor {n}"
        );
        if a <= slots {
            let xc = ColumnPacked::encrypt(&e, &x, 12).unwrap();
            let wr = Replicated::encrypt(&e, &w, 12).unwrap();
            let dc = ColumnPacked::encrypt(&e, &d, 12).unwrap();
            let jab = jin_abt(&e, &xc, &wr)
                .unwrap()
                .decrypt(&ClearDecryptor)
                .unwrap();
            assert!(
                jab.max_abs_diff(&x.mul_bt(&w).unwrap()).unwrap() < 1e-9,
                "Jin ABT {n}"
            );
            let jatb = jin_atb(&e, &dc, &xc)
                .unwrap()
                .decrypt(&ClearDecryptor)
                .unwrap();
            assert!(
                jatb.max_abs_diff(&d.t_mul(&x).unwrap()).unwrap() < 1e-9,
                "Jin ATB {n}"
            );
        }
    }
}

#[test]
fn mismatched_operands_are_typed_errors() {
    let e = engine(64);
    let shape = TileShape::new(8, 8, 64).unwrap();
    let x = encrypt_matrix(&e, &random_matrix(8, 10, 1), shape, Layout::Plain, 12).unwrap();
    let w = encrypt_matrix(
        &e,
        &random_matrix(4, 9, 2),
        shape,
        Layout::Vertical { period: 4 },
        12,
    )
    .unwrap();
    assert!(matches!(
        diag_abt(&e, &x, &w),
        Err(LinalgError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        diag_abt(&e, &w, &x),
        Err(LinalgError::LayoutMismatch { .. })
    ));
    let d = encrypt_matrix(
        &e,
        &random_matrix(9, 4, 3),
        shape,
        Layout::Horizontal { period: 4 },
        12,
    )
    .unwrap();
    assert!(matches!(
        diag_atb(&e, &d, &x),
        Err(LinalgError::ShapeMismatch { .. })
    ));
    let low = encrypt_matrix(
        &e,
        &random_matrix(8, 4, 3),
        shape,
        Layout::Horizontal { period: 4 },
        2,
    )
    .unwrap();
    assert!(matches!(
        diag_atb(&e, &low, &x),
        Err(LinalgError::Engine(
            crate::engine::EngineError::LevelExhausted { .. }
        ))
    ));
}

/// One row of the corrected Table 7: shape and CMult / Mult / Rot per column.
struct Table7Row {
    shape: (usize, usize, usize),
    jin_abt: (u64, u64, u64),
    col_major: (u64, u64, u64),
    diag_abt: (u64, u64, u64),
    jin_atb: (u64, u64, u64),
    row_major: (u64, u64, u64),
    /// CMult equal / lower, Mult, Rot equal / lower.
    diag_atb: (u64, u64, u64, u64, u64),
}

/// The HETAL paper's Table 7 (CMult / Mult / Rot counts, both inputs at the
/// top level) in its corrected form: these figures fit the closed forms of
/// DiagABT and DiagATB for every row.
const TABLE7: &[Table7Row] = &[
    Table7Row {
        shape: (128, 128, 4),
        jin_abt: (0, 512, 0),
        col_major: (8, 4, 63),
        diag_abt: (4, 2, 34),
        jin_atb: (0, 512, 7680),
        row_major: (8, 4, 63),
        diag_atb: (4, 4, 2, 18, 18),
    },
    Table7Row {
        shape: (256, 256, 8),
        jin_abt: (0, 2048, 0),
        col_major: (24, 16, 191),
        diag_abt: (8, 8, 64),
        jin_atb: (0, 2048, 30720),
        row_major: (24, 16, 191),
        diag_atb: (12, 15, 8, 72, 75),
    },
    Table7Row {
        shape: (512, 769, 4),
        jin_abt: (0, 3076, 0),
        col_major: (56, 52, 495),
        diag_abt: (4, 26, 50),
        jin_atb: (0, 3076, 46140),
        row_major: (56, 52, 495),
        diag_atb: (28, 40, 26, 238, 250),
    },
    Table7Row {
        shape: (1024, 769, 8),
        jin_abt: (0, 6152, 0),
        col_major: (208, 200, 2047),
        diag_abt: (8, 100, 140),
        jin_atb: (0, 6152, 92280),
        row_major: (208, 200, 2047),
        diag_atb: (104, 176, 100, 1008, 1080),
    },
    Table7Row {
        shape: (2048, 769, 16),
        jin_abt: (0, 12304, 0),
        col_major: (800, 784, 8703),
        diag_abt: (16, 392, 456),
        jin_atb: (0, 12304, 184560),
        row_major: (800, 784, 8703),
        diag_atb: (400, 736, 392, 4328, 4664),
    },
];

fn triple(c: OpCounts) -> (u64, u64, u64) {
    (c.cmult, c.mult, c.rot)
}

#[test]
fn operation_counts_equal_corrected_table_7() {
    let slots = 1 << 15;
    let mut cfg = ClearConfig::exact(slots, 12);
    cfg.counting_only = true;
    for row in TABLE7 {
        let (a, b, c) = row.shape;
        let measure = |f: &dyn Fn(&ClearEngine)| {
            let e = ClearEngine::new(cfg.clone()).unwrap();
            f(&e);
            e.counts()
        };
        let shape = TileShape::new(a, slots / a, slots).unwrap();
        let enc = |e: &ClearEngine, r, k, layout, level| {
            encrypt_matrix(e, &Matrix::zeros(r, k), shape, layout, level).unwrap()
        };
        let vertical = Layout::Vertical { period: c };
        let horizontal = Layout::Horizontal { period: c };
        let abt = |f: fn(
            &ClearEngine,
            &BlockMatrix<_>,
            &BlockMatrix<_>,
        ) -> LinalgResult<BlockMatrix<_>>| {
            measure(&|e| {
                let x = enc(e, a, b, Layout::Plain, 12);
                let w = enc(e, c, b, vertical, 12);
                let before = e.counts();
                f(e, &x, &w).unwrap();
                assert_eq!(e.counts().since(&before), e.counts());
            })
        };
        assert_eq!(
            triple(abt(diag_abt)),
            row.diag_abt,
            "DiagABT {:?}",
            row.shape
        );
        assert_eq!(
            triple(abt(col_major)),
            row.col_major,
            "ColMajor {:?}",
            row.shape
        );
        let atb = |d_level| {
            measure(&|e| {
                let d = enc(e, a, c, horizontal, d_level);
                let x = enc(e, a, b, Layout::Plain, 12);
                diag_atb(e, &d, &x).unwrap();
            })
        };
        let (cm_eq, mult, cm_low, rot_eq, rot_low) = (
            row.diag_atb.0,
            row.diag_atb.2,
            row.diag_atb.1,
            row.diag_atb.3,
            row.diag_atb.4,
        );
        assert_eq!(
            triple(atb(12)),
            (cm_eq, mult, rot_eq),
            "DiagATB {:?}",
            row.shape
        );
        assert_eq!(
            triple(atb(11)),
            (cm_low, mult, rot_low),
            "DiagATB lower {:?}",
            row.shape
        );
        // The shared column sum: the same products, fewer rotations.
        let scheduled = |schedule, d_level| {
            measure(&|e| {
                let d = enc(e, a, c, horizontal, d_level);
                let x = enc(e, a, b, Layout::Plain, 12);
                diag_atb_scaled(e, &d, &x, 1.0, schedule, None).unwrap();
            })
        };
        let lg = |v: usize| u64::from(v.trailing_zeros());
        let (col_tiles, half) = (b.div_ceil(slots / a) as u64, c as u64 / 2);
        let saved = col_tiles * (half * lg(a) - half * lg(c) - lg(a / c));
        let shared = |d_level| scheduled(AtbSchedule::Shared, d_level);
        assert_eq!(triple(shared(12)), (cm_eq, mult, rot_eq - saved));
        // one row tile (s0 = a): one up-rotation per X tile instead of c'/2 − 1
        let ups_saved = col_tiles * (half - 1).saturating_sub(1);
        assert_eq!(
            triple(shared(11)),
            (cm_low, mult, rot_low - saved - ups_saved)
        );
        // Masks first: c' − 1 rotations per column tile where Shared has
        // (c'/2)·log2 c', and c'/2 masks for each of the c' row offsets.
        let first_saved = col_tiles * (half * lg(a) - (c as u64 - 1) - lg(a / c));
        let masks_added = col_tiles * half * (c as u64 - 1);
        let masks_first = |d_level| scheduled(AtbSchedule::MasksFirst, d_level);
        assert_eq!(
            triple(masks_first(12)),
            (cm_eq + masks_added, mult, rot_eq - first_saved)
        );
        assert_eq!(
            triple(masks_first(11)),
            (
                cm_low + masks_added,
                mult,
                rot_low - first_saved - ups_saved
            )
        );
        // Packed columns: every diagonal on its own over pairs of column
        // tiles (one row tile here), X a level below D whatever their levels;
        // with one column tile, masks first.
        let packed = |d_level| scheduled(AtbSchedule::PackedColumns, d_level);
        let (pairs, cc) = (col_tiles.div_ceil(2), c as u64);
        for d_level in [12, 11] {
            let expected = if col_tiles >= 2 {
                (
                    (cc - 1) + pairs * cc * cc,
                    (2 * cc - 1) * pairs,
                    pairs + (cc - 1) + pairs * (cc - 1) + pairs * lg(a / c),
                )
            } else {
                triple(masks_first(d_level))
            };
            assert_eq!(
                triple(packed(d_level)),
                expected,
                "PackedColumns {:?}, D at {d_level}",
                row.shape
            );
        }
        let rm = measure(&|e| {
            let d = enc(e, a, c, horizontal, 12);
            let x = enc(e, a, b, Layout::Plain, 12);
            row_major(e, &d, &x).unwrap();
        });
        assert_eq!(triple(rm), row.row_major, "RowMajor {:?}", row.shape);
        let jab = measure(&|e| {
            let x = ColumnPacked::encrypt(e, &Matrix::zeros(a, b), 12).unwrap();
            let w = Replicated::encrypt(e, &Matrix::zeros(c, b), 12).unwrap();
            jin_abt(e, &x, &w).unwrap();
        });
        assert_eq!(triple(jab), row.jin_abt, "Jin ABT {:?}", row.shape);
        let jatb = measure(&|e| {
            let d = ColumnPacked::encrypt(e, &Matrix::zeros(a, c), 12).unwrap();
            let x = ColumnPacked::encrypt(e, &Matrix::zeros(a, b), 12).unwrap();
            jin_atb(e, &d, &x).unwrap();
        });
        assert_eq!(triple(jatb), row.jin_atb, "Jin ATB {:?}", row.shape);
    }
}
