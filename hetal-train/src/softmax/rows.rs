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
        rotate_sum(engine, ct, 1, self.period).map_err(|e| match e {
            crate::linalg::LinalgError::Engine(inner) => inner,
            _ => crate::engine::EngineError::SizeMismatch {
                len: self.period,
                slots: engine.slots(),
            },
        })
    }

    /// Takes a value that is constant along each row on the columns
    /// `j ≤ s1 − c'` (a row maximum or row sum computed with cyclic
    /// rotations), multiplies it by `scale` and copies it to every column of
    /// its row: one masked product (one level) and `log2(s1 / w)` rotations,
    /// with `w` the largest power of two not above `s1 − c' + 1`.
    pub(crate) fn broadcast<E: Engine>(
        &self,
        engine: &E,
        ct: &E::Ct,
        scale: f64,
    ) -> EngineResult<E::Ct> {
        let s1 = self.shape.s1;
        let valid = s1 - self.period + 1;
        let width = 1usize << (usize::BITS - 1 - valid.leading_zeros());
        let keep = mask(self.shape, |_, j| {
            Complex::real(if j < width { scale } else { 0.0 })
        });
        let mut acc = engine.mul_plain(ct, &keep)?;
        let mut shift = width;
        while shift < s1 {
            let moved = engine.rotate(&acc, -(shift as isize))?;
            acc = engine.add(&acc, &moved)?;
            shift *= 2;
        }
        Ok(acc)
    }
}
