//! Helpers of the process-level tests: a small data set as .npy files, the
//! `hetal` binary as child processes (killed when dropped), servers on
//! loopback.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hetal_train::linalg::Matrix;
use hetal_train::protocol::client::Client;
use hetal_train::protocol::owner::Session;
use hetal_train::protocol::Status;

/// The job of these tests: INSECURE-n10, 4 classes, 16 features, 2 epochs.
pub const JOB: &str = "preset = \"INSECURE-n10\"\nclasses = 4\nfeatures = 16\nbatch_size = 16\n\
learning_rate = 0.5\nmax_epochs = 2\npatience = 3\nsoftmax = \"hetal-lean\"\n";

/// Training samples (4 batches of 16).
pub const TRAIN: usize = 64;

/// A fresh directory for one test.
pub fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hetal-roles-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_labels(path: &Path, labels: &[usize]) {
    use npyz::WriterBuilder;
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[labels.len() as u64])
        .writer(std::fs::File::create(path).unwrap())
        .begin_nd()
        .unwrap();
    w.extend(labels.iter().map(|&l| l as i64)).unwrap();
    w.finish().unwrap();
}

/// Digits 0..=3, 8x8 pixels pooled to 4x4 (16 features in [0, 1]), split
/// into X/y (training), Xv/yv (validation) and Xt/yt (test) .npy files.
pub fn write_data(dir: &Path) -> hetal_train::data::Dataset {
    let all = hetal_train::data::digits().unwrap();
    let keep: Vec<usize> = (0..all.len()).filter(|&i| all.labels[i] < 4).collect();
    let pooled = Matrix::from_fn(keep.len(), 16, |r, c| {
        let row = all.features.row(keep[r]);
        let (br, bc) = (c / 4, c % 4);
        let mut s = 0.0;
        for dr in 0..2 {
            for dc in 0..2 {
                s += row[(2 * br + dr) * 8 + 2 * bc + dc];
            }
        }
        s / 4.0
    });
    let labels: Vec<usize> = keep.iter().map(|&i| all.labels[i]).collect();
    let parts = [
        ("X", "y", 0, TRAIN),
        ("Xv", "yv", TRAIN, TRAIN + 32),
        ("Xt", "yt", TRAIN + 32, TRAIN + 160),
    ];
    for (x, y, a, b) in parts {
        let m = Matrix::from_fn(b - a, 16, |r, c| pooled.row(a + r)[c]);
        hetal_train::io::write_npy_matrix(&dir.join(format!("{x}.npy")), &m).unwrap();
        write_labels(&dir.join(format!("{y}.npy")), &labels[a..b]);
    }
    std::fs::write(dir.join("JOB.toml"), JOB).unwrap();
    hetal_train::data::Dataset {
        features: pooled,
        labels,
        classes: 4,
    }
}

/// The `hetal` binary.
pub fn hetal() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hetal"))
}

/// Runs `hetal args…` in `dir` to completion; returns (success, stdout, stderr).
pub fn run(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = hetal().current_dir(dir).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `hetal args…` and requires success.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let (success, out, err) = run(dir, args);
    assert!(success, "hetal {args:?} failed:\n{out}\n{err}");
    out
}

/// `hetal predict --model MODEL --features Xt.npy --labels yt.npy` plus
/// `extra`, which must succeed; its standard output.
pub fn predict(dir: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "predict",
        "--model",
        "MODEL",
        "--features",
        "Xt.npy",
        "--labels",
        "yt.npy",
    ];
    args.extend_from_slice(extra);
    ok(dir, &args)
}

/// A child process killed (SIGKILL) when dropped.
pub struct Proc(pub Child);

impl Proc {
    /// Kills the process now (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `hetal serve` on `listen` (use port 0 for any) with its log in
/// `dir/<log>`; returns the process and the base URL.
pub fn serve(dir: &Path, listen: &str, log: &str) -> (Proc, String) {
    serve_with(dir, listen, log, &[])
}

/// [`serve`] with extra arguments (for example `--tls-cert`, `--tls-key`).
pub fn serve_with(dir: &Path, listen: &str, log: &str, extra: &[&str]) -> (Proc, String) {
    let log_path = dir.join(log);
    let file = std::fs::File::create(&log_path).unwrap();
    let child = hetal()
        .current_dir(dir)
        .args([
            "serve",
            "--listen",
            listen,
            "--store",
            "STORE",
            "--insecure",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .unwrap();
    let proc = Proc(child);
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        if let Some(rest) = text.split("listening on ").nth(1) {
            let url = rest.split(',').next().unwrap().trim().to_string();
            return (proc, url);
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server did not start: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `hetal train` against `url` in the background.
pub fn train_in_background(dir: &Path, url: &str, out: &str, log: &str) -> Proc {
    let file = std::fs::File::create(dir.join(log)).unwrap();
    let child = hetal()
        .current_dir(dir)
        .args(train_args(url, out).iter().map(String::as_str))
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    Proc(child)
}

/// Arguments of `hetal train` for these tests.
pub fn train_args(url: &str, out: &str) -> Vec<String> {
    [
        "train",
        "--server",
        url,
        "--owner",
        "OWNER",
        "--data",
        "BATCHES",
        "--validation",
        "Xv.npy",
        "--validation-labels",
        "yv.npy",
        "--out",
        out,
        "--insecure",
        "--retry-seconds",
        "120",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// `keygen` and `encrypt` for the test job in `dir`.
pub fn prepare(dir: &Path) {
    ok(
        dir,
        &[
            "keygen",
            "--job",
            "JOB.toml",
            "--out",
            "OWNER",
            "--insecure",
        ],
    );
    ok(
        dir,
        &[
            "encrypt",
            "--public",
            "OWNER/public.key",
            "--features",
            "X.npy",
            "--labels",
            "y.npy",
            "--out",
            "BATCHES",
        ],
    );
}

/// Waits until the session file of a background `train` exists, and
/// returns a client bound to its job.
pub fn session_client(dir: &Path, out: &str) -> (Client, String) {
    session_client_with_ca(dir, out, None)
}

/// [`session_client`] trusting the root certificate `ca` (PEM) too.
pub fn session_client_with_ca(dir: &Path, out: &str, ca: Option<&Path>) -> (Client, String) {
    let path = dir.join(out).join("session.json");
    let start = Instant::now();
    loop {
        if let Ok(bytes) = std::fs::read(&path) {
            if let Ok(s) = serde_json::from_slice::<Session>(&bytes) {
                let mut c = Client::with_ca(&s.server, ca).unwrap().with_token(&s.token);
                c.patience = Duration::from_secs(60);
                return (c, s.job);
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no session file"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Polls a job's status until `done` holds (or panics after `secs`).
pub fn wait_for(client: &Client, job: &str, secs: u64, done: impl Fn(&Status) -> bool) -> Status {
    let start = Instant::now();
    loop {
        let s = client.status(job).unwrap();
        if done(&s) {
            return s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out at {s:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits for a child to exit successfully within `secs`.
pub fn wait_success(p: &mut Proc, secs: u64, log: &Path) {
    let start = Instant::now();
    loop {
        if let Some(status) = p.0.try_wait().unwrap() {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            assert!(status.success(), "process failed:\n{text}");
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "process timed out"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
