//! Tile shapes: a ciphertext holds an `s0 × s1` tile, row-major.

use super::{LinalgError, LinalgResult};

/// Number of classes padded to a power of two (at least 2).
pub fn padded_classes(classes: usize) -> usize {
    classes.max(2).next_power_of_two()
}

/// The unit shape `(s0, s1)` of a tile; `s0 · s1` equals the slot count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileShape {
    /// Rows of a tile.
    pub s0: usize,
    /// Columns of a tile.
    pub s1: usize,
}

impl TileShape {
    /// Checks that `s0` and `s1` are powers of two with `s0 · s1 = slots`.
    pub fn new(s0: usize, s1: usize, slots: usize) -> LinalgResult<Self> {
        if s0.is_power_of_two() && s1.is_power_of_two() && s0.checked_mul(s1) == Some(slots) {
            Ok(TileShape { s0, s1 })
        } else {
            Err(LinalgError::InvalidTile { s0, s1, slots })
        }
    }

    /// The paper's default: `s0 = min(max(batch, c'), slots / c')` with the
    /// batch rounded up to a power of two, `s1 = slots / s0`.
    pub fn for_batch(batch: usize, padded_classes: usize, slots: usize) -> LinalgResult<Self> {
        let invalid = LinalgError::InvalidPeriod {
            period: padded_classes,
            s0: batch,
            s1: slots,
        };
        if !slots.is_power_of_two() || !padded_classes.is_power_of_two() {
            return Err(invalid);
        }
        let limit = slots / padded_classes;
        let s0 = batch
            .max(padded_classes)
            .checked_next_power_of_two()
            .unwrap_or(limit)
            .min(limit);
        if s0 < padded_classes {
            return Err(invalid);
        }
        TileShape::new(s0, slots / s0, slots)
    }

    /// Slots of a tile.
    pub fn slots(&self) -> usize {
        self.s0 * self.s1
    }

    /// Checks that a replication period is an even power of two dividing both sides.
    pub fn check_period(&self, period: usize) -> LinalgResult<()> {
        if period >= 2
            && period.is_power_of_two()
            && self.s0.is_multiple_of(period)
            && self.s1.is_multiple_of(period)
        {
            Ok(())
        } else {
            Err(LinalgError::InvalidPeriod {
                period,
                s0: self.s0,
                s1: self.s1,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_tiles_are_reproduced() {
        let slots = 1 << 15;
        let cases = [
            (1024, 10, (1024, 32)),
            (2048, 10, (2048, 16)),
            (512, 3, (512, 64)),
            (1024, 7, (1024, 32)),
        ];
        for (batch, classes, (s0, s1)) in cases {
            let t = TileShape::for_batch(batch, padded_classes(classes), slots).unwrap();
            assert_eq!((t.s0, t.s1), (s0, s1), "batch {batch}");
            assert_eq!(769usize.div_ceil(t.s1), 769usize.div_ceil(s1));
        }
        assert_eq!(TileShape::for_batch(100, 4, 64).unwrap().s0, 16);
        assert_eq!(TileShape::for_batch(3, 4, 64).unwrap().s0, 4);
    }

    #[test]
    fn bad_tiles_are_rejected() {
        assert!(TileShape::new(8, 8, 128).is_err());
        assert!(TileShape::new(6, 8, 48).is_err());
        assert!(TileShape::for_batch(8, 16, 128).is_err());
        let t = TileShape::new(8, 4, 32).unwrap();
        assert!(t.check_period(4).is_ok());
        assert!(t.check_period(8).is_err());
        assert!(t.check_period(1).is_err());
        assert_eq!(padded_classes(10), 16);
        assert_eq!(padded_classes(1), 2);
    }
}
