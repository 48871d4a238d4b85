//! Accepting and serving connections, with limits ([`Limits`]): how many are served at
//! once, how long a client may take to send a request's headers (which is also how long
//! a kept-alive connection may sit idle) and its body, and how long an answer may wait
//! for a client that stopped reading.
//!
//! **One crate, two servers.** The mock and the reference reseller both face clients
//! they cannot trust (SOAP clients, the UPS's callers, browsers, drivers), so both serve
//! through this accept loop. It is a crate of its own so that neither depends on the
//! other: the reference reseller is the integrator's template and depends on the
//! protocol crate and this one, never on the mock; `glase-protocol` stays free of tokio
//! and axum. It uses nothing of either server, so an integrator can copy it as it is.
//!
//! # Implementation rationale
//! `axum::serve` has no timeouts and no connection limit, and hyper's header timeout needs
//! a timer that `axum::serve` does not give it. So this is a small accept loop over
//! hyper's HTTP/1.1 connection (the mock speaks only HTTP/1.1, as SOAP clients do):
//! - a semaphore permit per connection; without one the loop stops accepting, so excess
//!   connections wait in the kernel's listen backlog and cost the mock no descriptor;
//! - hyper's `header_read_timeout` with a tokio timer. In hyper 1.x it restarts whenever
//!   the connection goes idle after an answer, so it is the idle timeout too; while an
//!   answer streams (Server-Sent Events) the connection is not waiting for headers;
//! - [`BodyDeadline`]: the whole request body within a deadline (a per-chunk timeout
//!   would let a client trickle a 1 MiB body for weeks);
//! - [`StallGuard`]: a write that makes no progress for `write_timeout` fails, closing
//!   the connection. Reads are not timed at this level: during a long-poll or an event
//!   stream the client rightly sends nothing.
//!
//! Connections are tasks in a `JoinSet` owned by [`serve`], so stopping the server (or
//! dropping its future) stops them all; a graceful shutdown asks each to finish its
//! current exchange and waits for them for at most the drain period.

pub mod config_file;
#[cfg(feature = "hostile-clients")]
pub mod hostile;
pub mod logging;

pub use config_file::{ConfigError, ConfigFileError, read_toml};
pub use logging::{LogFormat, init_tracing};

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use http_body::{Frame, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Sleep;

/// The limits a server enforces on the connections clients open to it: the `[server]`
/// section of the mock's and the reference reseller's configuration **[decision]**.
/// Without them a slowloris client held a connection for 90 s and 20 000 half-open ones
/// used up the file descriptors until the mock stopped answering.
///
/// ```toml
/// [server]
/// header_read_timeout = "10s"   # also how long a kept-alive connection may sit idle
/// body_read_timeout = "30s"
/// write_timeout = "30s"         # a client that takes nothing of an answer this long
/// max_connections = 900         # beyond it new connections wait in the listen backlog
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// A request's complete headers must arrive within this, counted from when the server
    /// starts waiting for them: on a new connection, and on a kept-alive one after the
    /// previous answer, so it is also how long an idle connection stays open. An answer
    /// being streamed (Server-Sent Events, a long-poll) is not idle.
    #[serde(with = "duration_text")]
    pub header_read_timeout: Duration,
    /// A request's body must arrive completely within this, from its first byte.
    #[serde(with = "duration_text")]
    pub body_read_timeout: Duration,
    /// Longest an answer may wait for the client to take more of it; the connection is
    /// then closed.
    #[serde(with = "duration_text")]
    pub write_timeout: Duration,
    /// Connections served at once. Beyond it the server stops accepting (new connections
    /// wait in the operating system's listen backlog) and logs it once, until one closes.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            // Well inside the usual 1024-descriptor soft limit once the journal, the
            // outbound calls and the listener have theirs.
            max_connections: 900,
        }
    }
}

impl Limits {
    /// What is wrong with these limits, one line each, named as in the `[server]` section.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.max_connections == 0 {
            problems.push("server.max_connections must be at least 1".to_owned());
        }
        for (name, value) in [
            ("server.header_read_timeout", self.header_read_timeout),
            ("server.body_read_timeout", self.body_read_timeout),
            ("server.write_timeout", self.write_timeout),
        ] {
            if value.is_zero() || value > MAX_TIMEOUT {
                problems.push(format!("{name} must be more than 0 and at most a day"));
            }
        }
        problems
    }
}

/// The longest timeout the limits accept: beyond it a timer is a typo, not a policy.
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

mod duration_text {
    //! A `Duration` as humantime text ("10s", "2m") in TOML and JSON.
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*value).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

/// Completes when the process is asked to stop (Ctrl-C, or SIGTERM as container
/// runtimes and process managers send it): the `shutdown` future of [`serve`].
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; draining connections");
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes; then lets each
/// connection finish its current exchange for at most `drain`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    drain: Duration,
    shutdown: impl Future<Output = ()> + Send,
) {
    let app = app.layer(axum::middleware::map_request_with_state(limits.body_read_timeout, body_deadline));
    let mut slots = Slots::new(limits.max_connections);
    let (stopping_tx, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        // Finished connections are reaped as they end, so the set holds only live ones.
        while let Some(ended) = connections.try_join_next() {
            log_panic(ended);
        }
        let permit = match slots.try_take() {
            Some(permit) => permit,
            None => tokio::select! {
                permit = slots.wait() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break, // never closed; a closed semaphore would mean stop
                },
                Some(ended) = connections.join_next() => {
                    log_panic(ended);
                    continue;
                }
                () = &mut shutdown => break,
            },
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    accept_failed(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(StallGuard::new(stream, limits.write_timeout));
        let connection = builder.serve_connection(io, TowerToHyperService::new(app.clone()));
        let stopping = stopping.clone();
        connections.spawn(async move {
            // The slot stays taken until the connection ends.
            let _permit = permit;
            serve_connection(connection, stopping).await;
        });
    }
    drop(listener);
    let _ = stopping_tx.send(true);
    drain_connections(connections, drain).await;
}

/// Waits at most `drain` for the connections, which have been asked to stop, to end;
/// those still open then are closed as the set is dropped.
async fn drain_connections(mut connections: JoinSet<()>, drain: Duration) {
    let drained = tokio::time::timeout(drain, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(open = connections.len(), "connections still open after the drain period; closing them");
    }
}

/// The connection limit: a semaphore permit per connection served, and whether the
/// limit has been reported as reached (it is logged once each time, not per connection).
struct Slots {
    permits: Arc<Semaphore>,
    limit: usize,
    at_limit: bool,
}

impl Slots {
    fn new(limit: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(limit)), limit, at_limit: false }
    }

    /// A free slot, if there is one; logs when the limit is first reached, and when
    /// there is room again.
    fn try_take(&mut self) -> Option<OwnedSemaphorePermit> {
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                if std::mem::take(&mut self.at_limit) {
                    tracing::info!(limit = self.limit, "below the connection limit again");
                }
                Some(permit)
            }
            Err(_) => {
                if !std::mem::replace(&mut self.at_limit, true) {
                    tracing::warn!(
                        limit = self.limit,
                        "connection limit reached: new connections wait in the listen backlog until one closes \
                         ([server] max_connections; idle and slow clients are closed after header_read_timeout)"
                    );
                }
                None
            }
        }
    }

    /// Waits for a slot to become free.
    fn wait(&self) -> impl Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + use<> {
        self.permits.clone().acquire_owned()
    }
}

/// Serves one connection until it ends, or until `stopping` asks it to finish its
/// current exchange.
async fn serve_connection(
    connection: http1::Connection<TokioIo<StallGuard>, TowerToHyperService<Router>>,
    mut stopping: watch::Receiver<bool>,
) {
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = stopping.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        // Timeouts, resets and clients that hang up mid-request: routine.
        tracing::debug!(error = %error_chain(&error), "connection closed");
    }
}

/// A connection task that panicked (hyper itself; handlers' panics are answered with a
/// 500 by the router) is logged: it cost that one connection.
fn log_panic(ended: Result<(), tokio::task::JoinError>) {
    if let Err(error) = ended
        && error.is_panic()
    {
        let payload = error.into_panic();
        let message = match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
            (Some(text), _) => (*text).to_owned(),
            (_, Some(text)) => text.clone(),
            _ => "a panic without a message".to_owned(),
        };
        tracing::error!(message, "a connection task panicked (a bug); that connection was closed");
    }
}

/// An error with its causes, `a: b: c` (what `{:#}` prints for anyhow errors). `{e}` on
/// an error that keeps its cause as a `source` prints only its own message; this prints
/// every cause. The mock and the suite print theirs with it too (`mock_glase::errors`).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A failed `accept`: per-connection errors are skipped; running out of descriptors (or
/// memory) is logged and waited out briefly, as the connections that hold them close.
async fn accept_failed(error: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted) {
        return;
    }
    tracing::error!(%error, "cannot accept connections (file descriptors exhausted?); retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Gives each request body a deadline ([`BodyDeadline`]).
async fn body_deadline(axum::extract::State(limit): axum::extract::State<Duration>, request: Request) -> Request {
    request.map(|body| Body::new(BodyDeadline { body, limit, deadline: None }))
}

/// A request body that fails once it has taken longer than `limit` to arrive, counted
/// from the first time it is read. Handlers see a body error: axum's extractors answer
/// 400, the SOAP endpoint a SOAP fault, and hyper closes the connection.
struct BodyDeadline {
    body: Body,
    limit: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl http_body::Body for BodyDeadline {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        let limit = this.limit;
        let deadline = this.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the request body did not arrive within {}", humantime::format_duration(limit)),
            ))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection whose writes fail after making no progress for `limit` (the client
/// stopped reading).
struct StallGuard {
    stream: TcpStream,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl StallGuard {
    fn new(stream: TcpStream, limit: Duration) -> Self {
        Self { stream, limit, stalled: None }
    }

    /// Passes `poll` through, starting the stall clock when it is pending and failing
    /// once the clock runs out; any progress stops the clock.
    fn guard<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let limit = self.limit;
        let stalled = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client took nothing of the answer for {}", humantime::format_duration(limit)),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.guard(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.guard(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.stream).poll_flush(cx);
        self.guard(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.stream).poll_shutdown(cx);
        self.guard(cx, poll)
    }
}
