//! Bit packing of residues: limb i uses exactly bitlen(q_i) bits per value,
//! least significant bit first, each limb starting on a byte boundary.

/// Bytes one packed limb of `n` values of `bits` bits takes.
pub const fn packed_len(n: usize, bits: u32) -> usize {
    (n * bits as usize).div_ceil(8)
}

/// Bit length of a prime.
pub fn bits_of(q: u64) -> u32 {
    64 - q.leading_zeros()
}

/// Total packed bytes of `n`-value limbs for the primes `primes`.
pub fn packed_len_for(n: usize, primes: &[u64]) -> usize {
    primes.iter().map(|&q| packed_len(n, bits_of(q))).sum()
}

/// Iterator over the packed bytes of a sequence of values of `bits` bits.
pub struct Packer<I: Iterator<Item = u64>> {
    values: I,
    bits: u32,
    acc: u128,
    acc_bits: u32,
}

impl<I: Iterator<Item = u64>> Packer<I> {
    /// Packs `values` with `bits` bits each (values must be below 2^bits).
    pub fn new(values: I, bits: u32) -> Self {
        Packer {
            values,
            bits,
            acc: 0,
            acc_bits: 0,
        }
    }
}

impl<I: Iterator<Item = u64>> Iterator for Packer<I> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        while self.acc_bits < 8 {
            match self.values.next() {
                Some(v) => {
                    self.acc |= (v as u128) << self.acc_bits;
                    self.acc_bits += self.bits;
                }
                None if self.acc_bits > 0 => {
                    self.acc_bits = 8;
                }
                None => return None,
            }
        }
        let byte = self.acc as u8;
        self.acc >>= 8;
        self.acc_bits -= 8;
        Some(byte)
    }
}

/// Iterator over the values packed in `bytes` with `bits` bits each.
pub struct Unpacker<'a> {
    bytes: core::slice::Iter<'a, u8>,
    bits: u32,
    mask: u64,
    acc: u128,
    acc_bits: u32,
    remaining: usize,
}

impl<'a> Unpacker<'a> {
    /// Reads `count` values of `bits` bits from `bytes`.
    pub fn new(bytes: &'a [u8], bits: u32, count: usize) -> Self {
        Unpacker {
            bytes: bytes.iter(),
            bits,
            mask: u64::MAX >> (64 - bits),
            acc: 0,
            acc_bits: 0,
            remaining: count,
        }
    }
}

impl Iterator for Unpacker<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.remaining == 0 {
            return None;
        }
        while self.acc_bits < self.bits {
            let b = *self.bytes.next()?;
            self.acc |= (b as u128) << self.acc_bits;
            self.acc_bits += 8;
        }
        let v = self.acc as u64 & self.mask;
        self.acc >>= self.bits;
        self.acc_bits -= self.bits;
        self.remaining -= 1;
        Some(v)
    }
}

/// Packed limbs of one polynomial, as borrowed from a validated frame.
#[derive(Clone, Copy, Debug)]
pub struct PackedLimbs<'a> {
    bytes: &'a [u8],
    primes: &'a [u64],
    n: usize,
}

impl<'a> PackedLimbs<'a> {
    /// Views `bytes` as packed limbs for `primes` (length must match exactly).
    pub fn new(bytes: &'a [u8], primes: &'a [u64], n: usize) -> Option<Self> {
        (bytes.len() == packed_len_for(n, primes)).then_some(PackedLimbs { bytes, primes, n })
    }

    /// Number of limbs.
    pub fn limbs(&self) -> usize {
        self.primes.len()
    }

    /// The values of limb `i`.
    pub fn limb_values(&self, i: usize) -> Unpacker<'a> {
        let start = packed_len_for(self.n, &self.primes[..i]);
        let bits = bits_of(self.primes[i]);
        let len = packed_len(self.n, bits);
        Unpacker::new(&self.bytes[start..start + len], bits, self.n)
    }

    /// Checks every value of every limb is below its prime; returns the
    /// first offending (limb, index).
    pub fn check_ranges(&self) -> Result<(), (usize, usize)> {
        for (i, &q) in self.primes.iter().enumerate() {
            if let Some(j) = self.limb_values(i).position(|v| v >= q) {
                return Err((i, j));
            }
        }
        Ok(())
    }

    /// Unpacks limb `i` into `out` (length N).
    pub fn unpack_limb(&self, i: usize, out: &mut [u64]) {
        for (o, v) in out.iter_mut().zip(self.limb_values(i)) {
            *o = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn pack_unpack_round_trip_all_widths() {
        let mut s = 99u64;
        for bits in [1u32, 7, 8, 20, 40, 41, 60, 61, 62] {
            let mask = u64::MAX >> (64 - bits);
            let values: Vec<u64> = (0..1001)
                .map(|_| {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                    s & mask
                })
                .collect();
            let bytes: Vec<u8> = Packer::new(values.iter().copied(), bits).collect();
            assert_eq!(bytes.len(), packed_len(values.len(), bits));
            let back: Vec<u64> = Unpacker::new(&bytes, bits, values.len()).collect();
            assert_eq!(back, values, "bits {bits}");
            // Truncated input yields fewer values, never a panic.
            assert!(
                Unpacker::new(&bytes[..bytes.len() / 2], bits, values.len()).count() < values.len()
            );
        }
    }
}
