//! A parameter set's precomputed NTT tables.

use super::RnsPoly;
use crate::math::ntt::NttTable;
use crate::math::zq::Modulus;
use crate::math::MathError;
use crate::params::Params;
use alloc::vec::Vec;

/// Validated parameters plus one NTT table per prime, Q primes first, then P.
pub struct Context {
    params: Params,
    tables: Vec<NttTable<Vec<u64>>>,
}

impl Context {
    /// Builds the NTT tables of every prime of `params`.
    pub fn new(params: Params) -> Result<Self, MathError> {
        let tables = params
            .q()
            .iter()
            .chain(params.p().iter())
            .map(|&q| NttTable::new(Modulus::new(q)?, params.log_n()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Context { params, tables })
    }

    /// The parameter set.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Ring degree.
    pub fn n(&self) -> usize {
        self.params.n()
    }

    /// The NTT table of prime `i` in the QP basis (Q primes, then P primes).
    pub fn table(&self, i: usize) -> &NttTable<Vec<u64>> {
        &self.tables[i]
    }

    /// The modulus of prime `i` in the QP basis.
    pub fn modulus(&self, i: usize) -> &Modulus {
        self.tables[i].modulus()
    }

    /// Number of Q primes.
    pub fn q_len(&self) -> usize {
        self.params.q().len()
    }

    /// Number of P primes.
    pub fn p_len(&self) -> usize {
        self.params.p().len()
    }

    /// The QP-basis indices of a polynomial's limbs: Q primes `0..=level`,
    /// followed by all P primes when `with_p`.
    pub fn basis(&self, level: usize, with_p: bool) -> impl Iterator<Item = usize> + Clone {
        let p = if with_p {
            self.q_len()..self.q_len() + self.p_len()
        } else {
            0..0
        };
        (0..=level).chain(p)
    }

    /// Forward NTT of every limb; `basis` names each limb's prime.
    pub fn to_ntt(&self, poly: &mut RnsPoly, basis: impl Iterator<Item = usize>) {
        for (limb, i) in poly.limbs_iter_mut().zip(basis) {
            self.tables[i].forward(limb);
        }
    }

    /// Inverse NTT of every limb; `basis` names each limb's prime.
    pub fn from_ntt(&self, poly: &mut RnsPoly, basis: impl Iterator<Item = usize>) {
        for (limb, i) in poly.limbs_iter_mut().zip(basis) {
            self.tables[i].inverse(limb);
        }
    }

    /// Fills a polynomial's limbs with the residues of small signed coefficients.
    pub fn small_to_rns(&self, coeffs: &[i8], basis: impl Iterator<Item = usize>) -> RnsPoly {
        let mut out = RnsPoly::zero(self.n(), 0);
        let mut limb = alloc::vec![0u64; self.n()];
        for i in basis {
            let q = self.modulus(i);
            for (dst, &c) in limb.iter_mut().zip(coeffs) {
                *dst = q.reduce_i64(c as i64);
            }
            out.push_limb(&limb);
        }
        out
    }
}
