//! Panics (see `supervise`): due deadlines fired one at a time, each guarded; a panic
//! journaled and logged, never taking the mock down.

use super::*;

impl Mock {
    /// Fires the deadlines due at `now` one at a time, each guarded: one whose handling
    /// panics is dropped (it was taken off the queue) with the invoice left as it was,
    /// and journaled; the others still fire.
    pub(super) fn expire_guarded(&self, core: &mut Core, now: Timestamp) -> Effects {
        let mut fx = Effects::default();
        loop {
            let invoice = core.machine.due_invoice(now).cloned();
            let mut one = Effects::default();
            match guarded(|| core.machine.expire_one(now, &mut one)) {
                Ok(true) => fx.append(one),
                Ok(false) => break,
                // What the failed deadline had noted so far belongs to a step not taken.
                Err(message) => self.journal_panic(
                    core,
                    now,
                    "a deadline",
                    &message,
                    invoice.as_deref(),
                    "the deadline was dropped and the invoice left as it was",
                ),
            }
        }
        if let Err(message) = guarded(|| core.machine.enforce_retention()) {
            self.journal_panic(
                core,
                now,
                "retention",
                &message,
                None,
                "finished invoices were not forgotten this time",
            );
        }
        fx
    }

    /// Fires due deadlines ([`Self::expire_guarded`]), then runs `action` on the machine,
    /// guarded: a panic is journaled and logged, and comes back as `Err`.
    /// `invoice` is what the action is about, to file a panic under.
    pub(super) fn guarded_action<R>(
        &self,
        core: &mut Core,
        now: Timestamp,
        what: &str,
        invoice: Option<&str>,
        action: impl FnOnce(&mut Machine) -> R,
    ) -> (Effects, Result<R, String>) {
        let expired = self.expire_guarded(core, now);
        let result = guarded(|| action(&mut core.machine));
        if let Err(message) = &result {
            self.journal_panic(core, now, what, message, invoice, "it was refused");
        }
        (expired, result)
    }

    /// [`Self::guarded_action`] for the customer's actions, whose effects start with the
    /// deadlines that fell due (as when the machine fires them itself).
    pub(super) fn customer_action<R>(
        &self,
        core: &mut Core,
        now: Timestamp,
        what: &str,
        action: impl FnOnce(&mut Machine) -> Result<(R, Effects), CustomerError>,
    ) -> Result<(R, Effects), CustomerError> {
        let (expired, result) = self.guarded_action(core, now, what, None, action);
        let error = match result {
            Ok(Ok((value, fx))) => {
                let mut effects = expired;
                effects.append(fx);
                return Ok((value, effects));
            }
            Ok(Err(error)) => error,
            Err(message) => CustomerError::SystemError(message),
        };
        // The deadlines that fired are journaled and notified even though the action
        // was refused.
        core.push_effects(now, None, None, &expired);
        self.deliver(expired.notifications);
        Err(error)
    }

    /// Journals and logs a panic (the lock is held).
    pub(super) fn journal_panic(
        &self,
        core: &mut Core,
        now: Timestamp,
        what: &str,
        message: &str,
        invoice: Option<&str>,
        consequence: &str,
    ) {
        tracing::error!(what, invoice, message, consequence, "the mock panicked (a bug); it keeps serving");
        let detail = format!("{what} panicked: {message}; {consequence}");
        core.push(now, None, invoice, Record::Control { action: "panic".to_owned(), detail });
    }

    /// Journals and logs a panic of a background task (see `supervise`).
    pub(crate) fn note_panic(&self, task: &str, message: &str, invoice: Option<&str>, consequence: &str) {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        self.journal_panic(&mut core, now, task, message, invoice, consequence);
    }

    /// Panics if a test armed `at` (outside the lock, as a bug in the transport would).
    pub(crate) fn test_hook(&self, at: crate::machine::TestHook) {
        if self.lock().machine.take_test_hook(at) {
            panic!("injected panic at {at:?} (test hook)");
        }
    }

    /// Arms a [`crate::machine::TestHook`]: the next pass through it panics.
    #[cfg(test)]
    pub(crate) fn inject_panic(&self, at: crate::machine::TestHook) {
        self.lock().machine.panic_at = Some(at);
    }
}

impl PanicLog for Mock {
    fn note_panic(&self, task: &str, message: &str, consequence: &str) {
        Mock::note_panic(self, task, message, None, consequence);
    }
}
