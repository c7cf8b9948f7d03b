//! ParamsFrame::decode (the parameter-identity handshake) on arbitrary bytes.
#![no_main]

use hetal_nostd::wire::ParamsFrame;
use hetal_nostd_fuzz::{decode_with_limits, param_sets};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for params in param_sets() {
        if let Ok(frame) = decode_with_limits(data, |b, l| ParamsFrame::decode(b, params, l)) {
            // The only frame accepted is the parameter set's own identity.
            assert_eq!(frame, ParamsFrame::new(params));
        }
    }
});
