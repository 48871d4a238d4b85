//! Delivers notifications: an empty POST to the invoice's `notificationUrl`, sent in its
//! own task after the state lock is released, with the outcome journaled.

use std::time::Duration;

use crate::machine::Notification;
use crate::mock::Mock;

/// How long one notification POST may take.
const NOTIFICATION_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends notifications over HTTP(S).
#[derive(Debug, Clone)]
pub struct Notifier {
    client: Option<reqwest::Client>,
}

/// Builds the HTTP client used for outbound calls (notifications, later createPurchase).
///
/// reqwest is built with `rustls-no-provider` (ring builds much faster than aws-lc-rs),
/// so the ring provider is installed here before the first client is built.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(timeout).connect_timeout(timeout).build()
}

impl Default for Notifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Notifier {
    pub fn new() -> Self {
        let client = http_client(NOTIFICATION_TIMEOUT)
            .inspect_err(|e| tracing::error!(error = %e, "cannot build the HTTP client; notifications are disabled"))
            .ok();
        Self { client }
    }

    /// Sends one notification in the background and journals what came of it.
    pub fn send(&self, mock: Mock, notification: Notification) {
        let Some(client) = self.client.clone() else {
            mock.record_notification(&notification, "not sent: HTTP client unavailable".to_owned(), None);
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            mock.record_notification(&notification, "not sent: no async runtime".to_owned(), None);
            return;
        };
        runtime.spawn(async move {
            let result = client.post(&notification.url).header("Content-Length", "0").send().await;
            let (outcome, status) = match result {
                Ok(response) => {
                    let status = response.status();
                    (format!("HTTP {status}"), Some(status.as_u16()))
                }
                Err(error) => (format!("failed: {}", error_chain(&error)), None),
            };
            tracing::info!(invoice = %notification.invoice, url = %notification.url, %outcome, "notification");
            mock.record_notification(&notification, outcome, status);
        });
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
