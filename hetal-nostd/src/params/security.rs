//! The 128-bit security limits on log2(QP) for uniform ternary secrets.

/// Largest log2(QP) (in bits) that keeps 128-bit classical security for a
/// uniform ternary secret at ring degree 2^log_n, from the homomorphic
/// encryption standard tables that OpenFHE uses; `None` above log N = 17.
pub const fn max_log_qp_128(log_n: u32) -> Option<u32> {
    match log_n {
        10 => Some(27),
        11 => Some(54),
        12 => Some(109),
        13 => Some(218),
        14 => Some(438),
        15 => Some(881),
        16 => Some(1747),
        17 => Some(3523),
        _ => None,
    }
}

/// The security level a parameter literal claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Security {
    /// 128-bit classical security: validation enforces [`max_log_qp_128`].
    Bits128,
    /// No security at all: small rings for fast tests. Such sets must never
    /// protect real data; the CLI refuses them unless told `--insecure`.
    InsecureTestOnly,
}
