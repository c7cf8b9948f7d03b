//! HETAL's DiagABT (`X·Wᵀ`) and DiagATB (`(P−Y)ᵀ·X`).
//!
//! Both walk the `c'` diagonals of the small `c'`-sized dimension two at a
//! time: the two diagonals ride in the real and imaginary halves of one
//! complex product (`u + i·v` times a real tile), so `c'/2` products per tile
//! pair suffice; a final `acc + conj(acc)` after complex masks
//! `(M_k − i·M_{k+1})/2` puts each diagonal where it belongs.

use super::packed_atb::packed_columns_atb;
use super::rowops::{indicator, mask, prot_up, prot_up_from, rot_left, rot_left_many, rotate_sum};
use super::{BlockMatrix, Layout, LinalgError, LinalgResult, TileShape};
use crate::engine::{add_to, Coefficient, Complex, Engine, EngineError};

fn period_of(m: &BlockMatrix<impl Clone>, vertical: bool) -> LinalgResult<usize> {
    match (m.layout(), vertical) {
        (Layout::Vertical { period }, true) | (Layout::Horizontal { period }, false) => Ok(period),
        (found, _) => Err(LinalgError::LayoutMismatch {
            expected: if vertical {
                Layout::Vertical { period: 0 }
            } else {
                Layout::Horizontal { period: 0 }
            },
            found,
        }),
    }
}

pub(crate) fn expect_plain<C>(m: &BlockMatrix<C>) -> LinalgResult<()> {
    if m.layout() == Layout::Plain {
        Ok(())
    } else {
        Err(LinalgError::LayoutMismatch {
            expected: Layout::Plain,
            found: m.layout(),
        })
    }
}

pub(crate) fn expect_same<C, D>(
    a: &BlockMatrix<C>,
    b: &BlockMatrix<D>,
    context: &'static str,
    sizes: (usize, usize),
) -> LinalgResult<()> {
    if a.shape() != b.shape() {
        return Err(LinalgError::ShapeMismatch {
            context: "tile rows of the two operands",
            expected: a.shape().s0,
            found: b.shape().s0,
        });
    }
    if sizes.0 != sizes.1 {
        return Err(LinalgError::ShapeMismatch {
            context,
            expected: sizes.0,
            found: sizes.1,
        });
    }
    Ok(())
}

/// Complex diagonal-pair mask `scale·(D_k − i·D_{k+1}) / 2` with `D_k(i, j) = [on(i, j, k)]`.
fn pair_mask(
    shape: super::TileShape,
    k: usize,
    scale: f64,
    on: impl Fn(usize, usize, usize) -> bool,
) -> Vec<Complex> {
    let half = 0.5 * scale;
    mask(shape, |i, j| {
        let re = if on(i, j, k) { half } else { 0.0 };
        let im = if on(i, j, k + 1) { -half } else { 0.0 };
        Complex::new(re, im)
    })
}

/// `acc + conj(acc)`: twice the real part (the masks carry the 1/2).
fn real_part<E: Engine>(engine: &E, acc: &E::Ct) -> LinalgResult<E::Ct> {
    Ok(engine.add(acc, &engine.conjugate(acc)?)?)
}

/// Takes the real parts of the accumulated tiles and assembles the result.
fn finish_tiles<E: Engine>(
    engine: &E,
    acc: Vec<Option<E::Ct>>,
    rows: usize,
    cols: usize,
    shape: TileShape,
    layout: Layout,
) -> LinalgResult<BlockMatrix<E::Ct>> {
    let tiles = acc
        .into_iter()
        .flatten()
        .map(|a| real_part(engine, &a))
        .collect::<LinalgResult<Vec<_>>>()?;
    BlockMatrix::from_tiles(rows, cols, shape, layout, tiles)
}

/// DiagABT: `X · Wᵀ` for `X` (`a × b`, plain layout) and `W` (`c × b`,
/// vertical layout with period `c'`), giving `a × c` in the horizontal layout.
///
/// Counts (A row tiles, B column tiles): Mult `(c'/2)·A·B`, CMult `c'·A`,
/// Rot `(c'/2)·(B + 2·A·log2 s1)`; depth 3.
pub fn diag_abt<E: Engine>(
    engine: &E,
    x: &BlockMatrix<E::Ct>,
    w: &BlockMatrix<E::Ct>,
) -> LinalgResult<BlockMatrix<E::Ct>> {
    expect_plain(x)?;
    let period = period_of(w, true)?;
    expect_same(x, w, "inner dimension of X·Wᵀ", (x.cols(), w.cols()))?;
    let shape = x.shape();
    let s1 = shape.s1 as isize;
    let cols = x.col_tiles();
    // W + i·(W rotated up by one row): diagonals k and k+1 in one tile.
    let w_pair: Vec<E::Ct> = (0..cols)
        .map(|l| {
            let tile = &w.tiles()[l];
            let up = engine.rotate(tile, s1)?;
            Ok(engine.add(tile, &engine.mul_const(&up, Complex::I)?)?)
        })
        .collect::<LinalgResult<_>>()?;
    let first_column = indicator(shape, |_, j| j == 0);
    let pairs = period / 2;
    // Σ_l X[t, l] ⊙ rot(W_pair[l], k·s1) for every pair and row tile; the
    // rotations of one weight tile by every k share one key-switch
    // decomposition (hoisted), and each sum still runs over l in order.
    let steps: Vec<isize> = (1..pairs).map(|p| 2 * p as isize * s1).collect();
    // The products of a sum are added before relinearising (one key switch
    // per sum, not per product).
    let mut products: Vec<Vec<Option<E::Products>>> = vec![vec![None; x.row_tiles()]; pairs];
    for (l, tile) in w_pair.iter().enumerate() {
        let rotated = engine.rotate_many(tile, &steps)?;
        for (pair, w_k) in std::iter::once(tile).chain(&rotated).enumerate() {
            for (t, slot) in products[pair].iter_mut().enumerate() {
                let x_tile = &x.tiles()[t * cols + l];
                *slot = Some(engine.mul_accumulate(slot.take(), x_tile, w_k)?);
            }
        }
    }
    let mut acc: Vec<Option<E::Ct>> = vec![None; x.row_tiles()];
    for (pair, sums) in products.into_iter().enumerate() {
        let diag = pair_mask(shape, 2 * pair, 1.0, |i, j, k| {
            j % period == (i + k) % period
        });
        for (slot, products) in acc.iter_mut().zip(sums) {
            let Some(products) = products else {
                continue;
            };
            let products = engine.rescale(&engine.relinearize(products)?)?;
            let summed = rotate_sum(engine, &products, 1, shape.s1)?;
            let column = engine.mul_plain(&summed, &first_column)?;
            let spread = rotate_sum(engine, &column, -1, shape.s1)?;
            let placed = engine.mul_plain(&spread, &diag)?;
            *slot = Some(add_to(engine, slot.take(), placed)?);
        }
    }
    finish_tiles(
        engine,
        acc,
        x.rows(),
        w.rows(),
        shape,
        Layout::Horizontal { period },
    )
}

/// The order of DiagATB's rotations: the same result either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AtbSchedule {
    /// HETAL's (the paper's Table 7): every diagonal pair's product is
    /// summed over all `s0` rows (`log2 s0` rotations per pair and column
    /// tile), and the PRotUp variant rotates each `X` tile up by a row once
    /// per pair.
    Paper,
    /// Work shared between the pairs. Each pair's product is summed over
    /// `c'` consecutive rows only (`log2 c'` rotations) and masked, the pairs
    /// are added, and one sum over the `s0 / c'` blocks of `c'` rows finishes
    /// each column tile (`log2(s0 / c')` rotations, one level lower): the
    /// masks repeat every `c'` rows, so the block sum commutes with them.
    /// The PRotUp variant rotates each `X` tile up by a row once, for every
    /// pair. Rot drops by `(c'/2 − 1)·B·log2(s0 / c')`, and in the PRotUp
    /// variant by `(c'/2 − 2)·A·B` more.
    Shared,
    /// The masks before the row sums. A pair's mask moved up by `r` rows is
    /// the mask of the diagonal pair `r` further on (the masks repeat every
    /// `c'` rows), so `mask_k ⊙ rot(P_k, r·s1) = rot(mask_{k+r} ⊙ P_k, r·s1)`:
    /// for every row offset `r < c'` the pairs' products are masked and added
    /// in one linear combination, and the `c'` offsets are rotated into place
    /// and added in a binary tree (`c'/2` rotations by `s1`, `c'/4` by
    /// `2·s1`, …: the steps `Shared` uses, so no new keys), at the result's
    /// level instead of one above. Then the block sum of
    /// [`AtbSchedule::Shared`]. Per column tile: `c' − 1` Rot instead of
    /// `(c'/2)·log2 c'`, and `(c'/2)·c'` CMult instead of `c'/2` (the masks,
    /// `c'` distinct ones, are encoded once per call). Falls back to
    /// [`AtbSchedule::Paper`] where `Shared` would.
    MasksFirst,
    /// Two column tiles of `X` in one complex tile, every diagonal on its
    /// own with real masks (see `packed_atb.rs`): the masked row sums and
    /// the block sum of [`AtbSchedule::MasksFirst`] run once per pair of
    /// column tiles, with `c'` relinearisations per pair where the complex
    /// pairs of diagonals pay `c'/2` per tile. `X` sits a level below `D`
    /// (dropped there if need be). Used when `X` has at least two column
    /// tiles; falls back to [`AtbSchedule::MasksFirst`] otherwise.
    #[default]
    PackedColumns,
}

impl AtbSchedule {
    /// How many levels above the gradient's target `D` and `X` (with
    /// `col_tiles` column tiles) enter [`diag_atb_scaled`] so that it lands
    /// exactly on the target, the fewest this schedule needs: `(3, 2)` for
    /// [`AtbSchedule::PackedColumns`] where it applies (`X` a level below
    /// `D`, the row sums two below `D`), else `(4, 4)` (both at one level,
    /// RotLeft on `D`).
    pub fn operand_levels(self, col_tiles: usize) -> (usize, usize) {
        if self.packs_columns(col_tiles) {
            (3, 2)
        } else {
            (4, 4)
        }
    }

    /// Whether this schedule packs two column tiles per complex tile for an
    /// `X` with `col_tiles` column tiles (the rule both the dispatch and
    /// [`AtbSchedule::operand_levels`] follow).
    fn packs_columns(self, col_tiles: usize) -> bool {
        self == AtbSchedule::PackedColumns && col_tiles >= 2
    }
}

/// DiagATB: `Dᵀ · X` for `D` (`a × c`, horizontal layout with period `c'`)
/// and `X` (`a × b`, plain layout), giving `c × b` in the vertical layout
/// (ready to update the weights), with HETAL's schedule
/// ([`AtbSchedule::Paper`]).
///
/// With both inputs at the same level (the higher one is dropped) it uses
/// RotLeft on `D`: CMult `(c'/2)·(A + B)`, Rot `(c'/2)·(2A + B·log2 s0)`,
/// depth 4. When `D` is below `X` it uses the PRotUp variant (`X` is dropped
/// to one level above `D`): CMult `A + (c'/2 − 1)·A·B + (c'/2)·B`, Rot
/// `2A + (c'/2 − 1)·(A + A·B) + (c'/2)·B·log2 s0`, three levels below `D`.
/// Mult is `(c'/2)·A·B` in both.
pub fn diag_atb<E: Engine>(
    engine: &E,
    d: &BlockMatrix<E::Ct>,
    x: &BlockMatrix<E::Ct>,
) -> LinalgResult<BlockMatrix<E::Ct>> {
    diag_atb_scaled(engine, d, x, 1.0, AtbSchedule::Paper, None)
}

/// [`diag_atb`] times a real constant, folded into its final masks (no extra
/// level or CMult): the gradient step `(lr / n)·(P − Y)ᵀ·X` in one go, with
/// the rotations ordered by `schedule`. With `out`, the final masks land the
/// result exactly on that target (level and scale, as
/// [`Engine::linear_combination`] does), which must lie below the level
/// the row sums reach (two below `D` in the PRotUp variant, three in the
/// RotLeft one, two with [`AtbSchedule::PackedColumns`]); the weights'
/// target, so that the update subtracts without aligning.
pub fn diag_atb_scaled<E: Engine>(
    engine: &E,
    d: &BlockMatrix<E::Ct>,
    x: &BlockMatrix<E::Ct>,
    scale: f64,
    schedule: AtbSchedule,
    out: Option<E::Target>,
) -> LinalgResult<BlockMatrix<E::Ct>> {
    expect_plain(x)?;
    let period = period_of(d, false)?;
    expect_same(d, x, "inner dimension of Dᵀ·X", (d.rows(), x.rows()))?;
    let shape = x.shape();
    // Rows summed per pair, then blocks of them summed once per column tile.
    let blocked = shape.s0 % period == 0 && (shape.s0 / period).is_power_of_two();
    let cols = x.col_tiles();
    if blocked && schedule.packs_columns(cols) {
        return packed_columns_atb(engine, d, x, period, scale, out);
    }
    let level_d = min_level(engine, d.tiles());
    let level_x = min_level(engine, x.tiles());
    let lower = level_d < level_x;
    let (d, x) = if lower {
        (d.clone(), drop_all(engine, x, level_d + 1)?)
    } else {
        (drop_all(engine, d, level_x)?, x.clone())
    };
    let (per_pair, masks_first) = match schedule {
        AtbSchedule::Shared if blocked => (period, false),
        AtbSchedule::MasksFirst | AtbSchedule::PackedColumns if blocked => (period, true),
        _ => (shape.s0, false),
    };
    // D + i·RotLeft(D, 1): columns k and k+1 in one tile.
    let d_pair: Vec<E::Ct> = d
        .tiles()
        .iter()
        .map(|t| {
            let next = rot_left(engine, t, 1, shape)?;
            Ok(engine.add(t, &engine.mul_const(&next, Complex::I)?)?)
        })
        .collect::<LinalgResult<_>>()?;
    // PRotUp's row rotation of each X tile, once for all pairs.
    let ups: Vec<E::Ct> = if lower && period > 2 && schedule != AtbSchedule::Paper {
        x.tiles()
            .iter()
            .map(|t| engine.rotate(t, shape.s1 as isize))
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    // D's tiles shifted for every pair's k: by k columns with RotLeft at
    // equal levels, by k slots with plain rotations (hoisted) for PRotUp.
    let steps: Vec<isize> = (1..period / 2).map(|p| 2 * p as isize).collect();
    let mut shifted: Vec<Vec<E::Ct>> = vec![Vec::with_capacity(d_pair.len()); period / 2];
    for tile in d_pair {
        let moved: Vec<E::Ct> = if lower {
            engine.rotate_many(&tile, &steps)?
        } else {
            let columns: Vec<usize> = steps.iter().map(|&k| k as usize).collect();
            rot_left_many(engine, &tile, &columns, shape)?
        };
        for (pair, ct) in std::iter::once(tile).chain(moved).enumerate() {
            shifted[pair].push(ct);
        }
    }
    // Σ_t D_k[t] ⊙ X[t, l] for the pair `k / 2` and column tile `l` (rescaled).
    let pair_sum = |pair: usize, l: usize| -> LinalgResult<Option<E::Ct>> {
        let k = 2 * pair;
        let mut products: Option<E::Products> = None;
        for (t, d_tile) in shifted[pair].iter().enumerate() {
            let index = t * cols + l;
            let x_tile = &x.tiles()[index];
            products = Some(if k > 0 && lower {
                let shifted = match ups.get(index) {
                    Some(up) => prot_up_from(engine, x_tile, up, k, shape)?,
                    None => prot_up(engine, x_tile, k, shape)?,
                };
                engine.mul_accumulate(products, d_tile, &shifted)?
            } else {
                engine.mul_accumulate(products, d_tile, x_tile)?
            });
        }
        let relinearized = products.map(|p| engine.relinearize(p)).transpose()?;
        Ok(relinearized.map(|p| engine.rescale(&p)).transpose()?)
    };
    let diag = |k: usize| pair_mask(shape, k, scale, |i, j, k| i % period == (j + k) % period);
    let mut acc: Vec<Option<E::Ct>> = vec![None; cols];
    if masks_first {
        let masks: Vec<Vec<Complex>> = (0..period).map(diag).collect();
        let placed = acc.iter_mut().enumerate().try_for_each(|(l, slot)| {
            let sums = (0..period / 2)
                .map(|pair| pair_sum(pair, l))
                .collect::<LinalgResult<Option<Vec<E::Ct>>>>()?;
            *slot = match sums {
                Some(sums) => Some(masked_row_sums(engine, &sums, 2, &masks, shape, out)?),
                None => None,
            };
            Ok::<_, LinalgError>(())
        });
        masks.iter().for_each(|m| engine.forget_reused(m));
        placed?;
    } else {
        for pair in 0..period / 2 {
            let mask = diag(2 * pair);
            for (l, slot) in acc.iter_mut().enumerate() {
                let Some(products) = pair_sum(pair, l)? else {
                    continue;
                };
                let sums = rotate_sum(engine, &products, shape.s1 as isize, per_pair)?;
                let placed = match out {
                    Some(target) => engine.linear_combination(
                        &[(&sums, Coefficient::Plain(&mask))],
                        Complex::ZERO,
                        target,
                    )?,
                    None => engine.mul_plain(&sums, &mask)?,
                };
                *slot = Some(add_to(engine, slot.take(), placed)?);
            }
        }
    }
    let blocks = shape.s0 / per_pair;
    let acc = acc
        .into_iter()
        .map(|a| {
            a.map(|t| rotate_sum(engine, &t, (shape.s1 * per_pair) as isize, blocks))
                .transpose()
        })
        .collect::<LinalgResult<Vec<_>>>()?;
    finish_tiles(
        engine,
        acc,
        d.cols(),
        x.cols(),
        shape,
        Layout::Vertical { period },
    )
}

/// [`AtbSchedule::MasksFirst`] for one column tile: `Σ_r rot(Σ_p
/// masks[(stride·p + r) mod c'] ⊙ sums[p], r·s1)` over the row offsets
/// `r < c'` (`sums[p]` holds the diagonals from `stride·p` on: 2 for complex
/// pairs, 1 for single diagonals), each offset's combination landing on
/// `out` (default: one level below the lowest sum, at its scale), the
/// offsets joined pairwise: `M_2j + rot(M_2j+1, s1)` holds offsets `2j` and
/// `2j + 1`, and so on with `2·s1`, `4·s1`, ….
pub(super) fn masked_row_sums<E: Engine>(
    engine: &E,
    sums: &[E::Ct],
    stride: usize,
    masks: &[Vec<Complex>],
    shape: TileShape,
    out: Option<E::Target>,
) -> LinalgResult<E::Ct> {
    let target = match out {
        Some(target) => target,
        None => {
            // The pairs after the first sit one level lower (RotLeft's mask).
            let lowest = sums
                .iter()
                .min_by_key(|s| engine.level(s))
                .ok_or(EngineError::NoTerms)?;
            engine.target_at(
                engine.target_of(lowest),
                engine.level(lowest).saturating_sub(1),
            )?
        }
    };
    let period = masks.len();
    // The tree folded as the offsets come (a binary counter): a node of
    // height h holds 2^h consecutive offsets, and at most log2 c' + 1 nodes
    // are alive at once.
    let mut nodes: Vec<(E::Ct, u32)> = Vec::new();
    for r in 0..period {
        let combination: Vec<(&E::Ct, Coefficient<'_>)> = sums
            .iter()
            .enumerate()
            .map(|(p, s)| (s, Coefficient::Reused(&masks[(stride * p + r) % period])))
            .collect();
        let mut node = engine.linear_combination(&combination, Complex::ZERO, target)?;
        let mut height = 0;
        while let Some((left, h)) = nodes.pop() {
            if h != height {
                nodes.push((left, h));
                break;
            }
            let step = (shape.s1 as isize) << height;
            node = engine.add(&left, &engine.rotate(&node, step)?)?;
            height += 1;
        }
        nodes.push((node, height));
    }
    Ok(nodes.pop().ok_or(EngineError::NoTerms)?.0)
}

/// Lowest level among tiles (0 for none).
pub(crate) fn min_level<E: Engine>(engine: &E, tiles: &[E::Ct]) -> usize {
    tiles.iter().map(|t| engine.level(t)).min().unwrap_or(0)
}

/// Drops every tile above `level` to `level`.
pub(crate) fn drop_all<E: Engine>(
    engine: &E,
    m: &BlockMatrix<E::Ct>,
    level: usize,
) -> LinalgResult<BlockMatrix<E::Ct>> {
    m.try_map(|t| {
        if engine.level(t) > level {
            engine.drop_level(t, level).map_err(LinalgError::from)
        } else {
            Ok(t.clone())
        }
    })
}
