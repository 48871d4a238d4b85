//! Outbound HTTP: the client used for every call Glase makes to a merchant, and the
//! delivery of notifications — an empty POST to the invoice's `notificationUrl`, sent in
//! its own task after the state lock is released, retried per the configured policy,
//! with every attempt journaled.

use std::path::Path;
use std::time::Duration;

use crate::config::{ConfigError, NotificationConfig};
use crate::machine::Notification;
use crate::mock::Mock;

/// Builds an HTTP client for outbound calls.
///
/// reqwest is built with `rustls-no-provider` (ring builds much faster than aws-lc-rs),
/// so the ring provider is installed here before the first client is built.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    builder(timeout).build()
}

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(timeout).connect_timeout(timeout)
}

/// A client that also trusts the CA certificates in a PEM file (for merchants' test
/// certificates).
pub fn http_client_trusting(timeout: Duration, extra_ca: Option<&Path>) -> Result<reqwest::Client, ConfigError> {
    let tls_error = |path: &Path, source: Box<dyn std::error::Error + Send + Sync>| ConfigError::Tls {
        path: path.display().to_string(),
        source,
    };
    let mut builder = builder(timeout);
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
        self.attempt(mock, notification, 1, true).await;
    }

    /// POSTs once and journals the outcome; `true` if it was delivered.
    async fn attempt(&self, mock: &Mock, notification: &Notification, attempt: u32, last: bool) -> bool {
        let result = self
            .client
            .post(&notification.url)
            .header(reqwest::header::CONTENT_LENGTH, "0")
            .timeout(self.policy.timeout)
            .send()
            .await;
        let (outcome, status, delivered) = match result {
            Ok(response) => {
                let status = response.status();
                (format!("HTTP {status}"), Some(status.as_u16()), status.is_success())
            }
            Err(error) => (format!("failed: {}", error_chain(&error)), None, false),
        };
        tracing::info!(invoice = %notification.invoice, url = %notification.url, attempt, %outcome, "notification");
        mock.record_notification(notification, attempt, outcome, status, delivered || last);
        delivered
    }
}

/// An error with its causes, `a: b: c` (what `{:#}` prints for anyhow errors).
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
