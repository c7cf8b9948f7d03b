//! decode_switching_key (kind 5: relinearisation, Galois and sparse-to-dense
//! keys) on arbitrary bytes.
#![no_main]

use hetal_nostd::wire::{decode_switching_key, encode_switching_key, Limits};
use hetal_nostd_fuzz::{decode_with_limits, param_sets};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for params in param_sets() {
        let Ok(key) = decode_with_limits(data, |b, l| decode_switching_key(b, params, l)) else {
            continue;
        };
        assert!(key.level <= params.max_level());
        let again = encode_switching_key(&key, params).expect("a decoded key encodes");
        assert_eq!(
            decode_switching_key(&again, params, &Limits::default()).as_ref(),
            Ok(&key)
        );
    }
});
