//! `hetal serve`: the untrusted training server, over HTTP or (with a
//! certificate and key) HTTPS.

use std::path::{Path, PathBuf};

use super::CliError;
use crate::protocol::server::{serve as serve_http, Server};
use crate::protocol::tls::{server_config, TlsListener};

/// The server's certificate chain and private key (PEM files).
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// The leaf's private key.
    pub key: PathBuf,
}

/// Runs the server until it is killed.
pub fn serve(
    listen: &str,
    store: &Path,
    insecure: bool,
    tls: Option<&TlsFiles>,
) -> Result<(), CliError> {
    let io = |context: &str| {
        let context = context.to_string();
        move |source| CliError::Io { context, source }
    };
    // Certificate problems are reported before anything else starts.
    let tls = tls.map(|t| server_config(&t.cert, &t.key)).transpose()?;
    let server = Server::open(store, insecure)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(io("starting the runtime"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(io(&format!("listening on {listen}")))?;
        let addr = listener.local_addr().map_err(io("local address"))?;
        eprintln!(
            "hetal server listening on {}://{addr}, store {} ({} presets: {})",
            if tls.is_some() { "https" } else { "http" },
            store.display(),
            if insecure { "INSECURE test" } else { "secure" },
            if insecure { "accepted" } else { "only" }
        );
        match tls {
            Some(config) => {
                let listener = TlsListener::new(listener, config).map_err(io("TLS listener"))?;
                serve_http(listener, server).await
            }
            None => serve_http(listener, server).await,
        }
        .map_err(io("serving"))
    })
}
