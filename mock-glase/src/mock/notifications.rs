//! Notifications the machine asked for: journaled with what caused them, delivered in
//! tasks of their own after the lock is released (early ones before the answer), and
//! the extra ones the control API sends.

use super::*;

impl Mock {
    /// Journals what a customer/timer action produced and sends its notifications.
    /// `now` is the time the machine acted at, so journal times equal machine times.
    pub(super) fn finish(&self, mut core: MutexGuard<'_, Core>, fx: Effects, now: Timestamp) {
        core.push_effects(now, None, None, &fx);
        drop(core);
        self.deliver(fx.notifications);
    }

    /// Sends notifications in the background (after any injected fault).
    pub(super) fn deliver(&self, notifications: Vec<Notification>) {
        if notifications.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            for n in &notifications {
                self.record_notification(n, 0, "not sent: no async runtime".to_owned(), None, true, None);
            }
            return;
        };
        let _enter = runtime.enter();
        for notification in notifications {
            let mock = self.clone();
            spawn_reported(
                self.clone(),
                "a notification delivery",
                async move { mock.deliver_now(&notification).await },
            );
        }
    }

    /// Delivers one notification now (honouring injected faults) and waits for it.
    pub(super) async fn deliver_now(&self, notification: &Notification) {
        let delay = match self.outbound_fault(FaultTarget::Notification, &notification.invoice) {
            Some(FaultAction::DropConnection) => {
                self.record_notification(
                    notification,
                    0,
                    "not sent: dropped by an injected fault".to_owned(),
                    None,
                    true,
                    None,
                );
                return;
            }
            Some(FaultAction::Delay(delay)) => Some(delay),
            _ => None,
        };
        self.inner.notifier.deliver(self, notification, delay).await;
    }

    /// Fires a fault rule for an outbound call about an invoice.
    pub(super) fn outbound_fault(&self, target: FaultTarget, invoice: &str) -> Option<FaultAction> {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let terminal = core.machine.invoice(invoice).map(|r| r.terminal.clone());
        let merchant = terminal.as_deref().and_then(|t| core.machine.merchant_of_terminal(t)).map(str::to_owned);
        let mut fx = Effects::default();
        let scope = CallScope { terminal: terminal.as_deref(), merchant: merchant.as_deref(), invoice: Some(invoice) };
        let action = core.machine.fire_fault(target, scope, &mut fx);
        core.push_effects(now, merchant.as_deref(), terminal.as_deref(), &fx);
        action
    }

    /// Sends a notification that the state machine did not ask for: a forged one (the
    /// invoice did not change) or a duplicate, optionally after a delay. Returns at once.
    pub fn send_extra_notification(
        &self,
        reference: &str,
        kind: ExtraNotification,
        url: Option<&str>,
        delay: Option<Duration>,
    ) -> Result<Notification, CustomerError> {
        let mut core = self.lock();
        let record =
            core.machine.invoice(reference).ok_or_else(|| CustomerError::UnknownInvoice(reference.to_owned()))?;
        let url = url
            .map(str::to_owned)
            .or_else(|| record.invoice.notification_url.clone())
            .ok_or_else(|| CustomerError::NoNotificationUrl(reference.to_owned()))?;
        let reason = match kind {
            ExtraNotification::Forged => NotificationReason::Forged,
            ExtraNotification::Duplicate => NotificationReason::Duplicate,
        };
        let notification = Notification { invoice: reference.into(), url, reason };
        let now = self.inner.clock.now();
        let detail = format!(
            "{reason} notification to {}{}",
            notification.url,
            delay.map(|d| format!(" after {}", humantime::format_duration(d))).unwrap_or_default()
        );
        core.push(now, None, Some(reference), Record::Control { action: "sendNotification".to_owned(), detail });
        drop(core);
        let mock = self.clone();
        let sent = notification.clone();
        if tokio::runtime::Handle::try_current().is_ok() {
            spawn_reported(self.clone(), "a notification delivery", async move {
                mock.inner.notifier.deliver(&mock, &sent, delay).await;
            });
        }
        Ok(notification)
    }

    /// Records a control action in the journal.
    pub fn note(&self, action: &str, detail: String, invoice: Option<&str>) {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        core.push(now, None, invoice, Record::Control { action: action.to_owned(), detail });
    }

    /// [`Mock::note`] filed under `merchant` (a test's notes about what it did at the
    /// merchant's machines or shop belong to that merchant's journal).
    pub fn note_for(&self, merchant: &str, action: &str, detail: String, invoice: Option<&str>) {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        core.push_for(now, Some(merchant), None, invoice, Record::Control { action: action.to_owned(), detail });
    }
}

impl NotificationLog for Mock {
    fn now(&self) -> Timestamp {
        Mock::now(self)
    }

    /// Journals one notification attempt.
    fn record_notification(
        &self,
        n: &Notification,
        attempt: u32,
        outcome: String,
        http_status: Option<u16>,
        last_attempt: bool,
        sent_at: Option<Timestamp>,
    ) {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let terminal = core.machine.invoice(&n.invoice).map(|r| r.terminal.clone());
        let record = Record::NotificationSent {
            url: n.url.clone(),
            reason: n.reason.to_string(),
            attempt,
            outcome,
            http_status,
            last_attempt,
            sent_at_ms: sent_at.map(|t| t.0),
        };
        core.push(now, terminal.as_deref(), Some(&n.invoice), record);
    }
}
