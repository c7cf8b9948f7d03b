//! The `core` suite: NTT, encoding and public-key encryption at the
//! production preset (hetal-nostd, single thread).

use super::{emit, median_seconds, median_wall_cpu};
use hetal_nostd::encoding::{encode_into, packed_to_residues, Complex};
use hetal_nostd::encrypt::encrypt;
use hetal_nostd::keys::{PublicKey, SecretKey};
use hetal_nostd::params::presets::PROD_N16;
use hetal_nostd::ring::sampling::Csprng;
use hetal_nostd::ring::Context;
use hetal_nostd::wire::encode_ciphertext;
use serde_json::json;

const RUNS: usize = 9;

/// Runs the suite.
pub fn run() -> Result<(), String> {
    let params = PROD_N16.build().map_err(|e| e.to_string())?;
    let name = params.name().to_string();
    eprintln!(
        "core: building NTT tables for {} primes at N = 2^16",
        params.q().len() + params.p().len()
    );
    let ctx = Context::new(params).map_err(|e| e.to_string())?;
    let params = ctx.params();
    let n = params.n();
    let slots = params.max_slots();

    eprintln!("core: NTT");
    // q0 (the 60-bit base prime) first, then a 40-bit user prime and a
    // 61-bit special prime.
    for index in [0, 1, ctx.q_len()] {
        let table = ctx.table(index);
        let mut a: Vec<u64> = (0..n as u64)
            .map(|i| (i * 0x9e37_79b9) % table.modulus().value())
            .collect();
        let fwd = median_wall_cpu(RUNS * 10, || table.forward(&mut a));
        let inv = median_wall_cpu(RUNS * 10, || table.inverse(&mut a));
        for (direction, (t, cpu)) in [("forward", fwd), ("inverse", inv)] {
            emit(
                json!({"bench": "ntt", "params": name, "threads": 1, "median_s": t, "median_cpu_s": cpu, "runs": RUNS * 10,
                "logn": params.log_n(), "prime_bits": table.modulus().bits(), "direction": direction}),
            );
        }
    }

    let values: Vec<Complex> = (0..slots)
        .map(|i| Complex::real(((i * 7919) % 1000) as f64 / 1000.0 - 0.5))
        .collect();
    for level in [params.user_top_level(), params.max_level()] {
        eprintln!("core: encode at level {level}");
        let mut packed = vec![Complex::default(); slots];
        let mut limbs = vec![0u64; n * (level + 1)];
        let t = median_seconds(RUNS, || {
            encode_into(&values, params.scale(), &mut packed).expect("valid input");
            for (i, limb) in limbs.chunks_exact_mut(n).enumerate() {
                packed_to_residues(&packed, ctx.modulus(i), limb);
                ctx.table(i).forward(limb);
            }
        });
        emit(
            json!({"bench": "encode", "params": name, "threads": 1, "median_s": t, "runs": RUNS,
            "slots": slots, "level": level, "limbs": level + 1}),
        );
    }

    eprintln!("core: key generation");
    let mut rng = Csprng::from_os().map_err(|e| e.to_string())?;
    let sk = SecretKey::generate(&ctx, &mut rng);
    let pk = PublicKey::generate(&ctx, &sk, &mut rng);
    for level in [params.user_top_level(), params.max_level()] {
        eprintln!("core: encode + public-key encrypt at level {level}");
        let mut ct = None;
        let t = median_seconds(RUNS, || {
            ct = Some(encrypt(&ctx, &pk, &values, slots, level, &mut rng).expect("valid input"));
        });
        let pk_bytes = ct
            .as_ref()
            .map(|c| encode_ciphertext(c, params).len())
            .unwrap_or(0);
        let sk_ct =
            encrypt(&ctx, &sk, &values, slots, level, &mut rng).map_err(|e| e.to_string())?;
        let seeded = encode_ciphertext(&sk_ct, params).len();
        emit(
            json!({"bench": "encode_encrypt_pk", "params": name, "threads": 1, "median_s": t, "runs": RUNS,
            "slots": slots, "level": level, "limbs": level + 1, "wire_bytes": pk_bytes,
            "wire_bytes_seeded_sk": seeded, "in_memory_bytes": 2 * 8 * n * (level + 1)}),
        );
    }
    Ok(())
}
