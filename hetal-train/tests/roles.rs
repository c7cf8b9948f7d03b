//! The three roles as separate processes over loopback (INSECURE-n10):
//! the whole journey, a server killed mid-epoch, a key owner that drops
//! out and returns.

mod common;

use std::path::Path;

use common::*;
use hetal_nostd::ring::sampling::Csprng;
use hetal_train::ckks_engine::{BootstrapConfig, CkksDecryptor, CkksEngine};
use hetal_train::job::geometry::Geometry;
use hetal_train::job::keyfiles::contains_secret_frame;
use hetal_train::job::JobSpec;
use hetal_train::protocol::JobState;
use hetal_train::train::{accuracy, encrypt_dataset, train_encrypted, KeyOwner};

/// Accuracy of the in-process trainer (one process holds every key) on
/// the same data and settings.
fn in_process_accuracy(dir: &Path) -> f64 {
    let spec = JobSpec::read(&dir.join("JOB.toml")).unwrap();
    let geo = Geometry::of(&spec).unwrap();
    let load = |x: &str, y: &str| {
        hetal_train::io::read_labelled(&dir.join(x), &dir.join(y), 16, 4).unwrap()
    };
    let (train, val, test) = (
        load("X.npy", "y.npy"),
        load("Xv.npy", "yv.npy"),
        load("Xt.npy", "yt.npy"),
    );
    let engine = CkksEngine::bootstrappable(
        spec.preset(),
        geo.slots,
        &geo.rotation_steps(&spec).unwrap(),
        &BootstrapConfig::default(),
        Csprng::from_entropy([21; 32]),
    )
    .unwrap();
    let config = spec.train_config();
    let data = encrypt_dataset(&engine, &train, &val, &config, geo.data_level()).unwrap();
    let mut judge = KeyOwner::new(
        CkksDecryptor(&engine),
        val.labels.clone(),
        spec.train_config().early_stopping(),
    )
    .with_scale(config.weight_scale)
    .with_logit_bound(config.logit_bound);
    let report =
        train_encrypted(&engine, &data, &config, &mut judge, spec.softmax_method()).unwrap();
    let w = judge
        .decrypt_weights::<CkksEngine>(&report.weights)
        .unwrap();
    accuracy(&w, &test).unwrap()
}

#[test]
fn the_whole_journey_in_separate_processes() {
    let dir = workdir("journey");
    write_data(&dir);
    // Insecure presets are refused without --insecure.
    let (success, _, err) = run(&dir, &["keygen", "--job", "JOB.toml", "--out", "OWNER"]);
    assert!(!success && err.contains("INSECURE"), "{err}");
    let plan = ok(&dir, &["plan", "--job", "JOB.toml"]);
    assert!(
        plan.contains("evaluation keys: ") && plan.contains("bootstraps"),
        "{plan}"
    );
    prepare(&dir);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("OWNER/secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (_server, url) = serve(&dir, "127.0.0.1:0", "serve.log");
    let mut args = train_args(&url, "MODEL");
    args.extend(["--plot".into(), "loss.svg".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = ok(&dir, &args);
    eprintln!("{out}");
    assert!(out.contains("best epoch"), "{out}");
    let svg = std::fs::read_to_string(dir.join("loss.svg")).unwrap();
    assert!(svg.contains("<polyline"));
    let json = predict(&dir, &["--json"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    let served = v["accuracy"].as_f64().unwrap();
    assert_eq!(v["samples"].as_u64(), Some(128));
    let text = predict(&dir, &[]);
    assert!(text.contains("confusion matrix"), "{text}");
    // Encrypted inference on the server: the same predictions as the
    // plaintext model on all but at most 2 of the 128 test samples (CKKS
    // noise may flip a near-tie), and the accuracy within 2 samples of it.
    let json = predict(&dir, &["--json", "--encrypted", "--owner", "OWNER"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    eprintln!("encrypted inference: {v}");
    assert_eq!(v["encrypted"].as_bool(), Some(true));
    assert_eq!(v["samples"].as_u64(), Some(128));
    let agree = v["agree_with_plaintext"].as_u64().unwrap();
    assert!(agree >= 126, "{agree} of 128 agree");
    let encrypted = v["accuracy"].as_f64().unwrap();
    assert!(
        (encrypted - served).abs() <= 2.0 / 128.0 + 1e-12,
        "{encrypted} vs {served}"
    );
    assert!(!dir.join("MODEL/features.data").exists());
    // The store never holds a secret-key frame; the owner's file does.
    assert!(
        contains_secret_frame(std::fs::File::open(dir.join("OWNER/secret.key")).unwrap()).unwrap()
    );
    let stored = files_under(&dir.join("STORE"));
    assert!(stored.iter().any(|p| p.ends_with("eval.keys")));
    for p in &stored {
        assert!(
            !contains_secret_frame(std::fs::File::open(p).unwrap()).unwrap(),
            "{p:?}"
        );
    }
    let local = in_process_accuracy(&dir);
    eprintln!("accuracy: served {served:.4}, in-process {local:.4} (128 test samples)");
    assert!(
        (served - local).abs() <= 2.0 / 128.0 + 1e-12,
        "served {served} vs in-process {local}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_server_killed_mid_epoch_resumes_to_bit_identical_weights() {
    let dir = workdir("kill");
    write_data(&dir);
    prepare(&dir);
    // Uninterrupted run.
    let done_a = {
        let (_server, url) = serve(&dir, "127.0.0.1:0", "serve-a.log");
        let args = train_args(&url, "MODEL-A");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&dir, &args);
        let (client, job) = session_client(&dir, "MODEL-A");
        client.status(&job).unwrap()
    };
    assert_eq!(done_a.state, JobState::Done);
    assert!(done_a.bootstraps > 0, "{done_a:?}");
    std::fs::rename(dir.join("STORE"), dir.join("STORE-A")).unwrap();
    // Interrupted run: SIGKILL during epoch 2, restart on the same store and port.
    let (mut server, url) = serve(&dir, "127.0.0.1:0", "serve-b.log");
    let listen = url.trim_start_matches("http://").to_string();
    let mut client_proc = train_in_background(&dir, &url, "MODEL-B", "train-b.log");
    let (client, job) = session_client(&dir, "MODEL-B");
    let per_epoch = TRAIN / 16;
    let s = wait_for(&client, &job, 600, |s| {
        s.state == JobState::Training && s.iteration > per_epoch && s.iteration < 2 * per_epoch
    });
    eprintln!("killing the server at {s:?}");
    server.kill();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (mut server2, _) = serve(&dir, &listen, "serve-c.log");
    // The counters go on from the epoch-1 checkpoint, not from zero.
    let resumed = client.status(&job).unwrap();
    eprintln!("after the restart: {resumed:?}");
    assert!(resumed.epoch >= 1, "{resumed:?}");
    assert!(resumed.iteration >= per_epoch, "{resumed:?}");
    assert!(resumed.bootstraps > 0, "{resumed:?}");
    assert_eq!(resumed.iterations_per_epoch, per_epoch);
    wait_success(&mut client_proc, 600, &dir.join("train-b.log"));
    let log = std::fs::read_to_string(dir.join("serve-c.log")).unwrap();
    assert!(log.contains("resuming from its checkpoint"), "{log}");
    // The same counts as the uninterrupted run: nothing lost, nothing
    // counted twice; and they survive another restart of a finished job.
    let done_b = client.status(&job).unwrap();
    server2.kill();
    let (_server3, _) = serve(&dir, &listen, "serve-d.log");
    let reloaded = client.status(&job).unwrap();
    for s in [&done_b, &reloaded] {
        assert_eq!(s.state, JobState::Done);
        assert_eq!(
            (
                s.epoch,
                s.iteration,
                s.iterations_per_epoch,
                s.bootstraps,
                s.best_epoch
            ),
            (
                done_a.epoch,
                done_a.iteration,
                done_a.iterations_per_epoch,
                done_a.bootstraps,
                done_a.best_epoch
            ),
            "{s:?} vs {done_a:?}"
        );
    }
    let weights = |store: &str| {
        let jobs = dir.join(store).join("jobs");
        let d = std::fs::read_dir(&jobs)
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path();
        std::fs::read(d.join("weights")).unwrap()
    };
    assert!(
        weights("STORE-A") == weights("STORE"),
        "encrypted weights differ"
    );
    let a = std::fs::read(dir.join("MODEL-A/weights.npy")).unwrap();
    let b = std::fs::read(dir.join("MODEL-B/weights.npy")).unwrap();
    assert!(a == b, "decrypted weights differ");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_key_owner_that_drops_out_and_returns_completes_the_job() {
    let dir = workdir("dropout");
    write_data(&dir);
    prepare(&dir);
    let (_server, url) = serve(&dir, "127.0.0.1:0", "serve.log");
    let mut first = train_in_background(&dir, &url, "MODEL", "train-1.log");
    let (client, job) = session_client(&dir, "MODEL");
    // The key owner dies after the start and before its verdict on the
    // first epoch can have reached the server (a status poll can miss the
    // short wait for that verdict, so "awaiting a verdict" alone could be
    // the last epoch's, and the job could finish without the owner).
    wait_for(&client, &job, 600, |s| {
        let started = matches!(
            s.state,
            JobState::Queued | JobState::Loading | JobState::Training
        );
        (started && s.epoch == 0)
            || (s.state == JobState::AwaitingVerdict && s.pending_epoch == Some(1))
    });
    first.kill();
    // The key owner may have answered the first epoch just before it died:
    // the job then trains the next epoch and waits for a verdict on that
    // one, which nobody gives until the key owner returns.
    let waiting = wait_for(&client, &job, 600, |s| s.state == JobState::AwaitingVerdict);
    let pending = waiting
        .pending_epoch
        .expect("a pending epoch while awaiting a verdict");
    std::thread::sleep(std::time::Duration::from_secs(1));
    let s = client.status(&job).unwrap();
    assert_eq!(s.state, JobState::AwaitingVerdict);
    assert_eq!(
        s.pending_epoch,
        Some(pending),
        "the job moved on without its key owner"
    );
    // No encrypted inference before the job is done.
    let early = client.predict(&job, &dir.join("JOB.toml")).unwrap_err();
    assert_eq!(early.status(), Some(409), "{early}");
    let mut second = train_in_background(&dir, &url, "MODEL", "train-2.log");
    wait_success(&mut second, 600, &dir.join("train-2.log"));
    let log = std::fs::read_to_string(dir.join("train-2.log")).unwrap();
    assert!(log.contains("resuming job"), "{log}");
    let s = client.status(&job).unwrap();
    assert_eq!((s.state, s.epoch), (JobState::Done, 2));
    assert!(dir.join("MODEL/weights.npy").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
