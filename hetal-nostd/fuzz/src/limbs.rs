//! Helpers of the streamed-limb targets.

use hetal_nostd::params::Params;
use hetal_nostd::math::pack::PackedLimbs;
use hetal_nostd::wire::{Header, Kind, LimbFrame, LimbFrameView, PackedWords};

/// The values of a one-limb packed polynomial.
pub fn limb(p: &PackedLimbs<'_>) -> Vec<u64> {
    assert_eq!(p.limbs(), 1);
    p.limb_values(0).collect()
}

/// Writes a validated view back out as a limb frame.
pub fn encode_view(view: &LimbFrameView<'_>, params: &Params) -> Vec<u8> {
    let c0 = limb(&view.c0);
    let c1 = view.c1.as_ref().map(limb);
    let primes = &params.q()[view.index..=view.index];
    let n = params.n();
    let frame = LimbFrame {
        header: Header::new(Kind::Limb, params, view.level),
        stream: view.stream,
        index: view.index as u8,
        scale: view.scale,
        log_slots: view.log_slots as u8,
        seed: view.seed,
        c0: PackedWords {
            words: &c0,
            primes,
            n,
        },
        c1: c1.as_deref().map(|words| PackedWords { words, primes, n }),
    };
    postcard::to_allocvec(&frame).expect("serializing into a Vec")
}

/// Splits fuzz input into frames: each a little-endian u16 length, then
/// that many bytes (fewer at the end of the input).
pub fn split_frames(mut data: &[u8]) -> Vec<&[u8]> {
    let mut frames = Vec::new();
    while data.len() >= 2 {
        let len = u16::from_le_bytes([data[0], data[1]]) as usize;
        let rest = &data[2..];
        let take = len.min(rest.len());
        frames.push(&rest[..take]);
        data = &rest[take..];
    }
    frames
}
