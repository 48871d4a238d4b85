//! A journal entry reduced to what the invariants need: the [`Fact`] the ledger folds.
//! Read from the in-process mock's entries, from the control API's JSON (a mock in
//! another process, shared by shards), and from an evidence file written by one shard
//! and merged with the others by `load merge`. All three give the same facts.

use glase_protocol::{InvoiceStatus, PaymentMode, Request, decode_request};
use mock_glase::journal::{Record, Stored};
use mock_glase::machine::Event;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What one entry says about one invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Change {
    /// Issued; `reservation`: paid only by a commit (at a machine).
    Issued {
        reservation: bool,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    },
    /// updateInvoice changed the total.
    Updated {
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    },
    /// A status transition.
    Status { to: InvoiceStatus },
    /// A payment was created.
    Payment {
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    },
    /// A commitReservation asked for this amount (`None`: the current total).
    Commit {
        #[serde(default, with = "rust_decimal::serde::str_option")]
        amount: Option<Decimal>,
    },
    /// A commitReservation whose body could not be decoded (its amount is unknown).
    UndecodableCommit,
}

/// A change to one invoice, at its place in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub seq: u64,
    pub invoice: String,
    #[serde(flatten)]
    pub change: Change,
}

impl Fact {
    /// The fact an entry of the in-process journal records, if any: read in place.
    pub fn of(entry: &Stored) -> Option<Self> {
        let (seq, invoice) = (entry.seq(), entry.invoice());
        let (invoice, change) = match entry.record() {
            Record::Machine { event } => event_change(event)?,
            Record::SoapRequest { operation: Some(op), body, .. } if op == "commitReservation" => {
                (invoice?.to_owned(), commit_change(body))
            }
            _ => return None,
        };
        Some(Self { seq, invoice, change })
    }

    /// The sequence number of an entry as the control API serializes it, and the fact it
    /// records; `None` when it is not an entry at all (no `seq`).
    pub fn of_json(entry: &Value) -> Option<(u64, Option<Self>)> {
        let seq = entry.get("seq")?.as_u64()?;
        let text = |value: &Value, name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        let change = match entry.get("kind").and_then(Value::as_str) {
            Some("machine") => entry.get("event").and_then(json_event_change),
            Some("soapRequest") if text(entry, "operation").as_deref() == Some("commitReservation") => {
                text(entry, "invoice").zip(text(entry, "body").map(|body| commit_change(&body)))
            }
            _ => None,
        };
        Some((seq, change.map(|(invoice, change)| Self { seq, invoice, change })))
    }
}

fn event_change(event: &Event) -> Option<(String, Change)> {
    let (invoice, change) = match event {
        Event::InvoiceIssued { invoice, amount, payment_mode, .. } => {
            (invoice, Change::Issued { reservation: payment_mode.reserves(), amount: *amount })
        }
        Event::InvoiceUpdated { invoice, amount } => (invoice, Change::Updated { amount: *amount }),
        Event::Transition { invoice, to, .. } => (invoice, Change::Status { to: *to }),
        Event::PaymentCreated { invoice, amount, .. } => (invoice, Change::Payment { amount: *amount }),
        _ => return None,
    };
    Some((invoice.to_string(), change))
}

/// The same as [`event_change`], from the event's JSON (`Event`'s serde layout).
fn json_event_change(event: &Value) -> Option<(String, Change)> {
    let invoice = event.get("invoice")?.as_str()?.to_owned();
    let amount = || event.get("amount")?.as_str()?.parse::<Decimal>().ok();
    let change = match event.get("type")?.as_str()? {
        "invoiceIssued" => {
            let mode: PaymentMode = serde_json::from_value(event.get("paymentMode")?.clone()).ok()?;
            Change::Issued { reservation: mode.reserves(), amount: amount()? }
        }
        "invoiceUpdated" => Change::Updated { amount: amount()? },
        "transition" => Change::Status { to: serde_json::from_value(event.get("to")?.clone()).ok()? },
        "paymentCreated" => Change::Payment { amount: amount()? },
        _ => return None,
    };
    Some((invoice, change))
}

fn commit_change(body: &str) -> Change {
    match decode_request(body.as_bytes()) {
        Ok(Request::CommitReservation(commit)) => Change::Commit { amount: commit.amount.and_then(|a| a.value) },
        _ => Change::UndecodableCommit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::ledger::tests::{commit, event, issued, journal, paid, to};
    use InvoiceStatus::*;

    /// Every kind of fact, read from the entry itself, from its JSON and from the
    /// evidence line it is written as, comes out the same; other entries give none.
    #[test]
    fn entries_json_and_evidence_give_the_same_facts() {
        let entries = journal(vec![
            issued("A", 2000),
            to("A", Issued, Reserved),
            event(Event::InvoiceUpdated { invoice: "A".into(), amount: Decimal::new(620, 2) }),
            commit("A", 620),
            paid("A", 620),
            to("A", Reserved, Paid),
            event(Event::CustomerScanned { invoice: "A".into(), msisdn: "46700000001".into() }),
            (
                Some("B"),
                Record::SoapRequest {
                    path: "/".into(),
                    operation: Some("commitReservation".into()),
                    body: "<not soap".into(),
                },
            ),
        ]);
        let facts: Vec<Option<Fact>> = entries.iter().map(|e| Fact::of(e)).collect();
        let kinds: Vec<Option<Change>> = facts.iter().map(|f| f.as_ref().map(|f| f.change.clone())).collect();
        assert_eq!(
            kinds,
            vec![
                Some(Change::Issued { reservation: true, amount: Decimal::new(2000, 2) }),
                Some(Change::Status { to: Reserved }),
                Some(Change::Updated { amount: Decimal::new(620, 2) }),
                Some(Change::Commit { amount: Some(Decimal::new(620, 2)) }),
                Some(Change::Payment { amount: Decimal::new(620, 2) }),
                Some(Change::Status { to: Paid }),
                None,
                Some(Change::UndecodableCommit),
            ]
        );
        for (entry, fact) in entries.iter().zip(&facts) {
            let json = serde_json::to_value(&**entry).unwrap();
            assert_eq!(Fact::of_json(&json), Some((entry.seq(), fact.clone())), "{json}");
            if let Some(fact) = fact {
                let line = serde_json::to_string(fact).unwrap();
                assert_eq!(&serde_json::from_str::<Fact>(&line).unwrap(), fact, "{line}");
            }
        }
        assert_eq!(Fact::of_json(&serde_json::json!({"kind": "machine"})), None);
    }
}
