//! [`Complex`]: one slot value, shared by the encoder, the evaluator and
//! every engine.

use core::ops::{Add, Mul, Neg, Sub};

/// A complex number with `f64` parts (one CKKS slot value).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Complex {
    /// Real part.
    pub re: f64,
    /// Imaginary part.
    pub im: f64,
}

impl Complex {
    /// Zero.
    pub const ZERO: Complex = Complex { re: 0.0, im: 0.0 };
    /// One.
    pub const ONE: Complex = Complex { re: 1.0, im: 0.0 };
    /// The imaginary unit.
    pub const I: Complex = Complex { re: 0.0, im: 1.0 };

    /// `re + i·im`.
    pub const fn new(re: f64, im: f64) -> Self {
        Complex { re, im }
    }

    /// A real number.
    pub const fn real(re: f64) -> Self {
        Complex { re, im: 0.0 }
    }

    /// Product with a real number.
    pub fn scale(self, s: f64) -> Self {
        Complex::new(self.re * s, self.im * s)
    }

    /// Complex conjugate.
    pub fn conj(self) -> Self {
        Complex::new(self.re, -self.im)
    }

    /// Modulus |z|.
    pub fn abs(self) -> f64 {
        libm::hypot(self.re, self.im)
    }

    /// True when both parts are finite integers (a Gaussian integer):
    /// multiplying a ciphertext by such a constant needs no rescale.
    pub fn is_gaussian_integer(self) -> bool {
        let int = |x: f64| x - libm::trunc(x) == 0.0;
        int(self.re) && int(self.im)
    }
}

impl Add for Complex {
    type Output = Complex;
    fn add(self, o: Complex) -> Complex {
        Complex::new(self.re + o.re, self.im + o.im)
    }
}

impl Sub for Complex {
    type Output = Complex;
    fn sub(self, o: Complex) -> Complex {
        Complex::new(self.re - o.re, self.im - o.im)
    }
}

impl Mul for Complex {
    type Output = Complex;
    fn mul(self, o: Complex) -> Complex {
        Complex::new(
            self.re * o.re - self.im * o.im,
            self.re * o.im + self.im * o.re,
        )
    }
}

impl Neg for Complex {
    type Output = Complex;
    fn neg(self) -> Complex {
        Complex::new(-self.re, -self.im)
    }
}

impl From<f64> for Complex {
    fn from(re: f64) -> Self {
        Complex::real(re)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_follows_the_field_rules() {
        let a = Complex::new(1.5, -2.0);
        let b = Complex::new(-0.5, 4.0);
        assert_eq!(a + b, Complex::new(1.0, 2.0));
        assert_eq!(a - b, Complex::new(2.0, -6.0));
        assert_eq!(a * b, Complex::new(-0.75 + 8.0, 6.0 + 1.0));
        assert_eq!(Complex::I * Complex::I, -Complex::ONE);
        assert_eq!(a.conj(), Complex::new(1.5, 2.0));
        assert_eq!(Complex::new(3.0, 4.0).abs(), 5.0);
        assert!(Complex::new(2.0, -1.0).is_gaussian_integer());
        assert!(!Complex::new(0.5, 0.0).is_gaussian_integer());
        assert!(!Complex::new(f64::INFINITY, 0.0).is_gaussian_integer());
        assert!(!Complex::new(0.0, f64::NAN).is_gaussian_integer());
    }
}
