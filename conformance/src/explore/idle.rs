//! The reseller's idle timer, and the end of a sequence.
//!
//! The idle timer is the one clock of the system under test the executor cannot stop:
//! a reservation left alone for half the idle timeout is let run out before the next
//! action (its customer walks away, the release is awaited and checked), so the timer
//! never fires in the middle of an action. After the sequence, the customers still at a
//! machine give up and nothing may be left locked or open (`quiesce`); whatever the
//! verdict, `tidy_up` leaves nothing open for the next run.

use std::time::{Duration, Instant};

use glase_protocol::InvoiceStatus;
use serde_json::json;

use super::action::{Action, Choice};
use super::execute::{Execution, POLL, Step, Stop, fail};
use super::model::{End, Hold, Property, human, money};

/// After the sequence, how long the journal must stay quiet before it is cut…
const QUIET: Duration = Duration::from_millis(150);
/// …but no longer than this.
const SETTLE_LIMIT: Duration = Duration::from_secs(3);

impl Execution<'_> {
    /// Lets reservations close to the idle timeout run out: their customers walk away
    /// and the release is awaited.
    pub(super) async fn let_stale_holds_run_out(&mut self) -> Step<()> {
        for machine in self.model.stale(Instant::now()) {
            let note = self.walk_away(machine);
            self.log.push(format!("   (the customer at {} hesitated too long and {note})", self.token(machine)));
            self.await_release(machine).await?;
        }
        Ok(())
    }

    /// Waits for an abandoned machine's release by the idle timer, and checks it.
    pub(super) async fn await_release(&mut self, machine: usize) -> Step<()> {
        let Hold::Abandoned(purchase) = self.model.hold(machine).clone() else { return Ok(()) };
        let token = self.token(machine);
        let by = self.model.timing.release_by(&purchase);
        let window = by.saturating_duration_since(Instant::now());
        if let Err(seen) = self.wait_released(machine, &purchase.invoice, window, false).await? {
            let idle = self.model.timing.idle_timeout;
            return Err(fail(
                Property::IdleRelease,
                format!(
                    "invoice {} cancelled (cancelInvoice) and {token} idle within {} of the customer leaving (idle timeout {})",
                    purchase.invoice,
                    human(by.saturating_duration_since(purchase.active_since)),
                    human(idle)
                ),
                seen,
            ));
        }
        self.model.release(machine, End::Canceled);
        Ok(())
    }

    /// Before acting at a held machine: the reservation must still be there, unless the
    /// idle timeout may have passed (then the model follows the reseller).
    pub(super) async fn check_still_held(&mut self, machine: usize) -> Step<()> {
        let hold = self.model.hold(machine).clone();
        let (Hold::Confirming(purchase) | Hold::Unlocked(purchase)) = &hold else { return Ok(()) };
        let status = self.mock.invoice(&purchase.invoice).map(|v| v.record.status);
        if matches!(status, Some(InvoiceStatus::Issued | InvoiceStatus::Reserved)) {
            return Ok(());
        }
        if self.model.timing.may_release(purchase, Instant::now()) {
            self.log.push(format!("   (the reseller's idle timer released {})", self.token(machine)));
            self.model.release(machine, End::Canceled);
            return Ok(());
        }
        Err(fail(
            Property::NoEarlyRelease,
            format!(
                "invoice {} still {} (the customer is at {}; the idle timeout is {})",
                purchase.invoice,
                if matches!(hold, Hold::Unlocked(_)) { "RESERVED" } else { "ISSUED" },
                self.token(machine),
                human(self.model.timing.idle_timeout)
            ),
            format!(
                "{} after {}",
                self.invoice_text(&purchase.invoice),
                human(Instant::now().saturating_duration_since(purchase.started))
            ),
        ))
    }

    // ---- after the sequence ----

    /// The sequence is over: customers still at a machine give up (those confirming
    /// cancel in the app, those at an unlocked machine take nothing), abandoned machines
    /// are released by the idle timer; then nothing may be left locked or open.
    pub(super) async fn quiesce(&mut self) -> Step<()> {
        let after = |mut stop: Stop| {
            if let Stop::Failed(failure) = &mut stop {
                failure.expected = format!("{} (after the sequence, as it quiesced)", failure.expected);
            }
            stop
        };
        self.let_stale_holds_run_out().await.map_err(after)?;
        for machine in 0..self.model.fleet.len() {
            match self.model.hold(machine) {
                Hold::Abandoned(_) => {
                    self.log.push(format!("   then the idle timer of {} runs out", self.token(machine)));
                    self.await_release(machine).await.map_err(after)?;
                    self.note_last("released");
                }
                Hold::Confirming(_) => {
                    self.check_still_held(machine).await.map_err(after)?;
                    let action = Action::Cancel { machine };
                    self.log.push(format!("   then {}", action.describe(&self.model.fleet)));
                    let note = self.cancel(machine).await.map_err(after)?;
                    self.note_last(&note);
                }
                Hold::Unlocked(_) => {
                    self.check_still_held(machine).await.map_err(after)?;
                    let action = Action::Vend { machine, choice: Choice::Nothing };
                    self.log.push(format!("   then {}", action.describe(&self.model.fleet)));
                    let note = self.vend(machine, &Choice::Nothing).await.map_err(after)?;
                    self.note_last(&note);
                }
                Hold::Free => {}
            }
        }
        for machine in 0..self.model.fleet.len() {
            let (state, answer) = self.machine_state(machine).await?;
            if state != "idle" {
                return Err(fail(
                    Property::MachinesReleased,
                    format!("{} idle once the sequence quiesced", self.token(machine)),
                    answer.to_string(),
                ));
            }
        }
        for (invoice, end) in self.model.ends.clone() {
            let view = self.mock.invoice(&invoice);
            let status = view.as_ref().map(|v| v.record.status);
            let paid = view.as_ref().and_then(|v| v.payment.as_ref()).map(|p| p.amount);
            let holds = match end {
                Some(End::Paid(total)) => status == Some(InvoiceStatus::Paid) && paid == Some(total),
                Some(End::Canceled) => status == Some(InvoiceStatus::Canceled),
                None => false,
            };
            if !holds {
                let expected = match end {
                    Some(End::Paid(total)) => format!("invoice {invoice} PAID with {}", money(total)),
                    _ => format!("invoice {invoice} CANCELED"),
                };
                return Err(fail(Property::ReservationEnds, expected, self.invoice_text(&invoice)));
            }
            if let Some(seq) = self.commit_after_commit(&invoice) {
                return Err(fail(
                    Property::CommitOnce,
                    format!("at most one successful commitReservation for invoice {invoice}"),
                    format!("another commitReservation at journal #{seq} after it was committed"),
                ));
            }
        }
        Ok(())
    }

    /// Appends what the last logged action led to.
    pub(super) fn note_last(&mut self, note: &str) {
        if let Some(line) = self.log.last_mut() {
            line.push_str(&format!(" → {note}"));
        }
    }

    /// Leaves nothing open, judging nothing: faults cleared, invoices still waiting for
    /// a customer cancelled by the customer, unlocked machines given an empty choice;
    /// then waits for the journal to go quiet.
    pub(super) async fn tidy_up(&mut self) {
        if self.faults_added {
            self.mock.clear_faults(None);
        }
        for (invoice, _) in &self.model.ends {
            if let Some(view) = self.mock.invoice(invoice)
                && view.record.status == InvoiceStatus::Issued
            {
                let _ = self.mock.cancel(invoice, view.record.opened_by.as_deref());
            }
        }
        for machine in 0..self.model.fleet.len() {
            if let Ok((state, _)) = self.machine_state(machine).await
                && state == "unlocked"
            {
                let _ = self.sut.driver.vend(&self.token(machine), &json!({ "items": [] })).await;
            }
        }
        self.settle().await;
    }

    /// Waits until the journal has had no new entry for [`QUIET`] (at most
    /// [`SETTLE_LIMIT`]).
    pub(super) async fn settle(&self) {
        let limit = tokio::time::Instant::now() + SETTLE_LIMIT;
        let mut last = self.last_seq();
        let mut quiet_since = tokio::time::Instant::now();
        while tokio::time::Instant::now() < limit {
            tokio::time::sleep(POLL).await;
            let now = self.last_seq();
            if now != last {
                last = now;
                quiet_since = tokio::time::Instant::now();
            } else if quiet_since.elapsed() >= QUIET {
                return;
            }
        }
    }
}
