//! The `hetal` command line: the three roles' commands (`plan`, `keygen`,
//! `encrypt`, `serve`, `train`, `predict`) plus `bench`, `demo` and
//! `presets`.

mod owner;
mod plan;
mod serve;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use hetal_nostd::params::presets;
use thiserror::Error;

/// hetal: privacy-preserving transfer learning with CKKS homomorphic encryption.
///
/// The journey: `plan` a job, `keygen` the key owner's keys, `encrypt` the
/// training data with the public key, `serve` on the untrusted server,
/// `train` as the key owner (uploads, early stopping, decrypts the model),
/// `predict` locally.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sizes and a time estimate of a job before anything is made.
    Plan {
        /// The job file.
        #[arg(long)]
        job: PathBuf,
    },
    /// Generate the key owner's keys: OUT/secret.key (mode 0600),
    /// OUT/public.key, OUT/eval.keys.
    Keygen {
        /// The job file.
        #[arg(long)]
        job: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Allow an INSECURE test preset.
        #[arg(long)]
        insecure: bool,
    },
    /// Encrypt labelled training data with the public key into OUT/train.data.
    Encrypt {
        /// The key owner's public.key (it carries the job).
        #[arg(long)]
        public: PathBuf,
        /// Features: .npy (float32/float64, 2-D) or .csv.
        #[arg(long)]
        features: PathBuf,
        /// Labels: .npy (integers, 1-D) or .csv (one per line).
        #[arg(long)]
        labels: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run the (untrusted) training server.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8750")]
        listen: String,
        /// Directory of the job store (created if missing).
        #[arg(long)]
        store: PathBuf,
        /// Accept jobs on INSECURE test presets.
        #[arg(long)]
        insecure: bool,
        /// Serve HTTPS with this certificate chain (PEM, leaf first; needs --tls-key).
        #[arg(long = "tls-cert", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1; needs --tls-cert).
        #[arg(long = "tls-key", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Train as the key owner: create the job, upload keys and data, answer
    /// early stopping, download and decrypt the model into OUT/.
    Train {
        /// Server URL (http:// or https://).
        #[arg(long)]
        server: String,
        /// Also trust this root certificate (PEM) for an https:// server
        /// (the operating system's roots are trusted always).
        #[arg(long)]
        ca: Option<PathBuf>,
        /// The key owner's directory (from `keygen`).
        #[arg(long)]
        owner: PathBuf,
        /// Directory of the encrypted training data (from `encrypt`).
        #[arg(long)]
        data: PathBuf,
        /// Validation features (.npy or .csv).
        #[arg(long)]
        validation: PathBuf,
        /// Validation labels (.npy or .csv).
        #[arg(long = "validation-labels")]
        validation_labels: PathBuf,
        /// Model directory to write (weights.npy, model.json); also holds
        /// the session (session.json) for resuming.
        #[arg(long)]
        out: PathBuf,
        /// Allow an INSECURE test preset.
        #[arg(long)]
        insecure: bool,
        /// Also write an SVG chart of the validation loss per epoch (addition).
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Seconds to keep retrying an unreachable server (addition).
        #[arg(long, default_value_t = 600)]
        retry_seconds: u64,
    },
    /// Run a model locally (plaintext), or with --encrypted on the server
    /// (encrypted features, encrypted weights; the key owner decrypts the
    /// logits): accuracy and confusion matrix.
    Predict {
        /// Model directory (from `train`).
        #[arg(long)]
        model: PathBuf,
        /// Encrypted inference on the server that trained the model (its
        /// job and token come from MODEL/session.json); needs --owner.
        #[arg(long, requires = "owner")]
        encrypted: bool,
        /// The key owner's directory (from `keygen`), for --encrypted.
        #[arg(long)]
        owner: Option<PathBuf>,
        /// Server URL for --encrypted (default: the one in the session).
        #[arg(long)]
        server: Option<String>,
        /// Also trust this root certificate (PEM) for an https:// server.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// Features (.npy or .csv).
        #[arg(long)]
        features: PathBuf,
        /// Labels (.npy or .csv); without them only predictions are printed.
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Print `{"accuracy": …, "samples": …}` only.
        #[arg(long)]
        json: bool,
    },
    /// Run a benchmark suite; prints one JSON object per line on stdout.
    Bench {
        /// Suite name.
        suite: String,
    },
    /// The main job on an embedded default: train a classifier head on the
    /// digits data set on real CKKS ciphertexts (key generation, encryption,
    /// training with bootstrapping, early stopping through the key owner,
    /// decryption), beside the f64 reference trainer; a public-key
    /// encryption round trip first.
    Demo {
        /// Parameter preset (see `hetal presets`): by default the 128-bit
        /// training chain (15 levels per bootstrap).
        #[arg(long, default_value = "prod-n16-train")]
        preset: String,
        /// Allow an INSECURE test preset.
        #[arg(long)]
        insecure: bool,
        /// Epoch cap of the encrypted training; 0 skips it.
        #[arg(long, default_value_t = crate::demo::encrypted::MAX_EPOCHS)]
        epochs: usize,
        /// Epoch cap of an extra training run on the clear slot simulator
        /// (NOT encrypted); 0 (the default) skips it.
        #[arg(long, default_value_t = 0)]
        simulate_epochs: usize,
    },
    /// List the parameter presets.
    Presets,
    /// Client side: turn raw data into features and labels with a frozen
    /// pre-trained model (prints a JSON summary on stdout).
    #[cfg(feature = "extract")]
    Extract {
        #[command(subcommand)]
        job: crate::extract::cli::ExtractCommand,
    },
}

/// Errors of the commands (printed as one line).
#[derive(Debug, Error)]
pub enum CliError {
    /// Job file.
    #[error(transparent)]
    Job(#[from] crate::job::JobError),
    /// Input or output file.
    #[error(transparent)]
    File(#[from] crate::io::FileError),
    /// Key files.
    #[error(transparent)]
    Keys(#[from] crate::job::keyfiles::KeyFileError),
    /// Encrypted data.
    #[error(transparent)]
    Data(#[from] crate::job::data::DataError),
    /// Engine.
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    /// Training.
    #[error(transparent)]
    Train(#[from] crate::train::TrainError),
    /// Key owner session.
    #[error(transparent)]
    Owner(#[from] crate::protocol::owner::OwnerError),
    /// Server store.
    #[error(transparent)]
    Store(#[from] crate::protocol::store::StoreError),
    /// TLS certificate, key or root files.
    #[error(transparent)]
    Tls(#[from] crate::protocol::tls::TlsError),
    /// Network or runtime.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// Feature extraction.
    #[cfg(feature = "extract")]
    #[error(transparent)]
    Extract(#[from] crate::extract::ExtractError),
    /// Benchmark or demo failure.
    #[error("{0}")]
    Message(String),
}

/// Parses the command line and runs the command; returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    // Refuse a HETAL_KERNEL forcing a kernel path this CPU cannot run.
    if let Err(e) = hetal_nostd::math::kernel::select() {
        let value = std::env::var(hetal_nostd::math::kernel::ENV_VAR).unwrap_or_default();
        eprintln!("error: {e} (got `{value}`)");
        return 2;
    }
    match run(cli.command) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Plan { job } => plan::plan(&job),
        Command::Keygen { job, out, insecure } => owner::keygen(&job, &out, insecure),
        Command::Encrypt {
            public,
            features,
            labels,
            out,
        } => owner::encrypt(&public, &features, &labels, &out),
        Command::Serve {
            listen,
            store,
            insecure,
            tls_cert,
            tls_key,
        } => {
            let tls = tls_cert
                .zip(tls_key)
                .map(|(cert, key)| serve::TlsFiles { cert, key });
            serve::serve(&listen, &store, insecure, tls.as_ref())
        }
        Command::Train {
            server,
            ca,
            owner,
            data,
            validation,
            validation_labels,
            out,
            insecure,
            plot,
            retry_seconds,
        } => owner::train(&owner::TrainArgs {
            server,
            ca,
            owner,
            data,
            validation,
            validation_labels,
            out,
            insecure,
            plot,
            retry: std::time::Duration::from_secs(retry_seconds),
        }),
        Command::Predict {
            model,
            encrypted,
            owner,
            server,
            ca,
            features,
            labels,
            json,
        } => {
            let remote =
                owner
                    .filter(|_| encrypted)
                    .map(|owner| owner::Remote { owner, server, ca });
            owner::predict(&model, &features, labels.as_deref(), json, remote.as_ref())
        }
        Command::Bench { suite } => crate::bench::run_suite(&suite).map_err(CliError::Message),
        Command::Demo {
            preset,
            insecure,
            epochs,
            simulate_epochs,
        } => {
            let lit = presets::by_name(&preset).ok_or_else(|| {
                CliError::Message(format!("unknown preset `{preset}` (see `hetal presets`)"))
            })?;
            let options = crate::demo::DemoOptions {
                allow_insecure: insecure,
                epochs,
                simulate_epochs,
            };
            crate::demo::run(lit, options).map_err(|e| CliError::Message(e.to_string()))
        }
        #[cfg(feature = "extract")]
        Command::Extract { job } => {
            let summary = job.execute()?;
            println!("{summary}");
            Ok(())
        }
        Command::Presets => {
            for lit in presets::ALL {
                match lit.build() {
                    Ok(p) => println!(
                        "{:<14} N = 2^{}  levels 0..={}  user levels up to {}  log2 QP = {:.1}  {}",
                        p.name(),
                        p.log_n(),
                        p.max_level(),
                        p.user_top_level(),
                        p.log_qp(),
                        if p.is_insecure() {
                            "INSECURE (tests only)"
                        } else {
                            "128-bit"
                        }
                    ),
                    Err(e) => println!("{:<14} invalid: {e}", lit.name),
                }
            }
            Ok(())
        }
    }
}
