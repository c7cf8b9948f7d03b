//! Errors of feature extraction.

use std::path::PathBuf;

use crate::data::pca::PcaError;
use crate::io::FileError;

/// What can go wrong while extracting features.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The model directory lacks a file the model needs.
    #[error(
        "model directory {dir} has no {file} (expected a sentence-transformers directory: \
         config.json, tokenizer.json, model.safetensors, modules.json; \
         scripts/fetch-assets.sh installs one)"
    )]
    MissingModelFile {
        /// The model directory.
        dir: PathBuf,
        /// The missing file, relative to the directory.
        file: String,
    },
    /// A JSON configuration file could not be parsed.
    #[error("{path}: not a valid configuration: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// The model is of a kind hetal does not run.
    #[error("{path}: unsupported model: {what}")]
    Unsupported {
        /// The file that says so.
        path: PathBuf,
        /// What is unsupported.
        what: String,
    },
    /// The weights file does not hold what the configuration describes.
    #[error("{path}: weights do not match the model configuration: {source}")]
    WeightsMismatch {
        /// The weights file.
        path: PathBuf,
        /// candle's error (missing tensor, wrong shape, ...).
        source: candle_core::Error,
    },
    /// A tensor computation failed.
    #[error("model computation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// The tokenizer could not be loaded or failed on an input.
    #[error("{path}: tokenizer: {source}")]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// The tokenizer's error.
        source: tokenizers::Error,
    },
    /// An input or output file (`.npy`, CSV, class names) is unusable; the
    /// error names the file and the problem.
    #[error(transparent)]
    File(#[from] FileError),
    /// An `.npy` image stack was given without its labels.
    #[error("{input}: an .npy image stack needs --input-labels")]
    MissingInputLabels {
        /// The image stack.
        input: PathBuf,
    },
    /// A PCA projection could not be fitted or applied.
    #[error("{path}: {source}")]
    Pca {
        /// The features (or the projection) concerned.
        path: PathBuf,
        /// What went wrong.
        source: PcaError,
    },
    /// `hetal extract pca` needs --width and --out-projection, or --projection.
    #[error("pca: give --width and --out-projection (fit), or --projection (apply)")]
    PcaUsage,
    /// The input holds no items.
    #[error("{path}: no items to extract")]
    EmptyInput {
        /// The input.
        path: PathBuf,
    },
    /// An image could not be decoded.
    #[error("{path}: image: {source}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// The decoder's error.
        source: image::ImageError,
    },
    /// A PyTorch checkpoint could not be read.
    #[error("{path}: PyTorch checkpoint: {source}")]
    Checkpoint {
        /// The checkpoint.
        path: PathBuf,
        /// The reader's error.
        source: pytorch_reader::PytorchError,
    },
}

impl ExtractError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
