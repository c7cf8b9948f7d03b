//! The public-key frame (kind 2): the borrowed view the firmware keeps in
//! flash (PublicKeyFrame::decode) and the owned decoder, on arbitrary bytes.
#![no_main]

use hetal_nostd::wire::{decode_public_key, encode_public_key, Limits, PublicKeyFrame};
use hetal_nostd_fuzz::{decode_with_limits, param_sets};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for params in param_sets() {
        let view = decode_with_limits(data, |b, l| PublicKeyFrame::decode(b, params, l));
        let owned = decode_with_limits(data, |b, l| decode_public_key(b, params, l));
        // Both decoders take and refuse the same frames, for the same reason.
        match (&view, &owned) {
            (Ok(v), Ok(pk)) => {
                assert_eq!((v.level, &v.seed), (pk.level, &pk.seed));
                assert_eq!(v.b.limbs(), pk.b.limbs());
                for i in 0..pk.b.limbs() {
                    assert!(v.b.limb_values(i).eq(pk.b.limb(i).iter().copied()));
                }
                let again = encode_public_key(pk, params);
                assert_eq!(
                    decode_public_key(&again, params, &Limits::default()).as_ref(),
                    Ok(pk)
                );
            }
            (Err(a), Err(b)) => assert_eq!(a, b),
            _ => panic!("the view and the owned decoder disagree"),
        }
    }
});
