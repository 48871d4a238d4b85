//! The machines and everything the backend remembers, in memory: per machine, whether
//! it is in service, the purchase holding it (if any) and its last vend. One short std
//! mutex per machine, never held across an `.await`: each step reads what it needs,
//! lets go, talks to Glase, and then changes the slot only if the same purchase still
//! holds it (purchase ids are never reused), so a late answer cannot touch the next
//! customer's purchase.
//!
//! Notification URLs carry the machine, the purchase and a 64-bit tag (SipHash with
//! this process's random keys over both): unguessable, checked without any lookup.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use glase_protocol::driver::MachineShows;
use rust_decimal::Decimal;

use crate::catalogue::{self, Catalogue};

/// One vending machine.
#[derive(Debug)]
pub struct Machine {
    pub token: String,
    pub name: String,
    /// Index into [`Fleet::catalogues`].
    pub catalogue: usize,
    slot: Mutex<Slot>,
}

/// What a machine is doing.
#[derive(Debug, Default)]
pub struct Slot {
    pub out_of_service: bool,
    /// The purchase holding the machine; `None`: idle.
    pub hold: Option<Hold>,
    /// The machine's last vend, answered again to a request with its vend id. Only the
    /// last: a machine repeats only the vend it is waiting for.
    pub last_vend: Option<VendRecord>,
}

/// A purchase holding a machine, from the claim in createPurchase to its end.
#[derive(Debug, Clone)]
pub struct Hold {
    pub purchase: u64,
    /// The reservation asked for (the amount offered, in whole cents).
    pub amount: Decimal,
    /// `None` while sendInvoice is in flight.
    pub reference: Option<String>,
    pub phase: Phase,
    /// When the idle timer acts: cancels a purchase still `Reserved` or `Unlocked`,
    /// retries a failed cancel, or resolves a vend in doubt.
    pub deadline: Instant,
    /// The latest invoice version getPaymentStatus returned.
    pub version: i32,
    /// A cancelInvoice (idle timer, empty vend) is under way: no vend, no unlock.
    pub closing: bool,
    /// A notification came while sendInvoice was still in flight: fetch the status
    /// as soon as the reference is known.
    pub notified_early: bool,
}

/// Where a purchase is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the customer (the driver's `reserved`).
    Reserved,
    /// getPaymentStatus said RESERVED: the customer chooses.
    Unlocked,
    /// updateInvoice + commitReservation under way, or their outcome in doubt.
    Vending,
}

/// One vend, kept so that the same request again answers the same outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendRecord {
    pub id: String,
    pub purchase: u64,
    pub reference: String,
    pub rows: Vec<Row>,
    pub total: Decimal,
    pub state: VendState,
    pub ers_reference: Option<String>,
    /// Why it ended as it did (for errors and `GET …/vends/{id}`).
    pub note: Option<String>,
    /// A request is settling or resolving it right now: a repeat must not start another.
    pub settling: bool,
}

/// One priced line of a vend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Index into the machine's catalogue.
    pub product: usize,
    pub quantity: u32,
    pub unit_price: Decimal,
    pub total: Decimal,
}

pub use glase_protocol::driver::VendState;

impl Slot {
    /// The hold of `purchase`, if that purchase still holds the machine.
    pub fn held(&mut self, purchase: u64) -> Option<&mut Hold> {
        self.hold.as_mut().filter(|h| h.purchase == purchase)
    }

    /// Frees the machine if `purchase` still holds it.
    pub fn release(&mut self, purchase: u64) -> bool {
        let held = self.hold.as_ref().is_some_and(|h| h.purchase == purchase);
        if held {
            self.hold = None;
        }
        held
    }

    /// The driver's `state`.
    pub fn state(&self) -> MachineShows {
        match &self.hold {
            None if self.out_of_service => MachineShows::OutOfService,
            None => MachineShows::Idle,
            Some(hold) => match hold.phase {
                Phase::Reserved => MachineShows::Reserved,
                Phase::Unlocked => MachineShows::Unlocked,
                Phase::Vending => MachineShows::Vending,
            },
        }
    }
}

/// Every machine, the catalogues, the purchase counter and the notification key.
#[derive(Debug)]
pub struct Fleet {
    pub machines: Vec<Machine>,
    pub catalogues: Vec<Catalogue>,
    next_purchase: AtomicU64,
    key: RandomState,
}

impl Fleet {
    /// `machine-1` … `machine-{count}`, all idle and in service.
    pub fn new(count: usize) -> Self {
        let catalogues = catalogue::catalogues();
        let machines = (1..=count)
            .map(|number| {
                let (catalogue, name) = catalogue::machine(number, &catalogues);
                Machine { token: format!("machine-{number}"), name, catalogue, slot: Mutex::default() }
            })
            .collect();
        Self { machines, catalogues, next_purchase: AtomicU64::new(0), key: RandomState::new() }
    }

    /// The index of the machine with this token: `machine-N`, N in 1..=count, written
    /// without leading zeros (parsed, not looked up).
    pub fn index(&self, token: &str) -> Option<usize> {
        let digits = token.strip_prefix("machine-")?;
        if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let number: usize = digits.parse().ok()?;
        (1..=self.machines.len()).contains(&number).then(|| number - 1)
    }

    /// The machine's slot, locked. Nothing panics while holding it, so a poisoned lock
    /// still holds a whole slot.
    pub fn lock(&self, index: usize) -> MutexGuard<'_, Slot> {
        self.machines[index].slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn catalogue(&self, index: usize) -> &Catalogue {
        &self.catalogues[self.machines[index].catalogue]
    }

    /// A new purchase id (1, 2, …): unique for the process's life.
    pub fn next_purchase(&self) -> u64 {
        self.next_purchase.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn tag(&self, index: usize, purchase: u64) -> u64 {
        self.key.hash_one((index, purchase))
    }

    /// The notification path of a purchase: `/seqr/notify/{machine}/{purchase}/{tag}`.
    pub fn notify_path(&self, index: usize, purchase: u64) -> String {
        format!("/seqr/notify/{index}/{purchase}/{:016x}", self.tag(index, purchase))
    }

    /// The (machine index, purchase) a notification path names, if its tag is right.
    pub fn check_notify(&self, index: &str, purchase: &str, tag: &str) -> Option<(usize, u64)> {
        let index: usize = index.parse().ok().filter(|i| *i < self.machines.len())?;
        let purchase: u64 = purchase.parse().ok()?;
        let tag = u64::from_str_radix(tag, 16).ok().filter(|_| tag.len() == 16)?;
        (tag == self.tag(index, purchase)).then_some((index, purchase))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_parsed_strictly() {
        let fleet = Fleet::new(12);
        assert_eq!(fleet.index("machine-1"), Some(0));
        assert_eq!(fleet.index("machine-12"), Some(11));
        for bad in ["machine-0", "machine-13", "machine-01", "machine-+1", "machine-", "1", "Machine-1"] {
            assert_eq!(fleet.index(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_notification_path_is_checked_by_its_tag() {
        let fleet = Fleet::new(3);
        let path = fleet.notify_path(2, 41);
        let parts: Vec<&str> = path.trim_start_matches("/seqr/notify/").split('/').collect();
        assert_eq!(fleet.check_notify(parts[0], parts[1], parts[2]), Some((2, 41)));
        assert_eq!(fleet.check_notify(parts[0], "42", parts[2]), None);
        assert_eq!(fleet.check_notify("1", parts[1], parts[2]), None);
        assert_eq!(fleet.check_notify("9", parts[1], parts[2]), None);
        assert_eq!(fleet.check_notify(parts[0], parts[1], "0"), None);
    }
}
