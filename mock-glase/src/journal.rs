//! The journal: every inbound and outbound message and every state transition, in
//! order, timestamped. It is what a person reads to see what happened and what the
//! conformance rules check. Memory is bounded twice: the oldest entries are dropped once
//! `capacity` entries or `max_bytes` bytes are reached, and `dropped` says how many.
//!
//! # Implementation rationale
//! Every SOAP call journals four or more entries while holding the mock's one lock, so a
//! push does as little as it can: entries are stored as pushed and turned into [`Entry`]s
//! (RFC 3339 time, owned tags) only when queried; the tags of consecutive entries (a
//! request, its machine events and its answer name the same terminal, invoice and
//! merchant) share one allocation; followers are only woken when there are any.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::Serialize;

use crate::clock::Timestamp;
use crate::machine::Event;

/// Bytes an entry costs besides the text it holds (the record, its tags, the event).
const ENTRY_OVERHEAD: usize = 256;

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
    entries: VecDeque<Stored>,
    capacity: usize,
    max_bytes: usize,
    /// Estimated bytes held by `entries`.
    bytes: usize,
    next_seq: u64,
    dropped: u64,
    /// The most recent tags, shared by the entries that repeat them.
    recent: [Option<Arc<str>>; 3],
    /// Carries the latest sequence number to followers (long-poll, SSE).
    latest: tokio::sync::watch::Sender<u64>,
}

/// An entry as kept: an [`Entry`] without its RFC 3339 text, tags shared.
#[derive(Debug)]
struct Stored {
    seq: u64,
    at: Timestamp,
    terminal: Option<Arc<str>>,
    invoice: Option<Arc<str>>,
    merchant: Option<Arc<str>>,
    record: Record,
    bytes: usize,
}

impl Stored {
    fn to_entry(&self) -> Entry {
        let owned = |tag: &Option<Arc<str>>| tag.as_deref().map(str::to_owned);
        Entry {
            seq: self.seq,
            at: self.at,
            time: self.at.to_rfc3339(),
            terminal: owned(&self.terminal),
            invoice: owned(&self.invoice),
            merchant: owned(&self.merchant),
            record: self.record.clone(),
        }
    }
}

impl Record {
    /// The text this record holds, in bytes (what dominates an entry's size).
    fn text_bytes(&self) -> usize {
        let opt = |text: &Option<String>| text.as_ref().map_or(0, String::len);
        match self {
            Self::SoapRequest { path, operation, body } => path.len() + opt(operation) + body.len(),
            Self::SoapResponse { operation, fault, body, .. } => opt(operation) + opt(fault) + body.len(),
            Self::Machine { .. } => 0,
            Self::NotificationSent { url, reason, outcome, .. } => url.len() + reason.len() + outcome.len(),
            Self::CreatePurchaseRequest { url, body, .. } => url.len() + body.len(),
            Self::CreatePurchaseResponse { content_type, body, error, .. } => {
                opt(content_type) + opt(body) + opt(error)
            }
            Self::Control { action, detail } => action.len() + detail.len(),
        }
    }
}

impl Journal {
    /// A journal bounded by entries only.
    pub fn new(capacity: usize) -> Self {
        Self::with_limits(capacity, usize::MAX)
    }

    /// A journal that keeps at most `capacity` entries and about `max_bytes` bytes.
    pub fn with_limits(capacity: usize, max_bytes: usize) -> Self {
        let (latest, _) = tokio::sync::watch::channel(0);
        Self {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
            max_bytes,
            bytes: 0,
            next_seq: 1,
            dropped: 0,
            recent: [None, None, None],
            latest,
        }
    }

    /// A receiver that sees the latest sequence number whenever an entry is added.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        // Pushes skip the channel while nobody follows; bring it up to date first.
        self.latest.send_replace(self.last_seq());
        self.latest.subscribe()
    }

    /// Appends an entry and returns its sequence number.
    pub fn push(&mut self, at: Timestamp, tags: Tags<'_>, record: Record) -> u64 {
        let [terminal, invoice, merchant] = &mut self.recent;
        let (terminal, invoice, merchant) =
            (share(terminal, tags.terminal), share(invoice, tags.invoice), share(merchant, tags.merchant));
        let tag_bytes = [tags.terminal, tags.invoice, tags.merchant].iter().flatten().map(|t| t.len()).sum::<usize>();
        let bytes = ENTRY_OVERHEAD + tag_bytes + record.text_bytes();
        // The newest entry is always kept, even if it alone is larger than `max_bytes`.
        while !self.entries.is_empty() && (self.entries.len() >= self.capacity || self.bytes + bytes > self.max_bytes) {
            if let Some(old) = self.entries.pop_front() {
                self.bytes -= old.bytes;
                self.dropped += 1;
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += bytes;
        self.entries.push_back(Stored { seq, at, terminal, invoice, merchant, record, bytes });
        if self.latest.receiver_count() > 0 {
            self.latest.send_replace(seq);
        }
        seq
    }

    /// Entries matching the filter, oldest first.
    pub fn query(&self, filter: &Filter) -> Vec<Entry> {
        let start = filter.after.map_or(0, |after| self.entries.partition_point(|e| e.seq <= after));
        let matches = |tag: &Option<Arc<str>>, wanted: &Option<String>| {
            wanted.as_deref().is_none_or(|w| tag.as_deref() == Some(w))
        };
        self.entries
            .range(start..)
            .filter(|e| matches(&e.invoice, &filter.invoice))
            .filter(|e| matches(&e.terminal, &filter.terminal))
            .filter(|e| matches(&e.merchant, &filter.merchant))
            .take(filter.limit.unwrap_or(usize::MAX))
            .map(Stored::to_entry)
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

    /// Estimated bytes held (at most `max_bytes`, unless one entry alone is larger).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// `tag` as a shared string, reusing `recent` when it is the same text.
fn share(recent: &mut Option<Arc<str>>, tag: Option<&str>) -> Option<Arc<str>> {
    let tag = tag?;
    match recent {
        Some(shared) if **shared == *tag => Some(shared.clone()),
        _ => {
            let shared: Arc<str> = Arc::from(tag);
            *recent = Some(shared.clone());
            Some(shared)
        }
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
    fn keeps_the_newest_entries_within_the_byte_limit() {
        let entry = ENTRY_OVERHEAD + "test".len() + 100;
        let mut journal = Journal::with_limits(100, 3 * entry);
        for i in 0..5 {
            journal.push(Timestamp(i), Tags::default(), control(&format!("{i:0>100}")));
        }
        let seqs: Vec<u64> = journal.query(&Filter::default()).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![3, 4, 5]);
        assert_eq!((journal.dropped(), journal.bytes()), (2, 3 * entry));
        // An entry larger than the limit on its own is still kept (alone).
        journal.push(Timestamp(6), Tags::default(), control(&"x".repeat(10 * entry)));
        assert_eq!(journal.query(&Filter::default()).iter().map(|e| e.seq).collect::<Vec<_>>(), vec![6]);
    }

    #[test]
    fn entries_get_their_time_and_tags_when_queried() {
        let mut journal = Journal::new(10);
        let tags = Tags { terminal: Some("t1"), invoice: Some("a"), merchant: Some("m1") };
        journal.push(Timestamp(1_000_123), tags, control("1"));
        journal.push(Timestamp(1_000_124), tags, control("2"));
        let entries = journal.query(&Filter::default());
        assert_eq!(entries[0].time, "1970-01-01T00:16:40.123Z");
        assert_eq!(entries[1].terminal.as_deref(), Some("t1"));
        assert_eq!(entries[1].merchant.as_deref(), Some("m1"));
    }

    #[test]
    fn a_late_follower_starts_at_the_latest_sequence_number() {
        let mut journal = Journal::new(10);
        journal.push(Timestamp(1), Tags::default(), control("1"));
        let mut follower = journal.subscribe();
        assert_eq!(*follower.borrow_and_update(), 1);
        journal.push(Timestamp(2), Tags::default(), control("2"));
        assert!(follower.has_changed().unwrap());
        assert_eq!(*follower.borrow(), 2);
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
