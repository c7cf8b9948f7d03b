//! Command-line arguments of `hetal extract` (used by the `hetal` binary).

use std::path::PathBuf;

use clap::Subcommand;

use super::pca::{run_pca, PcaJob, PcaMode};
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
    /// class sub-folders (PNG/JPEG), or an .npy stack (N,H,W or N,H,W,C) with
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
    /// Project features to fewer dimensions with PCA (client side, before
    /// encryption): fit the mean and the leading principal directions on
    /// --features (your training features) and write the projected features
    /// and the projection; or apply a saved --projection (validation and
    /// test features).
    Pca {
        /// Input features (.npy float32/float64 or CSV, rows x features).
        #[arg(long)]
        features: PathBuf,
        /// Width to fit (1 to the feature count).
        #[arg(
            long,
            required_unless_present = "projection",
            requires = "out_projection"
        )]
        width: Option<usize>,
        /// Where a fit writes the projection (.npy, f64, (width + 1) x
        /// features: the mean, then the components).
        #[arg(long, requires = "width")]
        out_projection: Option<PathBuf>,
        /// Whiten with this ridge (a fit only): each component is divided by
        /// sqrt(its variance + RIDGE), so that full-batch training takes far
        /// fewer steps (0.1 suits features of unit scale, such as pixels in
        /// [0, 1]; see the README).
        #[arg(
            long,
            value_name = "RIDGE",
            requires = "width",
            conflicts_with = "projection"
        )]
        whiten: Option<f64>,
        /// A projection written by an earlier fit, applied as it is.
        #[arg(long, conflicts_with_all = ["width", "out_projection"])]
        projection: Option<PathBuf>,
        /// Output: the projected features (.npy, f32, rows x width).
        #[arg(long)]
        out_features: PathBuf,
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
            ExtractCommand::Pca {
                features,
                width,
                out_projection,
                whiten,
                projection,
                out_features,
            } => {
                let mode = match (projection, width, out_projection) {
                    (Some(path), _, _) => PcaMode::Apply(path),
                    (None, Some(width), Some(out_projection)) => PcaMode::Fit {
                        width,
                        out_projection,
                        whiten,
                    },
                    _ => return Err(ExtractError::PcaUsage),
                };
                let summary = run_pca(&PcaJob {
                    features,
                    mode,
                    out_features,
                })?;
                return Ok(serde_json::to_value(summary).unwrap_or_default());
            }
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
