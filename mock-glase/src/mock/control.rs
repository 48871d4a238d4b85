//! Faults, the clock and the deadline scale: what tests and the control API change.

use super::*;

impl Mock {
    pub fn add_fault(&self, rule: FaultRule) -> Result<u64, FaultRuleError> {
        let mut core = self.lock();
        let id = core.machine.add_fault(rule)?;
        let added = core.machine.faults().iter().find(|r| r.id == id).cloned();
        let detail = serde_json::to_string(&added).unwrap_or_default();
        let now = self.inner.clock.now();
        let merchant = added.as_ref().and_then(|r| r.merchant.clone());
        let record = Record::Control { action: "addFault".to_owned(), detail };
        core.push_for(now, merchant.as_deref(), None, None, record);
        Ok(id)
    }

    pub fn faults(&self) -> Vec<FaultRule> {
        self.lock().machine.faults().to_vec()
    }

    pub fn clear_faults(&self, id: Option<u64>) -> usize {
        let removed = self.lock().machine.clear_faults(id);
        self.note("clearFaults", format!("{removed} removed"), None);
        removed
    }

    /// Moves virtual time forward and fires whatever fell due. `Err` if this mock's
    /// clock cannot be moved, or not that far (see [`crate::clock::CLOCK_LIMIT`]).
    pub fn advance_clock(&self, by: Duration) -> Result<Timestamp, ClockError> {
        self.inner.clock.advance(by)?;
        self.note("advanceClock", format!("by {}", humantime::format_duration(by)), None);
        self.expire_due();
        Ok(self.now())
    }

    /// Scales every Glase-side deadline armed from now on; `Err` (and nothing changes)
    /// for a factor out of bounds.
    pub fn set_deadline_scale(&self, factor: f64) -> Result<(), LimitError> {
        self.lock().machine.set_deadline_scale(factor)?;
        self.note("setDeadlineScale", format!("{factor}"), None);
        Ok(())
    }

    /// Fires due deadlines; returns the time of the next one. Called by the timer.
    pub fn expire_due(&self) -> Option<Timestamp> {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let fx = self.expire_guarded(&mut core, now);
        let next = core.machine.next_deadline();
        if !fx.events.is_empty() {
            self.finish(core, fx, now);
        }
        next
    }
}
