//! The journal folded into what the invariants need, entry by entry as it is followed:
//! per invoice its amounts, reservation, status and payments, the amounts the reseller
//! asked to commit, and whether the sequence numbers came without a gap. Pure: fed
//! entries, never reads the mock.
//!
//! # Implementation rationale
//! A 60 s run journals millions of entries (every SOAP body verbatim); keeping them
//! would take gigabytes and the mock's journal is bounded anyway. Folding each entry
//! once into a few numbers per invoice keeps memory flat, and a gap in `seq` (entries
//! dropped before they were read) is itself detected.

use std::collections::HashMap;

use glase_protocol::InvoiceStatus;
use mock_glase::journal::Stored;
use rust_decimal::Decimal;

use super::facts::{Change, Fact};

/// What the journal said about one invoice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvoiceFacts {
    /// Issued as a reservation (paid only by a commit, i.e. at a machine).
    pub reservation: bool,
    /// The current total (sendInvoice, then updateInvoice).
    pub amount: Option<Decimal>,
    /// The total when the customer confirmed the reservation.
    pub reserved: Option<Decimal>,
    /// The latest status.
    pub status: Option<InvoiceStatus>,
    /// Every payment created on it.
    pub payments: Vec<Decimal>,
    /// The amount every commitReservation asked for (`None`: the current total).
    pub commits: Vec<Option<Decimal>>,
}

/// A hole in the sequence numbers: `expected` was next, `got` came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub expected: u64,
    pub got: u64,
}

/// The folded journal.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub invoices: HashMap<String, InvoiceFacts>,
    /// The last sequence number folded (0 before the first).
    pub last_seq: u64,
    /// Where following started: entries up to it were before the run.
    pub started_after: u64,
    /// Entries folded.
    pub entries: u64,
    pub gaps: Vec<Gap>,
    /// commitReservation bodies that could not be decoded (the amount is unknown).
    pub undecodable_commits: u64,
    /// Every fact applied, in order, when asked to keep them (for `load merge`).
    pub kept: Option<Vec<Fact>>,
}

impl Ledger {
    /// A ledger that starts following after `seq` (entries up to it were before the run).
    pub fn after(seq: u64) -> Self {
        Self { last_seq: seq, started_after: seq, ..Self::default() }
    }

    /// Keeps every fact applied from now on (see [`Ledger::kept`]).
    pub fn keep_facts(&mut self) {
        self.kept.get_or_insert_with(Vec::new);
    }

    /// Folds the next entry of the in-process journal.
    pub fn fold(&mut self, entry: &Stored) {
        self.fold_entry(entry.seq(), Fact::of(entry).as_ref());
    }

    /// Folds the entry numbered `seq`, which records `fact` (if any): the one way in for
    /// an entry read in-process or from a mock elsewhere.
    pub fn fold_entry(&mut self, seq: u64, fact: Option<&Fact>) {
        if self.advance(seq)
            && let Some(fact) = fact
        {
            self.apply(fact);
        }
    }

    /// Moves past `seq`, noting a gap before it; `false` for an entry already folded.
    fn advance(&mut self, seq: u64) -> bool {
        if seq <= self.last_seq {
            return false;
        }
        if seq != self.last_seq + 1 {
            self.gaps.push(Gap { expected: self.last_seq + 1, got: seq });
        }
        self.last_seq = seq;
        self.entries += 1;
        true
    }

    /// Applies one fact (its entry's sequence number is [`Ledger::advance`]'s business).
    pub fn apply(&mut self, fact: &Fact) {
        if let Some(kept) = &mut self.kept {
            kept.push(fact.clone());
        }
        if fact.change == Change::UndecodableCommit {
            self.undecodable_commits += 1;
            return;
        }
        let facts = self.facts(&fact.invoice);
        match &fact.change {
            Change::Issued { reservation, amount } => {
                facts.reservation = *reservation;
                facts.amount = Some(*amount);
                facts.status = Some(InvoiceStatus::Issued);
            }
            Change::Updated { amount } => facts.amount = Some(*amount),
            Change::Status { to } => {
                facts.status = Some(*to);
                if *to == InvoiceStatus::Reserved {
                    facts.reserved = facts.amount;
                }
            }
            Change::Payment { amount } => facts.payments.push(*amount),
            Change::Commit { amount } => facts.commits.push(*amount),
            Change::UndecodableCommit => {}
        }
    }

    fn facts(&mut self, invoice: &str) -> &mut InvoiceFacts {
        if !self.invoices.contains_key(invoice) {
            self.invoices.insert(invoice.to_owned(), InvoiceFacts::default());
        }
        self.invoices.get_mut(invoice).unwrap_or_else(|| unreachable!("inserted above"))
    }

    /// Whether the journal has shown the invoice PAID, CANCELED or FAILED.
    pub fn is_final(&self, invoice: &str) -> bool {
        self.invoices.get(invoice).and_then(|f| f.status).is_some_and(|status| {
            matches!(status, InvoiceStatus::Paid | InvoiceStatus::Canceled | InvoiceStatus::Failed)
        })
    }

    /// Only the invoices `keep` says are this run's (the others stay out of its checks).
    pub fn only(&self, keep: impl Fn(&str) -> bool) -> Self {
        let invoices = self.invoices.iter().filter(|(r, _)| keep(r)).map(|(r, f)| (r.clone(), f.clone())).collect();
        Self { invoices, gaps: self.gaps.clone(), kept: None, ..*self }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use glase_protocol::Request;
    use mock_glase::Timestamp;
    use mock_glase::journal::{Journal, Record, Tags};
    use mock_glase::machine::Event;
    use std::sync::Arc;

    /// A journal of `records` (with the invoice tag each names), numbered from 1, as the
    /// follower reads it.
    pub(crate) fn journal(records: Vec<(Option<&str>, Record)>) -> Vec<Arc<Stored>> {
        let mut journal = Journal::new(records.len().max(1));
        for (invoice, record) in records {
            journal.push(Timestamp(1), Tags { invoice, ..Tags::default() }, record);
        }
        journal.page(&mock_glase::journal::Filter::default(), None, usize::MAX).entries
    }

    pub(crate) fn event(event: Event) -> (Option<&'static str>, Record) {
        (None, Record::Machine { event })
    }

    pub(crate) fn issued(invoice: &str, cents: i64) -> (Option<&'static str>, Record) {
        event(Event::InvoiceIssued {
            invoice: invoice.into(),
            terminal: "demo-terminal".into(),
            amount: Decimal::new(cents, 2),
            currency: "EUR".into(),
            payment_mode: glase_protocol::PaymentMode::ReservationRequired,
        })
    }

    pub(crate) fn to(invoice: &str, from: InvoiceStatus, to: InvoiceStatus) -> (Option<&'static str>, Record) {
        event(Event::Transition { invoice: invoice.into(), from, to, reason: "test".into() })
    }

    pub(crate) fn paid(invoice: &str, cents: i64) -> (Option<&'static str>, Record) {
        event(Event::PaymentCreated {
            invoice: invoice.into(),
            ers_reference: format!("ers-{invoice}").as_str().into(),
            amount: Decimal::new(cents, 2),
        })
    }

    /// A commitReservation request for `cents` on `invoice`, as the reseller sends it.
    pub(crate) fn commit(invoice: &'static str, cents: i64) -> (Option<&'static str>, Record) {
        let request = Request::CommitReservation(glase_protocol::request::CommitReservation {
            context: None,
            invoice_reference: Some(invoice.to_owned()),
            amount: Some(glase_protocol::Amount::new(Decimal::new(cents, 2), "EUR".to_owned())),
        });
        let mut body = Vec::new();
        glase_protocol::encode_request(&request, &mut body);
        let body = String::from_utf8(body).unwrap();
        (Some(invoice), Record::SoapRequest { path: "/".into(), operation: Some("commitReservation".into()), body })
    }

    #[test]
    fn a_reservation_is_followed_from_issue_to_payment() {
        use InvoiceStatus::*;
        let mut ledger = Ledger::default();
        let entries = journal(vec![
            issued("A", 2000),
            to("A", Issued, Reserved),
            event(Event::InvoiceUpdated { invoice: "A".into(), amount: Decimal::new(620, 2) }),
            commit("A", 620),
            paid("A", 620),
            to("A", Reserved, Paid),
        ]);
        for entry in &entries {
            ledger.fold(entry);
        }
        let facts = &ledger.invoices["A"];
        assert!(facts.reservation);
        assert_eq!(facts.reserved, Some(Decimal::new(2000, 2)));
        assert_eq!(facts.amount, Some(Decimal::new(620, 2)));
        assert_eq!(facts.commits, vec![Some(Decimal::new(620, 2))]);
        assert_eq!((facts.status, facts.payments.len()), (Some(Paid), 1));
        assert_eq!((ledger.entries, ledger.last_seq, ledger.gaps.len()), (6, 6, 0));
    }

    #[test]
    fn a_gap_in_the_sequence_is_noticed_and_repeats_are_ignored() {
        let entries = journal(vec![issued("A", 100), issued("B", 100), issued("C", 100), issued("D", 100)]);
        let mut ledger = Ledger::default();
        ledger.fold(&entries[0]);
        ledger.fold(&entries[0]);
        ledger.fold(&entries[3]);
        assert_eq!(ledger.gaps, vec![Gap { expected: 2, got: 4 }]);
        assert_eq!(ledger.entries, 2);
    }
}
