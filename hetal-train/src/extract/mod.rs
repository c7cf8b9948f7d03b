//! Client-side feature extraction (`hetal extract`): a frozen pre-trained
//! model turns raw data (a CSV of texts, a folder of images) into a feature
//! matrix and integer labels, written as `.npy` for `hetal encrypt`.
//!
//! Text models are sentence-transformers directories (BERT-family encoders
//! such as all-MiniLM-L6-v2, and MPNet); image features come from
//! EfficientNet-Lite0. Everything runs on the CPU with candle, all cores,
//! and reads its weights from local files only. An optional PCA projection
//! ([`pca`]) narrows the features before encryption. Files are read and
//! written through [`crate::io`].
//!
//! This module sits beside `train` and is used only by the command line.

pub mod assets;
pub mod cli;
pub mod efficientnet;
pub mod error;
pub mod images;
pub mod labels;
pub mod mpnet;
pub mod pca;
pub mod pth;
pub mod run;
pub mod text;

pub use error::ExtractError;

use indicatif::{ProgressBar, ProgressStyle};

/// A row-major feature matrix with one integer label per row.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Number of rows (items).
    pub rows: usize,
    /// Feature width.
    pub dim: usize,
    /// `rows * dim` features, row-major.
    pub features: Vec<f32>,
    /// One class index per row.
    pub labels: Vec<i64>,
    /// Class names, indexed by label.
    pub classes: Vec<String>,
}

/// A progress bar with an ETA on stderr (hidden when stderr is not a terminal).
pub(crate) fn progress(total: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, ETA {eta})",
    ) {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}

#[cfg(test)]
mod tests;
