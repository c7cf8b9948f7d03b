//! LimbFrame::decode (kind 4: one streamed ciphertext limb, as the firmware
//! sends them) on arbitrary bytes, and the first step of reassembly.
#![no_main]

use hetal_nostd::wire::{LimbAssembler, LimbFrame, Limits, WireError};
use hetal_nostd_fuzz::limbs::{encode_view, limb};
use hetal_nostd_fuzz::{decode_with_limits, param_sets};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for params in param_sets() {
        let Ok(view) = decode_with_limits(data, |b, l| LimbFrame::decode(b, params, l)) else {
            continue;
        };
        assert!(view.index <= view.level && view.level <= params.max_level());
        assert!(view.seed.is_some() != view.c1.is_some());
        let q = params.q()[view.index];
        assert!(limb(&view.c0).iter().all(|&v| v < q));
        // Written back out, the frame decodes to the same limb.
        let again = encode_view(&view, params);
        let back = LimbFrame::decode(&again, params, &Limits::default()).expect("re-decodes");
        assert_eq!(
            (
                back.level,
                back.stream,
                back.index,
                back.log_slots,
                back.seed
            ),
            (
                view.level,
                view.stream,
                view.index,
                view.log_slots,
                view.seed
            )
        );
        assert_eq!(back.scale.to_bits(), view.scale.to_bits());
        assert_eq!(limb(&back.c0), limb(&view.c0));
        assert_eq!(back.c1.as_ref().map(limb), view.c1.as_ref().map(limb));
        // A fresh assembler takes only limb 0, and completes at level 0.
        let pushed = LimbAssembler::new(params).push(&view);
        match (view.index, view.level) {
            (0, 0) => assert!(matches!(pushed, Ok(Some(ref ct)) if ct.c0.limbs() == 1)),
            (0, _) => assert!(matches!(pushed, Ok(None))),
            (i, _) => assert_eq!(pushed.err(), Some(WireError::BadLimbIndex(i))),
        }
    }
});
