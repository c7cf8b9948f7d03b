//! HTTPS for the server (`hetal serve --tls-cert CERT.pem --tls-key KEY.pem`)
//! and the trust roots of the client (`hetal train --ca CA.pem`).
//!
//! rustls with the ring provider on both sides (the provider reqwest's
//! rustls already uses), tokio-rustls for the server's handshakes. The
//! server accepts TCP connections in a loop and runs each handshake in its
//! own task, under a timeout and a cap on concurrent handshakes, so that a
//! slow or silent peer never holds up the others; finished TLS streams are
//! handed to axum through [`TlsListener`]. A peer that speaks plain HTTP to
//! the TLS port gets a `400` whose `error` says to use `https://`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::ring::default_provider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Largest PEM file read (certificate chain, key or extra root).
pub const MAX_PEM_BYTES: u64 = 1 << 20;
/// Time a peer has to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; further connections wait in the backlog.
pub const MAX_HANDSHAKES: usize = 64;

/// Bytes of a plain-HTTP request read and dropped after the refusal.
const DRAIN_BYTES: usize = 1 << 20;

/// The `error` answered to plain HTTP on the TLS port.
pub const PLAIN_HTTP_ERROR: &str = "this server speaks HTTPS: use an https:// URL";

/// Errors of the TLS set-up (certificate, key and root files).
#[derive(Debug, Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file is larger than [`MAX_PEM_BYTES`].
    #[error("{0}: larger than {MAX_PEM_BYTES} bytes: not a PEM certificate or key")]
    TooLarge(PathBuf),
    /// A file is not valid PEM.
    #[error("{path}: not valid PEM: {source}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// No `CERTIFICATE` section in a certificate file.
    #[error("{0}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it")]
    NoCertificate(PathBuf),
    /// No private key section in a key file.
    #[error("{0}: no PEM private key (PKCS#8, PKCS#1 or SEC1) in it")]
    NoKey(PathBuf),
    /// The key is not the certificate's.
    #[error("the private key in {key} does not match the certificate in {cert}")]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's finding.
        #[source]
        source: rustls::Error,
    },
    /// rustls refused the certificate or key otherwise (unsupported key type...).
    #[error("{cert} with {key}: unusable for TLS: {source}")]
    Unusable {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        #[source]
        source: rustls::Error,
    },
    /// An extra root certificate was refused by the client library.
    #[error("{path}: not a usable root certificate: {source}")]
    Root {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
}

/// Reads a PEM file (at most [`MAX_PEM_BYTES`]).
pub fn read_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    let read = |source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read)?.len();
    if len > MAX_PEM_BYTES {
        return Err(TlsError::TooLarge(path.to_path_buf()));
    }
    std::fs::read(path).map_err(read)
}

/// The certificates of a PEM file, in order (at least one).
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_pem(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            path: path.to_path_buf(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.to_path_buf()));
    }
    Ok(certs)
}

/// The first private key of a PEM file.
pub fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = zeroize::Zeroizing::new(read_pem(path)?);
    PrivateKeyDer::from_pem_slice(&pem).map_err(|source| match source {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoKey(path.to_path_buf()),
        source => TlsError::Pem {
            path: path.to_path_buf(),
            source,
        },
    })
}

/// The server's rustls configuration from a certificate chain and its key
/// (PEM files); HTTP/1.1 over TLS 1.2 or 1.3.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = read_certificates(cert)?;
    let private = read_private_key(key)?;
    let files = || (cert.to_path_buf(), key.to_path_buf());
    let mut config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|source| {
            let (cert, key) = files();
            TlsError::Unusable { cert, key, source }
        })?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|source| {
            let (cert, key) = files();
            match source {
                rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch { cert, key, source },
                source => TlsError::Unusable { cert, key, source },
            }
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A listener of finished TLS connections for `axum::serve`.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `tcp` (on the current tokio runtime) with `config`.
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(MAX_HANDSHAKES);
        tokio::spawn(accept_loop(tcp, TlsAcceptor::from(config), tx));
        Ok(TlsListener { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept loop ended (it only does when the runtime stops).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match tcp.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait, then go on.
                eprintln!("accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        tokio::spawn(async move {
            let outcome =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&acceptor, stream)).await;
            drop(permit);
            match outcome {
                Ok(Ok(Some(tls))) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Ok(None)) => eprintln!("{peer}: plain HTTP on the TLS port, refused"),
                Ok(Err(e)) => eprintln!("{peer}: TLS handshake failed: {e}"),
                Err(_) => eprintln!("{peer}: TLS handshake timed out"),
            }
        });
    }
}

/// Completes a handshake; a peer whose first byte cannot start a TLS
/// record (0x16, handshake) but looks like an HTTP method is answered a
/// plain-HTTP `400` and dropped (`Ok(None)`).
async fn handshake(
    acceptor: &TlsAcceptor,
    mut stream: TcpStream,
) -> std::io::Result<Option<TlsStream<TcpStream>>> {
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    if first[0].is_ascii_uppercase() {
        let body = serde_json::json!({ "error": PLAIN_HTTP_ERROR }).to_string();
        let answer = format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        // Read what the peer sent until it closes (bounded), so that the
        // close is not a reset that could discard the answer on its side.
        let mut sink = [0u8; 4096];
        let mut left = DRAIN_BYTES;
        while left > 0 {
            match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut sink)).await {
                Ok(Ok(n)) if n > 0 => left = left.saturating_sub(n),
                _ => break,
            }
        }
        return Ok(None);
    }
    acceptor.accept(stream).await.map(Some)
}
