//! The embedded mock served with a timing layer: how long Glase takes to serve each
//! SOAP operation the reseller calls (the mock's side of the latency table), measured
//! around the mock's own handler without changing it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use mock_glase::Mock;
use mock_glase::http::{AppState, SOAP_PATHS, router};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::stats::{Side, Stats};

/// The mock served on a loopback port; stops when dropped.
#[derive(Debug)]
pub struct TimedMock {
    pub addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl TimedMock {
    /// Serves `mock` on `listen` with every SOAP call timed into `stats`, and runs the
    /// mock's deadline timer.
    pub async fn serve(mock: &Mock, listen: SocketAddr, stats: Arc<Stats>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let app = router(AppState { mock: mock.clone(), public_url: None })
            .layer(axum::middleware::from_fn_with_state(stats, time_soap));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(error = %error, "the embedded Glase stopped serving");
            }
        });
        let timer_mock = mock.clone();
        let timer = tokio::spawn(async move { deadline_timer(timer_mock).await });
        Ok(Self { addr, tasks: vec![server, timer] })
    }

    /// The SOAP endpoint the reseller calls.
    pub fn soap_url(&self) -> String {
        format!("http://{}{}", self.addr, SOAP_PATHS[0])
    }
}

impl Drop for TimedMock {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Fires the mock's due deadlines, as `mock_glase::server` does: sleeps until the next
/// one, between 5 and 100 ms.
async fn deadline_timer(mock: Mock) {
    loop {
        let next = mock.expire_due();
        let now = mock.now();
        let sleep = next.map_or(Duration::from_millis(100), |at| at.since(now));
        tokio::time::sleep(sleep.clamp(Duration::from_millis(5), Duration::from_millis(100))).await;
    }
}

/// Times a SOAP POST under its operation's name; anything else passes untimed.
async fn time_soap(State(stats): State<Arc<Stats>>, request: Request, next: Next) -> Response {
    if !SOAP_PATHS.contains(&request.uri().path()) || request.method() != axum::http::Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // The mock reads the whole body anyway; reading it here first only moves the copy.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(_) => return next.run(Request::from_parts(parts, Body::empty())).await,
    };
    let operation = soap_operation(&bytes).unwrap_or("(undecodable)").to_owned();
    let started = Instant::now();
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    stats.record(Side::Mock, &operation, started.elapsed());
    response
}

/// The local name of the first element inside the SOAP `Body`: the operation.
pub fn soap_operation(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?;
    let body_start = text.find(":Body").or_else(|| text.find("<Body"))?;
    let after = &text[body_start..];
    let open = after.find('>')?;
    let rest = &after[open + 1..];
    let element = rest.find('<').map(|i| &rest[i + 1..])?;
    let name = element.split(|c: char| c.is_whitespace() || c == '>' || c == '/').next()?;
    let local = name.rsplit(':').next()?;
    (!local.is_empty()).then_some(local)
}

#[cfg(test)]
mod tests {
    use super::soap_operation;

    #[test]
    fn the_operation_is_the_first_element_in_the_body() {
        let prefixed = br#"<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="x"><soapenv:Header/><soapenv:Body>
            <ext:commitReservation xmlns:ext="y"><context/></ext:commitReservation></soapenv:Body></soapenv:Envelope>"#;
        assert_eq!(soap_operation(prefixed), Some("commitReservation"));
        let plain = b"<Envelope><Body><sendInvoice/></Body></Envelope>";
        assert_eq!(soap_operation(plain), Some("sendInvoice"));
        assert_eq!(soap_operation(b"not xml"), None);
    }
}
