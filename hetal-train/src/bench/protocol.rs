//! The `protocol` suite: upload throughput of keys and ciphertexts over
//! loopback, and the overhead of the three-role protocol against the
//! in-process trainer for one epoch (INSECURE-n10, a small digits job).

use std::path::Path;
use std::time::{Duration, Instant};

use hetal_nostd::ring::sampling::Csprng;
use serde_json::json;

use super::emit;
use crate::ckks_engine::{CkksDecryptor, CkksEngine};
use crate::data::Dataset;
use crate::job::data::write_encrypted_file;
use crate::job::geometry::Geometry;
use crate::job::keyfiles::{keygen, read_owner};
use crate::job::JobSpec;
use crate::protocol::client::Client;
use crate::protocol::owner::{train, Progress, TrainRequest};
use crate::protocol::server::{serve, Server};
use crate::protocol::Status;
use crate::train::{encrypt_dataset, train_encrypted, KeyOwner};

const JOB: &str = "preset = \"INSECURE-n10\"\nclasses = 10\nfeatures = 64\nbatch_size = 32\n\
learning_rate = 0.5\nmax_epochs = 1\npatience = 3\nsoftmax = \"hetal-lean\"\n";
const TRAIN: usize = 128;
const VALIDATION: usize = 64;

struct Quiet;

impl Progress for Quiet {
    fn stage(&mut self, _: &str) {}
    fn upload_bar(&mut self, _: &str) -> indicatif::ProgressBar {
        indicatif::ProgressBar::hidden()
    }
    fn status(&mut self, _: &Status) {}
    fn judged(&mut self, _: usize, _: f64, _: bool) {}
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Runs the suite.
pub fn run() -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("hetal-bench-protocol-{}", std::process::id()));
    let result = run_in(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(dir: &Path) -> Result<(), String> {
    let spec = JobSpec::parse(JOB, "bench job").map_err(err)?;
    let geo = Geometry::of(&spec).map_err(err)?;
    let threads = rayon::current_num_threads();
    let params = spec.preset.clone();
    let all = crate::data::digits().map_err(err)?;
    let pick = |range: std::ops::Range<usize>| -> Dataset {
        let mut d = all.select(&range.collect::<Vec<_>>());
        d.features = crate::linalg::Matrix::from_fn(d.len(), 64, |r, c| d.features.row(r)[c]);
        d
    };
    let (train_set, val_set) = (pick(0..TRAIN), pick(TRAIN..TRAIN + VALIDATION));
    eprintln!("protocol: keys and encrypted data for {params}");
    let owner_dir = dir.join("OWNER");
    keygen(&spec, &owner_dir, &mut |_| {}).map_err(err)?;
    let (_, keys) = read_owner(&owner_dir).map_err(err)?;
    let rng = Csprng::from_os().map_err(err)?;
    let producer = CkksEngine::producer(spec.preset(), geo.slots, keys.public_key().clone(), rng)
        .map_err(err)?;
    let data_path = dir.join("train.data");
    write_encrypted_file(&producer, &spec, &train_set, true, &data_path, &mut || {})
        .map_err(err)?;
    // The server, in this process, on loopback.
    let server = Server::open(&dir.join("STORE"), true).map_err(err)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(err)?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(err)?;
    let url = format!("http://{}", listener.local_addr().map_err(err)?);
    runtime.spawn(serve(listener, server));
    // Upload throughput.
    let client = Client::new(&url).map_err(err)?;
    let created = client.create_job(JOB).map_err(err)?;
    let client = client.with_token(&created.token);
    let bar = indicatif::ProgressBar::hidden();
    for (route, path) in [
        ("eval-keys", owner_dir.join("eval.keys")),
        ("train-data", data_path.clone()),
    ] {
        let start = Instant::now();
        let up = client
            .upload(&created.id, route, &path, &bar)
            .map_err(err)?;
        let t = start.elapsed().as_secs_f64();
        eprintln!("protocol: {route}: {} bytes in {t:.3} s", up.bytes);
        emit(
            json!({"bench": "protocol_upload", "params": params, "threads": threads,
            "median_s": t, "runs": 1, "what": route, "bytes": up.bytes, "frames": up.frames,
            "mb_per_s": up.bytes as f64 / 1e6 / t}),
        );
    }
    // One epoch through the protocol (a fresh job, everything included).
    eprintln!("protocol: one epoch through the protocol");
    let out = dir.join("MODEL");
    let start = Instant::now();
    let outcome = train(
        &TrainRequest {
            server: &url,
            ca: None,
            spec: &spec,
            keys: &keys,
            eval_keys: &owner_dir.join("eval.keys"),
            train_data: &data_path,
            validation: &val_set,
            out: &out,
            patience: Duration::from_secs(60),
        },
        &mut Quiet,
    )
    .map_err(err)?;
    let protocol_s = start.elapsed().as_secs_f64();
    // The same epoch in one process holding every key (key generation excluded).
    eprintln!("protocol: the same epoch in process");
    let steps = geo.rotation_steps(&spec).map_err(err)?;
    let engine = CkksEngine::bootstrappable(
        spec.preset(),
        geo.slots,
        &steps,
        &geo.bootstrap_config(),
        Csprng::from_os().map_err(err)?,
    )
    .map_err(err)?;
    let config = spec.train_config();
    let start = Instant::now();
    let data =
        encrypt_dataset(&engine, &train_set, &val_set, &config, geo.data_level()).map_err(err)?;
    let mut judge = KeyOwner::new(
        CkksDecryptor(&engine),
        val_set.labels.clone(),
        spec.train_config().early_stopping(),
    );
    train_encrypted(&engine, &data, &config, &mut judge, spec.softmax_method()).map_err(err)?;
    let local_s = start.elapsed().as_secs_f64();
    emit(
        json!({"bench": "protocol_epoch", "params": params, "threads": threads,
        "median_s": protocol_s, "runs": 1, "iterations": outcome.iterations,
        "in_process_s": local_s, "overhead_ratio": protocol_s / local_s,
        "note": "protocol: hetal train's whole session (create, upload keys/data/validation, server engine from keys, 1 epoch, verdict, weights); in process: encrypt + train_encrypted, keys already made"}),
    );
    runtime.shutdown_background();
    Ok(())
}
