//! Failure probability of bootstrapping's modular reduction.
//!
//! With a sparse ternary secret of Hamming weight h used around ModRaise,
//! the integer part I of each raised coefficient is (c0 + c1·s)/q0 rounded:
//! a sum of h + 1 terms, each uniform on [−½, ½] for uniform ciphertexts. So
//! I follows the Irwin–Hall law of m = h + 1 terms, bounded by m/2. EvalMod
//! is correct while |I| < K on every one of the 2·slots coefficients it
//! reduces (real and imaginary parts), so
//! P(fail) ≤ 2·slots · 2·P(S ≥ K) with S + m/2 ~ Irwin–Hall(m), and
//! P(S ≥ K) = F(m/2 − K), F(x) = Σ_{j ≤ ⌊x⌋} (−1)^j C(m, j)(x − j)^m / m!.

use super::ParamsError;

/// log2 of the probability that one bootstrap fails, for Hamming weight `h`,
/// EvalMod interval bound `k` and `slots` complex slots; −∞ when K ≥ (h+1)/2
/// (failure is impossible).
pub fn log2_failure_probability(h: u32, k: f64, slots: usize) -> f64 {
    let m = f64::from(h + 1);
    let x = m / 2.0 - k;
    if x <= 0.0 {
        return f64::NEG_INFINITY;
    }
    // Terms of F(x)·m!, in log space relative to the largest.
    let ln_term = |j: u32| {
        let binom = libm::lgamma(m + 1.0)
            - libm::lgamma(f64::from(j) + 1.0)
            - libm::lgamma(m - f64::from(j) + 1.0);
        binom + m * libm::log(x - f64::from(j))
    };
    let top = libm::floor(x) as u32;
    let max = (0..=top)
        .filter(|&j| x > f64::from(j))
        .map(ln_term)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for j in (0..=top).filter(|&j| x > f64::from(j)) {
        let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
        sum += sign * libm::exp(ln_term(j) - max);
    }
    let ln_f = libm::log(sum) + max - libm::lgamma(m + 1.0);
    let ln_union = libm::log(4.0 * slots as f64);
    (ln_f + ln_union) / core::f64::consts::LN_2
}

/// Accepts the bootstrapping parameters when failure is at most 2^max_log2.
pub fn check_failure_probability(
    h: u32,
    k: f64,
    slots: usize,
    max_log2: f64,
) -> Result<f64, ParamsError> {
    let p = log2_failure_probability(h, k, slots);
    if p <= max_log2 {
        Ok(p)
    } else {
        Err(ParamsError::BootstrapFailureTooLikely {
            log2_probability: libm::ceil(p) as i32,
            max_log2: libm::floor(max_log2) as i32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triangular_law_closed_form() {
        // h = 1: S is triangular on [−1, 1], P(S ≥ K) = (1 − K)²/2.
        for k in [0.25, 0.5, 0.75] {
            let want = ((1.0f64 - k).powi(2) / 2.0 * 4.0).log2();
            assert!((log2_failure_probability(1, k, 1) - want).abs() < 1e-9);
        }
        assert_eq!(log2_failure_probability(1, 1.0, 1), f64::NEG_INFINITY);
    }

    #[test]
    fn tail_of_the_uniform_sum_matches_a_direct_sum() {
        // h = 2 (m = 3): P(S ≥ K) for K in (0.5, 1.5) is (1.5 − K)³/6.
        let k = 0.9;
        let want = ((1.5f64 - k).powi(3) / 6.0 * 4.0 * 8.0).log2();
        assert!((log2_failure_probability(2, k, 8) - want).abs() < 1e-9);
    }

    #[test]
    fn production_bootstrap_choice() {
        // h = 32, K = 16, 2^15 slots: 2^-139, below the 2^-100 bar.
        let p = log2_failure_probability(32, 16.0, 1 << 15);
        assert!((-140.0..-138.0).contains(&p), "{p}");
        assert!(check_failure_probability(32, 16.0, 1 << 15, -100.0).is_ok());
        // A narrower interval is refused.
        assert!(matches!(
            check_failure_probability(32, 12.0, 1 << 15, -100.0),
            Err(ParamsError::BootstrapFailureTooLikely { .. })
        ));
        // Monotone in K and in h.
        assert!(
            log2_failure_probability(32, 14.0, 1 << 15)
                > log2_failure_probability(32, 15.0, 1 << 15)
        );
        assert!(
            log2_failure_probability(64, 14.0, 1 << 15)
                > log2_failure_probability(32, 14.0, 1 << 15)
        );
    }
}
