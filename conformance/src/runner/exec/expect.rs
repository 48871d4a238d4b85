//! The expectation steps: what the purchase, the race, an invoice, the calls Glase got,
//! the machine, the order, a refund and a payment must be, polled until they hold or
//! their window ends.

use glase_protocol::Operation;

use super::*;

impl ScenarioRun<'_> {
    pub(super) fn expect_purchase(&mut self, outcome: PurchaseOutcome, error_code: Option<&str>) -> StepResult {
        let Some(report) = &self.last_purchase else {
            return Err(fail("a scan before expect_purchase", "no purchase yet"));
        };
        let expected = match error_code {
            Some(code) => format!("{} with errorCode {code}", outcome.as_str()),
            None => outcome.as_str().to_owned(),
        };
        if purchase_matches(report, outcome, error_code) {
            Ok(())
        } else {
            Err(fail(format!("createPurchase {expected}"), describe_purchase(report)))
        }
    }

    pub(super) fn expect_race(&mut self, accepted: u32, error_code: Option<&str>) -> StepResult {
        let got = self.race.iter().filter(|r| matches!(r.outcome, MockOutcome::Accepted { .. })).count();
        let others_ok = self
            .race
            .iter()
            .filter(|r| !matches!(r.outcome, MockOutcome::Accepted { .. }))
            .all(|r| purchase_matches(r, PurchaseOutcome::Declined, error_code));
        let expected = match error_code {
            Some(code) => format!("{accepted} accepted, the others declined with {code}"),
            None => format!("{accepted} accepted, the others declined"),
        };
        if got == accepted as usize && others_ok {
            Ok(())
        } else {
            let actual: Vec<String> = self.race.iter().map(describe_purchase).collect();
            Err(fail(expected, actual.join("; ")))
        }
    }

    pub(super) async fn expect_status(
        &mut self,
        invoice: &InvoiceRef,
        status: InvoiceStatus,
        timing: Timing,
    ) -> StepResult {
        let reference = self.invoice(invoice)?;
        let mock = self.mock;
        let current = || mock.invoice(&reference).map(|v| v.record.status);
        let wanted = status;
        self.wait_for(timing, || {
            let now = current();
            (now == Some(wanted), now.map_or("no such invoice".to_owned(), |s| s.to_string()))
        })
        .await
        .map_err(|mut missed| {
            missed.actual = format!("{}{}", missed.actual, history(mock, &reference));
            missed.into_error(format!("invoice {reference} {} {wanted}", self.timing_words(timing)))
        })
    }

    pub(super) async fn expect_call(
        &mut self,
        operation: Operation,
        within: Wait,
        min: u32,
        max: Option<u32>,
        after: &Mark,
        scope: &CallScope,
    ) -> StepResult {
        let window = self.window(within);
        let since = self.mark_seq(after, scope, window.length).await?;
        let invoice = self.scope_invoice(scope, operation.name())?;
        let count = |run: &Self| run.calls(operation.name(), since, invoice.as_deref()).len();
        let deadline = tokio::time::Instant::now() + window.length;
        let mut seen = count(self);
        while seen < min as usize && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
            seen = count(self);
        }
        let range = match max {
            Some(max) if max == min => format!("exactly {min}"),
            Some(max) => format!("{min} to {max}"),
            None => format!("at least {min}"),
        };
        let whose = invoice.as_deref().map(|i| format!(" for invoice {i}")).unwrap_or_default();
        let expected = format!("{range} {}{whose} {} within {}", operation.name(), mark_words(after), window.described);
        let actual = format!("{seen} call(s){}", self.exchanged(invoice.as_deref()));
        if max.is_some_and(|max| seen > max as usize) {
            Err(fail(expected, actual))
        } else if seen < min as usize {
            Err(Missed { actual, cut: window.cut }.into_error(expected))
        } else {
            Ok(())
        }
    }

    pub(super) async fn expect_no_call(
        &mut self,
        operation: Operation,
        during: Duration,
        after: &Mark,
        scope: &CallScope,
    ) -> StepResult {
        let invoice = self.scope_invoice(scope, operation.name())?;
        let since = match after {
            Mark::Start => self.start_seq,
            other => self.mark_seq(other, scope, Duration::ZERO).await?,
        };
        let deadline = tokio::time::Instant::now() + during;
        loop {
            let calls = self.calls(operation.name(), since, invoice.as_deref());
            if let Some(first) = calls.first() {
                let whose = invoice.as_deref().map(|i| format!(" for invoice {i}")).unwrap_or_default();
                return Err(fail(
                    format!("no {}{whose} {}", operation.name(), mark_words(after)),
                    format!(
                        "{} call(s), the first at journal #{}{}",
                        calls.len(),
                        first.seq,
                        self.exchanged(invoice.as_deref())
                    ),
                ));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub(super) async fn expect_machine(&mut self, machine: Option<&str>, state: &str, timing: Timing) -> StepResult {
        let machine = self.machine_or_last(machine)?;
        let driver = self.machine_driver()?.clone();
        self.wait_for_async(timing, || async {
            let answer = driver.machine(&machine).await?;
            let now = answer.field("state").unwrap_or("?").to_owned();
            Ok((now == *state, if answer.ok() { now } else { answer.to_string() }))
        })
        .await?
        .map_err(|missed| missed.into_error(format!("machine {machine} {} {state}", self.timing_words(timing))))?;
        if matches!(timing, Timing::Within(_)) {
            self.note_driver("driver-answer", format!("{machine} is {state}"));
        }
        Ok(())
    }

    pub(super) async fn expect_order(&mut self, state: &str, timing: Timing) -> StepResult {
        let order = self.order()?;
        let (driver, counter) = self.counter()?;
        let driver = driver.clone();
        self.wait_for_async(timing, || async {
            let answer = driver.order(counter, &order).await?;
            let now = answer.field("state").unwrap_or("?").to_owned();
            Ok((now == *state, if answer.ok() { now } else { answer.to_string() }))
        })
        .await?
        .map_err(|missed| {
            missed.into_error(format!("{} {order} {} {state}", counter.order_noun(), self.timing_words(timing)))
        })?;
        if matches!(timing, Timing::Within(_)) {
            self.note_driver("driver-answer", format!("{} {order} is {state}", counter.order_noun()));
        }
        Ok(())
    }

    pub(super) fn expect_refund(&mut self, outcome: DriverOutcome) -> StepResult {
        let Some(answer) = &self.last_refund else {
            return Err(fail("a refund before expect_refund", "no refund yet"));
        };
        check_driver(answer, outcome, "refund")
    }

    pub(super) fn expect_payment(
        &mut self,
        invoice: &InvoiceRef,
        amount: Option<Decimal>,
        refunded: Option<Decimal>,
    ) -> StepResult {
        let reference = self.invoice(invoice)?;
        let payment = self.mock.invoice(&reference).and_then(|v| v.payment);
        let Some(payment) = payment else {
            return Err(fail(
                format!("a payment for invoice {reference}"),
                format!("none{}", history(self.mock, &reference)),
            ));
        };
        if let Some(amount) = amount
            && payment.amount != amount
        {
            return Err(fail(format!("payment of {amount:.2}"), format!("{:.2} {}", payment.amount, payment.currency)));
        }
        if let Some(refunded) = refunded
            && payment.refunded() != refunded
        {
            return Err(fail(format!("{refunded:.2} refunded"), format!("{:.2} refunded", payment.refunded())));
        }
        Ok(())
    }
}

fn purchase_matches(report: &PurchaseReport, outcome: PurchaseOutcome, error_code: Option<&str>) -> bool {
    match (&report.outcome, outcome) {
        (MockOutcome::Accepted { .. }, PurchaseOutcome::Accepted) => true,
        (MockOutcome::Declined { error_code: got }, PurchaseOutcome::Declined) => error_code.is_none_or(|c| c == got),
        (MockOutcome::Violation { .. }, PurchaseOutcome::Violation) => true,
        _ => false,
    }
}

fn describe_purchase(report: &PurchaseReport) -> String {
    match &report.outcome {
        MockOutcome::Accepted { invoice_reference } => format!("accepted with invoice {invoice_reference}"),
        MockOutcome::Declined { error_code } => format!("declined with errorCode {error_code}"),
        MockOutcome::Violation { violation } => format!("protocol violation: {violation}"),
    }
}

fn mark_words(mark: &Mark) -> String {
    match mark {
        Mark::Start => "in this scenario".to_owned(),
        Mark::Notification => "after the notification".to_owned(),
        Mark::Step(kind) => format!("after `{kind}`"),
    }
}

/// `; history: ISSUED → RESERVED (customer confirmed reservation), …`
fn history(mock: &Mock, reference: &str) -> String {
    let Some(view) = mock.invoice(reference) else { return String::new() };
    if view.record.history.is_empty() {
        return String::new();
    }
    let steps: Vec<String> =
        view.record.history.iter().map(|h| format!("{} → {} ({})", h.from, h.to, h.reason)).collect();
    format!("; history: {}", steps.join(", "))
}
