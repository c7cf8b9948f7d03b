//! The `eval` suite: the CKKS evaluator at the production preset (N = 2^16,
//! full chain), on 1 and 2 threads: multiply + relinearise + rescale (the
//! fused [`Evaluator::mul_rescale`]), one rotation, 8 hoisted rotations
//! against 8 plain ones, 8 rotations added one by one against the same sum
//! with one ModDown ([`Evaluator::sum_rotations`]), a plaintext multiply (a
//! plaintext encoded and prepared in Montgomery form beforehand, no
//! rescale) and a rescale.
//!
//! The environment variable `HETAL_EVAL_RUNS` overrides the number of timed
//! runs per record (default 5; 3 for the 8-rotation records), and
//! `HETAL_EVAL_ONLY` (comma-separated record names) restricts the records.
//! Records carry the median wall time (`median_s`) and the median process CPU
//! time of the same runs (`median_cpu_s`, all threads together).

use std::hint::black_box;
use std::sync::Arc;

use serde_json::json;

use crate::bench::{emit, median_wall_cpu};
use crate::ckks::Evaluator;
use hetal_nostd::encoding::Complex;
use hetal_nostd::encrypt::encrypt;
use hetal_nostd::evk::EvaluationKeys;
use hetal_nostd::keys::SecretKey;
use hetal_nostd::params::presets::PROD_N16;
use hetal_nostd::ring::sampling::Csprng;
use hetal_nostd::ring::Context;

const STEPS: [i64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

/// Runs the suite.
pub fn run() -> Result<(), String> {
    let runs: usize = std::env::var("HETAL_EVAL_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let only = std::env::var("HETAL_EVAL_ONLY").ok();
    let params = PROD_N16.build().map_err(|e| e.to_string())?;
    let ctx = Arc::new(Context::new(params).map_err(|e| e.to_string())?);
    let mut rng = Csprng::from_os().map_err(|e| e.to_string())?;
    eprintln!(
        "eval: generating keys at {} (relin + {} rotations)",
        PROD_N16.name,
        STEPS.len()
    );
    let sk = SecretKey::generate(&ctx, &mut rng);
    let keys = EvaluationKeys::generate(&ctx, &sk, &STEPS, false, &mut rng);
    let ev = Evaluator::new(ctx.clone(), keys).map_err(|e| e.to_string())?;
    let slots = ctx.params().max_slots();
    let level = ctx.params().max_level();
    let vals = |k: f64| -> Vec<Complex> {
        (0..slots)
            .map(|i| Complex::real(((i as f64 * k).sin() * 0.9).clamp(-1.0, 1.0)))
            .collect()
    };
    let a = encrypt(&ctx, &sk, &vals(0.37), slots, level, &mut rng).map_err(|e| e.to_string())?;
    let b = encrypt(&ctx, &sk, &vals(0.11), slots, level, &mut rng).map_err(|e| e.to_string())?;
    drop(sk);
    // Server-side ciphertexts carry an explicit c1 (expanded once on arrival).
    let (a, b) = (
        ev.expand(&a).map_err(|e| e.to_string())?,
        ev.expand(&b).map_err(|e| e.to_string())?,
    );
    let q = ctx.modulus(level).value() as f64;
    let pt = ev
        .encode(&vals(0.23), a.log_slots, level, q)
        .and_then(|pt| ev.prepare_plaintext(pt, q))
        .map_err(|e| e.to_string())?;
    let product = ev.mul(&a, &b).map_err(|e| e.to_string())?;
    // Every timed operation once, so that failures surface as errors here.
    ev.rescale(&product).map_err(|e| e.to_string())?;
    ev.rotate_hoisted(&a, &STEPS).map_err(|e| e.to_string())?;
    ev.mul_plain_prepared(&a, &pt).map_err(|e| e.to_string())?;
    let dnum = ctx.q_len().div_ceil(ctx.params().digit_size());
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| e.to_string())?;
        let record = |name: &str, runs: usize, f: &(dyn Fn() + Sync)| {
            if !only
                .as_ref()
                .is_none_or(|o| o.split(',').any(|r| r.trim() == name))
            {
                return;
            }
            let (median, cpu) = pool.install(|| median_wall_cpu(runs, f));
            eprintln!(
                "eval: {name} on {threads} thread(s): {:.1} ms",
                median * 1e3
            );
            emit(json!({
                "bench": name,
                "params": PROD_N16.name,
                "threads": threads,
                "median_s": median,
                "median_cpu_s": cpu,
                "runs": runs,
                "limbs": level + 1,
                "dnum": dnum,
            }));
        };
        record("mul_relin_rescale", runs, &|| {
            let _ = black_box(ev.mul_rescale(&a, &b));
        });
        record("rotate", runs, &|| {
            let _ = black_box(ev.rotate(&a, 1));
        });
        let few = runs.min(3);
        record("rotate_hoisted_8", few, &|| {
            let _ = black_box(ev.rotate_hoisted(&a, &STEPS));
        });
        record("rotate_plain_8", few, &|| {
            for k in STEPS {
                let _ = black_box(ev.rotate(&a, k));
            }
        });
        // The giant steps of a linear transform: rotations of (here: one)
        // ciphertext added, one by one and as one sum with one ModDown.
        record("rotate_add_8", few, &|| {
            let sum = STEPS.iter().try_fold(None, |acc: Option<_>, &k| {
                let moved = ev.rotate(&a, k)?;
                match acc {
                    None => Ok(Some(moved)),
                    Some(s) => ev.add(&s, &moved).map(Some),
                }
            });
            let _ = black_box(sum);
        });
        let terms: Vec<_> = STEPS.iter().map(|&k| (&a, k)).collect();
        record("sum_rotations_8", few, &|| {
            let _ = black_box(ev.sum_rotations(&terms));
        });
        record("mul_plain", runs, &|| {
            let _ = black_box(ev.mul_plain_prepared(&a, &pt));
        });
        record("rescale", runs, &|| {
            let _ = black_box(ev.rescale(&product));
        });
    }
    Ok(())
}
