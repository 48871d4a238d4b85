//! Serving: bind, run the router (on connections limited as `listen` describes) and the
//! deadline timer, shut down gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::http::{AppState, router};
use crate::mock::Mock;
use crate::supervise::{AbortOnDrop, supervise};

/// The timer sleeps until the next deadline, but never longer than this (the clock can
/// be moved, and new deadlines appear) nor shorter than [`TIMER_MIN`] (so a burst of
/// deadlines costs little). Scaled deadlines of a few hundred milliseconds stay accurate.
const TIMER_MAX: Duration = Duration::from_millis(100);
const TIMER_MIN: Duration = Duration::from_millis(5);
/// How long in-flight requests may take to finish after shutdown is requested.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `mock` on `listener` until `shutdown` completes, then drains for at most
/// [`DRAIN_TIMEOUT`]. Connections are limited per the configuration's `[server]`.
pub async fn run(
    listener: TcpListener,
    mock: Mock,
    public_url: Option<String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    warn_if_exposed(&listener, &mock);
    let app = router(AppState { mock: mock.clone(), public_url });
    let limits = mock.config().server;
    let timer_mock = mock.clone();
    let timer = tokio::spawn(supervise(mock, "the deadline timer", move || deadline_timer(timer_mock.clone())));
    // Dropping the guard (on any return path) stops the timer.
    let _timer_guard = AbortOnDrop(timer);
    glase_listen::serve(listener, app, limits, DRAIN_TIMEOUT, shutdown).await;
    Ok(())
}

/// Warns when the mock listens beyond loopback with its control API open.
fn warn_if_exposed(listener: &TcpListener, mock: &Mock) {
    if let Ok(addr) = listener.local_addr()
        && exposed_without_token(addr, mock.config().control_token.as_deref())
    {
        tracing::warn!(
            %addr,
            "listening beyond loopback with no control token: anyone who can reach this port can pay invoices, \
             inject faults and move the clock through /control; set --control-token (GLASE_CONTROL_TOKEN)"
        );
    }
}

/// Whether `addr` is reachable from other machines while the control API is open.
fn exposed_without_token(addr: SocketAddr, token: Option<&str>) -> bool {
    token.is_none() && !addr.ip().is_loopback()
}

/// Binds `addr` and serves in a background task: for tests and embedding. The server
/// stops when the returned handle is dropped.
pub async fn spawn(addr: SocketAddr, mock: Mock) -> std::io::Result<RunningServer> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, mock, None, async move {
        let _ = stop_rx.await;
    }));
    Ok(RunningServer { addr: local, stop: Some(stop_tx), task: AbortOnDrop(task) })
}

/// A server started by [`spawn`].
#[derive(Debug)]
pub struct RunningServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: AbortOnDrop<std::io::Result<()>>,
}

impl RunningServer {
    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The main SOAP endpoint URL.
    pub fn soap_url(&self) -> String {
        format!("{}{}", self.base_url(), crate::http::SOAP_PATHS[0])
    }

    /// Asks the server to stop and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task.0).await;
    }
}

async fn deadline_timer(mock: Mock) {
    loop {
        mock.test_hook(crate::machine::TestHook::TimerTick);
        let next = mock.expire_due();
        let now = mock.now();
        let sleep = next.map_or(TIMER_MAX, |at| at.since(now)).clamp(TIMER_MIN, TIMER_MAX);
        tokio::time::sleep(sleep).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_non_loopback_address_without_a_token_is_exposed() {
        let addr = |text: &str| text.parse::<SocketAddr>().expect("an address literal");
        assert!(exposed_without_token(addr("0.0.0.0:7070"), None));
        assert!(exposed_without_token(addr("[::]:7070"), None));
        assert!(exposed_without_token(addr("192.168.1.5:7070"), None));
        assert!(!exposed_without_token(addr("0.0.0.0:7070"), Some("secret")));
        assert!(!exposed_without_token(addr("127.0.0.1:7070"), None));
        assert!(!exposed_without_token(addr("[::1]:7070"), None));
    }
}
