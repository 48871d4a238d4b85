//! The delivery of notifications: an empty POST to the invoice's `notificationUrl`, sent
//! in its own task after the state lock is released, retried per the configured policy,
//! with every attempt told to a [`NotificationLog`] (the mock journals it) as it happens.
//! A notification's answer body is never read at all: its status is the answer.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::config::NotificationConfig;
use crate::errors::error_chain;
use crate::machine::Notification;

/// Where the attempts of a notification are told, as they happen.
pub trait NotificationLog {
    /// Now, on Glase's clock (when an attempt was sent).
    fn now(&self) -> Timestamp;

    /// One attempt: its number (0: not sent at all), how it ended, the HTTP status if
    /// any, whether it is the last, and when it was sent.
    fn record_notification(
        &self,
        notification: &Notification,
        attempt: u32,
        outcome: String,
        http_status: Option<u16>,
        last_attempt: bool,
        sent_at: Option<Timestamp>,
    );
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
    pub async fn deliver(&self, log: &impl NotificationLog, notification: &Notification, delay: Option<Duration>) {
        if refuse(log, notification) {
            return;
        }
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let mut backoff = self.policy.retry_delay;
        for attempt in 1..=self.policy.attempts {
            let last = attempt == self.policy.attempts;
            if self.attempt(log, notification, attempt, last).await || last {
                return;
            }
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
    }

    /// One attempt, no retries (early notifications, which must not hold up an answer).
    pub async fn deliver_once(&self, log: &impl NotificationLog, notification: &Notification) {
        if !refuse(log, notification) {
            self.attempt(log, notification, 1, true).await;
        }
    }

    /// POSTs once and journals the outcome; `true` if it was delivered.
    async fn attempt(&self, log: &impl NotificationLog, notification: &Notification, attempt: u32, last: bool) -> bool {
        let sent_at = log.now();
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
        log.record_notification(notification, attempt, outcome, status, delivered || last, Some(sent_at));
        delivered
    }
}

/// Journals and returns `true` when a notification must not be sent (see
/// [`forbidden_notification_path`]).
fn refuse(log: &impl NotificationLog, notification: &Notification) -> bool {
    let Some(segment) = forbidden_notification_path(&notification.url) else { return false };
    tracing::warn!(invoice = %notification.invoice, url = %notification.url, "notification refused: a {segment} path");
    let outcome = format!(
        "not sent: the notificationUrl's path has a /{segment}/ segment, which names a test or control endpoint, not a merchant's callback"
    );
    log.record_notification(notification, 0, outcome, None, true, None);
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
    let path = percent_encoding::percent_decode_str(parsed.path()).decode_utf8_lossy().to_ascii_lowercase();
    path.split('/').find_map(|segment| match segment {
        "control" => Some("control"),
        "driver" => Some("driver"),
        _ => None,
    })
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
