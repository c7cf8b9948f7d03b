//! DiagATB with two column tiles of `X` in one complex tile
//! ([`super::AtbSchedule::PackedColumns`]).
//!
//! `X` is real, so `X[t, 2q] + i·X[t, 2q + 1]` carries two column tiles, and
//! a real diagonal of `D` times that tile is the two tiles' products in the
//! real and imaginary halves. Every diagonal `k < c'` is then taken on its
//! own (`D` rotated by `k` slots against PRotUp(`X`, `k`), the PRotUp
//! variant of HETAL's DiagATB, its column mask moved onto `D`'s few tiles)
//! with real masks, so the row sums, the block
//! sums and the final real-part step run once per pair of column tiles. A
//! column tile pair costs `c'` relinearisations, `c' − 1` rotations for the
//! masked row sums, `log2(s0/c')` for the block sum and one conjugation;
//! the complex pairs of diagonals ([`super::AtbSchedule::MasksFirst`]) pay
//! `c'/2`, `c' − 1`, `log2(s0/c')` and one for each column tile.

use super::diag::{drop_all, masked_row_sums, min_level};
use super::rowops::{indicator, mask, rotate_sum};
use super::{BlockMatrix, Layout, LinalgResult};
use crate::engine::{Complex, Engine, EngineError};

/// A tile of `D` rotated by `k` and split by PRotUp's column mask: the
/// part that meets `X` and, for `k > 0`, the part that meets `X` rotated up
/// by a row.
type DiagonalParts<C> = (C, Option<C>);

/// `scale·Dᵀ·X` for `D` (`a × c`, horizontal layout with period `c'`) and
/// `X` (`a × b`, plain layout), giving `c × b` in the vertical layout; `out`
/// as in [`super::diag_atb_scaled`], at most three levels below `D` and two
/// below `X` (`X` is dropped to a level below `D` where it is not). The
/// caller checks the shapes and that `s0 / c'` is a power of two.
pub(super) fn packed_columns_atb<E: Engine>(
    engine: &E,
    d: &BlockMatrix<E::Ct>,
    x: &BlockMatrix<E::Ct>,
    period: usize,
    scale: f64,
    out: Option<E::Target>,
) -> LinalgResult<BlockMatrix<E::Ct>> {
    let shape = x.shape();
    let x_level = min_level(engine, x.tiles()).min(min_level(engine, d.tiles()).saturating_sub(1));
    let x = drop_all(engine, x, x_level)?;
    let cols = x.col_tiles();
    let pairs = cols.div_ceil(2);
    // X[t, 2q] + i·X[t, 2q + 1] (a lone last tile stays real).
    let mut packed = Vec::with_capacity(x.row_tiles() * pairs);
    for row in x.tiles().chunks(cols) {
        for two in row.chunks(2) {
            packed.push(match two {
                [re, im] => engine.add(re, &engine.mul_const(im, Complex::I)?)?,
                _ => two[0].clone(),
            });
        }
    }
    // Each packed tile rotated up by one row, once for every PRotUp amount.
    let ups = packed
        .iter()
        .map(|t| engine.rotate(t, shape.s1 as isize))
        .collect::<Result<Vec<_>, _>>()?;
    // PRotUp(X, k) takes its last k columns from `up`, so
    // rot(D, k) ⊙ PRotUp(X, k) = (rot(D, k) ⊙ (1 − tail_k)) ⊙ X
    // + (rot(D, k) ⊙ tail_k) ⊙ up: the masks go on D's few tiles, once per
    // diagonal, and both products join one relinearised sum. D is rotated
    // by every k < c' slots: the even amounts hoisted, each odd one a
    // rotation by one of the even one before it (no keys beyond those of
    // the complex-pair schedules).
    let evens: Vec<isize> = (1..period / 2).map(|p| 2 * p as isize).collect();
    // PRotUp's column masks, one per k (index 0 unused), encoded once.
    let tails: Vec<Vec<Complex>> = (0..period)
        .map(|k| indicator(shape, |_, j| j + k >= shape.s1))
        .collect();
    let mut parts: Vec<Vec<DiagonalParts<E::Ct>>> =
        vec![Vec::with_capacity(d.tiles().len()); period];
    for tile in d.tiles() {
        let moved = engine.rotate_many(tile, &evens)?;
        for (p, even) in std::iter::once(tile.clone()).chain(moved).enumerate() {
            let odd = engine.rotate(&even, 1)?;
            for (k, rotated) in [(2 * p, even), (2 * p + 1, odd)] {
                parts[k].push(if k == 0 {
                    (rotated, None)
                } else {
                    let on_up = engine.mul_plain(&rotated, &tails[k])?;
                    let rotated = engine.drop_level(&rotated, engine.level(&on_up))?;
                    (engine.sub(&rotated, &on_up)?, Some(on_up))
                });
            }
        }
    }
    // Real masks carrying half the scale: the final `p ± conj(p)` doubles.
    let half = Complex::real(0.5 * scale);
    let masks: Vec<Vec<Complex>> = (0..period)
        .map(|k| {
            mask(shape, |i, j| {
                if i % period == (j + k) % period {
                    half
                } else {
                    Complex::ZERO
                }
            })
        })
        .collect();
    // Σ_t rot(D[t], k) ⊙ PRotUp(packed[t, q], k), relinearised once, rescaled.
    let diagonal_sum = |k: usize, q: usize| -> LinalgResult<E::Ct> {
        let mut products: Option<E::Products> = None;
        for (t, (on_x, on_up)) in parts[k].iter().enumerate() {
            let index = t * pairs + q;
            products = Some(engine.mul_accumulate(products, on_x, &packed[index])?);
            if let Some(on_up) = on_up {
                products = Some(engine.mul_accumulate(products, on_up, &ups[index])?);
            }
        }
        let products = products.ok_or(EngineError::NoTerms)?;
        Ok(engine.rescale(&engine.relinearize(products)?)?)
    };
    let mut tiles = Vec::with_capacity(cols);
    let done = (0..pairs).try_for_each(|q| {
        let sums = (0..period)
            .map(|k| diagonal_sum(k, q))
            .collect::<LinalgResult<Vec<_>>>()?;
        let rows = masked_row_sums(engine, &sums, 1, &masks, shape, out)?;
        let p = rotate_sum(
            engine,
            &rows,
            (shape.s1 * period) as isize,
            shape.s0 / period,
        )?;
        let conj = engine.conjugate(&p)?;
        tiles.push(engine.add(&p, &conj)?);
        if 2 * q + 1 < cols {
            let twice_imaginary = engine.sub(&p, &conj)?;
            tiles.push(engine.mul_const(&twice_imaginary, Complex::new(0.0, -1.0))?);
        }
        Ok::<_, super::LinalgError>(())
    });
    masks.iter().for_each(|m| engine.forget_reused(m));
    done?;
    BlockMatrix::from_tiles(
        d.cols(),
        x.cols(),
        shape,
        Layout::Vertical { period },
        tiles,
    )
}
