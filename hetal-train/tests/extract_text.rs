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
/// sentences is embedded with MiniLM; a softmax head is trained on the
/// features with the f64 reference trainer (plaintext), and on their PCA
/// projection to 16 columns (fitted on the training rows) by the HETAL
/// trainer on CKKS ciphertexts (INSECURE-n10, bootstrapping, early stopping
/// through the key owner); both are tested on sentences they have not seen.
#[test]
fn raw_text_to_trained_classifier() {
    use hetal_nostd::params::presets::INSECURE_N10;
    use hetal_nostd::ring::sampling::Csprng;
    use hetal_train::data::pca::Projection;
    use hetal_train::data::Dataset;
    use hetal_train::linalg::Matrix;
    use hetal_train::softmax::SoftmaxMethod;
    use hetal_train::train::{
        accuracy, encrypt_dataset, plan_job, train_encrypted, train_reference, JobShape, KeyOwner,
        Optimizer, Patience, TrainConfig, WeightRefresh,
    };
    use hetal_train::{BootstrapConfig, CkksDecryptor, CkksEngine};

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
        min_improvement: 0.0,
        optimizer: Optimizer::Nesterov { momentum: 0.9 },
        seed: 1,
        weight_refresh: WeightRefresh::PerTile,
        weight_scale: 1.0,
        logit_bound: hetal_train::softmax::HETAL_LOGIT_BOUND,
    };
    let report = train_reference(&to_dataset(&train), &to_dataset(&train), &config).unwrap();
    let acc = accuracy(&report.weights, &to_dataset(&test)).unwrap();
    eprintln!("raw text -> MiniLM -> f64 softmax head: held-out accuracy {acc:.3}");
    assert!(acc >= 0.9, "held-out accuracy {acc}");
    std::fs::remove_dir_all(scratch).unwrap();

    // The same head on ciphertexts, after a client-side PCA to 16 columns
    // scaled to max |x| = 1 (the trainer's input range).
    let fit = Projection::fit(&to_dataset(&train).features, 16).unwrap();
    let project = |rows: &[usize], top: f64| {
        let d = to_dataset(rows);
        let y = fit.projection.apply(&d.features).unwrap();
        Dataset {
            features: Matrix::from_fn(y.rows(), y.cols(), |r, c| y.row(r)[c] / top),
            ..d
        }
    };
    let raw = project(&train, 1.0);
    let top = raw.features.data().iter().fold(0f64, |m, v| m.max(v.abs()));
    let (train_set, test_set) = (project(&train, top), project(&test, top));
    let config = TrainConfig {
        learning_rate: 1.0,
        batch_size: 36,
        max_epochs: 4,
        patience: 4,
        min_improvement: 0.0,
        optimizer: Optimizer::Nesterov { momentum: 0.9 },
        seed: 1,
        weight_refresh: WeightRefresh::Packed,
        weight_scale: 8.0,
        logit_bound: hetal_train::softmax::HETAL_LOGIT_BOUND,
    };
    let slots = 512;
    let shape = JobShape::new(&INSECURE_N10.build().unwrap(), slots, 16, 2);
    let plan = plan_job(&shape, &config, SoftmaxMethod::HetalLean).unwrap();
    let steps: Vec<i64> = plan.rotations.iter().map(|&r| r as i64).collect();
    let engine = CkksEngine::bootstrappable(
        &INSECURE_N10,
        slots,
        &steps,
        &BootstrapConfig::for_chain(&INSECURE_N10),
        Csprng::from_entropy([21; 32]),
    )
    .unwrap();
    let data = encrypt_dataset(&engine, &train_set, &train_set, &config, shape.data_level).unwrap();
    let mut owner = KeyOwner::new(
        CkksDecryptor(&engine),
        train_set.labels.clone(),
        Patience::new(4),
    )
    .with_scale(config.weight_scale)
    .with_logit_bound(config.logit_bound);
    let report = train_encrypted(
        &engine,
        &data,
        &config,
        &mut owner,
        SoftmaxMethod::HetalLean,
    )
    .unwrap();
    let weights = owner
        .decrypt_weights::<CkksEngine>(&report.weights)
        .unwrap();
    let encrypted_acc = accuracy(&weights, &test_set).unwrap();
    let reference = train_reference(&train_set, &train_set, &config).unwrap();
    let reference_acc = accuracy(&reference.weights, &test_set).unwrap();
    eprintln!(
        "raw text -> MiniLM -> PCA 16 -> HETAL on CKKS (INSECURE-n10): held-out accuracy \
         {encrypted_acc:.3} (f64 reference {reference_acc:.3}), {} epochs",
        report.epochs
    );
    assert!(
        encrypted_acc >= 0.9,
        "encrypted held-out accuracy {encrypted_acc}"
    );
    assert!((encrypted_acc - reference_acc).abs() <= 1.0 / 12.0 + 1e-9);
}
