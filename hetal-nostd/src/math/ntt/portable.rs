//! The portable butterfly stages: scalar Harvey butterflies with Shoup
//! multiplications, for every target.

use super::Kernel;
use crate::math::zq::Modulus;

/// `x - m` if `x >= m`, else `x`, for `x < 2m` and `m < 2^63` (branch-free).
///
/// Written with a sign mask rather than `min` so that LLVM keeps the
/// butterfly loops scalar: vectorising them with SSE2 would emulate the
/// 64-bit multiplications and run much slower.
#[inline(always)]
fn fold(x: u64, m: u64) -> u64 {
    let t = x.wrapping_sub(m);
    t.wrapping_add(m & 0u64.wrapping_sub(t >> 63))
}

/// The portable kernel.
pub(super) struct Portable;

impl Kernel for Portable {
    #[inline(always)]
    fn forward_stage(&self, q: &Modulus, a: &mut [u64], t: usize, w: &[u64], ws: &[u64]) {
        let two_q = 2 * q.value();
        for ((block, &w), &ws) in a.chunks_exact_mut(2 * t).zip(w).zip(ws) {
            let (x, y) = block.split_at_mut(t);
            for (x, y) in x.iter_mut().zip(y.iter_mut()) {
                let u = fold(*x, two_q);
                let v = q.mul_shoup_lazy(*y, w, ws);
                *x = u + v;
                *y = u + two_q - v;
            }
        }
    }

    #[inline(always)]
    fn forward_last_stage(&self, q: &Modulus, a: &mut [u64], w: &[u64], ws: &[u64]) {
        let (qv, two_q) = (q.value(), 2 * q.value());
        for ((pair, &w), &ws) in a.chunks_exact_mut(2).zip(w).zip(ws) {
            let u = fold(pair[0], two_q);
            let v = q.mul_shoup_lazy(pair[1], w, ws);
            pair[0] = fold(fold(u + v, two_q), qv);
            pair[1] = fold(fold(u + two_q - v, two_q), qv);
        }
    }

    #[inline(always)]
    fn inverse_stage(&self, q: &Modulus, a: &mut [u64], t: usize, w: &[u64], ws: &[u64]) {
        let two_q = 2 * q.value();
        for ((block, &w), &ws) in a.chunks_exact_mut(2 * t).zip(w).zip(ws) {
            let (x, y) = block.split_at_mut(t);
            for (x, y) in x.iter_mut().zip(y.iter_mut()) {
                let (u, v) = (*x, *y);
                *x = fold(u + v, two_q);
                *y = q.mul_shoup_lazy(u + two_q - v, w, ws);
            }
        }
    }

    #[inline(always)]
    fn inverse_last_stage(
        &self,
        q: &Modulus,
        a: &mut [u64],
        (ni, ni_shoup): (u64, u64),
        (w, ws): (u64, u64),
    ) {
        let two_q = 2 * q.value();
        let (x, y) = a.split_at_mut(a.len() / 2);
        for (x, y) in x.iter_mut().zip(y.iter_mut()) {
            let (u, v) = (*x, *y);
            *x = q.mul_shoup(u + v, ni, ni_shoup);
            *y = q.mul_shoup(u + two_q - v, w, ws);
        }
    }
}
