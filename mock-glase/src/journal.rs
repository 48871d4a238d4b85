//! The journal: every inbound and outbound message and every state transition, in
//! order, timestamped. It is what a person reads to see what happened and what the
//! conformance rules check. Memory is bounded: the oldest entries are dropped once
//! `capacity` is reached, and `dropped` says how many.

use std::collections::VecDeque;

use serde::Serialize;

use crate::clock::Timestamp;
use crate::machine::Event;

/// One journal entry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Position in the journal, from 1, never reused.
    pub seq: u64,
    /// Milliseconds since the epoch (the mock's clock).
    pub at: Timestamp,
    /// The same instant as RFC 3339 text.
    pub time: String,
    pub terminal: Option<String>,
    pub invoice: Option<String>,
    /// The merchant (reseller) the entry concerns, when known.
    pub merchant: Option<String>,
    #[serde(flatten)]
    pub record: Record,
}

/// Who and what an entry is about, for filtering.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tags<'a> {
    pub terminal: Option<&'a str>,
    pub invoice: Option<&'a str>,
    pub merchant: Option<&'a str>,
}

/// What an entry records.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Record {
    /// A SOAP request as received (`operation` is absent when it could not be decoded).
    SoapRequest { path: String, operation: Option<String>, body: String },
    /// The SOAP answer sent back.
    SoapResponse {
        operation: Option<String>,
        /// The status on the wire (an injected 5xx included).
        http_status: u16,
        result_code: Option<i32>,
        fault: Option<String>,
        body: String,
        /// The connection was closed instead of answering (an injected fault).
        dropped: bool,
        /// The answer was held back this long (an injected fault).
        delayed_ms: Option<u64>,
    },
    /// Something the state machine did. Nested, so the event's own fields (`invoice`,
    /// `terminal`, …) never clash with the entry's tags.
    Machine { event: Event },
    /// One attempt to deliver a notification, and what came of it.
    NotificationSent {
        url: String,
        reason: String,
        attempt: u32,
        outcome: String,
        http_status: Option<u16>,
        /// No further attempt follows (delivered, or retries exhausted).
        last_attempt: bool,
    },
    /// The UPS's createPurchase request to a merchant.
    CreatePurchaseRequest { purchase: u64, url: String, body: String },
    /// What the merchant answered (or that it did not).
    CreatePurchaseResponse {
        purchase: u64,
        http_status: Option<u16>,
        content_type: Option<String>,
        body: Option<String>,
        error: Option<String>,
    },
    /// A customer or control action taken through the control API or library.
    Control { action: String, detail: String },
}

/// Which entries a query returns.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only entries with `seq` greater than this.
    pub after: Option<u64>,
    pub invoice: Option<String>,
    pub terminal: Option<String>,
    pub merchant: Option<String>,
    pub limit: Option<usize>,
}

/// A bounded, ordered list of entries.
#[derive(Debug)]
pub struct Journal {
    entries: VecDeque<Entry>,
    capacity: usize,
    next_seq: u64,
    dropped: u64,
    /// Carries the latest sequence number to followers (long-poll, SSE).
    latest: tokio::sync::watch::Sender<u64>,
}

impl Journal {
    pub fn new(capacity: usize) -> Self {
        let (latest, _) = tokio::sync::watch::channel(0);
        Self { entries: VecDeque::new(), capacity: capacity.max(1), next_seq: 1, dropped: 0, latest }
    }

    /// A receiver that sees the latest sequence number whenever an entry is added.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.latest.subscribe()
    }

    /// Appends an entry and returns its sequence number.
    pub fn push(&mut self, at: Timestamp, tags: Tags<'_>, record: Record) -> u64 {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
            self.dropped += 1;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.push_back(Entry {
            seq,
            at,
            time: at.to_rfc3339(),
            terminal: tags.terminal.map(str::to_owned),
            invoice: tags.invoice.map(str::to_owned),
            merchant: tags.merchant.map(str::to_owned),
            record,
        });
        self.latest.send_replace(seq);
        seq
    }

    /// Entries matching the filter, oldest first.
    pub fn query(&self, filter: &Filter) -> Vec<Entry> {
        let start = filter.after.map_or(0, |after| self.entries.partition_point(|e| e.seq <= after));
        self.entries
            .range(start..)
            .filter(|e| filter.invoice.as_deref().is_none_or(|i| e.invoice.as_deref() == Some(i)))
            .filter(|e| filter.terminal.as_deref().is_none_or(|t| e.terminal.as_deref() == Some(t)))
            .filter(|e| filter.merchant.as_deref().is_none_or(|m| e.merchant.as_deref() == Some(m)))
            .take(filter.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    /// Sequence number of the latest entry (0 when empty).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// Entries dropped to stay within capacity.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(detail: &str) -> Record {
        Record::Control { action: "test".into(), detail: detail.into() }
    }

    #[test]
    fn keeps_the_newest_entries_within_capacity() {
        let mut journal = Journal::new(2);
        for i in 0..5 {
            journal.push(Timestamp(i), Tags::default(), control(&i.to_string()));
        }
        let seqs: Vec<u64> = journal.query(&Filter::default()).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![4, 5]);
        assert_eq!(journal.dropped(), 3);
        assert_eq!(journal.last_seq(), 5);
    }

    #[test]
    fn filters_by_sequence_invoice_and_terminal() {
        let mut journal = Journal::new(10);
        let tags = |terminal, invoice, merchant| Tags { terminal: Some(terminal), invoice: Some(invoice), merchant };
        journal.push(Timestamp(1), tags("t1", "a", Some("m1")), control("1"));
        journal.push(Timestamp(2), tags("t2", "b", None), control("2"));
        journal.push(Timestamp(3), tags("t1", "b", Some("m1")), control("3"));
        let by_invoice = journal.query(&Filter { invoice: Some("b".into()), ..Filter::default() });
        assert_eq!(by_invoice.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3]);
        let after = journal.query(&Filter { after: Some(1), terminal: Some("t1".into()), ..Filter::default() });
        assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3]);
        let by_merchant = journal.query(&Filter { merchant: Some("m1".into()), ..Filter::default() });
        assert_eq!(by_merchant.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 3]);
    }

    #[test]
    fn followers_see_the_latest_sequence_number() {
        let mut journal = Journal::new(10);
        let follower = journal.subscribe();
        journal.push(Timestamp(1), Tags::default(), control("1"));
        journal.push(Timestamp(2), Tags::default(), control("2"));
        assert_eq!(*follower.borrow(), 2);
    }
}
