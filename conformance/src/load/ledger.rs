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

use glase_protocol::{InvoiceStatus, Request, decode_request};
use mock_glase::journal::{Entry, Record};
use mock_glase::machine::Event;
use rust_decimal::Decimal;

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
    /// Entries folded.
    pub entries: u64,
    pub gaps: Vec<Gap>,
    /// commitReservation bodies that could not be decoded (the amount is unknown).
    pub undecodable_commits: u64,
}

impl Ledger {
    /// A ledger that starts following after `seq` (entries up to it were before the run).
    pub fn after(seq: u64) -> Self {
        Self { last_seq: seq, ..Self::default() }
    }

    /// Folds the next entry.
    pub fn fold(&mut self, entry: &Entry) {
        if entry.seq <= self.last_seq {
            return;
        }
        if entry.seq != self.last_seq + 1 {
            self.gaps.push(Gap { expected: self.last_seq + 1, got: entry.seq });
        }
        self.last_seq = entry.seq;
        self.entries += 1;
        match &entry.record {
            Record::Machine { event } => self.event(event),
            Record::SoapRequest { operation: Some(op), body, .. } if op == "commitReservation" => {
                let Some(invoice) = entry.invoice.as_deref() else { return };
                match decode_request(body.as_bytes()) {
                    Ok(Request::CommitReservation(commit)) => {
                        let amount = commit.amount.and_then(|a| a.value);
                        self.facts(invoice).commits.push(amount);
                    }
                    _ => self.undecodable_commits += 1,
                }
            }
            _ => {}
        }
    }

    fn facts(&mut self, invoice: &str) -> &mut InvoiceFacts {
        if !self.invoices.contains_key(invoice) {
            self.invoices.insert(invoice.to_owned(), InvoiceFacts::default());
        }
        self.invoices.get_mut(invoice).unwrap_or_else(|| unreachable!("inserted above"))
    }

    fn event(&mut self, event: &Event) {
        match event {
            Event::InvoiceIssued { invoice, amount, payment_mode, .. } => {
                let facts = self.facts(invoice);
                facts.reservation = payment_mode.reserves();
                facts.amount = Some(*amount);
                facts.status = Some(InvoiceStatus::Issued);
            }
            Event::InvoiceUpdated { invoice, amount } => self.facts(invoice).amount = Some(*amount),
            Event::Transition { invoice, to, .. } => {
                let facts = self.facts(invoice);
                facts.status = Some(*to);
                if *to == InvoiceStatus::Reserved {
                    facts.reserved = facts.amount;
                }
            }
            Event::PaymentCreated { invoice, amount, .. } => self.facts(invoice).payments.push(*amount),
            _ => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mock_glase::Timestamp;
    use mock_glase::journal::{Journal, Tags};

    /// A journal of `records` (with the invoice tag each names), numbered from 1.
    pub(crate) fn journal(records: Vec<(Option<&str>, Record)>) -> Vec<Entry> {
        let mut journal = Journal::new(records.len().max(1));
        for (invoice, record) in records {
            journal.push(Timestamp(1), Tags { invoice, ..Tags::default() }, record);
        }
        journal.query(&mock_glase::journal::Filter::default())
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
