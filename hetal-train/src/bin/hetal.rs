//! The `hetal` command-line tool.

use clap::{Parser, Subcommand};

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
    }
}
