//! The HTTPS accept loop: a bounded number of connections, a TLS handshake deadline, hyper's
//! header-read timeout with a timer installed (hyper silently disables it without one), and a
//! graceful shutdown that lets in-flight requests finish.
//!
//! The protocol is the one ALPN negotiated, served by hyper's own HTTP/1 or HTTP/2 builder.
//! (hyper-util's auto builder would first sniff the connection's opening bytes, and wait for
//! them without any deadline: a silent client could hold a connection forever.)

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;

use crate::slots::SlotCounter;
use crate::state::client_key;

/// Connection-level limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Most concurrent connections; more are refused at accept.
    pub max_connections: usize,
    /// Most concurrent connections from one client (address, or /64 for IPv6).
    pub max_connections_per_ip: usize,
    /// Deadline for the TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// Deadline for a request's headers.
    pub header_read_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    pub drain_timeout: Duration,
}

/// Serves `app` over TLS on `listener` until `shutdown` is cancelled, then drains.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let acceptor = TlsAcceptor::from(tls);
    let connections = TaskTracker::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_client = Arc::new(SlotCounter::new());
    let mut refusals = RefusalLog::default();
    loop {
        let (tcp, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Typically EMFILE: back off briefly instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            refusals.note("connection limit reached");
            continue;
        };
        let Some(client_slot) = per_client.try_acquire(client_key(peer.ip()), limits.max_connections_per_ip) else {
            refusals.note("per-client connection limit reached");
            continue;
        };
        let (acceptor, app, shutdown) = (acceptor.clone(), app.clone(), shutdown.clone());
        connections.spawn(async move {
            let _slots = (slot, client_slot);
            let Ok(Ok(stream)) = tokio::time::timeout(limits.tls_handshake_timeout, acceptor.accept(tcp)).await else {
                return;
            };
            serve_connection(stream, peer, app, limits, shutdown).await;
        });
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(limits.drain_timeout, connections.wait()).await.is_err() {
        tracing::warn!("shutdown drain timed out; remaining connections were dropped");
    }
}

async fn serve_connection(
    stream: TlsStream<TcpStream>,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let negotiated_h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    let service = TowerToHyperService::new(app.map_request(move |mut request: axum::extract::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
        request
    }));
    let io = TokioIo::new(stream);
    let result = if negotiated_h2 {
        let connection = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .max_concurrent_streams(100)
            .keep_alive_interval(limits.header_read_timeout)
            .keep_alive_timeout(limits.header_read_timeout)
            .serve_connection(io, service);
        until_shutdown(connection, &shutdown).await
    } else {
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(io, service)
            .with_upgrades();
        until_shutdown(connection, &shutdown).await
    };
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// Counts refused connections and logs them at most every ten seconds, so that a client
/// hammering the limit cannot flood the log.
#[derive(Default)]
struct RefusalLog {
    refused: u64,
    last_logged: Option<tokio::time::Instant>,
}

impl RefusalLog {
    const EVERY: Duration = Duration::from_secs(10);

    fn note(&mut self, reason: &'static str) {
        self.refused += 1;
        if self.last_logged.is_none_or(|at| at.elapsed() >= Self::EVERY) {
            tracing::warn!(reason, refused = self.refused, "refusing connections");
            self.refused = 0;
            self.last_logged = Some(tokio::time::Instant::now());
        }
    }
}

/// A hyper connection that can be asked to finish its in-flight requests and stop.
trait GracefulConnection: Future<Output = Result<(), hyper::Error>> {
    fn start_graceful_shutdown(self: Pin<&mut Self>);
}

impl<I, S, B> GracefulConnection for http1::UpgradeableConnection<I, S>
where
    http1::UpgradeableConnection<I, S>: Future<Output = Result<(), hyper::Error>>,
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn start_graceful_shutdown(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

impl<I, S, E, B> GracefulConnection for http2::Connection<I, S, E>
where
    http2::Connection<I, S, E>: Future<Output = Result<(), hyper::Error>>,
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn start_graceful_shutdown(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

async fn until_shutdown<C: GracefulConnection>(connection: C, shutdown: &CancellationToken) -> Result<(), hyper::Error> {
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => result,
        () = shutdown.cancelled() => {
            connection.as_mut().start_graceful_shutdown();
            connection.await
        }
    }
}
