//! Command-line arguments of `hetal extract` (used by the `hetal` binary).

use std::path::PathBuf;

use clap::Subcommand;

use super::pth::convert_to_safetensors;
use super::run::{run_image, run_text, ImageJob, Summary, TextJob};
use super::ExtractError;

/// `hetal extract` subcommands.
#[derive(Debug, Subcommand)]
pub enum ExtractCommand {
    /// Embed a CSV of texts with a sentence-transformers model directory.
    /// Writes the features (f32, rows x dim), the labels (i64) and the class
    /// names (`<labels stem>.classes.json`).
    Text {
        /// sentence-transformers model directory (config.json, tokenizer.json,
        /// model.safetensors, modules.json, pooling config).
        #[arg(long)]
        model: PathBuf,
        /// Input CSV with a header row.
        #[arg(long)]
        input: PathBuf,
        /// Column holding the texts.
        #[arg(long, default_value = "text")]
        text_column: String,
        /// Column holding the labels.
        #[arg(long, default_value = "label")]
        label_column: String,
        /// Output feature matrix (.npy).
        #[arg(long)]
        out_features: PathBuf,
        /// Output labels (.npy); the class names go beside it.
        #[arg(long)]
        out_labels: PathBuf,
        /// Texts per forward pass.
        #[arg(long, default_value_t = 32)]
        batch_size: usize,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Extract EfficientNet-Lite0 features (1280-d) of images: a folder of
    /// class sub-folders (PNG/JPEG), or an .npy stack (N,H,W[,C]) with
    /// --input-labels. Writes features, labels and class names.
    Image {
        /// EfficientNet-Lite0 weights: the .pth as shipped or a converted
        /// .safetensors (see `hetal extract convert`).
        #[arg(long)]
        model: PathBuf,
        /// Folder of class sub-folders, or an .npy image stack.
        #[arg(long)]
        input: PathBuf,
        /// Integer labels (.npy) of an .npy image stack.
        #[arg(long)]
        input_labels: Option<PathBuf>,
        /// Output feature matrix (.npy).
        #[arg(long)]
        out_features: PathBuf,
        /// Output labels (.npy); the class names go beside it.
        #[arg(long)]
        out_labels: PathBuf,
        /// Images per forward pass.
        #[arg(long, default_value_t = 16)]
        batch_size: usize,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Convert a PyTorch checkpoint (.pth, any torch.save format, strided
    /// tensors gathered) to safetensors (f32).
    Convert {
        /// The checkpoint.
        #[arg(long)]
        input: PathBuf,
        /// The safetensors file to write.
        #[arg(long)]
        output: PathBuf,
    },
}

impl ExtractCommand {
    /// Runs the job; returns its summary as JSON.
    pub fn execute(self) -> Result<serde_json::Value, ExtractError> {
        let summary: Summary = match self {
            ExtractCommand::Text {
                model,
                input,
                text_column,
                label_column,
                out_features,
                out_labels,
                batch_size,
                quiet,
            } => run_text(&TextJob {
                model,
                input,
                text_column,
                label_column,
                out_features,
                out_labels,
                batch_size,
                progress: !quiet,
            })?,
            ExtractCommand::Image {
                model,
                input,
                input_labels,
                out_features,
                out_labels,
                batch_size,
                quiet,
            } => run_image(&ImageJob {
                model,
                input,
                input_labels,
                out_features,
                out_labels,
                batch_size,
                progress: !quiet,
            })?,
            ExtractCommand::Convert { input, output } => {
                let tensors = convert_to_safetensors(&input, &output)?;
                return Ok(serde_json::json!({
                    "kind": "convert",
                    "input": input,
                    "output": output,
                    "tensors": tensors,
                }));
            }
        };
        Ok(serde_json::to_value(summary).unwrap_or_default())
    }
}
