use super::presets::*;
use super::*;

#[test]
fn production_preset_is_secure_and_documented() {
    let p = PROD_N16.build().unwrap();
    assert_eq!(p.n(), 1 << 16);
    assert_eq!(p.max_slots(), 1 << 15);
    assert!(p.log_qp() <= 1747.0, "log QP = {}", p.log_qp());
    assert!(p.log_qp() > 1720.0);
    assert_eq!(p.q().len(), 27);
    assert_eq!(p.p().len(), 6);
    assert_eq!(p.user_top_level(), 9);
    assert_eq!(p.role_of_level(0), Some(LevelRole::Base));
    assert_eq!(p.role_of_level(9), Some(LevelRole::User));
    assert_eq!(p.role_of_level(10), Some(LevelRole::SlotsToCoeffs));
    assert_eq!(p.role_of_level(13), Some(LevelRole::EvalMod));
    assert_eq!(p.role_of_level(22), Some(LevelRole::EvalMod));
    assert_eq!(p.role_of_level(26), Some(LevelRole::CoeffsToSlots));
    assert_eq!(p.role_of_level(27), None);
    // Scale primes stay close to 2^40 so the scale stays near 2^40.
    for &q in &p.q()[1..10] {
        let ratio = q as f64 / (1u64 << 40) as f64;
        assert!((ratio - 1.0).abs() < 1e-3, "{q}");
    }
    assert!(!p.is_insecure());
}

#[test]
fn training_preset_is_secure_with_15_user_levels() {
    let p = PROD_N16_TRAIN.build().unwrap();
    assert_eq!(p.n(), 1 << 16);
    assert!(p.log_qp() <= 1747.0, "log QP = {}", p.log_qp());
    assert!(p.log_qp() > 1740.0, "log QP = {}", p.log_qp());
    assert_eq!((p.q().len(), p.p().len(), p.dnum()), (31, 6, 6));
    assert_eq!(p.user_top_level(), 15);
    assert_eq!(p.role_of_level(0), Some(LevelRole::Base));
    assert_eq!(p.role_of_level(15), Some(LevelRole::User));
    assert_eq!(p.role_of_level(16), Some(LevelRole::SlotsToCoeffs));
    assert_eq!(p.role_of_level(19), Some(LevelRole::EvalMod));
    assert_eq!(p.role_of_level(26), Some(LevelRole::EvalMod));
    assert_eq!(p.role_of_level(27), Some(LevelRole::CoeffsToSlots));
    assert_eq!(p.role_of_level(31), None);
    assert_eq!(p.log_scale(), 36);
    // The bootstrap range of prod-n16: q0/Δ = 2^8.
    let headroom = libm::log2(p.q()[0] as f64) - 36.0;
    assert!((headroom - 8.0).abs() < 0.01, "{headroom}");
    for &q in &p.q()[1..16] {
        let ratio = q as f64 / (1u64 << 36) as f64;
        assert!((ratio - 1.0).abs() < 1e-3, "{q}");
    }
    // The twins share the layout, not the security claim.
    for twin in [INSECURE_N10_TRAIN, INSECURE_N12_TRAIN] {
        let t = twin.build().unwrap();
        assert!(t.is_insecure());
        assert_eq!(t.segments(), p.segments());
        assert_eq!((t.p().len(), t.dnum(), t.log_scale()), (6, 6, 36));
    }
    // One more user level would break the 128-bit limit.
    let chain = [
        Segment::new(LevelRole::Base, 1, 44),
        Segment::new(LevelRole::User, 16, 36),
        Segment::new(LevelRole::SlotsToCoeffs, 3, 42),
        Segment::new(LevelRole::EvalMod, 8, 58),
        Segment::new(LevelRole::CoeffsToSlots, 4, 56),
    ];
    let more = ParamsLiteral {
        q: &chain,
        ..PROD_N16_TRAIN
    };
    assert!(matches!(more.build(), Err(ParamsError::Insecure { .. })));
}

#[test]
fn presets_build_with_distinct_stable_digests() {
    let mut digests = std::vec::Vec::new();
    for lit in ALL {
        let a = lit.build().unwrap();
        let b = lit.build().unwrap();
        assert_eq!(a.digest(), b.digest(), "digest must be stable");
        assert!(!digests.contains(a.digest()));
        digests.push(*a.digest());
        assert_eq!(lit.name.starts_with("INSECURE"), a.is_insecure());
    }
}

#[test]
fn insecure_chain_is_rejected_when_claimed_secure() {
    let lit = ParamsLiteral {
        security: Security::Bits128,
        ..INSECURE_N12
    };
    assert!(matches!(
        lit.build(),
        Err(ParamsError::Insecure { limit: 109, .. })
    ));
    let big = ParamsLiteral {
        q: &[
            Segment::new(LevelRole::Base, 1, 60),
            Segment::new(LevelRole::User, 30, 50),
        ],
        ..PROD_N16
    };
    assert!(matches!(
        big.build(),
        Err(ParamsError::Insecure { limit: 1747, .. })
    ));
}

#[test]
fn malformed_literals_are_rejected() {
    let bad_n = ParamsLiteral {
        log_n: 9,
        ..INSECURE_N10
    };
    assert_eq!(bad_n.build(), Err(ParamsError::LogNOutOfRange(9)));
    let bad_bits = ParamsLiteral {
        p_bits: &[62],
        ..INSECURE_N10
    };
    assert_eq!(bad_bits.build(), Err(ParamsError::PrimeBitsOutOfRange(62)));
    let bad_dnum = ParamsLiteral {
        dnum: 0,
        ..INSECURE_N10
    };
    assert_eq!(bad_dnum.build(), Err(ParamsError::DnumOutOfRange(0)));
    let small_p = ParamsLiteral {
        p_bits: &[61],
        dnum: 1,
        ..INSECURE_N10
    };
    assert!(matches!(
        small_p.build(),
        Err(ParamsError::DigitLargerThanP { .. })
    ));
    let empty = ParamsLiteral {
        q: &[],
        ..INSECURE_N10
    };
    assert_eq!(empty.build(), Err(ParamsError::EmptyChain));
    let bad_scale = ParamsLiteral {
        log_scale: 0,
        ..INSECURE_N10
    };
    assert_eq!(bad_scale.build(), Err(ParamsError::ScaleOutOfRange(0)));
}

#[test]
fn explicit_primes_are_checked() {
    let lit = ParamsLiteral {
        q: &[
            Segment::new(LevelRole::Base, 1, 40),
            Segment::new(LevelRole::User, 1, 40),
        ],
        p_bits: &[41],
        dnum: 2,
        ..INSECURE_N10
    };
    let good = lit.build().unwrap();
    let (q, p) = (good.q().to_vec(), good.p().to_vec());
    assert_eq!(
        lit.build_with_primes(&q, &p).unwrap().digest(),
        good.digest()
    );
    assert_eq!(
        lit.build_with_primes(&[q[0], q[0]], &p),
        Err(ParamsError::DuplicatePrime(q[0]))
    );
    // A composite that is 1 mod 2N.
    let not_prime = (0u64..)
        .map(|k| (1u64 << 40) + 1 + 2048 * k)
        .find(|&c| !crate::math::primes::is_prime(c))
        .unwrap();
    assert_eq!(
        lit.build_with_primes(&[q[0], not_prime], &p).err(),
        Some(ParamsError::NotNttFriendly(not_prime))
    );
    // 2^40 + 1025 is 1 mod 1024 but not 1 mod 2048 = 2N (whatever its primality).
    let wrong_residue = (1u64 << 40) + 1025;
    assert_eq!(
        lit.build_with_primes(&[q[0], wrong_residue], &p).err(),
        Some(ParamsError::NotNttFriendly(wrong_residue))
    );
    assert_eq!(
        lit.build_with_primes(&q, &[]),
        Err(ParamsError::PrimeCountMismatch)
    );
}
