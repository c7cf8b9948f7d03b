//! The `hetal extract` jobs: read the input, extract, write the outputs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::efficientnet::{Activations, EfficientNetLite0, FEATURE_DIM, IMAGE_SIZE};
use super::images::{list_image_folder, load_rgb, preprocess, read_image_stack, ImageStack};
use super::labels::{classes_path, encode_labels, write_classes};
use super::pth::read_weights;
use super::text::SentenceEncoder;
use super::{progress, Dataset, ExtractError};
use crate::io::{read_csv_columns, read_npy_labels, write_npy, FileError, Problem};
use rayon::prelude::*;

/// What an extraction job did (printed as one JSON line by the CLI).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// `"text"` or `"image"`.
    pub kind: &'static str,
    /// Items extracted.
    pub items: usize,
    /// Feature width.
    pub dim: usize,
    /// Number of classes.
    pub classes: usize,
    /// Seconds spent extracting (model loading excluded).
    pub seconds: f64,
    /// Items per second.
    pub items_per_s: f64,
    /// The feature file.
    pub features: PathBuf,
    /// The label file.
    pub labels: PathBuf,
    /// The class-name file (JSON array, label `i` is entry `i`).
    pub class_names: PathBuf,
}

/// A text extraction job (`hetal extract text`).
#[derive(Debug, Clone)]
pub struct TextJob {
    /// sentence-transformers model directory.
    pub model: PathBuf,
    /// Input CSV.
    pub input: PathBuf,
    /// Column holding the texts.
    pub text_column: String,
    /// Column holding the labels.
    pub label_column: String,
    /// Output features (`.npy`, `f32`, rows x dim).
    pub out_features: PathBuf,
    /// Output labels (`.npy`, `i64`).
    pub out_labels: PathBuf,
    /// Texts per forward pass.
    pub batch_size: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// Writes features, labels and class names; returns the class-name path.
pub fn write_dataset(
    data: &Dataset,
    out_features: &Path,
    out_labels: &Path,
) -> Result<PathBuf, ExtractError> {
    let shape = [data.rows as u64, data.dim as u64];
    write_npy(out_features, &shape, &data.features)?;
    write_npy(out_labels, &[data.labels.len() as u64], &data.labels)?;
    let names = classes_path(out_labels);
    write_classes(&names, &data.classes)?;
    Ok(names)
}

/// Embeds the texts of a CSV file and labels them; nothing is written.
pub fn embed_csv(job: &TextJob) -> Result<(Dataset, f64), ExtractError> {
    let mut columns = read_csv_columns(&job.input, &[&job.text_column, &job.label_column])?;
    let labels: Vec<String> = columns.pop().unwrap_or_default();
    let texts = columns.pop().unwrap_or_default();
    let labels: Vec<&str> = labels.iter().map(|l| l.trim()).collect();
    let encoder = SentenceEncoder::load(&job.model)?;
    let start = Instant::now();
    let features = encoder.embed(&texts, job.batch_size, job.progress)?;
    let seconds = start.elapsed().as_secs_f64();
    let (labels, classes) = encode_labels(&labels);
    let data = Dataset {
        rows: texts.len(),
        dim: encoder.dim(),
        features,
        labels,
        classes,
    };
    Ok((data, seconds))
}

/// Runs a text extraction job.
pub fn run_text(job: &TextJob) -> Result<Summary, ExtractError> {
    let (data, seconds) = embed_csv(job)?;
    let class_names = write_dataset(&data, &job.out_features, &job.out_labels)?;
    Ok(summary(
        "text",
        &data,
        seconds,
        &job.out_features,
        &job.out_labels,
        class_names,
    ))
}

/// An image extraction job (`hetal extract image`).
#[derive(Debug, Clone)]
pub struct ImageJob {
    /// EfficientNet-Lite0 weights (`.pth` as shipped, or converted `.safetensors`).
    pub model: PathBuf,
    /// A folder of class sub-folders, or an `.npy` image stack.
    pub input: PathBuf,
    /// Labels of an `.npy` image stack (integer `.npy`).
    pub input_labels: Option<PathBuf>,
    /// Output features (`.npy`, `f32`, rows x 1280).
    pub out_features: PathBuf,
    /// Output labels (`.npy`, `i64`).
    pub out_labels: PathBuf,
    /// Images per forward pass.
    pub batch_size: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// Where the images of a job come from.
enum ImageSource {
    Files(Vec<PathBuf>),
    Stack(ImageStack),
}

/// Extracts EfficientNet-Lite0 features of a folder tree or an image stack;
/// nothing is written.
pub fn embed_images(job: &ImageJob) -> Result<(Dataset, f64), ExtractError> {
    let is_npy = job.input.extension().is_some_and(|e| e == "npy");
    let (source, labels, classes) = if is_npy {
        let stack = read_image_stack(&job.input)?;
        let Some(labels_path) = &job.input_labels else {
            return Err(ExtractError::MissingInputLabels {
                input: job.input.clone(),
            });
        };
        let raw = read_npy_labels(labels_path)?;
        if raw.len() != stack.count {
            let problem = Problem::RowMismatch {
                features: stack.count,
                labels: raw.len(),
            };
            return Err(FileError::bad(labels_path, problem).into());
        }
        let strings: Vec<String> = raw.iter().map(i64::to_string).collect();
        let (labels, classes) = encode_labels(&strings);
        (ImageSource::Stack(stack), labels, classes)
    } else {
        let folder = list_image_folder(&job.input)?;
        let (labels, classes) = encode_labels(&folder.labels);
        (ImageSource::Files(folder.files), labels, classes)
    };
    let model = EfficientNetLite0::from_weights(&read_weights(&job.model)?)?;
    let count = labels.len();
    let start = Instant::now();
    let bar = progress(count, "extracting image features");
    if !job.progress {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut features = Vec::with_capacity(count * FEATURE_DIM);
    let indices: Vec<usize> = (0..count).collect();
    for chunk in indices.chunks(job.batch_size.max(1)) {
        let inputs = chunk
            .par_iter()
            .map(|&i| match &source {
                ImageSource::Files(files) => {
                    let (h, w, px) = load_rgb(&files[i])?;
                    Ok(preprocess(h, w, 3, &px))
                }
                ImageSource::Stack(s) => {
                    let size = s.height * s.width * s.channels;
                    let px = &s.pixels[i * size..(i + 1) * size];
                    Ok(preprocess(s.height, s.width, s.channels, px))
                }
            })
            .collect::<Result<Vec<Vec<f32>>, ExtractError>>()?;
        let batch = Activations {
            n: chunk.len(),
            h: IMAGE_SIZE,
            w: IMAGE_SIZE,
            c: 3,
            data: inputs.concat(),
        };
        features.extend(model.features(batch)?);
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let data = Dataset {
        rows: count,
        dim: FEATURE_DIM,
        features,
        labels,
        classes,
    };
    Ok((data, seconds))
}

/// Runs an image extraction job.
pub fn run_image(job: &ImageJob) -> Result<Summary, ExtractError> {
    let (data, seconds) = embed_images(job)?;
    let class_names = write_dataset(&data, &job.out_features, &job.out_labels)?;
    Ok(summary(
        "image",
        &data,
        seconds,
        &job.out_features,
        &job.out_labels,
        class_names,
    ))
}

fn summary(
    kind: &'static str,
    data: &Dataset,
    seconds: f64,
    features: &Path,
    labels: &Path,
    class_names: PathBuf,
) -> Summary {
    Summary {
        kind,
        items: data.rows,
        dim: data.dim,
        classes: data.classes.len(),
        seconds,
        items_per_s: data.rows as f64 / seconds.max(1e-9),
        features: features.to_path_buf(),
        labels: labels.to_path_buf(),
        class_names,
    }
}
