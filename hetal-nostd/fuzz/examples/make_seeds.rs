//! Writes the committed seed corpora (`corpus/<target>/seed-*`): real
//! frames of every kind under the tiny fuzz parameters, whole, and the
//! first bytes of frames under INSECURE_N10 (whole ones are tens of
//! kilobytes). Deterministic: keys and noise come from fixed seeds.
//! Run from `hetal-nostd/fuzz`: `cargo run --release --example make_seeds`.

use hetal_nostd::encapsulation::EncapsulationKeys;
use hetal_nostd::encoding::Complex;
use hetal_nostd::encrypt::{encrypt, Ciphertext, C1};
use hetal_nostd::evk::{rotation_key_at, KeyKind, SwitchingKey};
use hetal_nostd::keys::{PublicKey, SecretKey};
use hetal_nostd::ring::sampling::Csprng;
use hetal_nostd::ring::Context;
use hetal_nostd::wire::*;
use hetal_nostd_fuzz::{N10, TINY};
use std::fs;
use std::path::Path;

/// How much of a frame under INSECURE_N10 is kept: the header, the small
/// fields and the start of the packed residues.
const N10_PREFIX: usize = 512;

struct Keys {
    ctx: &'static Context,
    sk: SecretKey,
    pk: PublicKey,
    rng: Csprng,
}

impl Keys {
    fn new(ctx: &'static Context, seed: u8) -> Self {
        let mut rng = Csprng::from_entropy([seed; 32]);
        let sk = SecretKey::generate(ctx, &mut rng);
        let pk = PublicKey::generate(ctx, &sk, &mut rng);
        Keys { ctx, sk, pk, rng }
    }

    fn ciphertext(&mut self, public: bool, level: usize) -> Ciphertext {
        let values: Vec<Complex> = (0..4).map(|i| Complex::new(i as f64 / 8.0, 0.5)).collect();
        let ct = if public {
            encrypt(self.ctx, &self.pk, &values, 4, level, &mut self.rng)
        } else {
            encrypt(self.ctx, &self.sk, &values, 4, level, &mut self.rng)
        };
        ct.expect("encryption of a seed ciphertext")
    }

    fn rotation(&mut self, level: usize) -> SwitchingKey {
        rotation_key_at(self.ctx, &self.sk, 1, level, &mut self.rng)
    }
}

/// The limb frames of `ct`, in order.
fn limb_frames(ct: &Ciphertext, ctx: &Context, stream: u32) -> Vec<Vec<u8>> {
    let params = ctx.params();
    let n = params.n();
    (0..=ct.level)
        .map(|i| {
            let primes = &params.q()[i..=i];
            let (seed, c1) = match &ct.c1 {
                C1::Seeded(s) => (Some(*s), None),
                C1::Full(p) => (None, Some(p.limb(i))),
            };
            let frame = LimbFrame {
                header: Header::new(Kind::Limb, params, ct.level),
                stream,
                index: i as u8,
                scale: ct.scale,
                log_slots: ct.log_slots as u8,
                seed,
                c0: PackedWords {
                    words: ct.c0.limb(i),
                    primes,
                    n,
                },
                c1: c1.map(|words| PackedWords { words, primes, n }),
            };
            postcard::to_allocvec(&frame).expect("serializing into a Vec")
        })
        .collect()
}

/// Frames joined in the limb_stream target's input format.
fn stream_input(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        out.extend_from_slice(&(f.len() as u16).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    fs::create_dir_all(&d).expect("corpus directory");
    fs::write(d.join(format!("seed-{name}")), bytes).expect("seed file");
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut tiny = Keys::new(&TINY, 1);
    let mut n10 = Keys::new(&N10, 2);
    let tp = TINY.params();
    let np = N10.params();
    let cut = |b: Vec<u8>| b[..N10_PREFIX.min(b.len())].to_vec();
    // The whole tiny frames must be accepted, so that the fuzzer starts
    // from inputs that reach every check of the decoders.
    let limits = Limits::default();

    let id = |p| postcard::to_allocvec(&ParamsFrame::new(p)).expect("identity");
    write(&dir, "params_frame", "tiny", &id(tp));
    write(&dir, "params_frame", "n10", &id(np));

    for (name, public, level) in [("sk-l0", false, 0), ("pk-l0", true, 0), ("sk-l1", false, 1)] {
        let ct = tiny.ciphertext(public, level);
        let bytes = encode_ciphertext(&ct, tp);
        assert_eq!(decode_ciphertext(&bytes, tp, &limits).as_ref(), Ok(&ct));
        write(&dir, "ciphertext", name, &bytes);
    }
    let ct = n10.ciphertext(true, 0);
    write(
        &dir,
        "ciphertext",
        "n10-prefix",
        &cut(encode_ciphertext(&ct, np)),
    );

    for level in [0, 1] {
        let pk = tiny.pk.at_level(level).expect("public key level");
        let bytes = encode_public_key(&pk, tp);
        assert_eq!(decode_public_key(&bytes, tp, &limits).as_ref(), Ok(&pk));
        write(&dir, "public_key", &format!("l{level}"), &bytes);
    }
    let pk = n10.pk.at_level(0).expect("public key level");
    write(
        &dir,
        "public_key",
        "n10-prefix",
        &cut(encode_public_key(&pk, np)),
    );

    let galois = tiny.rotation(0);
    let relabelled = |kind| SwitchingKey {
        kind,
        ..galois.clone()
    };
    for (name, key) in [
        ("galois-l0", galois.clone()),
        ("relin-l0", relabelled(KeyKind::Relin)),
        ("sparse-to-dense-l0", relabelled(KeyKind::SparseToDense)),
        ("galois-l1", tiny.rotation(1)),
    ] {
        let bytes = encode_switching_key(&key, tp).expect("switching key");
        assert_eq!(decode_switching_key(&bytes, tp, &limits).as_ref(), Ok(&key));
        write(&dir, "switching_key", name, &bytes);
    }
    let key = n10.rotation(0);
    let bytes = encode_switching_key(&key, np).expect("switching key");
    write(&dir, "switching_key", "n10-prefix", &cut(bytes));

    let enc = EncapsulationKeys::generate(&TINY, &tiny.sk, 32, &mut tiny.rng);
    let bytes = encode_base_switching_key(&enc.to_sparse, tp).expect("base key");
    assert!(decode_base_switching_key(&bytes, tp, &limits).is_ok());
    write(&dir, "base_switching_key", "tiny", &bytes);
    let enc = EncapsulationKeys::generate(&N10, &n10.sk, 32, &mut n10.rng);
    let bytes = encode_base_switching_key(&enc.to_sparse, np).expect("base key");
    write(&dir, "base_switching_key", "n10-prefix", &cut(bytes));

    let seeded = limb_frames(&tiny.ciphertext(false, 1), &TINY, 7);
    let public = limb_frames(&tiny.ciphertext(true, 1), &TINY, 8);
    for frame in seeded.iter().chain(&public) {
        assert!(LimbFrame::decode(frame, tp, &limits).is_ok());
    }
    write(&dir, "limb_frame", "sk-limb0", &seeded[0]);
    write(&dir, "limb_frame", "pk-limb1", &public[1]);
    let n10_frames = limb_frames(&n10.ciphertext(false, 0), &N10, 9);
    write(
        &dir,
        "limb_frame",
        "n10-prefix",
        &cut(n10_frames[0].clone()),
    );
    write(&dir, "limb_stream", "sk-l1", &stream_input(&seeded));
    write(&dir, "limb_stream", "pk-l1", &stream_input(&public));
}
