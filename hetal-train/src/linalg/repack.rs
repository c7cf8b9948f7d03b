//! Bootstrapping vertically tiled weights packed: the `c' × s1` block that
//! each weight tile repeats down its rows is cut out, up to `s0 / c'` blocks
//! share one ciphertext, that ciphertext is bootstrapped, and the tiles are
//! rebuilt. One bootstrap per `s0 / c'` tiles instead of one per tile, for
//! two levels (one mask before, one after) and rotations.

use super::rowops::indicator;
use super::{BlockMatrix, Layout, LinalgError, LinalgResult};
use crate::engine::Engine;

/// Bootstraps a vertically tiled matrix through packed ciphertexts. Every
/// tile needs one level (for the cutting mask); the result sits one level
/// below [`Engine::bootstrap_level`].
pub fn bootstrap_vertical_packed<E: Engine>(
    engine: &E,
    w: &BlockMatrix<E::Ct>,
) -> LinalgResult<BlockMatrix<E::Ct>> {
    let Layout::Vertical { period } = w.layout() else {
        return Err(LinalgError::LayoutMismatch {
            expected: Layout::Vertical { period: 0 },
            found: w.layout(),
        });
    };
    let shape = w.shape();
    let s1 = shape.s1 as isize;
    let per_ct = shape.s0 / period;
    let block = indicator(shape, |i, _| i < period);
    let mut tiles = Vec::with_capacity(w.tiles().len());
    for group in w.tiles().chunks(per_ct) {
        if group.is_empty() {
            continue;
        }
        // Each tile's first `period` rows, moved down by j·period rows: one
        // sum of rotations (on CKKS, one ModDown for the group).
        let placed = group.iter().enumerate().map(|(j, tile)| {
            let cut = engine.mul_plain(tile, &block)?;
            Ok((cut, -((j * period) as isize) * s1))
        });
        let packed = engine.add_rotations(placed)?;
        let fresh = engine.bootstrap(&packed)?;
        for j in 0..group.len() {
            let back = engine.rotate(&fresh, (j * period) as isize * s1)?;
            let mut tile = engine.mul_plain(&back, &block)?;
            let mut shift = period;
            while shift < shape.s0 {
                let down = engine.rotate(&tile, -(shift as isize) * s1)?;
                tile = engine.add(&tile, &down)?;
                shift *= 2;
            }
            tiles.push(tile);
        }
    }
    BlockMatrix::from_tiles(w.rows(), w.cols(), shape, w.layout(), tiles)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ClearConfig, ClearDecryptor, ClearEngine, Decryptor};
    use crate::linalg::{encrypt_matrix, Matrix, TileShape};

    #[test]
    fn packed_bootstrap_keeps_every_replica_and_saves_bootstraps() {
        let mut cfg = ClearConfig::exact(256, 12);
        cfg.bootstrap_level = 9;
        let e = ClearEngine::new(cfg).unwrap();
        let shape = TileShape::new(16, 16, 256).unwrap();
        let w = Matrix::from_fn(3, 90, |r, c| (r * 100 + c) as f64 / 400.0);
        let layout = Layout::Vertical { period: 4 };
        let we = encrypt_matrix(&e, &w, shape, layout, 1).unwrap();
        assert_eq!(we.tiles().len(), 6);
        let fresh = bootstrap_vertical_packed(&e, &we).unwrap();
        assert_eq!(e.counts().bootstrap, 2, "4 tiles per ciphertext");
        let want = BlockMatrix::encode(&w, shape, layout).unwrap();
        for (tile, ct) in want.tiles().iter().zip(fresh.tiles()) {
            assert_eq!(e.level(ct), 8);
            let got = ClearDecryptor.decrypt_real(ct).unwrap();
            let err = tile
                .iter()
                .zip(&got)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(err < 1e-9, "{err}");
        }
        let low = encrypt_matrix(&e, &w, shape, layout, 0).unwrap();
        assert!(bootstrap_vertical_packed(&e, &low).is_err());
    }
}
