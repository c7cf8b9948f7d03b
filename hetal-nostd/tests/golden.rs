//! Golden frames: one frame of every kind, built from fixed seeds on an
//! insecure small preset, pinned by the SHA-256 of its bytes. A change of
//! the wire format (or of what a fixed seed generates) fails here; a
//! deliberate one bumps `wire::VERSION` and re-pins the digests.
//!
//! The digests were recorded from this implementation (a snapshot, not
//! independently derived); the decoders' acceptance of each frame is checked
//! alongside.

mod common;

use common::*;
use hetal_nostd::encapsulation::EncapsulationKeys;
use hetal_nostd::encrypt::{encrypt, EncryptionKey};
use hetal_nostd::evk::{galois_key_at, relin_key};
use hetal_nostd::math::galois::galois_element_for_rotation;
use hetal_nostd::params::presets;
use hetal_nostd::wire::*;
use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every frame kind, named, with its bytes (INSECURE-n10, seed 42).
fn frames() -> Vec<(&'static str, Vec<u8>)> {
    let mut s = setup(&presets::INSECURE_N10, 42);
    let params = s.ctx.params().clone();
    let values = unit_values(params.max_slots(), 42);
    let seeded = encrypt(&s.ctx, &s.sk, &values, 512, 3, &mut s.rng).unwrap();
    let full = encrypt(&s.ctx, &s.pk, &values, 512, 3, &mut s.rng).unwrap();
    let relin = relin_key(&s.ctx, &s.sk, &mut s.rng);
    let g = galois_element_for_rotation(params.log_n(), 5);
    let galois = galois_key_at(&s.ctx, &s.sk, g, 4, &mut s.rng);
    let encapsulation = EncapsulationKeys::generate(&s.ctx, &s.sk, 32, &mut s.rng);
    let pk_frame = encode_public_key(&s.pk.at_level(2).unwrap(), &params);
    let pk_view = PublicKeyFrame::decode(&pk_frame, &params, &Limits::default()).unwrap();
    let limbs = limb_frames(&s, EncryptionKey::Public(pk_view.as_view()), &values, 2);
    vec![
        (
            "params",
            postcard::to_allocvec(&ParamsFrame::new(&params)).unwrap(),
        ),
        ("public key", encode_public_key(&s.pk, &params)),
        ("ciphertext, seeded c1", encode_ciphertext(&seeded, &params)),
        ("ciphertext, full c1", encode_ciphertext(&full, &params)),
        ("limb", limbs[0].clone()),
        (
            "relinearisation key",
            encode_switching_key(&relin, &params).unwrap(),
        ),
        (
            "Galois key, level 4",
            encode_switching_key(&galois, &params).unwrap(),
        ),
        (
            "dense-to-sparse key",
            encode_base_switching_key(&encapsulation.to_sparse, &params).unwrap(),
        ),
    ]
}

/// SHA-256 of each frame of [`frames`], in order.
const GOLDEN: [&str; 8] = [
    "cdf401afd23af90eee680ca389766b0f8550ee3ccbad423da3556fd687157329",
    "5700a8d8bedb166842b10f3894312312c8cb3794dfd09de27e627d95032a86ce",
    "e79a4ec6f85c5f053914bdcc0a10016c327172348eac1ff6eb293273674a4769",
    "3e48f6c9468b0fefa8b56c1bf52387dde9ad269c34e7298350ccf15e16a15ea3",
    "fb86f9c77cc108fe2f5f0a1a7a4ea6b93790b2293d15b19cacd6782f9d97838d",
    "a29bcd25c9bbf297c9b2c30068f5da490ab481c63f316bf42ee2ae5a8859110e",
    "f79832ece034462847e9882958e9aac113eed66321e22949c07fe5d9ad4e4f18",
    "3b8302565e5ae96739bdc49f11d6c4c38873bf78eff7539740f056ce674c4b00",
];

#[test]
fn every_frame_kind_matches_its_golden_digest() {
    let frames = frames();
    let got: Vec<(&str, String)> = frames
        .iter()
        .map(|(name, bytes)| (*name, hex(&Sha256::digest(bytes))))
        .collect();
    assert_eq!(got.len(), GOLDEN.len());
    for ((name, digest), want) in got.iter().zip(GOLDEN) {
        assert_eq!(digest, want, "{name}: the wire format changed");
    }
}

/// Runs the decoder of the frame's kind.
fn decode(name: &str, bytes: &[u8]) -> Result<(), WireError> {
    let params = presets::INSECURE_N10.build().unwrap();
    let l = Limits::default();
    match name {
        "params" => ParamsFrame::decode(bytes, &params, &l).map(|_| ()),
        "public key" => decode_public_key(bytes, &params, &l).map(|_| ()),
        "limb" => LimbFrame::decode(bytes, &params, &l).map(|_| ()),
        "dense-to-sparse key" => decode_base_switching_key(bytes, &params, &l).map(|_| ()),
        n if n.starts_with("ciphertext") => decode_ciphertext(bytes, &params, &l).map(|_| ()),
        _ => decode_switching_key(bytes, &params, &l).map(|_| ()),
    }
}

#[test]
fn golden_frames_decode_and_version_1_frames_are_refused() {
    for (name, mut bytes) in frames() {
        decode(name, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The header: the 4 magic bytes, then the version as a postcard
        // varint (one byte below 128).
        assert_eq!(bytes[4], VERSION as u8, "{name}");
        bytes[4] = 1;
        assert_eq!(
            decode(name, &bytes),
            Err(WireError::UnsupportedVersion(1)),
            "{name}"
        );
    }
}
