//! The `algo` suite: HETAL's algorithms on the clear-slot engine — operation
//! counts of the matrix products (Table 7 shapes), softmax approximation
//! errors, a clear-engine training run on digits, and per-iteration counts at
//! the paper's dataset shapes.

use serde_json::json;

use crate::bench::emit;
use crate::engine::{ClearConfig, ClearDecryptor, ClearEngine, OpCounts};
use crate::linalg::{
    col_major, decrypt_matrix, diag_abt, diag_atb, encrypt_matrix, jin_abt, jin_atb,
    padded_classes, row_major, BlockMatrix, ColumnPacked, Layout, LinalgResult, Matrix, Replicated,
    TileShape,
};
use crate::softmax::{row_errors, sample_logits, softmax, SoftmaxMethod};

const SLOTS: usize = 1 << 15;
const TOP: usize = 12;

/// The shapes `(a, b, c)` of the paper's Table 7.
pub const TABLE7_SHAPES: [(usize, usize, usize); 5] = [
    (128, 128, 4),
    (256, 256, 8),
    (512, 769, 4),
    (1024, 769, 8),
    (2048, 769, 16),
];

fn params() -> String {
    format!("clear-2^{}-slots", SLOTS.trailing_zeros())
}

fn threads() -> usize {
    rayon::current_num_threads()
}

/// Runs the whole suite.
pub fn run() -> Result<(), String> {
    matmul_ops().map_err(|e| e.to_string())?;
    softmax_error().map_err(|e| e.to_string())?;
    Ok(())
}

struct Measured {
    counts: OpCounts,
    depth: usize,
    out_level: usize,
}

/// Runs `f` on a counting-only engine (operation counts and levels do not
/// depend on the values).
fn measure(
    f: impl Fn(&ClearEngine) -> LinalgResult<Vec<crate::engine::ClearCt>>,
) -> LinalgResult<Measured> {
    let mut cfg = ClearConfig::exact(SLOTS, TOP);
    cfg.counting_only = true;
    let engine = ClearEngine::new(cfg)?;
    let out = f(&engine)?;
    Ok(Measured {
        counts: engine.counts(),
        depth: out.iter().map(|c| c.depth()).max().unwrap_or(0),
        out_level: out
            .iter()
            .map(|c| crate::engine::Engine::level(&engine, c))
            .min()
            .unwrap_or(0),
    })
}

fn matmul_ops() -> LinalgResult<()> {
    for (a, b, c) in TABLE7_SHAPES {
        eprintln!("matmul_ops: shape ({a}, {b}, {c})");
        let shape = TileShape::new(a, SLOTS / a, SLOTS)?;
        let x = Matrix::from_fn(a, b, |i, j| ((i * 7 + j * 3) % 11) as f64 / 11.0);
        let w = Matrix::from_fn(c, b, |i, j| ((i * 5 + j) % 13) as f64 / 13.0);
        let d = Matrix::from_fn(a, c, |i, j| ((i + j * 3) % 7) as f64 / 7.0);
        let vertical = Layout::Vertical { period: c };
        let horizontal = Layout::Horizontal { period: c };
        let tiles = |m: BlockMatrix<_>| m.tiles().to_vec();
        type Run<'a> = (
            &'a str,
            Box<dyn Fn(&ClearEngine) -> LinalgResult<Vec<crate::engine::ClearCt>> + 'a>,
        );
        let runs: Vec<Run> = vec![
            (
                "DiagABT",
                Box::new(|e| {
                    let xe = encrypt_matrix(e, &x, shape, Layout::Plain, TOP)?;
                    let we = encrypt_matrix(e, &w, shape, vertical, TOP)?;
                    Ok(tiles(diag_abt(e, &xe, &we)?))
                }),
            ),
            (
                "DiagATB",
                Box::new(|e| {
                    let de = encrypt_matrix(e, &d, shape, horizontal, TOP)?;
                    let xe = encrypt_matrix(e, &x, shape, Layout::Plain, TOP)?;
                    Ok(tiles(diag_atb(e, &de, &xe)?))
                }),
            ),
            (
                "DiagATB_lower",
                Box::new(|e| {
                    let de = encrypt_matrix(e, &d, shape, horizontal, TOP - 1)?;
                    let xe = encrypt_matrix(e, &x, shape, Layout::Plain, TOP)?;
                    Ok(tiles(diag_atb(e, &de, &xe)?))
                }),
            ),
            (
                "ColMajor",
                Box::new(|e| {
                    let xe = encrypt_matrix(e, &x, shape, Layout::Plain, TOP)?;
                    let we = encrypt_matrix(e, &w, shape, vertical, TOP)?;
                    Ok(tiles(col_major(e, &xe, &we)?))
                }),
            ),
            (
                "RowMajor",
                Box::new(|e| {
                    let de = encrypt_matrix(e, &d, shape, horizontal, TOP)?;
                    let xe = encrypt_matrix(e, &x, shape, Layout::Plain, TOP)?;
                    Ok(tiles(row_major(e, &de, &xe)?))
                }),
            ),
            (
                "JinABT",
                Box::new(|e| {
                    let xc = ColumnPacked::encrypt(e, &x, TOP)?;
                    let wr = Replicated::encrypt(e, &w, TOP)?;
                    Ok(jin_abt(e, &xc, &wr)?.columns)
                }),
            ),
            (
                "JinATB",
                Box::new(|e| {
                    let dc = ColumnPacked::encrypt(e, &d, TOP)?;
                    let xc = ColumnPacked::encrypt(e, &x, TOP)?;
                    Ok(jin_atb(e, &dc, &xc)?.entries)
                }),
            ),
        ];
        for (algo, run) in runs {
            let m = measure(run)?;
            emit(json!({
                "bench": "matmul_ops",
                "params": params(),
                "threads": threads(),
                "algo": algo,
                "a": a, "b": b, "c": c,
                "cmult": m.counts.cmult,
                "mult": m.counts.mult,
                "rot": m.counts.rot,
                "depth": m.depth,
                "out_level": m.out_level,
            }));
        }
    }
    Ok(())
}

/// Softmax tiles per measurement (2^15 slots each).
const SOFTMAX_TILES: usize = 2;

fn softmax_error() -> LinalgResult<()> {
    for method in SoftmaxMethod::ALL {
        for classes in [3, 5, 7, 10] {
            for range in [4.0, 8.0, 32.0, 128.0] {
                if range > method.supported_range() {
                    continue;
                }
                eprintln!(
                    "softmax_error: {} {classes} classes [-{range}, {range}]",
                    method.name()
                );
                let period = padded_classes(classes);
                let shape = TileShape::for_batch(SLOTS, period, SLOTS)?;
                let logits =
                    sample_logits(SOFTMAX_TILES * shape.s0, classes, range, 7 + classes as u64);
                let mut boots = [0.0; 2];
                let mut stats = (0.0, 0.0, 0);
                for (slot, after_boot) in [9, 12].into_iter().enumerate() {
                    let mut cfg = ClearConfig::exact(SLOTS, TOP);
                    cfg.bootstrap_level = after_boot;
                    let engine = ClearEngine::new(cfg)?;
                    let x = encrypt_matrix(
                        &engine,
                        &logits,
                        shape,
                        Layout::Horizontal { period },
                        TOP,
                    )?;
                    let p = softmax(&engine, &x, method)?;
                    boots[slot] = engine.counts().bootstrap as f64 / p.tiles().len() as f64;
                    if slot == 0 {
                        let (max, mean) =
                            row_errors(&logits, &decrypt_matrix(&ClearDecryptor, &p)?);
                        stats = (
                            max,
                            mean,
                            p.tiles().iter().map(|t| t.depth()).max().unwrap_or(0),
                        );
                    }
                }
                emit(json!({
                    "bench": "softmax_error",
                    "params": params(),
                    "threads": threads(),
                    "method": method.name(),
                    "classes": classes,
                    "range": range,
                    "max_err": stats.0,
                    "mean_err": stats.1,
                    "depth": stats.2,
                    "depth_formula": method.depth(period),
                    "boots_9": boots[0],
                    "boots_12": boots[1],
                }));
            }
        }
    }
    Ok(())
}
