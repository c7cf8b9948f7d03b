//! The `range` suite: how precise bootstrapping is against the magnitude of
//! its input (EvalMod approximates the identity by a sine, so the error
//! grows with |x|). One record `bootstrap_range` per bound B: slots hold
//! B·sin(0.7311·j) (every magnitude up to B), bootstrapped once from level
//! 0; the precision is −log2 of the worst and the mean error over all slots
//! (real part against the input, imaginary part against 0). This is the
//! measurement behind [`crate::engine::BOOTSTRAP_RANGE`].
//!
//! Environment: `HETAL_RANGE_PRESET` (default `prod-n16`).

use std::time::Instant;

use serde_json::json;

use crate::bench::emit;
use crate::ckks_engine::{BootstrapConfig, CkksDecryptor, CkksEngine};
use crate::engine::{Decryptor, Engine};
use hetal_nostd::params::presets;
use hetal_nostd::ring::sampling::Csprng;

/// Input bounds measured.
const BOUNDS: [f64; 9] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// Runs the suite.
pub fn run() -> Result<(), String> {
    let name = std::env::var("HETAL_RANGE_PRESET").unwrap_or_else(|_| "prod-n16".into());
    let lit = presets::by_name(&name).ok_or(format!("unknown preset `{name}`"))?;
    let params = lit.build().map_err(|e| e.to_string())?;
    let slots = params.max_slots();
    eprintln!("range: bootstrapping keys at {} ({slots} slots)", lit.name);
    let rng = Csprng::from_os().map_err(|e| e.to_string())?;
    let engine = CkksEngine::bootstrappable(lit, slots, &[], &BootstrapConfig::default(), rng)
        .map_err(|e| e.to_string())?;
    let decryptor = CkksDecryptor(&engine);
    for bound in BOUNDS {
        let x: Vec<f64> = (0..slots)
            .map(|j| bound * (j as f64 * 0.7311).sin())
            .collect();
        let ct = engine.encrypt_real(&x, 0).map_err(|e| e.to_string())?;
        let start = Instant::now();
        let fresh = engine.bootstrap(&ct).map_err(|e| e.to_string())?;
        let seconds = start.elapsed().as_secs_f64();
        let got = decryptor.decrypt(&fresh).map_err(|e| e.to_string())?;
        let errors: Vec<f64> = got
            .iter()
            .zip(&x)
            .map(|(g, w)| (g.re - w).abs().max(g.im.abs()))
            .collect();
        let worst = errors.iter().copied().fold(0.0, f64::max);
        let mean = errors.iter().sum::<f64>() / errors.len() as f64;
        emit(json!({
            "bench": "bootstrap_range",
            "params": lit.name,
            "threads": rayon::current_num_threads(),
            "runs": 1,
            "median_s": seconds,
            "bound": bound,
            "precision_min_bits": -worst.log2(),
            "precision_mean_bits": -mean.log2(),
            "levels_left": engine.level(&fresh),
        }));
    }
    Ok(())
}
