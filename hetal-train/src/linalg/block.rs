//! Block matrices: a matrix cut into `s0 × s1` tiles, one ciphertext per tile.

use super::{LinalgError, LinalgResult, Matrix, TileShape};
use crate::engine::{Decryptor, Engine};

/// How a matrix is laid out in its tiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Entry `(r, c)` in tile `(r / s0, c / s1)` at slot `(r % s0)·s1 + c % s1`.
    Plain,
    /// A matrix of at most `period` rows (the weights, `c × (f+1)`) repeated
    /// down the rows of one band of tiles: tile row `i` holds matrix row
    /// `i mod period` (zero for padded rows).
    Vertical {
        /// Padded class count `c'`.
        period: usize,
    },
    /// A matrix of at most `period` columns (logits, probabilities, labels,
    /// errors: `batch × c`) repeated across each tile row: tile column `j`
    /// holds matrix column `j mod period` (zero for padded columns).
    Horizontal {
        /// Padded class count `c'`.
        period: usize,
    },
}

/// A matrix stored as a grid of tiles (ciphertexts or slot vectors).
#[derive(Clone, Debug, PartialEq)]
pub struct BlockMatrix<C> {
    rows: usize,
    cols: usize,
    shape: TileShape,
    layout: Layout,
    row_tiles: usize,
    col_tiles: usize,
    tiles: Vec<C>,
}

/// Tile grid `(row tiles, column tiles)` of a `rows × cols` matrix.
fn grid(
    rows: usize,
    cols: usize,
    shape: TileShape,
    layout: Layout,
) -> LinalgResult<(usize, usize)> {
    for (context, size) in [("matrix rows", rows), ("matrix columns", cols)] {
        if size == 0 {
            return Err(LinalgError::ShapeMismatch {
                context,
                expected: 1,
                found: 0,
            });
        }
    }
    match layout {
        Layout::Plain => Ok((rows.div_ceil(shape.s0), cols.div_ceil(shape.s1))),
        Layout::Vertical { period } => {
            shape.check_period(period)?;
            if rows > period {
                return Err(LinalgError::ShapeMismatch {
                    context: "rows of a vertically tiled matrix (at most the period)",
                    expected: period,
                    found: rows,
                });
            }
            Ok((1, cols.div_ceil(shape.s1)))
        }
        Layout::Horizontal { period } => {
            shape.check_period(period)?;
            if cols > period {
                return Err(LinalgError::ShapeMismatch {
                    context: "columns of a horizontally tiled matrix (at most the period)",
                    expected: period,
                    found: cols,
                });
            }
            Ok((rows.div_ceil(shape.s0), 1))
        }
    }
}

/// Encodes a matrix into slot vectors, one per tile, row-major over the grid.
fn encode_tiles(m: &Matrix, shape: TileShape, layout: Layout) -> LinalgResult<Vec<Vec<f64>>> {
    let (rt, ct) = grid(m.rows(), m.cols(), shape, layout)?;
    let (s0, s1) = (shape.s0, shape.s1);
    let mut out = Vec::with_capacity(rt * ct);
    for tr in 0..rt {
        for tc in 0..ct {
            let tile = (0..s0 * s1)
                .map(|slot| {
                    let (i, j) = (slot / s1, slot % s1);
                    let (r, c) = match layout {
                        Layout::Plain => (tr * s0 + i, tc * s1 + j),
                        Layout::Vertical { period } => (i % period, tc * s1 + j),
                        Layout::Horizontal { period } => (tr * s0 + i, j % period),
                    };
                    m.get(r, c).unwrap_or(0.0)
                })
                .collect();
            out.push(tile);
        }
    }
    Ok(out)
}

impl<C> BlockMatrix<C> {
    /// Wraps tiles (row-major over the grid) as a `rows × cols` block matrix.
    pub fn from_tiles(
        rows: usize,
        cols: usize,
        shape: TileShape,
        layout: Layout,
        tiles: Vec<C>,
    ) -> LinalgResult<Self> {
        let (row_tiles, col_tiles) = grid(rows, cols, shape, layout)?;
        if tiles.len() != row_tiles * col_tiles {
            return Err(LinalgError::ShapeMismatch {
                context: "number of tiles",
                expected: row_tiles * col_tiles,
                found: tiles.len(),
            });
        }
        Ok(BlockMatrix {
            rows,
            cols,
            shape,
            layout,
            row_tiles,
            col_tiles,
            tiles,
        })
    }

    /// Logical rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Logical columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Tile shape.
    pub fn shape(&self) -> TileShape {
        self.shape
    }

    /// Layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Number of tile rows.
    pub fn row_tiles(&self) -> usize {
        self.row_tiles
    }

    /// Number of tile columns.
    pub fn col_tiles(&self) -> usize {
        self.col_tiles
    }

    /// Tile `(tr, tc)`; `None` outside the grid.
    pub fn tile(&self, tr: usize, tc: usize) -> Option<&C> {
        (tr < self.row_tiles && tc < self.col_tiles).then(|| &self.tiles[tr * self.col_tiles + tc])
    }

    /// All tiles, row-major over the grid.
    pub fn tiles(&self) -> &[C] {
        &self.tiles
    }

    /// Applies a fallible function to every tile, keeping shape and layout.
    pub fn try_map<D, Err>(&self, f: impl Fn(&C) -> Result<D, Err>) -> Result<BlockMatrix<D>, Err> {
        Ok(BlockMatrix {
            rows: self.rows,
            cols: self.cols,
            shape: self.shape,
            layout: self.layout,
            row_tiles: self.row_tiles,
            col_tiles: self.col_tiles,
            tiles: self.tiles.iter().map(f).collect::<Result<_, _>>()?,
        })
    }

    /// Combines two block matrices of the same shape and layout tile by tile.
    pub fn try_zip<D, Out>(
        &self,
        other: &BlockMatrix<D>,
        f: impl Fn(&C, &D) -> Result<Out, LinalgError>,
    ) -> LinalgResult<BlockMatrix<Out>> {
        if self.layout != other.layout {
            return Err(LinalgError::LayoutMismatch {
                expected: self.layout,
                found: other.layout,
            });
        }
        for (context, a, b) in [
            ("rows of zipped matrices", self.rows, other.rows),
            ("columns of zipped matrices", self.cols, other.cols),
            (
                "tile rows of zipped matrices",
                self.shape.s0,
                other.shape.s0,
            ),
        ] {
            if a != b {
                return Err(LinalgError::ShapeMismatch {
                    context,
                    expected: a,
                    found: b,
                });
            }
        }
        Ok(BlockMatrix {
            rows: self.rows,
            cols: self.cols,
            shape: self.shape,
            layout: self.layout,
            row_tiles: self.row_tiles,
            col_tiles: self.col_tiles,
            tiles: self
                .tiles
                .iter()
                .zip(&other.tiles)
                .map(|(a, b)| f(a, b))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Decodes slot vectors (one per tile) back into the matrix: each entry is
    /// read at its first position in the tiling.
    pub fn decode(&self, read: impl Fn(&C) -> LinalgResult<Vec<f64>>) -> LinalgResult<Matrix> {
        let (s0, s1) = (self.shape.s0, self.shape.s1);
        let mut m = Matrix::zeros(self.rows, self.cols);
        for tr in 0..self.row_tiles {
            for tc in 0..self.col_tiles {
                let values = read(&self.tiles[tr * self.col_tiles + tc])?;
                if values.len() != s0 * s1 {
                    return Err(LinalgError::ShapeMismatch {
                        context: "slots of a decoded tile",
                        expected: s0 * s1,
                        found: values.len(),
                    });
                }
                let (r0, c0) = match self.layout {
                    Layout::Plain => (tr * s0, tc * s1),
                    Layout::Vertical { .. } => (0, tc * s1),
                    Layout::Horizontal { .. } => (tr * s0, 0),
                };
                for i in 0..s0 {
                    for j in 0..s1 {
                        if let Some(entry) = m.get_mut(r0 + i, c0 + j) {
                            *entry = values[i * s1 + j];
                        }
                    }
                }
            }
        }
        Ok(m)
    }
}

impl BlockMatrix<Vec<f64>> {
    /// Encodes a clear matrix into slot-vector tiles.
    pub fn encode(m: &Matrix, shape: TileShape, layout: Layout) -> LinalgResult<Self> {
        let tiles = encode_tiles(m, shape, layout)?;
        BlockMatrix::from_tiles(m.rows(), m.cols(), shape, layout, tiles)
    }

    /// Encrypts every tile at `level`.
    pub fn encrypt<E: Engine>(&self, engine: &E, level: usize) -> LinalgResult<BlockMatrix<E::Ct>> {
        if self.shape.slots() != engine.slots() {
            return Err(LinalgError::InvalidTile {
                s0: self.shape.s0,
                s1: self.shape.s1,
                slots: engine.slots(),
            });
        }
        self.try_map(|t| engine.encrypt_real(t, level).map_err(LinalgError::from))
    }
}

/// Encodes and encrypts a clear matrix (the data producer's / key owner's side).
pub fn encrypt_matrix<E: Engine>(
    engine: &E,
    m: &Matrix,
    shape: TileShape,
    layout: Layout,
    level: usize,
) -> LinalgResult<BlockMatrix<E::Ct>> {
    BlockMatrix::encode(m, shape, layout)?.encrypt(engine, level)
}

/// Decrypts a block matrix (the key owner's side).
pub fn decrypt_matrix<E: Engine, D: Decryptor<E>>(
    decryptor: &D,
    m: &BlockMatrix<E::Ct>,
) -> LinalgResult<Matrix> {
    m.decode(|ct| Ok(decryptor.decrypt_real(ct)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_round_trip_and_replicate() {
        let shape = TileShape::new(8, 4, 32).unwrap();
        let m = Matrix::from_fn(11, 7, |r, c| (r * 10 + c) as f64);
        let b = BlockMatrix::encode(&m, shape, Layout::Plain).unwrap();
        assert_eq!((b.row_tiles(), b.col_tiles()), (2, 2));
        assert_eq!(b.decode(|t| Ok(t.clone())).unwrap(), m);
        assert_eq!(b.tile(1, 1).unwrap()[2 * 4 + 2], 106.0);
        assert_eq!(b.tile(1, 1).unwrap()[3 * 4 + 2], 0.0, "padding is zero");
        assert_eq!(b.tile(1, 1).unwrap()[2 * 4 + 3], 0.0, "padding is zero");

        let w = Matrix::from_fn(3, 6, |r, c| (r * 10 + c + 1) as f64);
        let v = BlockMatrix::encode(&w, shape, Layout::Vertical { period: 4 }).unwrap();
        assert_eq!((v.row_tiles(), v.col_tiles()), (1, 2));
        assert_eq!(v.decode(|t| Ok(t.clone())).unwrap(), w);
        let t0 = v.tile(0, 0).unwrap();
        assert_eq!(t0[5 * 4 + 1], w.get(1, 1).unwrap(), "row 5 repeats row 1");
        assert_eq!(t0[7 * 4], 0.0, "padded class row");

        let l = Matrix::from_fn(9, 3, |r, c| (r * 10 + c + 1) as f64);
        let h = BlockMatrix::encode(&l, shape, Layout::Horizontal { period: 4 }).unwrap();
        assert_eq!((h.row_tiles(), h.col_tiles()), (2, 1));
        assert_eq!(h.decode(|t| Ok(t.clone())).unwrap(), l);
        assert_eq!(h.tile(0, 0).unwrap()[2 * 4 + 3], 0.0, "padded class column");
    }

    #[test]
    fn bad_shapes_are_errors() {
        let shape = TileShape::new(8, 4, 32).unwrap();
        let w = Matrix::zeros(5, 3);
        assert!(BlockMatrix::encode(&w, shape, Layout::Vertical { period: 4 }).is_err());
        assert!(BlockMatrix::encode(&w, shape, Layout::Horizontal { period: 8 }).is_err());
        assert!(BlockMatrix::encode(&Matrix::zeros(0, 3), shape, Layout::Plain).is_err());
        assert!(BlockMatrix::<u8>::from_tiles(9, 4, shape, Layout::Plain, vec![0]).is_err());
    }
}
