//! `hetal serve`: the untrusted training server.

use std::path::Path;

use super::CliError;
use crate::protocol::server::{serve as serve_http, Server};

/// Runs the server until it is killed.
pub fn serve(listen: &str, store: &Path, insecure: bool) -> Result<(), CliError> {
    let io = |context: &str| {
        let context = context.to_string();
        move |source| CliError::Io { context, source }
    };
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
            "hetal server listening on http://{addr}, store {} ({} presets: {})",
            store.display(),
            if insecure { "INSECURE test" } else { "secure" },
            if insecure { "accepted" } else { "only" }
        );
        serve_http(listener, server)
            .await
            .map_err(io("serving HTTP"))
    })
}
