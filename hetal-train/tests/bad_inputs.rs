//! The bad-input catalogue against a real server process: each answered
//! with a typed error, the job left intact.

mod common;

use std::path::Path;

use common::*;
use hetal_train::job::frames::{open_frames, Content, FrameWriter};
use hetal_train::protocol::client::{Client, ClientError};
use hetal_train::protocol::{JobState, VerdictMsg};

#[track_caller]
fn status_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> u16 {
    match r {
        Err(e) => e
            .status()
            .unwrap_or_else(|| panic!("not an HTTP refusal: {e}")),
        Ok(v) => panic!("accepted: {v:?}"),
    }
}

#[track_caller]
fn message<T: std::fmt::Debug>(r: Result<T, ClientError>) -> String {
    match r {
        Err(ClientError::Api { message, .. }) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Sends the headers of `request` (method and path) on a raw connection,
/// checks that no answer comes before its 16-byte body, sends the body,
/// and returns the answer's status code.
fn refusal_after_the_body(url: &str, request: &str, token: &str) -> u16 {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "{request} HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\nContent-Length: 16\r\n\r\n"
    )
    .unwrap();
    conn.flush().unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .unwrap();
    let mut early = [0u8; 64];
    match conn.read(&mut early) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) => {}
        other => panic!(
            "answered before the body: {other:?} {:?}",
            String::from_utf8_lossy(&early)
        ),
    }
    conn.write_all(&[0u8; 16]).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut head = [0u8; 12];
    conn.read_exact(&mut head).unwrap();
    let line = String::from_utf8_lossy(&head).to_string();
    line.strip_prefix("HTTP/1.1 ")
        .and_then(|code| code.trim().parse().ok())
        .unwrap_or_else(|| panic!("not a status line: {line:?}"))
}

/// Copies a frame file with another meta block and content tag, adding `extra` frames.
fn reframe(src: &Path, content: Content, meta: &str, dst: &Path, extra: &[Vec<u8>]) {
    let mut r = open_frames(src, content_of(src), 1 << 30).unwrap();
    let mut w = FrameWriter::new(std::fs::File::create(dst).unwrap(), content, meta).unwrap();
    while let Some(f) = r.next_frame().unwrap() {
        w.push(&f).unwrap();
    }
    for f in extra {
        w.push(f).unwrap();
    }
    w.finish().unwrap();
}

fn content_of(p: &Path) -> Content {
    match p.file_name().and_then(|n| n.to_str()) {
        Some("secret.key") => Content::SecretKey,
        Some("public.key") => Content::PublicKey,
        Some("eval.keys") => Content::EvalKeys,
        _ => Content::TrainData,
    }
}

fn first_frame(p: &Path) -> Vec<u8> {
    open_frames(p, content_of(p), 1 << 30)
        .unwrap()
        .next_frame()
        .unwrap()
        .unwrap()
}

#[test]
fn bad_inputs_are_refused_and_the_job_stays_intact() {
    let dir = workdir("bad");
    write_data(&dir);
    prepare(&dir);
    let (_server, url) = serve(&dir, "127.0.0.1:0", "serve.log");
    let anon = Client::new(&url).unwrap();
    // Malformed job files, unknown keys, oversized bodies.
    assert_eq!(status_of(anon.create_job("preset = ")), 400);
    let m = message(anon.create_job(&format!("{JOB}colour = 3\n")));
    assert!(m.contains("colour"), "{m}");
    assert_eq!(status_of(anon.create_job(&"#".repeat(100 << 10))), 413);
    let a = anon.create_job(JOB).unwrap();
    let b = anon.create_job(JOB).unwrap();
    let ca = Client::new(&url).unwrap().with_token(&a.token);
    // Missing, wrong and another job's token.
    assert_eq!(status_of(anon.status(&a.id)), 401);
    assert_eq!(
        status_of(Client::new(&url).unwrap().with_token("x").status(&a.id)),
        401
    );
    assert_eq!(
        status_of(
            Client::new(&url)
                .unwrap()
                .with_token(&b.token)
                .status(&a.id)
        ),
        401
    );
    assert_eq!(ca.status(&a.id).unwrap().state, JobState::Created);
    // Starting before the uploads; a verdict for an epoch that is not pending.
    assert_eq!(status_of(ca.start(&a.id)), 409);
    let v = VerdictMsg {
        epoch: 1,
        stop: false,
        best_epoch: 1,
    };
    assert_eq!(status_of(ca.verdict(&a.id, &v)), 409);
    // Inference before the job is done, an upload with a wrong token: the
    // server reads the (small) body before refusing, so that the client is
    // not cut off mid-upload.
    let predict = format!("POST /v1/jobs/{}/predict", a.id);
    assert_eq!(refusal_after_the_body(&url, &predict, &a.token), 409);
    let keys_upload = format!("PUT /v1/jobs/{}/eval-keys", a.id);
    assert_eq!(refusal_after_the_body(&url, &keys_upload, "x"), 401);
    let bar = indicatif::ProgressBar::hidden();
    let upload = |route: &str, file: &Path| ca.upload(&a.id, route, file, &bar);
    let job_dir = dir.join("STORE/jobs").join(&a.id);
    let keys = dir.join("OWNER/eval.keys");
    let data = dir.join("BATCHES/train.data");
    // A truncated upload.
    let bytes = std::fs::read(&keys).unwrap();
    let cut = dir.join("cut.keys");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let m = message(upload("eval-keys", &cut));
    assert!(m.contains("truncated") || m.contains("expected"), "{m}");
    assert!(!job_dir.join("eval.keys").exists());
    // A corrupted frame (its magic).
    let mut bytes = std::fs::read(&data).unwrap();
    let at = bytes.windows(4).position(|w| w == b"HETL").unwrap();
    bytes[at] = b'X';
    let bad = dir.join("bad.data");
    std::fs::write(&bad, &bytes).unwrap();
    let m = message(upload("train-data", &bad));
    assert!(m.contains("frame 0 rejected"), "{m}");
    // Frames of another parameter set under this job's meta.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(
        other.join("JOB.toml"),
        JOB.replace("INSECURE-n10", "INSECURE-n11"),
    )
    .unwrap();
    ok(
        &other,
        &[
            "keygen",
            "--job",
            "JOB.toml",
            "--out",
            "OWNER",
            "--insecure",
        ],
    );
    let meta = JobSpecText::of(&keys);
    // (The dense-to-sparse key, the last frame: small enough to pass the
    // size checks and reach the digest check.)
    let foreign = dir.join("foreign.keys");
    let mut r = open_frames(&other.join("OWNER/eval.keys"), Content::EvalKeys, 1 << 30).unwrap();
    let mut last = None;
    while let Some(f) = r.next_frame().unwrap() {
        last = Some(f);
    }
    let mut w = FrameWriter::new(
        std::fs::File::create(&foreign).unwrap(),
        Content::EvalKeys,
        &meta,
    )
    .unwrap();
    w.push(&last.unwrap()).unwrap();
    w.finish().unwrap();
    let m = message(upload("eval-keys", &foreign));
    assert!(m.contains("another parameter set"), "{m}");
    // A secret-key frame among the evaluation keys.
    let sneaky = dir.join("sneaky.keys");
    let secret = first_frame(&dir.join("OWNER/secret.key"));
    let mut w = FrameWriter::new(
        std::fs::File::create(&sneaky).unwrap(),
        Content::EvalKeys,
        &meta,
    )
    .unwrap();
    w.push(&secret).unwrap();
    w.finish().unwrap();
    let m = message(upload("eval-keys", &sneaky));
    assert!(m.contains("secret key"), "{m}");
    // Too many frames, and a frame length beyond the limit.
    let data_meta = open_frames(&data, Content::TrainData, 1 << 30)
        .unwrap()
        .meta()
        .to_string();
    let longer = dir.join("longer.data");
    reframe(
        &data,
        Content::TrainData,
        &data_meta,
        &longer,
        &[first_frame(&data)],
    );
    let m = message(upload("train-data", &longer));
    assert!(m.contains("frames"), "{m}");
    let mut bytes = std::fs::read(&data).unwrap();
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&bad, &bytes).unwrap();
    let m = message(upload("train-data", &bad));
    assert!(m.contains("exceeds the limit"), "{m}");
    // Nothing of that was stored; the good files are accepted afterwards.
    let stored: Vec<_> = files_under(&job_dir);
    assert!(
        stored
            .iter()
            .all(|p| p.ends_with("job.toml") || p.ends_with("token.sha256")),
        "{stored:?}"
    );
    assert!(upload("eval-keys", &keys).is_ok());
    assert!(upload("train-data", &data).is_ok());
    assert_eq!(ca.status(&a.id).unwrap().state, JobState::Created);
    // Bad local files: one error line naming the file and the problem.
    std::fs::write(dir.join("bad.npy"), b"\x93NUMPY\x01\x00garbage").unwrap();
    let (success, _, err) = run(
        &dir,
        &[
            "encrypt",
            "--public",
            "OWNER/public.key",
            "--features",
            "bad.npy",
            "--labels",
            "y.npy",
            "--out",
            "B2",
        ],
    );
    assert!(
        !success && err.contains("bad.npy") && err.contains("not a valid .npy"),
        "{err}"
    );
    std::fs::write(dir.join("bad.csv"), "1,2\n3\n").unwrap();
    let (success, _, err) = run(
        &dir,
        &[
            "encrypt",
            "--public",
            "OWNER/public.key",
            "--features",
            "bad.csv",
            "--labels",
            "y.npy",
            "--out",
            "B2",
        ],
    );
    assert!(
        !success && err.contains("bad.csv") && err.contains("line 2"),
        "{err}"
    );
    let (success, _, err) = run(
        &dir,
        &[
            "encrypt",
            "--public",
            "OWNER/public.key",
            "--features",
            "Xt.npy",
            "--labels",
            "y.npy",
            "--out",
            "B2",
        ],
    );
    assert!(
        !success && err.contains("y.npy") && err.contains("labels"),
        "{err}"
    );
    std::fs::write(
        dir.join("bad.toml"),
        "preset = \"INSECURE-n10\"\nclasses = 4\n",
    )
    .unwrap();
    let (success, _, err) = run(&dir, &["plan", "--job", "bad.toml"]);
    assert!(
        !success && err.contains("bad.toml") && err.contains("features"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The job text in a key file's meta block.
struct JobSpecText;

impl JobSpecText {
    fn of(keys: &Path) -> String {
        open_frames(keys, Content::EvalKeys, 1 << 30)
            .unwrap()
            .meta()
            .to_string()
    }
}
