//! Image extraction against the committed PyTorch reference
//! (scripts/reference/image_features.py): the `.pth` as shipped, its
//! safetensors conversion, a class-folder tree of PNGs and an `.npy` stack.
//! Needs the weights from scripts/fetch-assets.sh (skipped, saying so,
//! without them; CI requires them).
#![cfg(feature = "extract")]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hetal_train::extract::assets::asset_for_test;
use hetal_train::extract::pth::{convert_to_safetensors, read_pth, read_safetensors};
use hetal_train::extract::run::{embed_images, ImageJob};
use serde::Deserialize;

#[derive(Deserialize)]
struct Probe {
    contiguous_in_file: bool,
    first: Vec<f32>,
    abs_sum: f64,
}

#[derive(Deserialize)]
struct Fixture {
    generator: String,
    features: Vec<Vec<f32>>,
    labels: Vec<String>,
    stack_labels: Vec<i64>,
    stack_features: Vec<Vec<f32>>,
    weight_probes: HashMap<String, Probe>,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/efficientnet")
}

fn fixture() -> Fixture {
    let path = fixtures().join("efficientnet_reference.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hetal-image-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn strided_checkpoint_tensors_are_gathered() {
    let Some(pth) = asset_for_test("HETAL_EFFICIENTNET_PTH") else {
        return;
    };
    let reference = fixture();
    let weights = read_pth(&pth).unwrap();
    // 296 entries, of which the 49 batch-norm counters are integers.
    assert_eq!(weights.len(), 296 - 49);
    let mut strided = 0;
    for (name, probe) in &reference.weight_probes {
        let (_, values) = &weights[name];
        assert_eq!(&values[..8], probe.first.as_slice(), "{name}");
        let sum: f64 = values.iter().map(|v| f64::from(v.abs())).sum();
        assert!((sum - probe.abs_sum).abs() < 1e-6 * probe.abs_sum, "{name}");
        strided += usize::from(!probe.contiguous_in_file);
    }
    assert!(strided > 0, "the probes include non-contiguous tensors");

    // The safetensors conversion holds the same values.
    let dir = scratch("convert");
    let out = dir.join("lite0.safetensors");
    assert_eq!(convert_to_safetensors(&pth, &out).unwrap(), weights.len());
    assert_eq!(read_safetensors(&out).unwrap(), weights);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn folder_and_stack_features_match_pytorch() {
    let Some(pth) = asset_for_test("HETAL_EFFICIENTNET_PTH") else {
        return;
    };
    let reference = fixture();
    let dir = scratch("features");
    let job = ImageJob {
        model: pth,
        input: fixtures().join("images"),
        input_labels: None,
        out_features: dir.join("X.npy"),
        out_labels: dir.join("y.npy"),
        batch_size: 2,
        progress: false,
    };
    let (data, _) = embed_images(&job).unwrap();
    assert_eq!((data.rows, data.dim), (3, 1280));
    let classes: Vec<&str> = data
        .labels
        .iter()
        .map(|&l| data.classes[l as usize].as_str())
        .collect();
    assert_eq!(classes, reference.labels);
    let delta = max_abs_diff(&data.features, &reference.features.concat());
    eprintln!(
        "PNG folder: 3 images x 1280: max |delta| = {delta:.3e} vs {}",
        reference.generator
    );
    assert!(delta <= 1e-4, "max |delta| {delta} > 1e-4");

    let stack_job = ImageJob {
        input: fixtures().join("stack.npy"),
        input_labels: Some(fixtures().join("stack_labels.npy")),
        ..job.clone()
    };
    let (stack, _) = embed_images(&stack_job).unwrap();
    let labels: Vec<&str> = stack
        .labels
        .iter()
        .map(|&l| stack.classes[l as usize].as_str())
        .collect();
    let expected: Vec<String> = reference.stack_labels.iter().map(i64::to_string).collect();
    assert_eq!(labels, expected);
    let delta = max_abs_diff(&stack.features, &reference.stack_features.concat());
    eprintln!("uint8 .npy stack: 2 images x 1280: max |delta| = {delta:.3e}");
    assert!(delta <= 1e-4, "max |delta| {delta} > 1e-4");

    // Without --input-labels an .npy stack is refused.
    let unlabelled = ImageJob {
        input_labels: None,
        ..stack_job
    };
    let err = embed_images(&unlabelled).unwrap_err().to_string();
    assert!(err.contains("--input-labels"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
