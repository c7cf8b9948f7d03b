//! A small reproducible generator for test data and benchmark inputs
//! (xorshift64). Not for secrets: keys, encryption randomness and noise come
//! from `hetal-nostd`'s ChaCha20 CSPRNG.

/// xorshift64 (shifts 13, 7, 17), its seed spread by a multiplicative hash
/// (so that small seeds give unrelated streams).
#[derive(Clone, Debug)]
pub struct Xorshift(u64);

impl Xorshift {
    /// The stream of `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Xorshift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [−1, 1).
    pub fn symmetric(&mut self) -> f64 {
        self.unit() * 2.0 - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_in_range() {
        let (mut a, mut b) = (Xorshift::new(5), Xorshift::new(5));
        let xs: Vec<f64> = (0..1000).map(|_| a.symmetric()).collect();
        assert!(xs.iter().all(|x| (-1.0..1.0).contains(x)));
        assert_eq!(xs, (0..1000).map(|_| b.symmetric()).collect::<Vec<_>>());
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.1, "mean {mean}");
        assert_ne!(Xorshift::new(0).next_u64(), Xorshift::new(1).next_u64());
    }
}
