//! Model-directory checks on tiny synthetic directories (no assets needed).

use std::collections::HashMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use super::text::SentenceEncoder;
use super::ExtractError;

const MODULES: &str = r#"[
  {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
  {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
  {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}
]"#;

fn config(model_type: &str, hidden: usize) -> String {
    format!(
        r#"{{"model_type": "{model_type}", "vocab_size": 10, "hidden_size": {hidden},
            "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8,
            "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "max_position_embeddings": 16,
            "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
            "pad_token_id": 0}}"#
    )
}

/// A synthetic model directory, removed when dropped (a failing test too
/// leaves nothing behind).
struct ModelDir(PathBuf);

impl Deref for ModelDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for ModelDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A synthetic model directory with the given files.
fn model_dir(name: &str, files: &[(&str, &str)]) -> ModelDir {
    let dir = std::env::temp_dir().join(format!("hetal-model-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("1_Pooling")).unwrap();
    for (file, body) in files {
        std::fs::write(dir.join(file), body).unwrap();
    }
    ModelDir(dir)
}

fn pooling(width: usize) -> String {
    format!(r#"{{"word_embedding_dimension": {width}, "pooling_mode_mean_tokens": true}}"#)
}

fn load_err(dir: &Path) -> ExtractError {
    match SentenceEncoder::load(dir) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => e,
    }
}

#[test]
fn missing_directory_and_files_are_named() {
    let err = load_err(Path::new("/nonexistent/hetal-model"));
    assert!(matches!(err, ExtractError::Io { .. }), "{err}");

    let dir = model_dir("nomodules", &[("config.json", &config("bert", 4))]);
    let err = load_err(&dir);
    assert!(
        matches!(err, ExtractError::MissingModelFile { ref file, .. } if file == "modules.json"),
        "{err}"
    );
    assert!(err.to_string().contains("fetch-assets.sh"), "{err}");

    let dir = model_dir(
        "noweights",
        &[
            ("modules.json", MODULES),
            ("config.json", &config("bert", 4)),
            ("1_Pooling/config.json", &pooling(4)),
        ],
    );
    let err = load_err(&dir);
    assert!(
        matches!(err, ExtractError::MissingModelFile { ref file, .. } if file == "model.safetensors"),
        "{err}"
    );
}

#[test]
fn mismatched_configuration_is_refused() {
    let dir = model_dir(
        "gpt",
        &[
            ("modules.json", MODULES),
            ("config.json", &config("gpt2", 4)),
            ("1_Pooling/config.json", &pooling(4)),
            ("model.safetensors", "x"),
        ],
    );
    let err = load_err(&dir);
    assert!(matches!(err, ExtractError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("gpt2"), "{err}");

    // The pooling width disagrees with the encoder's.
    let dir = model_dir(
        "width",
        &[
            ("modules.json", MODULES),
            ("config.json", &config("bert", 4)),
            ("1_Pooling/config.json", &pooling(384)),
        ],
    );
    let err = load_err(&dir);
    assert!(err.to_string().contains("384"), "{err}");

    // A module hetal does not run (a Dense layer after pooling).
    let dense = MODULES.replace("Normalize\"", "Dense\"");
    let dir = model_dir(
        "dense",
        &[
            ("modules.json", &dense),
            ("config.json", &config("bert", 4)),
            ("1_Pooling/config.json", &pooling(4)),
        ],
    );
    let err = load_err(&dir);
    assert!(err.to_string().contains("Dense"), "{err}");
}

#[test]
fn corrupt_or_mismatched_weights_are_refused() {
    let files = [
        ("modules.json", MODULES),
        ("config.json", &config("bert", 4) as &str),
        ("1_Pooling/config.json", &pooling(4) as &str),
    ];
    let dir = model_dir("corrupt", &files);
    std::fs::write(
        dir.join("model.safetensors"),
        b"\x10\x00\x00\x00\x00\x00\x00\x00{not json",
    )
    .unwrap();
    let err = load_err(&dir);
    assert!(matches!(err, ExtractError::WeightsMismatch { .. }), "{err}");

    // Valid safetensors whose embedding table has the wrong width.
    let mut tensors = HashMap::new();
    let wrong = Tensor::zeros((10, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
    tensors.insert("embeddings.word_embeddings.weight".to_string(), wrong);
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors")).unwrap();
    let err = load_err(&dir);
    assert!(matches!(err, ExtractError::WeightsMismatch { .. }), "{err}");
    assert!(err.to_string().contains("model.safetensors"), "{err}");

    // A broken configuration file.
    std::fs::write(dir.join("config.json"), b"{\"model_type\": ").unwrap();
    let err = load_err(&dir);
    assert!(matches!(err, ExtractError::Json { .. }), "{err}");
}
