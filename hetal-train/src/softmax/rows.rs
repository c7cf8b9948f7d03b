//! Row context of a horizontally tiled tile: masks and the broadcast that
//! repairs the columns a cyclic rotation polluted.

use crate::engine::{Complex, Engine, EngineResult};
use crate::linalg::rowops::{indicator, mask, rotate_sum};
use crate::linalg::TileShape;

/// Shape facts of a horizontally tiled tile (period `c'`, `c` real classes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rows {
    pub(crate) shape: TileShape,
    pub(crate) period: usize,
    pub(crate) classes: usize,
}

impl Rows {
    /// 1 at real classes, 0 at padded ones, times `scale`.
    pub(crate) fn real_classes(&self, scale: f64) -> Vec<Complex> {
        mask(self.shape, |_, j| {
            Complex::real(if j % self.period < self.classes {
                scale
            } else {
                0.0
            })
        })
    }

    /// `value` at padded classes, 0 elsewhere.
    pub(crate) fn padded_classes(&self, value: f64) -> Vec<Complex> {
        mask(self.shape, |_, j| {
            Complex::real(if j % self.period >= self.classes {
                value
            } else {
                0.0
            })
        })
    }

    /// `1` where column `j`'s partner class `(j + t) mod c'` is real.
    pub(crate) fn partner_real(&self, t: usize) -> Vec<Complex> {
        indicator(self.shape, |_, j| (j + t) % self.period < self.classes)
    }

    /// Sum over the `c'` columns starting at each column (valid for the
    /// columns `j ≤ s1 − c'`; later columns mix in the next row).
    pub(crate) fn window_sum<E: Engine>(&self, engine: &E, ct: &E::Ct) -> EngineResult<E::Ct> {
        self.block_sum(engine, ct, self.period)
    }

    /// Takes a value computed for each row by a window of `c'` columns (a
    /// row maximum or row sum from cyclic rotations, valid on the columns
    /// `j ≤ s1 − c'`), multiplies it by `scale` and copies it to every column
    /// of its row. The copied value is the one of a single window per row
    /// (the last column of each aligned block): an approximate maximum
    /// differs from column to column, and a shift that varies along a row
    /// would break softmax's invariance to it. One masked product (one
    /// level), `log2(b)` rotations to fill each block of `b = min(w, c')`
    /// columns and `log2(s1 / w)` to fill the row, with `w` the largest power
    /// of two not above `s1 − c' + 1`.
    pub(crate) fn broadcast<E: Engine>(
        &self,
        engine: &E,
        ct: &E::Ct,
        scale: f64,
    ) -> EngineResult<E::Ct> {
        let s1 = self.shape.s1;
        let valid = s1 - self.period + 1;
        let width = 1usize << (usize::BITS - 1 - valid.leading_zeros());
        let block = width.min(self.period);
        let keep = mask(self.shape, |_, j| {
            Complex::real(if j < width && j % block == block - 1 {
                scale
            } else {
                0.0
            })
        });
        let mut acc = self.block_sum(engine, &engine.mul_plain(ct, &keep)?, block)?;
        let mut shift = width;
        while shift < s1 {
            let moved = engine.rotate(&acc, -(shift as isize))?;
            acc = engine.add(&acc, &moved)?;
            shift *= 2;
        }
        Ok(acc)
    }

    /// Sum over the `len` columns starting at each column.
    fn block_sum<E: Engine>(&self, engine: &E, ct: &E::Ct, len: usize) -> EngineResult<E::Ct> {
        rotate_sum(engine, ct, 1, len).map_err(|e| match e {
            crate::linalg::LinalgError::Engine(inner) => inner,
            _ => crate::engine::EngineError::SizeMismatch {
                len,
                slots: engine.slots(),
            },
        })
    }
}
