use super::pack::*;
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
