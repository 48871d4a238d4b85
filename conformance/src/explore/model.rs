//! The model: what the reseller must do, as pure decisions over the run's state.
//!
//! The model keeps, per machine, who holds it (a customer confirming, an unlocked
//! machine, a customer who walked away) and per purchase what it must end as (paid for
//! exactly the vended total, or cancelled). For each action it says what a correct
//! reseller answers (`expect_scan`, `expect_vend`, …); the executor observes what the
//! system under test actually did and reports a [`Failure`] of a [`Property`] when the
//! two differ. Time is an argument (`now`), never read here.

use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;

use super::action::{Choice, Offer};
use super::fleet::Machine;

/// Something the reseller must do, checked by the model (the rules of
/// `glase-conformance list` are checked over the journal as well).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Property {
    ScanStartsPurchase,
    DeviceInUse,
    InsufficientFunds,
    InvoicingError,
    OneOfConcurrentScans,
    UnlockAfterConfirm,
    StatusBeforeUnlock,
    NoUnlockWithoutConfirm,
    ReleaseOnCancel,
    IdleRelease,
    NoEarlyRelease,
    VendCommitsTotal,
    VendRefused,
    EmptyVendCancels,
    CommitOnce,
    ReservationEnds,
    MachinesReleased,
}

impl Property {
    pub fn id(self) -> &'static str {
        match self {
            Self::ScanStartsPurchase => "MODEL-SCAN-STARTS-PURCHASE",
            Self::DeviceInUse => "MODEL-DEVICE-IN-USE",
            Self::InsufficientFunds => "MODEL-INSUFFICIENT-FUNDS",
            Self::InvoicingError => "MODEL-INVOICING-ERROR",
            Self::OneOfConcurrentScans => "MODEL-ONE-OF-CONCURRENT-SCANS",
            Self::UnlockAfterConfirm => "MODEL-UNLOCK-AFTER-CONFIRM",
            Self::StatusBeforeUnlock => "MODEL-STATUS-BEFORE-UNLOCK",
            Self::NoUnlockWithoutConfirm => "MODEL-NO-UNLOCK-WITHOUT-CONFIRM",
            Self::ReleaseOnCancel => "MODEL-RELEASE-ON-CANCEL",
            Self::IdleRelease => "MODEL-IDLE-RELEASE",
            Self::NoEarlyRelease => "MODEL-NO-EARLY-RELEASE",
            Self::VendCommitsTotal => "MODEL-VEND-COMMITS-TOTAL",
            Self::VendRefused => "MODEL-VEND-REFUSED",
            Self::EmptyVendCancels => "MODEL-EMPTY-VEND-CANCELS",
            Self::CommitOnce => "MODEL-COMMIT-ONCE",
            Self::ReservationEnds => "MODEL-RESERVATION-ENDS",
            Self::MachinesReleased => "MODEL-MACHINES-RELEASED",
        }
    }

    pub fn summary(self) -> &'static str {
        match self {
            Self::ScanStartsPurchase => {
                "A scan of a free machine starts a purchase: a reservation invoice, the machine reserved."
            }
            Self::DeviceInUse => "A scan of a machine another customer holds is declined with DEVICE_IN_USE.",
            Self::InsufficientFunds => {
                "A scan offering less than the cheapest product is declined with INSUFFICIENT_FUNDS."
            }
            Self::InvoicingError => {
                "A scan whose sendInvoice Glase refuses is declined with INVOICING_ERROR and frees the machine."
            }
            Self::OneOfConcurrentScans => {
                "Of customers scanning a free machine at the same moment, exactly one gets it."
            }
            Self::UnlockAfterConfirm => "A confirmed reservation unlocks the machine within the status deadline.",
            Self::StatusBeforeUnlock => "The machine unlocks only after getPaymentStatus said RESERVED.",
            Self::NoUnlockWithoutConfirm => "A machine whose customer has not confirmed (wrong PIN) stays locked.",
            Self::ReleaseOnCancel => {
                "A reservation the customer cancels ends CANCELED and frees the machine; nothing is vended."
            }
            Self::IdleRelease => {
                "A customer who walks away: the reseller cancels the reservation and frees the machine after its idle timeout."
            }
            Self::NoEarlyRelease => "A reservation in use is not cancelled before the idle timeout.",
            Self::VendCommitsTotal => {
                "A vend within the reservation is committed once, for exactly the vended total, and frees the machine."
            }
            Self::VendRefused => {
                "A vend on a machine that is not unlocked, or above the reservation, is refused (409) and commits nothing."
            }
            Self::EmptyVendCancels => "Taking nothing cancels the reservation and frees the machine.",
            Self::CommitOnce => "Each reservation is committed at most once (no double vend).",
            Self::ReservationEnds => {
                "Every reservation ends committed (PAID) or cancelled (CANCELED), as the customer's actions say."
            }
            Self::MachinesReleased => "Once the sequence quiesces no machine is left locked.",
        }
    }
}

/// What went wrong: a model property or a journal rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Broken {
    Property(Property),
    /// A rule of `crate::rules`, by id, with its summary.
    Rule {
        id: String,
        summary: String,
    },
}

/// A failed run: what was broken, at which action, expected next to actual.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub broken: Broken,
    /// 1-based index of the action being executed; `None` when found after the sequence
    /// (quiescence checks, rules over the journal).
    pub step: Option<usize>,
    pub expected: String,
    pub actual: String,
}

impl Failure {
    pub fn property(property: Property, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self { broken: Broken::Property(property), step: None, expected: expected.into(), actual: actual.into() }
    }

    /// The same failure for shrinking: the same property or rule broken.
    pub fn key(&self) -> &str {
        match &self.broken {
            Broken::Property(p) => p.id(),
            Broken::Rule { id, .. } => id,
        }
    }

    pub fn summary(&self) -> &str {
        match &self.broken {
            Broken::Property(p) => p.summary(),
            Broken::Rule { summary, .. } => summary,
        }
    }
}

/// How a purchase must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Paid(Decimal),
    Canceled,
}

/// A purchase the model knows: a customer holds (or held) a machine with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Purchase {
    pub invoice: String,
    pub msisdn: String,
    /// Set once the machine unlocked (the invoice's reserved amount).
    pub reserved: Option<Decimal>,
    /// When the action that started the purchase began (the scan).
    pub started: Instant,
    /// When the reseller's idle clock last restarted at the latest (the scan, or when
    /// the machine was seen unlocked).
    pub active_since: Instant,
}

/// Who holds a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hold {
    Free,
    /// The customer has the reservation open in the app.
    Confirming(Purchase),
    Unlocked(Purchase),
    /// The customer left; the reseller must release the machine after its idle timeout.
    Abandoned(Purchase),
}

impl Hold {
    pub fn purchase(&self) -> Option<&Purchase> {
        match self {
            Self::Free => None,
            Self::Confirming(p) | Self::Unlocked(p) | Self::Abandoned(p) => Some(p),
        }
    }

    /// The machine state the driver must show.
    pub fn driver_state(&self) -> &'static str {
        match self {
            Self::Free => "idle",
            Self::Confirming(_) => "reserved",
            Self::Unlocked(_) | Self::Abandoned(_) => "unlocked",
        }
    }
}

/// Room for the reseller's own work on top of a deadline (see [`Timing::reaction`]).
const SLACK: Duration = Duration::from_secs(1);

/// The clocks the model judges by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// Glase's (scaled) status deadline: getPaymentStatus must follow a confirmation
    /// within it.
    pub status_deadline: Duration,
    /// The system under test's idle timeout.
    pub idle_timeout: Duration,
}

impl Timing {
    /// How long a confirmation may take to unlock the machine, and a cancellation to
    /// free it: the status deadline and as much again (at least a second) for the
    /// reseller's own work. Generous on purpose: a correct reseller is waited for only
    /// as long as it takes, and a loaded test machine must not look like a bug.
    pub fn reaction(&self) -> Duration {
        self.status_deadline + self.status_deadline.max(SLACK)
    }

    /// By when an idle reservation must have been released: the idle timeout and as
    /// much again (at least [`SLACK`] twice) for the reseller's timer and its cancelInvoice.
    pub fn release_by(&self, purchase: &Purchase) -> Instant {
        purchase.active_since + self.idle_timeout + self.idle_timeout.max(SLACK * 2)
    }

    /// A reservation this old is close to the idle timeout: the executor lets it run out
    /// (the customer walks away) before doing anything else, so that the reseller's idle
    /// timer never fires in the middle of an action and makes its outcome a race.
    pub fn stale(&self, purchase: &Purchase, now: Instant) -> bool {
        now.saturating_duration_since(purchase.active_since) >= self.idle_timeout / 2
    }

    /// Whether the reseller may already have released the purchase by its idle timer:
    /// measured from the scan, the most generous reading of "idle".
    pub fn may_release(&self, purchase: &Purchase, now: Instant) -> bool {
        now.saturating_duration_since(purchase.started) >= self.idle_timeout
    }
}

/// What a single scan must lead to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScanExpectation {
    Accepted,
    /// Declined with one of these codes (the first is the usual one).
    Declined(Vec<&'static str>, Property),
}

/// What concurrent scans must lead to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RaceExpectation {
    /// How many may be accepted: `min..=max`.
    pub accepted: (usize, usize),
    /// The codes the others may be declined with.
    pub codes: Vec<&'static str>,
}

/// What a vend must lead to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VendExpectation {
    Paid(Decimal),
    Canceled,
    Refused,
}

/// The run's state: each machine's hold, pending Glase faults, every purchase's end.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub fleet: Vec<Machine>,
    pub timing: Timing,
    holds: Vec<Hold>,
    /// sendInvoice refusals armed and not yet used (each fault is one call).
    refusals_pending: usize,
    /// Every accepted purchase's invoice and how it must end (`None`: still open).
    pub ends: Vec<(String, Option<End>)>,
}

impl Model {
    pub fn new(fleet: Vec<Machine>, timing: Timing) -> Self {
        let holds = vec![Hold::Free; fleet.len()];
        Self { fleet, timing, holds, refusals_pending: 0, ends: Vec::new() }
    }

    pub fn hold(&self, machine: usize) -> &Hold {
        self.holds.get(machine).unwrap_or(&Hold::Free)
    }

    pub fn machine(&self, machine: usize) -> Option<&Machine> {
        self.fleet.get(machine)
    }

    /// Machines whose holds are about to run into the idle timeout (see [`Timing::stale`]).
    pub fn stale(&self, now: Instant) -> Vec<usize> {
        (0..self.holds.len())
            .filter(|m| match &self.holds[*m] {
                Hold::Confirming(p) | Hold::Unlocked(p) => self.timing.stale(p, now),
                _ => false,
            })
            .collect()
    }

    pub fn arm_refusal(&mut self) {
        self.refusals_pending += 1;
    }

    /// Concurrent scans used up `count` armed refusals (one per INVOICING_ERROR seen).
    pub fn refusals_used(&mut self, count: usize) {
        self.refusals_pending = self.refusals_pending.saturating_sub(count);
    }

    /// The expected answer to one customer scanning `machine` with `offer`. Uses up an
    /// armed sendInvoice refusal when the reseller would call sendInvoice.
    pub fn expect_scan(&mut self, machine: usize, offer: Offer) -> ScanExpectation {
        let held = !matches!(self.hold(machine), Hold::Free);
        match (held, offer) {
            // Which check comes first is the reseller's choice.
            (true, Offer::BelowCheapest) => {
                ScanExpectation::Declined(vec!["DEVICE_IN_USE", "INSUFFICIENT_FUNDS"], Property::DeviceInUse)
            }
            (true, Offer::Default) => ScanExpectation::Declined(vec!["DEVICE_IN_USE"], Property::DeviceInUse),
            (false, Offer::BelowCheapest) => {
                ScanExpectation::Declined(vec!["INSUFFICIENT_FUNDS"], Property::InsufficientFunds)
            }
            (false, Offer::Default) if self.refusals_pending > 0 => {
                self.refusals_pending -= 1;
                ScanExpectation::Declined(vec!["INVOICING_ERROR"], Property::InvoicingError)
            }
            (false, Offer::Default) => ScanExpectation::Accepted,
        }
    }

    /// The expected answers to `customers` scanning `machine` at once. Armed refusals
    /// are used by the executor as observed ([`Model::refusals_used`]).
    pub fn expect_race(&self, machine: usize, customers: usize) -> RaceExpectation {
        if !matches!(self.hold(machine), Hold::Free) {
            return RaceExpectation { accepted: (0, 0), codes: vec!["DEVICE_IN_USE"] };
        }
        if self.refusals_pending > 0 {
            // The refused sendInvoice may be anyone's; a later scan may then win.
            return RaceExpectation {
                accepted: (0, 1.min(customers)),
                codes: vec!["DEVICE_IN_USE", "INVOICING_ERROR"],
            };
        }
        RaceExpectation { accepted: (1.min(customers), 1.min(customers)), codes: vec!["DEVICE_IN_USE"] }
    }

    /// The products chosen (sku, quantity) and their total, for `choice` at `machine`
    /// given what is reserved there (`None`: not unlocked; a nominal 20.00 is assumed).
    pub fn selection(
        &self,
        machine: usize,
        choice: &Choice,
        reserved: Option<Decimal>,
    ) -> (Vec<(String, u32)>, Decimal) {
        let Some(m) = self.machine(machine) else { return (Vec::new(), Decimal::ZERO) };
        let mut lines: Vec<(String, u32, Decimal)> = Vec::new();
        match choice {
            Choice::Nothing => {}
            Choice::Items(items) => {
                for (index, quantity) in items {
                    if let Some(p) = m.product(*index) {
                        match lines.iter_mut().find(|(sku, _, _)| *sku == p.sku) {
                            Some(line) => line.1 += u32::from(*quantity),
                            None => lines.push((p.sku.clone(), u32::from(*quantity), p.price)),
                        }
                    }
                }
            }
            Choice::TooMuch => {
                if let Some(p) = m.dearest().filter(|p| p.price > Decimal::ZERO) {
                    let budget = reserved.unwrap_or(Decimal::new(2000, 2));
                    let count = (budget / p.price).floor() + Decimal::ONE;
                    let quantity = count.to_u32().unwrap_or(1);
                    lines.push((p.sku.clone(), quantity.clamp(1, 100), p.price));
                }
            }
        }
        let total = lines.iter().map(|(_, q, price)| Decimal::from(*q) * price).sum();
        (lines.into_iter().map(|(sku, q, _)| (sku, q)).collect(), total)
    }

    /// What the vend of a selection worth `total` must lead to at `machine`.
    pub fn expect_vend(&self, machine: usize, total: Decimal) -> VendExpectation {
        match self.hold(machine) {
            Hold::Unlocked(_) if total.is_zero() => VendExpectation::Canceled,
            Hold::Unlocked(p) if p.reserved.is_none_or(|r| total <= r) => VendExpectation::Paid(total),
            _ => VendExpectation::Refused,
        }
    }

    // ---- transitions, after the executor has seen them happen ----

    pub fn start(&mut self, machine: usize, purchase: Purchase) {
        self.ends.push((purchase.invoice.clone(), None));
        if let Some(hold) = self.holds.get_mut(machine) {
            *hold = Hold::Confirming(purchase);
        }
    }

    pub fn unlock(&mut self, machine: usize, reserved: Option<Decimal>, since: Instant) {
        if let Some(hold) = self.holds.get_mut(machine)
            && let Hold::Confirming(p) = hold
        {
            let mut p = p.clone();
            p.reserved = reserved;
            p.active_since = since;
            *hold = Hold::Unlocked(p);
        }
    }

    pub fn abandon(&mut self, machine: usize) {
        if let Some(hold) = self.holds.get_mut(machine)
            && let Hold::Confirming(p) | Hold::Unlocked(p) = hold
        {
            *hold = Hold::Abandoned(p.clone());
        }
    }

    /// The machine is free again; its purchase must end as `end`.
    pub fn release(&mut self, machine: usize, end: End) {
        let Some(hold) = self.holds.get_mut(machine) else { return };
        if let Some(p) = hold.purchase()
            && let Some(entry) = self.ends.iter_mut().find(|(invoice, _)| *invoice == p.invoice)
        {
            entry.1 = Some(end);
        }
        *hold = Hold::Free;
    }
}

/// A money amount as the driver writes it (`"2.50"`).
pub(crate) fn money(amount: Decimal) -> String {
    format!("{:.2}", amount)
}

/// A duration for people, to the millisecond (`1s 500ms`).
pub(crate) fn human(duration: std::time::Duration) -> String {
    let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    humantime::format_duration(std::time::Duration::from_millis(millis)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        let fleet =
            vec![Machine::new("m1", &[("cola", "2.50"), ("water", "1.20")]), Machine::new("m2", &[("tea", "1.50")])];
        Model::new(fleet, Timing { status_deadline: Duration::from_secs(1), idle_timeout: Duration::from_secs(2) })
    }

    fn purchase(now: Instant) -> Purchase {
        Purchase { invoice: "inv".to_owned(), msisdn: "1".to_owned(), reserved: None, started: now, active_since: now }
    }

    #[test]
    fn a_free_machine_accepts_and_a_held_one_is_in_use() {
        let mut m = model();
        assert_eq!(m.expect_scan(0, Offer::Default), ScanExpectation::Accepted);
        m.start(0, purchase(Instant::now()));
        assert_eq!(
            m.expect_scan(0, Offer::Default),
            ScanExpectation::Declined(vec!["DEVICE_IN_USE"], Property::DeviceInUse)
        );
        assert_eq!(m.expect_scan(1, Offer::Default), ScanExpectation::Accepted, "the other machine is free");
        assert_eq!(m.expect_race(0, 3), RaceExpectation { accepted: (0, 0), codes: vec!["DEVICE_IN_USE"] });
        assert_eq!(m.expect_race(1, 3).accepted, (1, 1));
    }

    #[test]
    fn an_armed_refusal_is_used_by_the_next_scan_that_sends_an_invoice() {
        let mut m = model();
        m.arm_refusal();
        assert!(matches!(
            m.expect_scan(0, Offer::BelowCheapest),
            ScanExpectation::Declined(_, Property::InsufficientFunds)
        ));
        assert!(matches!(m.expect_scan(0, Offer::Default), ScanExpectation::Declined(_, Property::InvoicingError)));
        assert_eq!(m.expect_scan(0, Offer::Default), ScanExpectation::Accepted);
        m.arm_refusal();
        m.arm_refusal();
        assert!(matches!(m.expect_scan(1, Offer::Default), ScanExpectation::Declined(_, Property::InvoicingError)));
        assert_eq!(m.expect_race(1, 2).accepted, (0, 1), "one refusal is still armed");
        m.refusals_used(1);
        assert_eq!(m.expect_race(1, 2).accepted, (1, 1));
    }

    #[test]
    fn vends_are_paid_within_the_reservation_and_refused_otherwise() {
        let mut m = model();
        let now = Instant::now();
        let (items, total) = m.selection(0, &Choice::Items(vec![(0, 2), (2, 1), (1, 1)]), None);
        assert_eq!(items, vec![("cola".to_owned(), 3), ("water".to_owned(), 1)]);
        assert_eq!(total, Decimal::new(870, 2));
        assert_eq!(m.expect_vend(0, total), VendExpectation::Refused, "not unlocked");
        m.start(0, purchase(now));
        m.unlock(0, Some(Decimal::new(2000, 2)), now);
        assert_eq!(m.expect_vend(0, total), VendExpectation::Paid(total));
        assert_eq!(m.expect_vend(0, Decimal::ZERO), VendExpectation::Canceled);
        let (items, too_much) = m.selection(0, &Choice::TooMuch, Some(Decimal::new(2000, 2)));
        assert_eq!(items, vec![("cola".to_owned(), 9)]);
        assert!(too_much > Decimal::new(2000, 2));
        assert_eq!(m.expect_vend(0, too_much), VendExpectation::Refused);
        m.release(0, End::Paid(total));
        assert_eq!(m.ends, vec![("inv".to_owned(), Some(End::Paid(total)))]);
        assert_eq!(m.expect_vend(0, total), VendExpectation::Refused, "no double vend");
    }

    #[test]
    fn holds_go_stale_at_half_the_idle_timeout() {
        let mut m = model();
        let t0 = Instant::now();
        m.start(1, purchase(t0));
        assert!(m.stale(t0 + Duration::from_millis(900)).is_empty());
        assert_eq!(m.stale(t0 + Duration::from_secs(1)), vec![1]);
        m.abandon(1);
        assert!(m.stale(t0 + Duration::from_secs(5)).is_empty(), "abandoned holds are waited for, not stale");
        let p = purchase(t0);
        assert!(!m.timing.may_release(&p, t0 + Duration::from_millis(1999)));
        assert!(m.timing.may_release(&p, t0 + Duration::from_secs(2)));
        assert_eq!(m.timing.release_by(&p), t0 + Duration::from_secs(4));
        assert_eq!(m.timing.reaction(), Duration::from_secs(2));
    }
}
