//! The run's journal and the rules over it: the entries of the run (its merchant's,
//! without earlier runs' invoices), cut only once every status deadline the rules
//! need has passed, and the first finding that fails the run.

use std::collections::HashSet;
use std::time::Duration;

use glase_protocol::InvoiceStatus;
use mock_glase::Mock;
use mock_glase::clock::Timestamp;
use mock_glase::journal::{Entry, Filter, Record};
use mock_glase::machine::Event;

use super::model::{Broken, Failure};
use crate::results::Level;
use crate::rules::{self, CheckContext};
use crate::runner::{Harness, MERCHANT};

/// The run's entries: its merchant's since `start_seq`, without those about invoices
/// of earlier runs (a reservation an earlier run left open may still time out).
pub(crate) fn cut(mock: &Mock, start_seq: u64, earlier: &HashSet<String>) -> Vec<Entry> {
    mock.journal(&Filter { after: Some(start_seq), merchant: Some(MERCHANT.to_owned()), ..Filter::default() })
        .into_iter()
        .filter(|e| e.invoice.as_ref().is_none_or(|i| !earlier.contains(i)))
        .collect()
}

/// When the last status deadline of the run passes, if a notification or a customer's
/// confirmation (RESERVED, PAID) has no getPaymentStatus after it yet; `None` when all
/// were answered. A notification counts as answered by a fetch after the change it
/// reports: the journal records it once its answer is in, which may be after the fetch.
pub(crate) fn unanswered_until(journal: &[Entry], status_deadline: Duration) -> Option<Timestamp> {
    let change_before = |invoice: &str, seq: u64| {
        journal
            .iter()
            .filter(|e| e.seq <= seq && e.invoice.as_deref() == Some(invoice))
            .filter(|e| matches!(&e.record, Record::Machine { event: Event::Transition { .. } }))
            .map(|e| e.seq)
            .max()
            .unwrap_or(seq)
    };
    let fetched_after = |invoice: &str, seq: u64| {
        journal.iter().any(|e| {
            e.seq > seq
                && e.invoice.as_deref() == Some(invoice)
                && matches!(&e.record, Record::SoapRequest { operation: Some(op), .. } if op == "getPaymentStatus")
        })
    };
    journal
        .iter()
        .filter_map(|e| {
            let invoice = e.invoice.as_deref()?;
            let since = match &e.record {
                Record::NotificationSent { .. } => change_before(invoice, e.seq),
                Record::Machine { event: Event::Transition { to, reason, .. } }
                    if matches!(to, InvoiceStatus::Reserved | InvoiceStatus::Paid) && reason.contains("customer") =>
                {
                    e.seq
                }
                _ => return None,
            };
            (!fetched_after(invoice, since)).then(|| e.at.plus(status_deadline))
        })
        .max()
}

/// A last journal entry at the time the run ended: the rules judge deadlines against
/// the journal's end, which is now, not the run's last message.
pub(crate) fn end_marker(mock: &Mock, journal: &[Entry]) -> Entry {
    let now = mock.now();
    Entry {
        seq: journal.last().map_or(0, |e| e.seq) + 1,
        at: now,
        time: now.to_rfc3339(),
        terminal: None,
        invoice: None,
        merchant: Some(MERCHANT.to_owned()),
        record: Record::Control { action: "exploreRunEnd".to_owned(), detail: "the sequence quiesced".to_owned() },
    }
}

/// The first finding of the journal rules that fails the run.
pub(crate) fn rule_failure(harness: &Harness, journal: &[Entry], strict: bool) -> Option<Failure> {
    let ctx = CheckContext {
        journal,
        status_deadline: harness.status_deadline(harness.deadline_scale),
        profile: "unattended",
        cut_at_ms: None,
        company: None,
    };
    let finding = rules::check_all(&ctx).into_iter().find(|f| strict || f.level == Level::Must)?;
    let summary = rules::rule(&finding.rule).map(|r| r.summary).unwrap_or_default();
    let evidence: Vec<String> = finding.evidence.iter().map(|seq| format!("#{seq}")).collect();
    let actual = if evidence.is_empty() {
        finding.actual
    } else {
        format!("{} (journal {})", finding.actual, evidence.join(", "))
    };
    Some(Failure { broken: Broken::Rule { id: finding.rule, summary }, step: None, expected: finding.expected, actual })
}
