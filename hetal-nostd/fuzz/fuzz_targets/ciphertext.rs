//! decode_ciphertext (kind 3, seeded or explicit c1) on arbitrary bytes.
#![no_main]

use hetal_nostd::encrypt::C1;
use hetal_nostd::wire::{decode_ciphertext, encode_ciphertext, Limits};
use hetal_nostd_fuzz::{decode_with_limits, param_sets};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for params in param_sets() {
        let Ok(ct) = decode_with_limits(data, |b, l| decode_ciphertext(b, params, l)) else {
            continue;
        };
        assert!(ct.level <= params.max_level());
        assert_eq!(ct.c0.limbs(), ct.level + 1);
        if let C1::Full(c1) = &ct.c1 {
            assert_eq!(c1.limbs(), ct.level + 1);
        }
        // What was accepted encodes back to a frame that decodes to the same.
        let again = encode_ciphertext(&ct, params);
        assert_eq!(
            decode_ciphertext(&again, params, &Limits::default()).as_ref(),
            Ok(&ct)
        );
    }
});
