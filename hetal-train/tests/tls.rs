//! HTTPS between the roles (`hetal serve --tls-cert/--tls-key`, `hetal
//! train --ca`) as separate processes over loopback, with certificates made
//! by the test: the journey over HTTPS, and the failures a person meets
//! (plain HTTP on the TLS port, an untrusted or wrong root, a server that
//! does not speak TLS, unusable certificate and key files).

mod common;

use std::path::Path;

use common::*;
use hetal_train::protocol::client::{Client, ClientError};
use hetal_train::protocol::tls::PLAIN_HTTP_ERROR;
use hetal_train::protocol::JobState;

/// A self-signed certificate for `localhost` and 127.0.0.1: writes
/// `<name>.pem` (the certificate, also its own root) and `<name>.key`.
fn self_signed(dir: &Path, name: &str) {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(dir.join(format!("{name}.pem")), made.cert.pem()).unwrap();
    std::fs::write(
        dir.join(format!("{name}.key")),
        made.key_pair.serialize_pem(),
    )
    .unwrap();
}

fn tls_args<'a>(cert: &'a str, key: &'a str) -> [&'a str; 4] {
    ["--tls-cert", cert, "--tls-key", key]
}

/// A client that gives up quickly on an unreachable server (the failures
/// below must not be taken for one).
fn client(url: &str, ca: Option<&Path>) -> Client {
    let mut c = Client::with_ca(url, ca).unwrap();
    c.patience = std::time::Duration::from_secs(20);
    c
}

#[test]
fn the_journey_over_https_and_its_failures() {
    let dir = workdir("tls");
    write_data(&dir);
    self_signed(&dir, "server");
    self_signed(&dir, "other");
    prepare(&dir);
    let (_server, url) = serve_with(
        &dir,
        "127.0.0.1:0",
        "serve.log",
        &tls_args("server.pem", "server.key"),
    );
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let job = std::fs::read_to_string(dir.join("JOB.toml")).unwrap();

    // Plain HTTP on the TLS port: a 400 that says to use https://.
    let plain = url.replacen("https://", "http://", 1);
    match client(&plain, None).create_job(&job) {
        Err(ClientError::Api { status, message }) => {
            assert_eq!(status, 400);
            assert_eq!(message, PLAIN_HTTP_ERROR);
        }
        other => panic!("plain HTTP on the TLS port: {other:?}"),
    }
    // The system roots do not know the test's certificate, nor does a wrong root.
    for ca in [None, Some(dir.join("other.pem"))] {
        match client(&url, ca.as_deref()).create_job(&job) {
            Err(e @ ClientError::Tls { .. }) => {
                let text = e.to_string();
                assert!(text.contains("certificate"), "{text}");
            }
            other => panic!("untrusted certificate accepted with {ca:?}: {other:?}"),
        }
    }
    // The right root: a job is created and its status read over HTTPS.
    let ca = dir.join("server.pem");
    let c = client(&url, Some(&ca));
    let created = c.create_job(&job).unwrap();
    let s = c.with_token(&created.token).status(&created.id).unwrap();
    assert_eq!(s.state, JobState::Created);
    // --ca with an http:// URL is refused before any connection.
    assert!(matches!(
        Client::with_ca(&plain, Some(&ca)),
        Err(ClientError::CaWithoutHttps(_))
    ));

    // `hetal train` with the wrong root fails at once, saying why.
    let mut wrong = train_args(&url, "MODEL-WRONG");
    wrong.extend(["--ca".into(), "other.pem".into()]);
    let wrong: Vec<&str> = wrong.iter().map(String::as_str).collect();
    let (success, _, err) = run(&dir, &wrong);
    assert!(!success, "trained with a wrong root");
    assert!(err.contains("TLS with https://127.0.0.1"), "{err}");
    assert!(err.contains("certificate"), "{err}");

    // The journey over HTTPS.
    let mut args = train_args(&url, "MODEL");
    args.extend(["--ca".into(), "server.pem".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = ok(&dir, &args);
    assert!(out.contains("best epoch"), "{out}");
    let (c, job_id) = session_client_with_ca(&dir, "MODEL", Some(&ca));
    let s = c.status(&job_id).unwrap();
    assert_eq!(s.state, JobState::Done);
    assert_eq!(s.iteration, s.epoch * s.iterations_per_epoch);
    let json = predict(&dir, &["--json"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    let accuracy = v["accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.5, "accuracy {accuracy} over HTTPS");
    let log = std::fs::read_to_string(dir.join("serve.log")).unwrap();
    assert!(log.contains("plain HTTP on the TLS port"), "{log}");
    assert!(log.contains("TLS handshake failed"), "{log}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_https_client_of_a_plain_http_server_is_told_it_is_not_tls() {
    let dir = workdir("tls-plain");
    std::fs::write(dir.join("JOB.toml"), JOB).unwrap();
    self_signed(&dir, "server");
    let (_server, url) = serve(&dir, "127.0.0.1:0", "serve.log");
    let https = url.replacen("http://", "https://", 1);
    match client(&https, Some(&dir.join("server.pem"))).create_job(JOB) {
        Err(e @ ClientError::Tls { .. }) => eprintln!("{e}"),
        other => panic!("TLS to a plain HTTP server: {other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unusable_certificate_and_key_files_are_named() {
    let dir = workdir("tls-files");
    self_signed(&dir, "a");
    self_signed(&dir, "b");
    std::fs::write(dir.join("junk.pem"), "not a certificate\n").unwrap();
    let serve = |extra: &[&str]| {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--store", "STORE"];
        args.extend(extra);
        let (success, _, err) = run(&dir, &args);
        assert!(!success, "served with {extra:?}");
        err
    };
    // Both or neither.
    let err = serve(&["--tls-cert", "a.pem"]);
    assert!(err.contains("--tls-key"), "{err}");
    let err = serve(&["--tls-key", "a.key"]);
    assert!(err.contains("--tls-cert"), "{err}");
    let err = serve(&tls_args("missing.pem", "a.key"));
    assert!(err.contains("missing.pem"), "{err}");
    let err = serve(&tls_args("junk.pem", "a.key"));
    assert!(
        err.contains("junk.pem") && err.contains("no PEM certificate"),
        "{err}"
    );
    let err = serve(&tls_args("a.pem", "a.pem"));
    assert!(
        err.contains("a.pem") && err.contains("no PEM private key"),
        "{err}"
    );
    let err = serve(&tls_args("a.pem", "b.key"));
    assert!(err.contains("does not match"), "{err}");
    // A root file without a certificate is refused by the client.
    assert!(matches!(
        Client::with_ca("https://127.0.0.1:1", Some(&dir.join("junk.pem"))),
        Err(ClientError::Root(_))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
