//! The encrypted matrix products HETAL is compared against.
//!
//! * Crockett's ColMajor (`A·Bᵀ`) and RowMajor (`Aᵀ·B`) on the same tiles as
//!   DiagABT / DiagATB, with masks and row / column replication.
//! * Jin et al.'s column packing: one ciphertext per matrix column, the
//!   small matrix replicated entry by entry across whole ciphertexts.

use super::diag::{expect_plain, expect_same};
use super::rowops::{indicator, rotate_sum};
use super::{BlockMatrix, Layout, LinalgError, LinalgResult, Matrix};
use crate::engine::{Decryptor, Engine};

/// Crockett's ColMajor: `A · Bᵀ` for `A` (`a × b`, plain) and `B` (`c × b`,
/// vertical or plain: only its first `c` tile rows are read). The result is
/// `a × c` in the plain layout. Per row `k` of `B`: mask it, replicate it
/// down the tile, multiply, sum rows, keep column 0, shift it to column `k`.
pub fn col_major<E: Engine>(
    engine: &E,
    a: &BlockMatrix<E::Ct>,
    b: &BlockMatrix<E::Ct>,
) -> LinalgResult<BlockMatrix<E::Ct>> {
    expect_plain(a)?;
    expect_same(a, b, "inner dimension of A·Bᵀ", (a.cols(), b.cols()))?;
    if b.row_tiles() != 1 || b.rows() > a.shape().s1 {
        return Err(LinalgError::ShapeMismatch {
            context: "rows of B in ColMajor (one tile band, at most s1)",
            expected: a.shape().s1.min(a.shape().s0),
            found: b.rows(),
        });
    }
    let shape = a.shape();
    let cols = a.col_tiles();
    let first_column = indicator(shape, |_, j| j == 0);
    let mut acc: Vec<Option<E::Ct>> = vec![None; a.row_tiles()];
    for k in 0..b.rows() {
        let row_k = indicator(shape, |i, _| i == k);
        let b_k: Vec<E::Ct> = b
            .tiles()
            .iter()
            .map(|t| {
                rotate_sum(
                    engine,
                    &engine.mul_plain(t, &row_k)?,
                    shape.s1 as isize,
                    shape.s0,
                )
            })
            .collect::<LinalgResult<_>>()?;
        for (t, slot) in acc.iter_mut().enumerate() {
            let mut sum: Option<E::Ct> = None;
            for (l, b_tile) in b_k.iter().enumerate() {
                let p = engine.mul(&a.tiles()[t * cols + l], b_tile)?;
                sum = Some(match sum {
                    None => p,
                    Some(s) => engine.add(&s, &p)?,
                });
            }
            let Some(sum) = sum else { continue };
            let column =
                engine.mul_plain(&rotate_sum(engine, &sum, 1, shape.s1)?, &first_column)?;
            let shifted = engine.rotate(&column, -(k as isize))?;
            *slot = Some(match slot.take() {
                None => shifted,
                Some(s) => engine.add(&s, &shifted)?,
            });
        }
    }
    let tiles: Vec<E::Ct> = acc.into_iter().flatten().collect();
    BlockMatrix::from_tiles(a.rows(), b.rows(), shape, Layout::Plain, tiles)
}

/// Crockett's RowMajor: `Aᵀ · B` for `A` (`a × c`, horizontal or plain:
/// only its first `c` columns are read) and `B` (`a × b`, plain). The result
/// is `c × b` in the plain layout (rows `0..c` of one tile band). Per column
/// `k` of `A`: mask it, move it to column 0, replicate it across the row,
/// multiply, sum columns, keep row `k`.
pub fn row_major<E: Engine>(
    engine: &E,
    a: &BlockMatrix<E::Ct>,
    b: &BlockMatrix<E::Ct>,
) -> LinalgResult<BlockMatrix<E::Ct>> {
    expect_plain(b)?;
    expect_same(a, b, "inner dimension of Aᵀ·B", (a.rows(), b.rows()))?;
    if a.col_tiles() != 1 || a.cols() > b.shape().s0 {
        return Err(LinalgError::ShapeMismatch {
            context: "columns of A in RowMajor (one tile band, at most s0)",
            expected: b.shape().s0.min(b.shape().s1),
            found: a.cols(),
        });
    }
    let shape = b.shape();
    let cols = b.col_tiles();
    let mut acc: Vec<Option<E::Ct>> = vec![None; cols];
    for k in 0..a.cols() {
        let column_k = indicator(shape, |_, j| j == k);
        let row_k = indicator(shape, |i, _| i == k);
        let a_k: Vec<E::Ct> = a
            .tiles()
            .iter()
            .map(|t| {
                let moved = engine.rotate(&engine.mul_plain(t, &column_k)?, k as isize)?;
                rotate_sum(engine, &moved, -1, shape.s1)
            })
            .collect::<LinalgResult<_>>()?;
        for (l, slot) in acc.iter_mut().enumerate() {
            let mut sum: Option<E::Ct> = None;
            for (t, a_tile) in a_k.iter().enumerate() {
                let p = engine.mul(a_tile, &b.tiles()[t * cols + l])?;
                sum = Some(match sum {
                    None => p,
                    Some(s) => engine.add(&s, &p)?,
                });
            }
            let Some(sum) = sum else { continue };
            let sums = rotate_sum(engine, &sum, shape.s1 as isize, shape.s0)?;
            let kept = engine.mul_plain(&sums, &row_k)?;
            *slot = Some(match slot.take() {
                None => kept,
                Some(s) => engine.add(&s, &kept)?,
            });
        }
    }
    let tiles: Vec<E::Ct> = acc.into_iter().flatten().collect();
    BlockMatrix::from_tiles(a.cols(), b.cols(), shape, Layout::Plain, tiles)
}

/// Jin et al.'s column packing: ciphertext `j` holds column `j` of the
/// matrix in its first `rows` slots.
#[derive(Clone, Debug)]
pub struct ColumnPacked<C> {
    /// Rows of the matrix.
    pub rows: usize,
    /// One ciphertext per column.
    pub columns: Vec<C>,
}

/// Jin et al.'s replication packing: ciphertext `(r, c)` holds entry `(r, c)`
/// in every slot.
#[derive(Clone, Debug)]
pub struct Replicated<C> {
    /// Columns of the matrix.
    pub cols: usize,
    /// Ciphertexts row-major over the entries.
    pub entries: Vec<C>,
}

impl<C> ColumnPacked<C> {
    /// Encrypts a matrix column by column; fails when a column exceeds the slots.
    pub fn encrypt<E: Engine<Ct = C>>(engine: &E, m: &Matrix, level: usize) -> LinalgResult<Self> {
        let columns = (0..m.cols())
            .map(|c| {
                let col: Vec<f64> = (0..m.rows()).filter_map(|r| m.get(r, c)).collect();
                engine.encrypt_real(&col, level).map_err(LinalgError::from)
            })
            .collect::<LinalgResult<_>>()?;
        Ok(ColumnPacked {
            rows: m.rows(),
            columns,
        })
    }

    /// Decrypts back to a matrix.
    pub fn decrypt<E: Engine<Ct = C>, D: Decryptor<E>>(
        &self,
        decryptor: &D,
    ) -> LinalgResult<Matrix> {
        let cols: Vec<Vec<f64>> = self
            .columns
            .iter()
            .map(|ct| decryptor.decrypt_real(ct).map_err(LinalgError::from))
            .collect::<LinalgResult<_>>()?;
        Ok(Matrix::from_fn(self.rows, cols.len(), |r, c| cols[c][r]))
    }
}

impl<C> Replicated<C> {
    /// Encrypts every entry of a matrix into its own filled ciphertext.
    pub fn encrypt<E: Engine<Ct = C>>(engine: &E, m: &Matrix, level: usize) -> LinalgResult<Self> {
        let entries = m
            .data()
            .iter()
            .map(|&v| {
                engine
                    .encrypt_real(&vec![v; engine.slots()], level)
                    .map_err(LinalgError::from)
            })
            .collect::<LinalgResult<_>>()?;
        Ok(Replicated {
            cols: m.cols(),
            entries,
        })
    }

    /// Decrypts back to a matrix (slot 0 of each ciphertext).
    pub fn decrypt<E: Engine<Ct = C>, D: Decryptor<E>>(
        &self,
        decryptor: &D,
    ) -> LinalgResult<Matrix> {
        let data = self
            .entries
            .iter()
            .map(|ct| Ok(decryptor.decrypt_real(ct)?.first().copied().unwrap_or(0.0)))
            .collect::<LinalgResult<Vec<f64>>>()?;
        let rows = data.len().checked_div(self.cols).unwrap_or(0);
        Matrix::new(rows, self.cols, data)
    }
}

/// Jin et al.'s `A · Bᵀ`: `A` column-packed (`a × b`), `B` replicated
/// (`c × b`); result column-packed `a × c`. Mult `b·c`, no rotation.
pub fn jin_abt<E: Engine>(
    engine: &E,
    a: &ColumnPacked<E::Ct>,
    b: &Replicated<E::Ct>,
) -> LinalgResult<ColumnPacked<E::Ct>> {
    if a.columns.len() != b.cols || b.cols == 0 {
        return Err(LinalgError::ShapeMismatch {
            context: "inner dimension of Jin A·Bᵀ",
            expected: a.columns.len(),
            found: b.cols,
        });
    }
    let columns = b
        .entries
        .chunks(b.cols)
        .map(|row| {
            let mut sum: Option<E::Ct> = None;
            for (col, entry) in a.columns.iter().zip(row) {
                let p = engine.mul(col, entry)?;
                sum = Some(match sum {
                    None => p,
                    Some(s) => engine.add(&s, &p)?,
                });
            }
            sum.ok_or(LinalgError::ShapeMismatch {
                context: "columns of Jin B",
                expected: 1,
                found: 0,
            })
        })
        .collect::<LinalgResult<_>>()?;
    Ok(ColumnPacked {
        rows: a.rows,
        columns,
    })
}

/// Jin et al.'s `Aᵀ · B`: both column-packed (`a × c` and `a × b`); result
/// replicated `c × b`. Mult `c·b`, Rot `c·b·log2(slots)`.
pub fn jin_atb<E: Engine>(
    engine: &E,
    a: &ColumnPacked<E::Ct>,
    b: &ColumnPacked<E::Ct>,
) -> LinalgResult<Replicated<E::Ct>> {
    if a.rows != b.rows {
        return Err(LinalgError::ShapeMismatch {
            context: "inner dimension of Jin Aᵀ·B",
            expected: a.rows,
            found: b.rows,
        });
    }
    let mut entries = Vec::with_capacity(a.columns.len() * b.columns.len());
    for a_col in &a.columns {
        for b_col in &b.columns {
            let p = engine.mul(a_col, b_col)?;
            entries.push(rotate_sum(engine, &p, 1, engine.slots())?);
        }
    }
    Ok(Replicated {
        cols: b.columns.len(),
        entries,
    })
}
