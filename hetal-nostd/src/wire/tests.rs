use super::*;
use crate::math::pack::{bits_of, Packer};
use std::vec::Vec;

#[test]
fn packed_words_serialize_exactly_as_a_byte_string() {
    let primes = [(1u64 << 40) + 0x1001, (1u64 << 59) + 0x3001];
    let n = 16;
    let words: Vec<u64> = (0..2 * n as u64)
        .map(|i| i * 0x0123_4567_89ab % (1 << 39))
        .collect();
    let on_the_fly = postcard::to_allocvec(&PackedWords {
        words: &words,
        primes: &primes,
        n,
    })
    .unwrap();
    let mut packed = Vec::new();
    for (limb, &q) in words.chunks(n).zip(&primes) {
        packed.extend(Packer::new(limb.iter().copied(), bits_of(q)));
    }
    let staged = postcard::to_allocvec(&Bytes(&packed)).unwrap();
    assert_eq!(on_the_fly, staged);
    let back: Bytes<'_> = postcard::from_bytes(&staged).unwrap();
    assert_eq!(back.0, &packed[..]);
}
