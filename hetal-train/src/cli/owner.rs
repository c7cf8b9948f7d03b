//! The key owner's and the producer's commands: `keygen`, `encrypt`,
//! `train`, `predict`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hetal_nostd::ring::sampling::Csprng;
use indicatif::{ProgressBar, ProgressStyle};

use super::CliError;
use crate::ckks_engine::CkksEngine;
use crate::io::model::{argmax, confusion, Model, ModelMeta};
use crate::io::plot::write_loss_svg;
use crate::io::{read_features, read_labelled, read_labels};
use crate::job::data::write_encrypted_file;
use crate::job::geometry::Geometry;
use crate::job::keyfiles::{self, EVAL_KEYS};
use crate::job::JobSpec;
use crate::protocol::inference::PredictRequest;
use crate::protocol::owner::{Progress, TrainRequest};
use crate::protocol::{JobState, Status};
use crate::train::accuracy;

/// File the producer writes in its output directory.
pub const TRAIN_DATA: &str = "train.data";

fn bar(len: u64, template: &str) -> ProgressBar {
    let b = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        b.set_style(style);
    }
    b
}

/// `hetal keygen`.
pub fn keygen(job: &Path, out: &Path, insecure: bool) -> Result<(), CliError> {
    let spec = JobSpec::read(job)?;
    spec.check_security(insecure)?;
    let spinner = ProgressBar::new_spinner();
    spinner.enable_steady_tick(Duration::from_millis(120));
    let sizes = keyfiles::keygen(&spec, out, &mut |what| {
        spinner.set_message(format!("generating {what}"))
    })?;
    spinner.finish_and_clear();
    println!(
        "wrote {}/secret.key (mode 0600: keep it here), public.key ({} bytes), eval.keys ({} keys, {} bytes)",
        out.display(),
        sizes.public_bytes,
        sizes.eval_keys,
        sizes.eval_bytes
    );
    Ok(())
}

/// `hetal encrypt`.
pub fn encrypt(public: &Path, features: &Path, labels: &Path, out: &Path) -> Result<(), CliError> {
    let (spec, pk) = keyfiles::read_public(public)?;
    let data = read_labelled(features, labels, spec.features, spec.classes)?;
    let geo = Geometry::of(&spec)?;
    let rng = Csprng::from_os().map_err(|e| CliError::Message(format!("no OS entropy: {e}")))?;
    let engine = CkksEngine::producer(spec.preset(), geo.slots, pk, rng)?;
    std::fs::create_dir_all(out).map_err(|e| crate::io::FileError::io(out, e))?;
    let batches = spec.train_config().batches(data.len()).len();
    let progress = bar(
        batches as u64,
        "encrypting {bar:40} {pos}/{len} batches {eta}",
    );
    let path = out.join(TRAIN_DATA);
    write_encrypted_file(&engine, &spec, &data, true, &path, &mut || progress.inc(1))?;
    progress.finish_and_clear();
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "wrote {} ({} samples, {batches} batches, {bytes} bytes)",
        path.display(),
        data.len()
    );
    Ok(())
}

/// Arguments of `hetal train`.
pub struct TrainArgs {
    pub server: String,
    pub ca: Option<PathBuf>,
    pub owner: PathBuf,
    pub data: PathBuf,
    pub validation: PathBuf,
    pub validation_labels: PathBuf,
    pub out: PathBuf,
    pub insecure: bool,
    pub plot: Option<PathBuf>,
    pub retry: Duration,
}

struct Bars {
    epochs: Option<ProgressBar>,
}

impl Progress for Bars {
    fn stage(&mut self, what: &str) {
        eprintln!("{what}");
    }

    fn upload_bar(&mut self, what: &str) -> ProgressBar {
        let b = bar(
            0,
            "{msg:16} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        );
        b.set_message(what.to_string());
        b
    }

    fn status(&mut self, s: &Status) {
        let total = (s.max_epochs * s.iterations_per_epoch.max(1)) as u64;
        let b = self
            .epochs
            .get_or_insert_with(|| bar(total, "{bar:40} {pos}/{len} iterations  {msg}"));
        b.set_length(total);
        b.set_position(s.iteration as u64);
        let eta = s
            .eta_seconds
            .map_or_else(|| "-".into(), |e| format!("{e:.0}s (to the epoch cap)"));
        let state = match s.state {
            JobState::AwaitingVerdict => "awaiting verdict",
            JobState::Training => "training",
            JobState::Loading => "loading keys",
            JobState::Queued => "queued",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Created => "created",
        };
        b.set_message(format!(
            "epoch {}/{}  bootstraps {}  ETA {eta}  [{state}]",
            s.epoch, s.max_epochs, s.bootstraps
        ));
    }

    fn judged(&mut self, epoch: usize, loss: f64, stop: bool) {
        let line = format!(
            "epoch {epoch}: validation loss {loss:.5} -> {}",
            if stop { "stop" } else { "continue" }
        );
        match &self.epochs {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }
}

/// `hetal train`.
pub fn train(args: &TrainArgs) -> Result<(), CliError> {
    let (spec, keys) = keyfiles::read_owner(&args.owner)?;
    spec.check_security(args.insecure)?;
    let validation = read_labelled(
        &args.validation,
        &args.validation_labels,
        spec.features,
        spec.classes,
    )?;
    let mut ui = Bars { epochs: None };
    let outcome = crate::protocol::owner::train(
        &TrainRequest {
            server: &args.server,
            ca: args.ca.as_deref(),
            spec: &spec,
            keys: &keys,
            eval_keys: &args.owner.join(EVAL_KEYS),
            train_data: &args.data.join(TRAIN_DATA),
            validation: &validation,
            out: &args.out,
            patience: args.retry,
        },
        &mut ui,
    )?;
    if let Some(b) = &ui.epochs {
        b.finish_and_clear();
    }
    let model = Model {
        weights: outcome.weights,
        meta: ModelMeta {
            preset: spec.preset.clone(),
            classes: spec.classes,
            features: spec.features,
            epochs: outcome.epochs,
            iterations: outcome.iterations,
            best_epoch: outcome.best_epoch,
            validation_losses: outcome.losses.clone(),
        },
    };
    model.write(&args.out)?;
    let predicted = model.predict(&validation.features);
    let acc = accuracy_of(&predicted, &validation.labels);
    println!(
        "job {}: {} epochs, {} iterations; best epoch {} (validation loss {:.5}, accuracy {:.2}%)",
        outcome.job,
        outcome.epochs,
        outcome.iterations,
        outcome.best_epoch,
        outcome
            .losses
            .get(outcome.best_epoch.wrapping_sub(1))
            .copied()
            .unwrap_or(f64::NAN),
        100.0 * acc
    );
    for (i, l) in outcome.losses.iter().enumerate() {
        println!("  epoch {:>3}: validation loss {l:.5}", i + 1);
    }
    println!("wrote {}/weights.npy and model.json", args.out.display());
    if let Some(plot) = &args.plot {
        write_loss_svg(plot, &outcome.losses, outcome.best_epoch)?;
        println!("wrote {}", plot.display());
    }
    Ok(())
}

fn accuracy_of(predicted: &[usize], labels: &[usize]) -> f64 {
    let hits = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    hits as f64 / labels.len().max(1) as f64
}

/// Where `hetal predict --encrypted` runs the model.
pub struct Remote {
    /// The key owner's directory.
    pub owner: PathBuf,
    /// Server URL (default: the model's session's).
    pub server: Option<String>,
    /// Extra root certificate for an https:// server.
    pub ca: Option<PathBuf>,
}

/// Predictions of encrypted inference, and how many agree with the
/// plaintext model's.
fn predict_encrypted(
    dir: &Path,
    model: &Model,
    x: &crate::linalg::Matrix,
    remote: &Remote,
) -> Result<(Vec<usize>, usize), CliError> {
    let (spec, keys) = keyfiles::read_owner(&remote.owner)?;
    spec.check_security(true)?;
    if spec.preset != model.meta.preset
        || spec.classes != model.meta.classes
        || spec.features != model.meta.features
    {
        return Err(CliError::Message(format!(
            "{}: the keys are for another job than the model in {}",
            remote.owner.display(),
            dir.display()
        )));
    }
    let data = crate::data::Dataset {
        features: x.clone(),
        labels: vec![0; x.rows()],
        classes: spec.classes,
    };
    let logits = crate::protocol::inference::predict(&PredictRequest {
        server: remote.server.as_deref(),
        ca: remote.ca.as_deref(),
        spec: &spec,
        keys: &keys,
        model: dir,
        data: &data,
    })?;
    let predicted: Vec<usize> = (0..logits.rows()).map(|r| argmax(logits.row(r))).collect();
    let agree = predicted
        .iter()
        .zip(model.predict(x))
        .filter(|(a, b)| **a == *b)
        .count();
    Ok((predicted, agree))
}

/// `hetal predict` (with `remote`: encrypted inference on the server).
pub fn predict(
    model_dir: &Path,
    features: &Path,
    labels: Option<&Path>,
    json: bool,
    remote: Option<&Remote>,
) -> Result<(), CliError> {
    let model = Model::read(model_dir)?;
    let x = read_features(features, Some(model.meta.features))?;
    let (predicted, agree) = match remote {
        Some(r) => {
            let (p, agree) = predict_encrypted(model_dir, &model, &x, r)?;
            (p, Some(agree))
        }
        None => (model.predict(&x), None),
    };
    let Some(labels) = labels else {
        for p in &predicted {
            println!("{p}");
        }
        return Ok(());
    };
    let y = read_labels(labels, model.meta.classes)?;
    if y.len() != x.rows() {
        return Err(crate::io::FileError::bad(
            labels,
            crate::io::Problem::RowMismatch {
                features: x.rows(),
                labels: y.len(),
            },
        )
        .into());
    }
    let classes = model.meta.classes;
    let data = crate::data::Dataset {
        features: x,
        labels: y,
        classes,
    };
    let acc = match agree {
        Some(_) => accuracy_of(&predicted, &data.labels),
        None => accuracy(&model.weights, &data)?,
    };
    let y = data.labels;
    if json {
        let mut v = serde_json::json!({ "accuracy": acc, "samples": y.len() });
        if let Some(a) = agree {
            v["encrypted"] = true.into();
            v["agree_with_plaintext"] = a.into();
        }
        println!("{v}");
        return Ok(());
    }
    println!(
        "accuracy {:.2}% on {} samples{}",
        100.0 * acc,
        y.len(),
        agree.map_or(String::new(), |a| format!(
            " (encrypted inference; {a} of {} predictions equal the plaintext model's)",
            y.len()
        ))
    );
    println!("confusion matrix (rows: true class, columns: predicted):");
    let m = confusion(model.meta.classes, &y, &predicted);
    print!("{:>6}", "");
    for k in 0..model.meta.classes {
        print!("{k:>6}");
    }
    println!();
    for (k, row) in m.iter().enumerate() {
        print!("{k:>6}");
        for c in row {
            print!("{c:>6}");
        }
        println!();
    }
    Ok(())
}
