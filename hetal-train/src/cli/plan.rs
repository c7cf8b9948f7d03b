//! `hetal plan`: sizes and a time estimate of a job before anything is made.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use hetal_nostd::encrypt::encrypt;
use hetal_nostd::evk::{relin_key, rotation_key, EvaluationKeys};
use hetal_nostd::keys::SecretKey;
use hetal_nostd::math::pack::packed_len_for;
use hetal_nostd::ring::sampling::Csprng;
use hetal_nostd::ring::Context;

use super::CliError;
use crate::ckks::Evaluator;
use crate::ckks_engine::evaluation_key_sizes;
use crate::job::geometry::Geometry;
use crate::job::JobSpec;
use crate::linalg::Layout;

/// A bootstrap is assumed to cost this many key switches at the top user
/// level (an assumption of the estimate, printed with it).
const KEY_SWITCHES_PER_BOOTSTRAP: f64 = 150.0;

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / f64::from(1 << 20))
}

/// Median seconds of a rotation and of a multiplication at the top user
/// level on this machine (keys for one rotation only: fast to make).
fn calibrate(geo: &Geometry) -> Result<(f64, f64), CliError> {
    let backend = |e: &dyn std::fmt::Display| CliError::Message(format!("calibration: {e}"));
    let ctx = Arc::new(Context::new(geo.params.clone()).map_err(|e| backend(&e))?);
    let mut rng = Csprng::from_os().map_err(|e| backend(&e))?;
    let sk = SecretKey::generate(&ctx, &mut rng);
    let keys = EvaluationKeys {
        relin: Some(relin_key(&ctx, &sk, &mut rng)),
        galois: vec![rotation_key(&ctx, &sk, 1, &mut rng)],
    };
    let ev = Evaluator::new(ctx.clone(), keys).map_err(|e| backend(&e))?;
    let level = geo.data_level();
    let ct = encrypt(&ctx, &sk, &[], geo.slots, level, &mut rng).map_err(|e| backend(&e))?;
    let ct = ev.expand(&ct).map_err(|e| backend(&e))?;
    let median = |f: &dyn Fn() -> bool| {
        let mut t: Vec<f64> = (0..5)
            .map(|_| {
                let s = Instant::now();
                let ok = f();
                if ok {
                    s.elapsed().as_secs_f64()
                } else {
                    f64::NAN
                }
            })
            .collect();
        t.sort_by(f64::total_cmp);
        t[2]
    };
    let rot = median(&|| ev.rotate(&ct, 1).is_ok());
    let mul = median(&|| ev.mul_rescale(&ct, &ct).is_ok());
    Ok((rot, mul))
}

/// `hetal plan`.
pub fn plan(job: &Path) -> Result<(), CliError> {
    let spec = JobSpec::read(job)?;
    let geo = Geometry::of(&spec)?;
    let p = &geo.params;
    println!(
        "job {}: preset {} (N = 2^{}, {} slots{}), {} classes (padded {}), {} features + bias, batch {}",
        job.display(),
        spec.preset,
        p.log_n(),
        geo.slots,
        if p.is_insecure() { ", INSECURE" } else { "" },
        spec.classes,
        geo.period,
        spec.features,
        spec.batch_size
    );
    println!("tile shape {} x {}", geo.shape.s0, geo.shape.s1);
    let sizes = evaluation_key_sizes(
        spec.preset(),
        geo.slots,
        &geo.rotation_steps(&spec)?,
        &geo.bootstrap_config(),
    )?;
    println!(
        "evaluation keys: {} keys, {} as sent (seeded), {} in memory (expanded)",
        sizes.count,
        mib(sizes.seeded as f64),
        mib(sizes.expanded as f64)
    );
    let level = geo.data_level();
    let ct = 2 * packed_len_for(p.n(), &p.q()[..=level]);
    let tiles_x = geo.tiles(spec.batch_size, spec.features + 1, Layout::Plain)?;
    let tiles_y = geo.tiles(
        spec.batch_size,
        spec.classes,
        Layout::Horizontal { period: geo.period },
    )?;
    println!(
        "ciphertexts per batch: {} ({} features + {} labels) at level {level}, {} per batch ({} each)",
        tiles_x + tiles_y,
        tiles_x,
        tiles_y,
        mib(((tiles_x + tiles_y) * ct) as f64),
        mib(ct as f64)
    );
    let dry = geo.plan(&spec)?;
    let ops = dry.iteration;
    println!(
        "per iteration (ClearEngine dry run of a steady-state iteration): {} bootstraps, {} Mult, {} CMult, {} Rot, {} Conj; {} distinct rotations",
        ops.bootstrap,
        ops.mult,
        ops.cmult,
        ops.rot,
        ops.conj,
        dry.rotations.len()
    );
    let (rot, mul) = calibrate(&geo)?;
    let ks = (ops.rot + ops.conj) as f64 * rot + ops.mult as f64 * mul;
    let boot = ops.bootstrap as f64 * KEY_SWITCHES_PER_BOOTSTRAP * rot;
    println!(
        "measured here at level {level}: rotation {:.2} ms, multiply+relinearise+rescale {:.2} ms ({} rayon threads)",
        rot * 1e3,
        mul * 1e3,
        rayon::current_num_threads()
    );
    println!(
        "estimated time per iteration: {:.1} s = {:.1} s of rotations and multiplications + {:.1} s of bootstraps",
        ks + boot,
        ks,
        boot
    );
    println!(
        "  assumes: a rotation costs the measured top-user-level rotation whatever its level (an upper bound), \
         a bootstrap costs {KEY_SWITCHES_PER_BOOTSTRAP} such rotations, plaintext products are free"
    );
    Ok(())
}
