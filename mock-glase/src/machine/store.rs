//! The invoice table: invoices by reference, kept in numbered slots, and the retention
//! that bounds how many finished ones stay in memory.
//!
//! A slot number is a `u32` handle the deadline queue and the retention queue hold
//! instead of a copy of the reference: no allocation per deadline, and a lookup that
//! does not hash. A slot is reused only after its invoice was evicted, and an invoice
//! is evicted only when it has no deadline armed, so a queued deadline never points at
//! somebody else's live deadline (a stale entry is checked against the record's own
//! deadline and skipped).
//!
//! Retention **[decision]**: with a limit of N, at most N *finished* invoices (PAID,
//! CANCELED, FAILED) are kept; the oldest to finish goes first. An invoice that is not
//! final, or that still waits for its status acknowledgement, is never evicted. An
//! evicted invoice is forgotten: it answers like an unknown one. The limit 0 keeps
//! every invoice.

use std::collections::VecDeque;

use foldhash::HashMap;

use smol_str::SmolStr;

use super::records::InvoiceRecord;

/// An invoice's slot number.
pub(crate) type Slot = u32;

#[derive(Debug, Clone, Default)]
struct Entry {
    /// Boxed: records are 600 bytes, and a vector of them would keep up to half its
    /// capacity unused after growing (and briefly need old and new capacity at once).
    record: Option<Box<InvoiceRecord>>,
    /// Whether the slot is in `finished` (each slot is there at most once, even when a
    /// PAID invoice is later reversed to CANCELED).
    finished: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct InvoiceTable {
    /// Keyed by the record's own reference, shared (see [`SmolStr`]).
    index: HashMap<SmolStr, Slot>,
    entries: Vec<Entry>,
    free: Vec<Slot>,
    /// Slots of final invoices, oldest first.
    finished: VecDeque<Slot>,
    /// Finished invoices kept; 0 keeps all.
    limit: usize,
}

impl InvoiceTable {
    pub(crate) fn with_limit(limit: usize) -> Self {
        Self { limit, ..Self::default() }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    pub(crate) fn slot_of(&self, reference: &str) -> Option<Slot> {
        self.index.get(reference).copied()
    }

    pub(crate) fn get(&self, reference: &str) -> Option<&InvoiceRecord> {
        self.slot_of(reference).and_then(|slot| self.at(slot))
    }

    pub(crate) fn get_mut(&mut self, reference: &str) -> Option<&mut InvoiceRecord> {
        let slot = self.slot_of(reference)?;
        self.at_mut(slot)
    }

    pub(crate) fn contains_key(&self, reference: &str) -> bool {
        self.index.contains_key(reference)
    }

    pub(crate) fn at(&self, slot: Slot) -> Option<&InvoiceRecord> {
        self.entries.get(slot as usize)?.record.as_deref()
    }

    pub(crate) fn at_mut(&mut self, slot: Slot) -> Option<&mut InvoiceRecord> {
        self.entries.get_mut(slot as usize)?.record.as_deref_mut()
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &InvoiceRecord> {
        self.entries.iter().filter_map(|e| e.record.as_deref())
    }

    /// Invoices held, finished or not.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// Adds a new invoice under its (new, unique) reference.
    pub(crate) fn insert(&mut self, record: InvoiceRecord) -> Slot {
        let reference = record.reference.clone();
        let entry = Entry { record: Some(Box::new(record)), finished: false };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.entries[slot as usize] = entry;
                slot
            }
            None => {
                // More than 4 G invoices held at once cannot fit in memory anyway.
                let slot = Slot::try_from(self.entries.len()).unwrap_or(Slot::MAX);
                self.entries.push(entry);
                slot
            }
        };
        self.index.insert(reference, slot);
        slot
    }

    /// Notes that the invoice in `slot` reached a final status.
    pub(crate) fn note_finished(&mut self, slot: Slot) {
        if let Some(entry) = self.entries.get_mut(slot as usize)
            && !entry.finished
        {
            entry.finished = true;
            self.finished.push_back(slot);
        }
    }

    /// Removes and returns one finished invoice beyond the limit, oldest first; `None`
    /// when within the limit or when every candidate still has a deadline armed.
    pub(crate) fn evict_one(&mut self) -> Option<Box<InvoiceRecord>> {
        if self.limit == 0 || self.finished.len() <= self.limit {
            return None;
        }
        // Each candidate is looked at once: one with a deadline armed goes to the back
        // and is reconsidered when a later invoice finishes.
        for _ in 0..self.finished.len() {
            let slot = self.finished.pop_front()?;
            let entry = &mut self.entries[slot as usize];
            let evictable = entry
                .record
                .as_ref()
                .is_some_and(|r| r.is_final() && r.status_deadline.is_none() && r.commit_deadline.is_none());
            if !evictable {
                self.finished.push_back(slot);
                continue;
            }
            entry.finished = false;
            let record = entry.record.take()?;
            self.index.remove(record.reference.as_str());
            self.free.push(slot);
            return Some(record);
        }
        None
    }
}
