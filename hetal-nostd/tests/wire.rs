//! Wire round trips and hostile input: truncation, bit flips, wrong
//! parameters, lengths that claim gigabytes, oversized frames.

mod common;

use common::*;
use hetal_nostd::decrypt::decrypt;
use hetal_nostd::encrypt::{encrypt, EncryptionKey};
use hetal_nostd::math::pack;
use hetal_nostd::params::presets;
use hetal_nostd::wire::*;

fn lcg(s: &mut u64) -> u64 {
    *s = s
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *s >> 17
}

#[test]
fn ciphertext_round_trips_seeded_and_full() {
    let mut s = setup(&presets::INSECURE_N10, 4);
    let params = s.ctx.params().clone();
    let values = unit_values(512, 3);
    for public in [false, true] {
        let ct = if public {
            encrypt(&s.ctx, &s.pk, &values, 512, 5, &mut s.rng).unwrap()
        } else {
            encrypt(&s.ctx, &s.sk, &values, 512, 5, &mut s.rng).unwrap()
        };
        let bytes = encode_ciphertext(&ct, &params);
        let back = decode_ciphertext(&bytes, &params, &Limits::default()).unwrap();
        assert_eq!(back, ct);
        let expected_body: usize = params.q()[..=5]
            .iter()
            .map(|&q| pack::packed_len(1024, pack::bits_of(q)))
            .sum();
        let factor = if public { 2 } else { 1 };
        assert!(
            bytes.len() >= factor * expected_body && bytes.len() < factor * expected_body + 100
        );
        assert!(max_error(&decrypt(&s.ctx, &s.sk, &back).unwrap(), &values) < 1e-5);
    }
}

#[test]
fn public_key_and_params_round_trip() {
    let s = setup(&presets::INSECURE_N10, 5);
    let params = s.ctx.params();
    let bytes = encode_public_key(&s.pk, params);
    assert_eq!(
        decode_public_key(&bytes, params, &Limits::default()).unwrap(),
        s.pk
    );
    let low = s.pk.at_level(3).unwrap();
    let low_bytes = encode_public_key(&low, params);
    let view = PublicKeyFrame::decode(&low_bytes, params, &Limits::default()).unwrap();
    assert_eq!(view.level, 3);
    let id = postcard::to_allocvec(&ParamsFrame::new(params)).unwrap();
    assert_eq!(
        ParamsFrame::decode(&id, params, &Limits::default()).unwrap(),
        ParamsFrame::new(params)
    );
    let other = presets::INSECURE_N11.build().unwrap();
    assert_eq!(
        ParamsFrame::decode(&id, &other, &Limits::default()),
        Err(WireError::WrongParams)
    );
}

#[test]
fn streamed_limb_frames_reassemble_and_decrypt() {
    let s = setup(&presets::INSECURE_N10, 6);
    let params = s.ctx.params();
    let values = unit_values(params.max_slots(), 4);
    let pk_bytes = encode_public_key(&s.pk.at_level(4).unwrap(), params);
    let pk = PublicKeyFrame::decode(&pk_bytes, params, &Limits::default()).unwrap();
    let frames = limb_frames(&s, EncryptionKey::Public(pk.as_view()), &values, 4);
    assert_eq!(frames.len(), 5);
    let mut asm = LimbAssembler::new(params);
    let mut done = None;
    for f in &frames {
        let view = LimbFrame::decode(f, params, &Limits::default()).unwrap();
        done = asm.push(&view).unwrap();
    }
    let ct = done.expect("last limb completes the ciphertext");
    assert!(max_error(&decrypt(&s.ctx, &s.sk, &ct).unwrap(), &values) < 1e-4);
    // Out of order limbs are refused.
    let mut asm = LimbAssembler::new(params);
    let second = LimbFrame::decode(&frames[1], params, &Limits::default()).unwrap();
    assert_eq!(asm.push(&second).unwrap_err(), WireError::BadLimbIndex(1));
}

fn all_decoders(bytes: &[u8], params: &hetal_nostd::params::Params) -> [Result<(), WireError>; 4] {
    let l = Limits::default();
    [
        decode_ciphertext(bytes, params, &l).map(|_| ()),
        decode_public_key(bytes, params, &l).map(|_| ()),
        LimbFrame::decode(bytes, params, &l).map(|_| ()),
        ParamsFrame::decode(bytes, params, &l).map(|_| ()),
    ]
}

#[test]
fn truncated_and_corrupted_frames_are_errors_not_panics() {
    let mut s = setup(&presets::INSECURE_N10, 7);
    let params = s.ctx.params().clone();
    let values = unit_values(512, 3);
    let ct = encrypt(&s.ctx, &s.pk, &values, 512, 2, &mut s.rng).unwrap();
    let ct_bytes = encode_ciphertext(&ct, &params);
    let pk_bytes = encode_public_key(&s.pk.at_level(2).unwrap(), &params);
    let limb = limb_frames(
        &s,
        EncryptionKey::Secret {
            digest: s.sk.digest(),
            coeffs: s.sk.coeffs(),
        },
        &values,
        2,
    );
    for bytes in [&ct_bytes, &pk_bytes, &limb[0]] {
        // Every truncation fails.
        for cut in 0..bytes.len() {
            for r in all_decoders(&bytes[..cut], &params) {
                assert!(r.is_err(), "truncation at {cut} accepted");
            }
        }
        // Trailing garbage fails.
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(all_decoders(&longer, &params).iter().all(|r| r.is_err()));
        // Random bit flips never panic; flips in the header are caught.
        let mut st = 5u64;
        for _ in 0..2000 {
            let mut b = bytes.clone();
            let pos = (lcg(&mut st) as usize) % b.len();
            b[pos] ^= 1 << (lcg(&mut st) % 8);
            let results = all_decoders(&b, &params);
            if pos < 4 + 1 + 1 + 32 {
                assert!(
                    results.iter().all(|r| r.is_err()),
                    "header flip at {pos} accepted"
                );
            }
        }
    }
    assert_eq!(
        decode_ciphertext(&ct_bytes, &params, &Limits::default()).map(|_| ()),
        Ok(())
    );
}

#[test]
fn hostile_lengths_sizes_and_parameters() {
    let mut s = setup(&presets::INSECURE_N10, 8);
    let params = s.ctx.params().clone();
    let ct = encrypt(&s.ctx, &s.sk, &unit_values(4, 1), 4, 1, &mut s.rng).unwrap();
    let bytes = encode_ciphertext(&ct, &params);
    // Wrong parameters.
    let other = presets::INSECURE_N11.build().unwrap();
    assert_eq!(
        decode_ciphertext(&bytes, &other, &Limits::default()),
        Err(WireError::WrongParams)
    );
    // A size limit below the frame.
    let tight = Limits {
        max_frame_bytes: bytes.len() - 1,
    };
    assert!(matches!(
        decode_ciphertext(&bytes, &params, &tight),
        Err(WireError::TooLarge { .. })
    ));
    // A header followed by a byte string claiming 4 GiB: parse must fail without allocating it.
    let header = Header::new(Kind::Ciphertext, &params, 1);
    let mut evil =
        postcard::to_allocvec(&(header, 1.0e12f64, 2u8, Option::<[u8; 32]>::None)).unwrap();
    evil.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]); // varint 2^32 - 1
    evil.extend_from_slice(&[0u8; 64]);
    assert_eq!(
        decode_ciphertext(&evil, &params, &Limits::default()),
        Err(WireError::Malformed)
    );
    // Right shape, wrong length: a byte string one byte short for the level.
    let c0 = vec![0u8; pack::packed_len_for(1024, &params.q()[..=1]) - 1];
    let short = postcard::to_allocvec(&(
        header,
        1.0e12f64,
        2u8,
        Some([0u8; 32]),
        Bytes(&c0),
        Option::<Bytes<'_>>::None,
    ))
    .unwrap();
    assert!(matches!(
        decode_ciphertext(&short, &params, &Limits::default()),
        Err(WireError::LengthMismatch { .. })
    ));
    // Residues of all ones are not below the prime.
    let c0 = vec![0xffu8; pack::packed_len_for(1024, &params.q()[..=1])];
    let big = postcard::to_allocvec(&(
        header,
        1.0e12f64,
        2u8,
        Some([0u8; 32]),
        Bytes(&c0),
        Option::<Bytes<'_>>::None,
    ))
    .unwrap();
    assert!(matches!(
        decode_ciphertext(&big, &params, &Limits::default()),
        Err(WireError::ValueOutOfRange { .. })
    ));
    // Level above the chain, bad scale, bad slots, seed and c1 both present.
    let mut lvl = header;
    lvl.level = 200;
    let f = postcard::to_allocvec(&(
        lvl,
        1.0e12f64,
        2u8,
        Some([0u8; 32]),
        Bytes(&[]),
        Option::<Bytes<'_>>::None,
    ))
    .unwrap();
    assert!(matches!(
        decode_ciphertext(&f, &params, &Limits::default()),
        Err(WireError::LevelOutOfRange { .. })
    ));
    let ok_c0 = vec![0u8; pack::packed_len_for(1024, &params.q()[..=1])];
    for (scale, slots, err) in [
        (f64::NAN, 2u8, WireError::BadScale),
        (0.5, 2, WireError::BadScale),
        (1e12, 10, WireError::BadSlots(10)),
    ] {
        let f = postcard::to_allocvec(&(
            header,
            scale,
            slots,
            Some([0u8; 32]),
            Bytes(&ok_c0),
            Option::<Bytes<'_>>::None,
        ))
        .unwrap();
        assert_eq!(decode_ciphertext(&f, &params, &Limits::default()), Err(err));
    }
    let f = postcard::to_allocvec(&(
        header,
        1e12f64,
        2u8,
        Some([0u8; 32]),
        Bytes(&ok_c0),
        Some(Bytes(&ok_c0)),
    ))
    .unwrap();
    assert_eq!(
        decode_ciphertext(&f, &params, &Limits::default()),
        Err(WireError::Inconsistent)
    );
    let f = postcard::to_allocvec(&(
        header,
        1e12f64,
        2u8,
        Some([0u8; 32]),
        Bytes(&ok_c0),
        Option::<Bytes<'_>>::None,
    ))
    .unwrap();
    assert!(decode_ciphertext(&f, &params, &Limits::default()).is_ok());
}
