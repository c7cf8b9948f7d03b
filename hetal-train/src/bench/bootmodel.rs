//! The `bootmodel` suite: checks `hetal plan`'s bootstrap model against a
//! real bootstrap. For one preset, one record `bootstrap_model` with the
//! modelled seconds of a bootstrap (the circuit's census priced with
//! operations measured here level by level, as `hetal plan` does), the
//! measured median seconds of real bootstraps on the same slots, their
//! ratio, and the census's totals.
//!
//! Environment: `HETAL_BOOTMODEL_PRESET` (default `INSECURE-n12-train`;
//! the N = 2^16 presets need about 10 GB), `HETAL_BOOTMODEL_SLOTS`
//! (default N/2) and `HETAL_BOOTMODEL_RUNS` (timed bootstraps, default 3).

use serde_json::json;

use crate::bench::{emit, env_usize, median_seconds};
use crate::ckks_engine::{bootstrap_census, measure_prices, BootstrapConfig, CkksEngine, Work};
use crate::engine::Engine;
use hetal_nostd::params::presets;
use hetal_nostd::ring::sampling::Csprng;

/// Runs the suite.
pub fn run() -> Result<(), String> {
    let name =
        std::env::var("HETAL_BOOTMODEL_PRESET").unwrap_or_else(|_| "INSECURE-n12-train".into());
    let lit = presets::by_name(&name).ok_or(format!("unknown preset `{name}`"))?;
    let slots = env_usize("HETAL_BOOTMODEL_SLOTS").unwrap_or(1 << (lit.log_n - 1));
    let runs = env_usize("HETAL_BOOTMODEL_RUNS").unwrap_or(3).max(1);
    let err = |e: crate::engine::EngineError| e.to_string();
    let params = lit.build().map_err(|e| e.to_string())?;
    let config = BootstrapConfig::for_segments(params.segments());
    let census = bootstrap_census(lit, slots, &config).map_err(err)?;
    eprintln!(
        "bootmodel: {name}: pricing {} levels",
        census.levels().len()
    );
    let prices = measure_prices(lit, slots, census.levels()).map_err(err)?;
    let modelled = prices
        .price(&census)
        .ok_or("a level of the census was not priced")?;
    let by_work: serde_json::Map<String, serde_json::Value> = [
        Work::Switch,
        Work::HoistedDecomposition,
        Work::HoistedRotation,
        Work::LazyRotation,
        Work::LazySum,
        Work::Product,
        Work::PlainProduct,
        Work::Rescale,
    ]
    .into_iter()
    .map(|w| (format!("{w:?}"), json!(prices.price_of(&census, w))))
    .collect();
    eprintln!("bootmodel: {name}: keys and setup of a bootstrappable engine");
    let rng = Csprng::from_os().map_err(|e| e.to_string())?;
    let engine = CkksEngine::bootstrappable(lit, slots, &[], &config, rng).map_err(err)?;
    let ct = engine.encrypt(&[], engine.bootstrap_level()).map_err(err)?;
    let mut failure = None;
    let measured = median_seconds(runs, || {
        if let Err(e) = engine.bootstrap(&ct) {
            failure = Some(e);
        }
    });
    if let Some(e) = failure {
        return Err(err(e));
    }
    emit(json!({
        "bench": "bootstrap_model",
        "params": name,
        "slots": slots,
        "threads": rayon::current_num_threads(),
        "runs": runs,
        "modelled_s": modelled,
        "median_s": measured,
        "model_over_measured": modelled / measured,
        "key_switches": census.key_switches(),
        "single_switches": census.total(Work::Switch),
        "hoisted_groups": census.total(Work::HoistedDecomposition),
        "hoisted_rotations": census.total(Work::HoistedRotation),
        "products": census.total(Work::Product),
        "plain_products": census.total(Work::PlainProduct),
        "rescales": census.total(Work::Rescale),
        "modelled_s_by_work": by_work,
    }));
    Ok(())
}
