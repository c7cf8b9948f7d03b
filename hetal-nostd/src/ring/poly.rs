//! RNS polynomials: limb-major storage, one contiguous `[u64; N]` per prime.

use alloc::vec;
use alloc::vec::Vec;
use zeroize::Zeroize;

/// A polynomial in RNS form: `limbs` residue vectors of length `n`, stored
/// limb-major. Which primes the limbs belong to, and whether they hold
/// coefficients or NTT values, is the caller's (the [`Context`]'s) concern;
/// by convention polynomials live in the NTT domain.
///
/// [`Context`]: super::Context
#[derive(Clone, Debug, PartialEq, Eq, Zeroize)]
pub struct RnsPoly {
    n: usize,
    data: Vec<u64>,
}

impl RnsPoly {
    /// The zero polynomial with `limbs` limbs of degree `n`.
    pub fn zero(n: usize, limbs: usize) -> Self {
        RnsPoly {
            n,
            data: vec![0; n * limbs],
        }
    }

    /// Ring degree.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of limbs.
    pub fn limbs(&self) -> usize {
        self.data.len() / self.n
    }

    /// Limb `i`.
    pub fn limb(&self, i: usize) -> &[u64] {
        &self.data[i * self.n..(i + 1) * self.n]
    }

    /// Limb `i`, mutable.
    pub fn limb_mut(&mut self, i: usize) -> &mut [u64] {
        &mut self.data[i * self.n..(i + 1) * self.n]
    }

    /// Iterator over the limbs.
    pub fn limbs_iter(&self) -> core::slice::ChunksExact<'_, u64> {
        self.data.chunks_exact(self.n)
    }

    /// Mutable iterator over the limbs.
    pub fn limbs_iter_mut(&mut self) -> core::slice::ChunksExactMut<'_, u64> {
        self.data.chunks_exact_mut(self.n)
    }

    /// All limbs as one limb-major slice.
    pub fn data(&self) -> &[u64] {
        &self.data
    }

    /// All limbs as one mutable limb-major slice.
    pub fn data_mut(&mut self) -> &mut [u64] {
        &mut self.data
    }

    /// Keeps only the first `limbs` limbs.
    pub fn truncate(&mut self, limbs: usize) {
        self.data.truncate(limbs * self.n);
    }

    /// Appends a limb.
    pub fn push_limb(&mut self, limb: &[u64]) {
        debug_assert_eq!(limb.len(), self.n);
        self.data.extend_from_slice(limb);
    }
}
