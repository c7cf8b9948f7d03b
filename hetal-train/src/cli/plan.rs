//! `hetal plan`: sizes and a time estimate of a job before anything is made.

use std::path::Path;

use hetal_nostd::math::pack::packed_len_for;

use super::CliError;
use crate::ckks_engine::{bootstrap_census, evaluation_key_sizes, measure_prices, Work};
use crate::job::geometry::Geometry;
use crate::job::JobSpec;
use crate::linalg::Layout;

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / f64::from(1 << 20))
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
    // Prices of this machine at every level the iteration's operations
    // (the top user level) and a bootstrap's run at.
    let census = bootstrap_census(spec.preset(), geo.slots, &geo.bootstrap_config())?;
    let mut levels = census.levels();
    levels.insert(level);
    let prices = measure_prices(spec.preset(), geo.slots, levels.iter().copied())?;
    let missing = || CliError::Message("calibration: a level was not measured".into());
    let rot = prices.get(Work::Switch, level).ok_or_else(missing)?;
    let mul = prices.get(Work::Product, level).ok_or_else(missing)?;
    let boot_one = prices.price(&census).ok_or_else(missing)?;
    let ks = (ops.rot + ops.conj) as f64 * rot + ops.mult as f64 * mul;
    let boot = ops.bootstrap as f64 * boot_one;
    println!(
        "measured here at level {level}: rotation {:.2} ms, multiply+relinearise+rescale {:.2} ms ({} rayon threads)",
        rot * 1e3,
        mul * 1e3,
        rayon::current_num_threads()
    );
    let (lo, hi) = (
        levels.first().copied().unwrap_or(0),
        levels.last().copied().unwrap_or(0),
    );
    println!(
        "one bootstrap, modelled from its circuit: {:.2} s for {} key switches ({} single rotations and \
         conjugations, {} hoisted groups of {} rotations in all, {} sums of {} rotations in all, {} products) \
         + {} products by plaintexts + {} rescales, at levels {lo}..={hi}",
        boot_one,
        census.key_switches(),
        census.total(Work::Switch),
        census.total(Work::HoistedDecomposition),
        census.total(Work::HoistedRotation),
        census.total(Work::LazySum),
        census.total(Work::LazyRotation),
        census.total(Work::Product),
        census.total(Work::PlainProduct),
        census.total(Work::Rescale),
    );
    println!(
        "estimated time per iteration: {:.1} s = {:.1} s of rotations and multiplications + {:.1} s of bootstraps",
        ks + boot,
        ks,
        boot
    );
    println!(
        "  assumes: the iteration's rotations and products cost the measured top-user-level ones whatever \
         their level (an upper bound); each bootstrap operation costs what the same operation measured \
         here at its level (median of {}; a hoisted group = its decomposition + each rotation, read off \
         groups of one and two; a sum of rotations likewise); not modelled: ModRaise's NTTs, the level-0 switch to the sparse secret, \
         additions, products by constants, plaintext encodings",
        crate::ckks_engine::bootstrap::RUNS,
    );
    Ok(())
}
