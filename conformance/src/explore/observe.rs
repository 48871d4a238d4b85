//! Observing the system under test during a run: machine states through the machine
//! driver (polled until they show what is expected, or their time is up), invoices and
//! calls through the mock.

use std::time::{Duration, Instant};

use glase_protocol::InvoiceStatus;
use mock_glase::journal::{Filter, Record};

use super::execute::{ExecError, Execution, POLL, Step, Stop, fail};
use super::model::{Property, Purchase};
use crate::drivers::Answer;
use crate::runner::MERCHANT;

impl Execution<'_> {
    pub(super) async fn machine_state(&self, machine: usize) -> Step<(String, Answer)> {
        let token = self.token(machine);
        let answer =
            self.sut.driver.machine(&token).await.map_err(|e| Stop::Error(ExecError::Unreachable(e.detail)))?;
        let state = answer.field("state").unwrap_or("?").to_owned();
        Ok((state, answer))
    }

    /// Polls until the machine shows `wanted`; `Err(what it showed)` if it did not
    /// within `within`.
    pub(super) async fn wait_state(&self, machine: usize, wanted: &str, within: Duration) -> Step<Result<(), String>> {
        let deadline = Instant::now() + within;
        loop {
            let (state, _) = self.machine_state(machine).await?;
            if state == wanted {
                return Ok(Ok(()));
            }
            if Instant::now() >= deadline {
                return Ok(Err(state));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub(super) async fn expect_state(
        &self,
        machine: usize,
        wanted: &str,
        within: Duration,
        property: Property,
    ) -> Step<()> {
        match self.wait_state(machine, wanted, within).await? {
            Ok(()) => Ok(()),
            Err(seen) => Err(fail(
                property,
                format!("{} {wanted}", self.token(machine)),
                format!("{} is {seen}", self.token(machine)),
            )),
        }
    }

    /// Polls until the machine is idle and the invoice CANCELED, within `within`. With
    /// `never_unlocked` (the customer never confirmed), a machine seen unlocked on the
    /// way fails too. The states in between are not judged: Glase and the reseller
    /// change one after the other.
    pub(super) async fn wait_released(
        &self,
        machine: usize,
        invoice: &str,
        within: Duration,
        never_unlocked: bool,
    ) -> Step<Result<(), String>> {
        let token = self.token(machine);
        let deadline = Instant::now() + within;
        let mut unlocked = false;
        loop {
            let (state, _) = self.machine_state(machine).await?;
            let status = self.mock.invoice(invoice).map(|v| v.record.status);
            unlocked |= never_unlocked && state == "unlocked";
            let released = state == "idle" && status == Some(InvoiceStatus::Canceled);
            if (released && !unlocked) || Instant::now() >= deadline {
                let was = if unlocked { " (and was unlocked on the way)" } else { "" };
                return Ok(if released && !unlocked {
                    Ok(())
                } else {
                    Err(format!("{token} is {state}{was}; invoice {}", self.invoice_text(invoice)))
                });
            }
            if released {
                // Unlocked on the way: the failure is certain, no need to wait longer.
                return Ok(Err(format!(
                    "{token} was unlocked before it was released; invoice {}",
                    self.invoice_text(invoice)
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// SOAP requests of `operation` (for `invoice`, or any) since `since`.
    pub(super) fn calls(&self, operation: &str, since: u64, invoice: Option<&str>) -> usize {
        let filter = Filter {
            after: Some(since),
            invoice: invoice.map(str::to_owned),
            merchant: Some(MERCHANT.to_owned()),
            ..Filter::default()
        };
        self.mock
            .journal(&filter)
            .iter()
            .filter(|e| matches!(&e.record, Record::SoapRequest { operation: Some(op), .. } if op == operation))
            .count()
    }

    /// A commitReservation request for `invoice` after one was answered with success.
    pub(super) fn commit_after_commit(&self, invoice: &str) -> Option<u64> {
        let filter = Filter { invoice: Some(invoice.to_owned()), ..Filter::default() };
        let mut committed = false;
        for entry in self.mock.journal(&filter) {
            match &entry.record {
                Record::SoapRequest { operation: Some(op), .. } if op == "commitReservation" && committed => {
                    return Some(entry.seq);
                }
                Record::SoapResponse { operation: Some(op), result_code: Some(0), .. } if op == "commitReservation" => {
                    committed = true;
                }
                _ => {}
            }
        }
        None
    }

    /// `CANCELED (history: ISSUED → RESERVED (customer confirmed reservation), …)`
    pub(super) fn invoice_text(&self, invoice: &str) -> String {
        let Some(view) = self.mock.invoice(invoice) else { return format!("{invoice} unknown to Glase") };
        let steps: Vec<String> =
            view.record.history.iter().map(|h| format!("{} → {} ({})", h.from, h.to, h.reason)).collect();
        if steps.is_empty() {
            view.record.status.to_string()
        } else {
            format!("{} (history: {})", view.record.status, steps.join(", "))
        }
    }

    /// A customer action the app refused: the invoice is no longer waiting for them.
    pub(super) fn refused(&self, property: Property, purchase: &Purchase, error: &str) -> Stop {
        fail(
            property,
            format!("invoice {} waiting for the customer", purchase.invoice),
            format!("the app refused ({error}); invoice {}", self.invoice_text(&purchase.invoice)),
        )
    }
}
