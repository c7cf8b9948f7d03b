//! A sequence of streamed-limb frames (a u16 length before each) decoded
//! and fed to one LimbAssembler, checked against a model of what the
//! assembler accepted.
#![no_main]

use hetal_nostd::encrypt::C1;
use hetal_nostd::wire::{decode_ciphertext, encode_ciphertext, LimbAssembler, LimbFrame, Limits};
use hetal_nostd_fuzz::limbs::{limb, split_frames};
use hetal_nostd_fuzz::param_sets;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let frames = split_frames(data);
    for params in param_sets() {
        let mut asm = LimbAssembler::new(params);
        // (c0, c1) of every limb accepted since the last completed ciphertext.
        let mut accepted: Vec<(Vec<u64>, Option<Vec<u64>>)> = Vec::new();
        for bytes in &frames {
            let Ok(view) = LimbFrame::decode(bytes, params, &Limits::default()) else {
                continue;
            };
            match asm.push(&view) {
                Err(_) => {}
                Ok(done) => {
                    assert_eq!(view.index, accepted.len());
                    accepted.push((limb(&view.c0), view.c1.as_ref().map(limb)));
                    let Some(ct) = done else { continue };
                    assert_eq!(ct.level, view.level);
                    assert_eq!(ct.c0.limbs(), accepted.len());
                    for (i, (c0, c1)) in accepted.iter().enumerate() {
                        assert_eq!(ct.c0.limb(i), &c0[..]);
                        match (&ct.c1, c1) {
                            (C1::Full(p), Some(c1)) => assert_eq!(p.limb(i), &c1[..]),
                            (C1::Seeded(s), None) => assert_eq!(Some(s), view.seed.as_ref()),
                            _ => panic!("c1 does not match the frames"),
                        }
                    }
                    let bytes = encode_ciphertext(&ct, params);
                    assert_eq!(
                        decode_ciphertext(&bytes, params, &Limits::default()).as_ref(),
                        Ok(&ct)
                    );
                    accepted.clear();
                }
            }
        }
    }
});
