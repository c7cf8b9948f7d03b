//! decode_base_switching_key (kind 6: bootstrapping's dense-to-sparse key
//! over q0 and p0) on arbitrary bytes.
#![no_main]

use hetal_nostd::wire::{decode_base_switching_key, encode_base_switching_key, Limits};
use hetal_nostd_fuzz::{decode_with_limits, param_sets};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for params in param_sets() {
        let Ok(key) = decode_with_limits(data, |b, l| decode_base_switching_key(b, params, l))
        else {
            continue;
        };
        assert_eq!((key.b.n(), key.b.limbs()), (params.n(), 2));
        let again = encode_base_switching_key(&key, params).expect("a decoded key encodes");
        assert_eq!(
            decode_base_switching_key(&again, params, &Limits::default()).as_ref(),
            Ok(&key)
        );
    }
});
