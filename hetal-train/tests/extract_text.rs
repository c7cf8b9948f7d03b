//! Text extraction against the committed sentence-transformers reference
//! (scripts/reference/text_features.py). Needs the model weights installed
//! by scripts/fetch-assets.sh (skipped, saying so, without them; CI requires them).
#![cfg(feature = "extract")]

use std::path::Path;

use hetal_train::extract::assets::asset_for_test;
use hetal_train::extract::run::{embed_csv, TextJob};
use hetal_train::extract::text::SentenceEncoder;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    generator: String,
    max_seq_length: usize,
    texts: Vec<String>,
    token_ids: Vec<Vec<u32>>,
    features: Vec<Vec<f32>>,
}

fn fixture(name: &str) -> Fixture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Checks a model against its fixture: same tokens, features within 1e-4.
fn check_against_reference(model_key: &str, fixture_name: &str) {
    let Some(dir) = asset_for_test(model_key) else {
        return;
    };
    let reference = fixture(fixture_name);
    let encoder = SentenceEncoder::load(&dir).unwrap();
    assert_eq!(encoder.max_seq_length(), reference.max_seq_length);
    assert!(encoder.normalizes());
    let tokens = encoder.tokenize(&reference.texts).unwrap();
    assert_eq!(
        tokens, reference.token_ids,
        "token ids differ from the reference"
    );
    assert!(
        tokens.iter().any(|t| t.len() == reference.max_seq_length),
        "the fixture has a truncated text"
    );
    // Batches of three: padding and length sorting must not matter.
    let features = encoder.embed(&reference.texts, 3, false).unwrap();
    let expected: Vec<f32> = reference.features.concat();
    let delta = max_abs_diff(&features, &expected);
    eprintln!(
        "{fixture_name}: {} texts x {}: max |delta| = {delta:.3e} vs {}",
        reference.texts.len(),
        encoder.dim(),
        reference.generator
    );
    assert!(delta <= 1e-4, "max |delta| {delta} > 1e-4");
}

#[test]
fn minilm_matches_sentence_transformers() {
    check_against_reference("HETAL_MINILM_DIR", "minilm_reference.json");
}

#[test]
#[ignore = "needs all-mpnet-base-v2 (scripts/fetch-assets.sh --mpnet) and about a minute"]
fn mpnet_matches_sentence_transformers() {
    check_against_reference("HETAL_MPNET_DIR", "mpnet_reference.json");
}

#[test]
fn csv_to_features_and_labels() {
    let Some(dir) = asset_for_test("HETAL_MINILM_DIR") else {
        return;
    };
    let reference = fixture("minilm_reference.json");
    let scratch = std::env::temp_dir().join(format!("hetal-text-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let csv_path = scratch.join("data.csv");
    let mut writer = csv::Writer::from_path(&csv_path).unwrap();
    writer.write_record(["label", "text"]).unwrap();
    for (i, text) in reference.texts.iter().enumerate() {
        writer
            .write_record([["b", "a"][i % 2], text.as_str()])
            .unwrap();
    }
    writer.flush().unwrap();
    let job = TextJob {
        model: dir,
        input: csv_path,
        text_column: "text".into(),
        label_column: "label".into(),
        out_features: scratch.join("X.npy"),
        out_labels: scratch.join("y.npy"),
        batch_size: 4,
        progress: false,
    };
    let summary = hetal_train::extract::run::run_text(&job).unwrap();
    assert_eq!((summary.items, summary.dim, summary.classes), (8, 384, 2));
    let (data, _) = embed_csv(&job).unwrap();
    assert_eq!(data.classes, ["a", "b"]);
    assert_eq!(data.labels, [1, 0, 1, 0, 1, 0, 1, 0]);
    let delta = max_abs_diff(&data.features, &reference.features.concat());
    assert!(delta <= 1e-4, "max |delta| {delta}");
    // The files hold what was computed.
    let x = std::fs::read(scratch.join("X.npy")).unwrap();
    let first = f32::from_le_bytes(x[x.len() - 8 * 384 * 4..][..4].try_into().unwrap());
    assert_eq!(first, data.features[0]);
    let names = std::fs::read_to_string(scratch.join("y.classes.json")).unwrap();
    assert_eq!(
        serde_json::from_str::<Vec<String>>(&names).unwrap(),
        ["a", "b"]
    );
    std::fs::remove_dir_all(scratch).unwrap();
}

/// Raw text to a trained classifier: a small CSV of positive and negative
/// sentences is embedded with MiniLM and a softmax head is trained on the
/// features with the f64 reference trainer (plaintext), then tested on
/// sentences it has not seen.
#[test]
fn raw_text_to_trained_classifier() {
    use hetal_train::data::Dataset;
    use hetal_train::linalg::Matrix;
    use hetal_train::train::{accuracy, train_reference, Optimizer, TrainConfig, WeightRefresh};

    let Some(dir) = asset_for_test("HETAL_MINILM_DIR") else {
        return;
    };
    let subjects = [
        "the hotel",
        "this phone",
        "the film",
        "our waiter",
        "the new update",
        "this laptop",
        "the concert",
        "the delivery",
        "the book",
        "the coffee",
        "the support team",
        "the game",
    ];
    let good = [
        "I loved {}, it was wonderful",
        "{} is fantastic and I am so happy",
        "what a great experience with {}",
        "{} exceeded all my expectations",
    ];
    let bad = [
        "I hated {}, it was awful",
        "{} is terrible and I am so angry",
        "what a horrible experience with {}",
        "{} was a complete disappointment",
    ];
    let scratch = std::env::temp_dir().join(format!("hetal-text-train-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let csv_path = scratch.join("reviews.csv");
    let mut writer = csv::Writer::from_path(&csv_path).unwrap();
    writer.write_record(["text", "sentiment"]).unwrap();
    for (i, subject) in subjects.iter().enumerate() {
        writer
            .write_record([good[i % 4].replace("{}", subject), "positive".into()])
            .unwrap();
        writer
            .write_record([bad[(i + 1) % 4].replace("{}", subject), "negative".into()])
            .unwrap();
        writer
            .write_record([good[(i + 2) % 4].replace("{}", subject), "positive".into()])
            .unwrap();
        writer
            .write_record([bad[(i + 3) % 4].replace("{}", subject), "negative".into()])
            .unwrap();
    }
    writer.flush().unwrap();
    let job = TextJob {
        model: dir,
        input: csv_path,
        text_column: "text".into(),
        label_column: "sentiment".into(),
        out_features: scratch.join("X.npy"),
        out_labels: scratch.join("y.npy"),
        batch_size: 16,
        progress: false,
    };
    let (data, _) = embed_csv(&job).unwrap();
    assert_eq!(data.classes, ["negative", "positive"]);
    let to_dataset = |rows: &[usize]| Dataset {
        features: Matrix::from_fn(rows.len(), data.dim, |r, c| {
            f64::from(data.features[rows[r] * data.dim + c])
        }),
        labels: rows.iter().map(|&r| data.labels[r] as usize).collect(),
        classes: 2,
    };
    // The last three subjects (12 sentences) are held out for the test.
    let train: Vec<usize> = (0..36).collect();
    let test: Vec<usize> = (36..48).collect();
    let config = TrainConfig {
        learning_rate: 1.0,
        batch_size: 12,
        max_epochs: 30,
        patience: 30,
        optimizer: Optimizer::Nesterov { momentum: 0.9 },
        seed: 1,
        weight_refresh: WeightRefresh::PerTile,
        weight_scale: 1.0,
    };
    let report = train_reference(&to_dataset(&train), &to_dataset(&train), &config).unwrap();
    let acc = accuracy(&report.weights, &to_dataset(&test)).unwrap();
    eprintln!("raw text -> MiniLM -> f64 softmax head: held-out accuracy {acc:.3}");
    assert!(acc >= 0.9, "held-out accuracy {acc}");
    std::fs::remove_dir_all(scratch).unwrap();
}
