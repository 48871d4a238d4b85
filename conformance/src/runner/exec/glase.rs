//! The steps that act on Glase itself (the mock): injected faults, the clock, waiting,
//! notifications nothing caused.

use super::*;

impl ScenarioRun<'_> {
    pub(super) fn add_fault(&mut self, spec: &FaultSpec) -> StepResult {
        let target =
            FaultTarget::parse(&spec.operation).ok_or_else(|| fail("a known fault target", spec.operation.clone()))?;
        let action = match &spec.action {
            FaultKind::ResultCode(code) => FaultAction::ResultCode(*code),
            FaultKind::SoapFault(text) => FaultAction::SoapFault(text.clone()),
            FaultKind::HttpStatus(status) => FaultAction::HttpStatus(*status),
            FaultKind::Delay(delay) => FaultAction::Delay(*delay),
            FaultKind::DropConnection => FaultAction::DropConnection,
        };
        let rule = FaultRule {
            id: 0,
            target,
            terminal: None,
            merchant: Some(MERCHANT.to_owned()),
            action,
            remaining: spec.times,
            probability: None,
            // A late call about an earlier scenario's invoice (a retry, a background poll)
            // must not take this one's fault. Faults run alone, so every invoice issued
            // since the scenario began is its own.
            issued_from: Some(self.started_at),
        };
        self.mock.add_fault(rule).map_err(|e| fail("the fault to be accepted", e.to_string()))?;
        self.faults_added = true;
        Ok(())
    }

    pub(super) fn clear_faults(&mut self) -> StepResult {
        self.mock.clear_faults(None);
        Ok(())
    }

    pub(super) fn advance_clock(&mut self, by: Duration) -> StepResult {
        self.mock.advance_clock(by).map_err(|e| fail("the clock to move", e.to_string()))?;
        Ok(())
    }

    pub(super) async fn wait(&mut self, wait: Wait) -> StepResult {
        tokio::time::sleep(self.waits.length(wait, self.status_deadline())).await;
        Ok(())
    }

    pub(super) fn notify(&mut self, kind: NotifyKind, invoice: &InvoiceRef, delay: Option<Duration>) -> StepResult {
        let reference = self.invoice(invoice)?;
        let kind = match kind {
            NotifyKind::Forged => ExtraNotification::Forged,
            NotifyKind::Duplicate => ExtraNotification::Duplicate,
        };
        match self.mock.send_extra_notification(&reference, kind, None, delay) {
            Ok(_) => Ok(()),
            Err(CustomerError::NoNotificationUrl(_)) => Err(StepError::NotApplicable(format!(
                "invoice {reference} has no notificationUrl (the parameter is optional, seed 002): \
                 there is no notification to send, so the rest of this scenario does not apply"
            ))),
            Err(error) => Err(fail("a notification to send", error.to_string())),
        }
    }
}
