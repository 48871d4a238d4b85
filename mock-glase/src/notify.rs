//! Outbound HTTP: the client used for every call Glase makes to a merchant, and the
//! delivery of notifications — an empty POST to the invoice's `notificationUrl`, sent in
//! its own task after the state lock is released, retried per the configured policy,
//! with every attempt journaled.
//!
//! Every outbound call is bounded ([`OutboundConfig`]): a timeout from connecting to the
//! last byte of the answer, no redirects unless same-origin ones are configured, and at
//! most `max_answer_bytes` of an answer read ([`read_capped`]). A notification's answer
//! body is never read at all: its status is the answer.

use std::path::Path;
use std::time::Duration;

use crate::config::{ConfigError, MAX_REDIRECTS, NotificationConfig, OutboundConfig, Redirects};
use crate::errors::error_chain;
use crate::machine::Notification;
use crate::mock::Mock;

/// Builds an HTTP client (reqwest's defaults otherwise: for tools and tests; the mock's
/// own calls to merchants use [`outbound_client`]).
///
/// reqwest is built with `rustls-no-provider` (ring builds much faster than aws-lc-rs),
/// so the ring provider is installed here before the first client is built.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    builder(timeout).build()
}

/// How long an idle kept-alive connection to a merchant (or, for the suite, a system
/// under test) is kept for reuse: well below the idle timeouts servers close them after
/// (5 s in Node and Apache, 10 s in the reference reseller). Reusing one just as the
/// server closes it fails the request with "connection closed before message completed";
/// reqwest's default of 90 s invited exactly that after every pause in a scenario.
const POOL_IDLE: Duration = Duration::from_secs(2);

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(timeout).connect_timeout(timeout).pool_idle_timeout(POOL_IDLE)
}

/// A client that also trusts the CA certificates in a PEM file (for merchants' test
/// certificates).
pub fn http_client_trusting(timeout: Duration, extra_ca: Option<&Path>) -> Result<reqwest::Client, ConfigError> {
    trusting(builder(timeout), extra_ca)
}

/// The client the mock calls merchants with: [`http_client_trusting`] plus the outbound
/// redirect policy. reqwest's default follows up to 10 redirects anywhere, re-POSTing
/// the body on a 307; a merchant's answer must not be able to send the mock elsewhere.
pub fn outbound_client(
    timeout: Duration,
    extra_ca: Option<&Path>,
    outbound: &OutboundConfig,
) -> Result<reqwest::Client, ConfigError> {
    let policy = match outbound.redirects {
        Redirects::None => reqwest::redirect::Policy::none(),
        Redirects::SameOrigin => reqwest::redirect::Policy::custom(|attempt| {
            let first = attempt.previous().first().map(reqwest::Url::origin);
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
            } else if first.is_some_and(|origin| origin == attempt.url().origin()) {
                attempt.follow()
            } else {
                // Stopping hands the 3xx itself back as the answer.
                attempt.stop()
            }
        }),
    };
    trusting(builder(timeout).redirect(policy), extra_ca)
}

/// Why [`read_capped`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The answer has more than this many bytes; the rest was not read.
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("reading the answer failed")]
    Read(#[source] reqwest::Error),
}

/// Reads an answer body as it arrives, but never more than `limit` bytes: an endless or
/// huge answer costs at most `limit` bytes of memory. Dropping the response (which the
/// caller does on `TooLarge`) closes the connection instead of draining it.
pub async fn read_capped(response: &mut reqwest::Response, limit: usize) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|length| length > limit as u64) {
        return Err(ReadError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Read)? {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn trusting(mut builder: reqwest::ClientBuilder, extra_ca: Option<&Path>) -> Result<reqwest::Client, ConfigError> {
    let tls_error = |path: &Path, source: Box<dyn std::error::Error + Send + Sync>| ConfigError::Tls {
        path: path.display().to_string(),
        source,
    };
    if let Some(path) = extra_ca {
        let pem = std::fs::read(path).map_err(|e| tls_error(path, Box::new(e)))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| tls_error(path, Box::new(e)))?;
        if certificates.is_empty() {
            return Err(tls_error(path, "no PEM certificate in the file".into()));
        }
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder.build().map_err(|e| match extra_ca {
        // With extra CAs, a build failure is almost always a certificate rustls cannot
        // parse: name the file and keep the cause.
        Some(path) => tls_error(path, Box::new(e)),
        None => ConfigError::Invalid(format!("cannot build the HTTP client: {}", error_chain(&e))),
    })
}

/// Sends notifications with retries.
#[derive(Debug, Clone)]
pub struct Notifier {
    client: reqwest::Client,
    policy: NotificationConfig,
}

impl Notifier {
    pub fn new(client: reqwest::Client, policy: NotificationConfig) -> Self {
        Self { client, policy }
    }

    /// Delivers one notification (after `delay`, if any), retrying on failure, and
    /// journals every attempt. Returns once it was delivered or given up.
    pub async fn deliver(&self, mock: &Mock, notification: &Notification, delay: Option<Duration>) {
        if refuse(mock, notification) {
            return;
        }
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let mut backoff = self.policy.retry_delay;
        for attempt in 1..=self.policy.attempts {
            let last = attempt == self.policy.attempts;
            if self.attempt(mock, notification, attempt, last).await || last {
                return;
            }
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
    }

    /// One attempt, no retries (early notifications, which must not hold up an answer).
    pub async fn deliver_once(&self, mock: &Mock, notification: &Notification) {
        if !refuse(mock, notification) {
            self.attempt(mock, notification, 1, true).await;
        }
    }

    /// POSTs once and journals the outcome; `true` if it was delivered.
    async fn attempt(&self, mock: &Mock, notification: &Notification, attempt: u32, last: bool) -> bool {
        let sent_at = mock.now();
        let result = self
            .client
            .post(&notification.url)
            .header(reqwest::header::CONTENT_LENGTH, "0")
            .timeout(self.policy.timeout)
            .send()
            .await;
        let (outcome, status, delivered) = match result {
            // The body is not read: the status is the answer. Dropping the response closes
            // the connection, so an endless body costs nothing.
            Ok(response) => {
                let status = response.status();
                (format!("HTTP {status}"), Some(status.as_u16()), status.is_success())
            }
            Err(error) => (format!("failed: {}", error_chain(&error)), None, false),
        };
        tracing::info!(invoice = %notification.invoice, url = %notification.url, attempt, %outcome, "notification");
        mock.record_notification(notification, attempt, outcome, status, delivered || last, Some(sent_at));
        delivered
    }
}

/// Journals and returns `true` when a notification must not be sent (see
/// [`forbidden_notification_path`]).
fn refuse(mock: &Mock, notification: &Notification) -> bool {
    let Some(segment) = forbidden_notification_path(&notification.url) else { return false };
    tracing::warn!(invoice = %notification.invoice, url = %notification.url, "notification refused: a {segment} path");
    let outcome = format!(
        "not sent: the notificationUrl's path has a /{segment}/ segment, which names a test or control endpoint, not a merchant's callback"
    );
    mock.record_notification(notification, 0, outcome, None, true, None);
    true
}

/// Path segments a notification is never POSTed to **[decision]**: `control` (this mock's
/// control API) and `driver` (the machine and shop drivers of spec section 8). A
/// notificationUrl is the integrator's input: without this, one pointing at
/// `http://127.0.0.1:7071/driver/machines/m-1/out-of-service` had the mock take a machine
/// out of service. Notifications carry no body, but some driver and control calls need none.
pub fn forbidden_notification_path(url: &str) -> Option<&'static str> {
    let parsed = reqwest::Url::parse(url.trim()).ok()?;
    // Url::parse has already resolved `.` and `..`; %-escapes are decoded here, since a
    // server routes `/%64river/` like `/driver/`.
    let path = percent_decoded(parsed.path()).to_ascii_lowercase();
    path.split('/').find_map(|segment| match segment {
        "control" => Some("control"),
        "driver" => Some("driver"),
        _ => None,
    })
}

/// `%XX` escapes decoded (invalid ones kept as they are).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                // Two hex digits: at most 255.
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'%'));
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_to_control_and_driver_paths_are_refused() {
        for url in [
            "http://127.0.0.1:7071/driver/machines/machine-1/out-of-service",
            "http://127.0.0.1:7070/control/customer/confirm",
            "http://127.0.0.1:7070/CONTROL/clock/advance",
            "http://127.0.0.1:7071/%64river/machines/m/vend",
            "http://127.0.0.1:7071/shop/../driver/shop/close",
            "http://shop.example/api/driver/shop/close",
        ] {
            assert!(forbidden_notification_path(url).is_some(), "{url}");
        }
        for url in [
            "http://127.0.0.1:7071/seqr/notify?token=abc",
            "https://shop.example/notify/driver-updates",
            "https://shop.example/controller/notify",
            "https://shop.example/notify?next=/driver/",
        ] {
            assert_eq!(forbidden_notification_path(url), None, "{url}");
        }
    }
}
