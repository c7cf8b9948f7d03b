//! Row and column operations on tiles: sums along rows and columns,
//! replication, HETAL's RotLeft and PRotUp, and tile masks.

use super::{LinalgError, LinalgResult, TileShape};
use crate::engine::{Complex, Engine};

/// A plaintext tile with entry `f(i, j)` at row `i`, column `j`.
pub(crate) fn mask(shape: TileShape, f: impl Fn(usize, usize) -> Complex) -> Vec<Complex> {
    (0..shape.slots())
        .map(|k| f(k / shape.s1, k % shape.s1))
        .collect()
}

/// A real 0/1 plaintext tile.
pub(crate) fn indicator(shape: TileShape, f: impl Fn(usize, usize) -> bool) -> Vec<Complex> {
    mask(
        shape,
        |i, j| if f(i, j) { Complex::ONE } else { Complex::ZERO },
    )
}

/// `ct + rot(ct, step) + rot(ct, 2·step) + …` over `count` (a power of two)
/// positions by log2(count) rotations: with `step = 1, count = s1` column 0 of
/// each row receives its row sum (other columns receive partial garbage); with
/// `step = s1, count = s0` every row receives the column sums.
pub(crate) fn rotate_sum<E: Engine>(
    engine: &E,
    ct: &E::Ct,
    step: isize,
    count: usize,
) -> LinalgResult<E::Ct> {
    let mut acc = ct.clone();
    let mut shift = 1;
    while shift < count {
        let rotated = engine.rotate(&acc, step * shift as isize)?;
        acc = engine.add(&acc, &rotated)?;
        shift *= 2;
    }
    Ok(acc)
}

/// Accepts a within-row rotation amount in 1..s1.
fn check_amount(k: usize, shape: TileShape, context: &'static str) -> LinalgResult<()> {
    if k == 0 || k >= shape.s1 {
        return Err(LinalgError::ShapeMismatch {
            context,
            expected: shape.s1 - 1,
            found: k,
        });
    }
    Ok(())
}

/// Within-row left rotation by `k`: output `(i, j)` holds input
/// `(i, (j + k) mod s1)`. Costs 2 Rot and 1 CMult (one level).
pub fn rot_left<E: Engine>(
    engine: &E,
    ct: &E::Ct,
    k: usize,
    shape: TileShape,
) -> LinalgResult<E::Ct> {
    Ok(rot_left_many(engine, ct, &[k], shape)?.remove(0))
}

/// [`rot_left`] by each amount in `ks`, the `2·ks.len()` rotations of `ct`
/// made together ([`Engine::rotate_many`]: one decomposition on CKKS).
/// The same counts and results as one [`rot_left`] per amount.
pub(crate) fn rot_left_many<E: Engine>(
    engine: &E,
    ct: &E::Ct,
    ks: &[usize],
    shape: TileShape,
) -> LinalgResult<Vec<E::Ct>> {
    let s1 = shape.s1 as isize;
    let mut amounts = Vec::with_capacity(2 * ks.len());
    for &k in ks {
        check_amount(k, shape, "RotLeft amount (1..s1)")?;
        amounts.extend([k as isize, k as isize - s1]);
    }
    let rotated = engine.rotate_many(ct, &amounts)?;
    ks.iter()
        .zip(rotated.chunks(2))
        .map(|(&k, pair)| {
            let diff = engine.sub(&pair[0], &pair[1])?;
            let keep = indicator(shape, |_, j| j + k < shape.s1);
            Ok(engine.add(&pair[1], &engine.mul_plain(&diff, &keep)?)?)
        })
        .collect()
}

/// Partial rotate-up by `k`: output `(i, j)` holds input `(i, j)` for
/// `j < s1 − k` and input `((i + 1) mod s0, j)` for the last `k` columns.
/// Costs 1 Rot and 1 CMult (one level). Paired with a global rotation by `k`
/// of the other factor, it lets DiagATB skip RotLeft's level.
pub fn prot_up<E: Engine>(
    engine: &E,
    ct: &E::Ct,
    k: usize,
    shape: TileShape,
) -> LinalgResult<E::Ct> {
    check_amount(k, shape, "PRotUp amount (1..s1)")?;
    let up = engine.rotate(ct, shape.s1 as isize)?;
    prot_up_from(engine, ct, &up, k, shape)
}

/// [`prot_up`] given `up`, `ct` rotated up by one row (`s1` slots): no
/// rotation, so one `up` serves every amount.
pub(crate) fn prot_up_from<E: Engine>(
    engine: &E,
    ct: &E::Ct,
    up: &E::Ct,
    k: usize,
    shape: TileShape,
) -> LinalgResult<E::Ct> {
    check_amount(k, shape, "PRotUp amount (1..s1)")?;
    let diff = engine.sub(up, ct)?;
    let tail = indicator(shape, |_, j| j + k >= shape.s1);
    Ok(engine.add(ct, &engine.mul_plain(&diff, &tail)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ClearConfig, ClearDecryptor, ClearEngine, Decryptor};

    #[test]
    fn rot_left_and_prot_up_move_the_right_entries() {
        let e = ClearEngine::new(ClearConfig::exact(32, 4)).unwrap();
        let shape = TileShape::new(4, 8, 32).unwrap();
        let values: Vec<f64> = (0..32).map(|k| k as f64).collect();
        let ct = e.encrypt_real(&values, 4).unwrap();
        let r = ClearDecryptor
            .decrypt_real(&rot_left(&e, &ct, 3, shape).unwrap())
            .unwrap();
        let p = ClearDecryptor
            .decrypt_real(&prot_up(&e, &ct, 3, shape).unwrap())
            .unwrap();
        for i in 0..4 {
            for j in 0..8 {
                assert_eq!(r[i * 8 + j], (i * 8 + (j + 3) % 8) as f64);
                let row = if j >= 5 { (i + 1) % 4 } else { i };
                assert_eq!(p[i * 8 + j], (row * 8 + j) as f64);
            }
        }
        let counts = e.counts();
        assert_eq!((counts.rot, counts.cmult), (3, 2));
        assert!(rot_left(&e, &ct, 8, shape).is_err());
        assert!(prot_up(&e, &ct, 0, shape).is_err());
    }
}
