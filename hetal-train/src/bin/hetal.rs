//! The `hetal` command-line tool.

use clap::{Parser, Subcommand};
use hetal_nostd::params::presets;

/// hetal: privacy-preserving transfer learning with CKKS homomorphic encryption.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
        /// Parameter preset (see `hetal presets`).
        #[arg(long, default_value = "prod-n16")]
        preset: String,
        /// Allow an INSECURE test preset.
        #[arg(long)]
        insecure: bool,
        /// Epoch cap of the encrypted training; 0 skips it.
        #[arg(long, default_value_t = hetal_train::demo::encrypted::MAX_EPOCHS)]
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
        job: hetal_train::extract::cli::ExtractCommand,
    },
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Bench { suite } => {
            if let Err(message) = hetal_train::bench::run_suite(&suite) {
                eprintln!("error: {message}");
                std::process::exit(2);
            }
        }
        Command::Demo {
            preset,
            insecure,
            epochs,
            simulate_epochs,
        } => {
            let Some(lit) = presets::by_name(&preset) else {
                eprintln!("error: unknown preset `{preset}` (see `hetal presets`)");
                std::process::exit(2);
            };
            let options = hetal_train::demo::DemoOptions {
                allow_insecure: insecure,
                epochs,
                simulate_epochs,
            };
            if let Err(e) = hetal_train::demo::run(lit, options) {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
        #[cfg(feature = "extract")]
        Command::Extract { job } => match job.execute() {
            Ok(summary) => println!("{summary}"),
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        },
        Command::Presets => {
            for lit in presets::ALL {
                match lit.build() {
                    Ok(p) => {
                        println!(
                        "{:<14} N = 2^{}  levels 0..={}  user levels up to {}  log2 QP = {:.1}  {}",
                        p.name(),
                        p.log_n(),
                        p.max_level(),
                        p.user_top_level(),
                        p.log_qp(),
                        if p.is_insecure() { "INSECURE (tests only)" } else { "128-bit" }
                    )
                    }
                    Err(e) => println!("{:<14} invalid: {e}", lit.name),
                }
            }
        }
    }
}
