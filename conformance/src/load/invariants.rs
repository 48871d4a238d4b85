//! The invariants checked over a whole load run, after the drain period. Pure: given
//! the folded journal, the mock's final invoice states, what the machine driver said
//! at every vend, which invoices the reseller handed to customers, and the machines'
//! states at the end.
//!
//! | id | what must hold |
//! | --- | --- |
//! | `NO-DOUBLE-VEND` | a purchase (and an invoice) is dispensed at most once, only when Glase has exactly that payment, and no invoice is paid twice |
//! | `NO-CHARGE-WITHOUT-DISPENSE` | every payment of a machine purchase is covered by what the machine driver reported dispensed for it: nothing charged for a vend the machine never learned was paid (with `NO-DOUBLE-VEND`, the payment equals what was dispensed) |
//! | `COMMIT-WITHIN-RESERVATION` | no commitReservation asks for more than was reserved, and no reservation is charged more |
//! | `RESERVATION-ENDS` | every invoice that was RESERVED ends PAID (committed) or CANCELED |
//! | `INVOICE-ENDS` | every invoice issued during the run is final (PAID, CANCELED or FAILED), except one still ISSUED whose reference the reseller never handed out (see below) |
//! | `JOURNAL-COMPLETE` | every journal entry was read: no gap in `seq`, the last one read is the journal's last |
//! | `MACHINE-RELEASED` | no machine is left reserved, unlocked or vending |
//!
//! `INVOICE-ENDS` says exactly what a reseller can guarantee. An invoice Glase created
//! while the reseller died during sendInvoice, or lost its answer, has a reference the
//! reseller never learned; Glase looks invoices up only by reference, so nobody can
//! cancel it. Nobody can pay it either, as long as its reference never reached a
//! customer: no scan was answered with it (the app would show it) and no shop checkout
//! (the QR code). Such an invoice may stay ISSUED; any other must end. A machine
//! purchase is an invoice a scan was answered with, or any reservation invoice; "what
//! the machine driver reported dispensed" is every `paid` vend answer, including one
//! the machine learned by asking again with its vend id after losing the first answer.

use std::collections::{HashMap, HashSet};

use glase_protocol::InvoiceStatus;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ledger::Ledger;

/// The driver answered `paid`: the machine dispensed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vend {
    pub machine: String,
    pub purchase: String,
    pub invoice: Option<String>,
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
}

/// An invoice as the mock has it at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalInvoice {
    pub status: InvoiceStatus,
    /// The payment's amount, if one was made.
    pub paid: Option<Decimal>,
}

/// The mock's journal counters at the end: (kept, dropped, last seq).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JournalStats {
    pub kept: usize,
    pub dropped: u64,
    pub last_seq: u64,
}

/// Everything the checks look at.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    pub ledger: &'a Ledger,
    pub journal: JournalStats,
    /// Every invoice the run's terminal issued, by reference.
    pub invoices: &'a HashMap<String, FinalInvoice>,
    pub vends: &'a [Vend],
    /// (token, driver state) of every machine used.
    pub machines: &'a [(String, String)],
    /// Invoices a scan (the UPS's createPurchase) was answered with.
    pub machine_invoices: &'a HashSet<String>,
    /// Invoices a shop checkout was answered with.
    pub shop_invoices: &'a HashSet<String>,
}

/// One broken invariant: how often, and the first few cases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub invariant: &'static str,
    pub count: u64,
    pub examples: Vec<String>,
}

/// The invariant ids, in report order.
pub const INVARIANTS: [&str; 7] = [
    "NO-DOUBLE-VEND",
    "NO-CHARGE-WITHOUT-DISPENSE",
    "COMMIT-WITHIN-RESERVATION",
    "RESERVATION-ENDS",
    "INVOICE-ENDS",
    "JOURNAL-COMPLETE",
    "MACHINE-RELEASED",
];

const EXAMPLES: usize = 5;

#[derive(Debug, Default)]
struct Found(Vec<Violation>);

impl Found {
    fn add(&mut self, invariant: &'static str, example: impl FnOnce() -> String) {
        let position = match self.0.iter().position(|v| v.invariant == invariant) {
            Some(position) => position,
            None => {
                self.0.push(Violation { invariant, count: 0, examples: Vec::new() });
                self.0.len() - 1
            }
        };
        let violation = &mut self.0[position];
        violation.count += 1;
        if violation.examples.len() < EXAMPLES {
            violation.examples.push(example());
        }
    }
}

/// Checks every invariant; empty when all hold.
pub fn check(observed: &Observed<'_>) -> Vec<Violation> {
    let mut found = Found::default();
    vends(observed, &mut found);
    charges(observed, &mut found);
    commits(observed, &mut found);
    endings(observed, &mut found);
    journal(observed, &mut found);
    for (token, state) in observed.machines {
        if !matches!(state.as_str(), "idle" | "out-of-service") {
            found.add("MACHINE-RELEASED", || format!("machine {token} is left {state}"));
        }
    }
    let mut violations = found.0;
    violations.sort_by_key(|v| INVARIANTS.iter().position(|id| *id == v.invariant));
    violations
}

fn vends(observed: &Observed<'_>, found: &mut Found) {
    let mut by_purchase: HashMap<&str, u32> = HashMap::new();
    let mut by_invoice: HashMap<&str, u32> = HashMap::new();
    for vend in observed.vends {
        let seen = by_purchase.entry(vend.purchase.as_str()).or_default();
        *seen += 1;
        if *seen == 2 {
            found.add("NO-DOUBLE-VEND", || format!("purchase {} dispensed twice at {}", vend.purchase, vend.machine));
        }
        let Some(invoice) = vend.invoice.as_deref() else {
            found.add("NO-DOUBLE-VEND", || format!("purchase {} dispensed without an invoice", vend.purchase));
            continue;
        };
        let seen = by_invoice.entry(invoice).or_default();
        *seen += 1;
        if *seen == 2 {
            found.add("NO-DOUBLE-VEND", || format!("invoice {invoice} dispensed twice (purchase {})", vend.purchase));
        }
        match observed.invoices.get(invoice) {
            Some(FinalInvoice { status: InvoiceStatus::Paid, paid: Some(amount) }) if *amount == vend.total => {}
            other => found.add("NO-DOUBLE-VEND", || {
                let glase = other.map_or("unknown to Glase".to_owned(), |f| {
                    format!("{} with payment {}", f.status, f.paid.map_or("none".to_owned(), |p| p.to_string()))
                });
                format!("invoice {invoice} dispensed for {} but Glase has it {glase}", vend.total)
            }),
        }
    }
    for (invoice, facts) in &observed.ledger.invoices {
        if facts.payments.len() > 1 {
            found.add("NO-DOUBLE-VEND", || format!("invoice {invoice} paid {} times", facts.payments.len()));
        }
    }
}

fn charges(observed: &Observed<'_>, found: &mut Found) {
    let mut dispensed: HashMap<&str, Decimal> = HashMap::new();
    for vend in observed.vends {
        if let Some(invoice) = vend.invoice.as_deref() {
            *dispensed.entry(invoice).or_default() += vend.total;
        }
    }
    let mut references: Vec<&String> = observed.ledger.invoices.keys().collect();
    references.sort();
    for reference in references {
        let facts = &observed.ledger.invoices[reference];
        let at_machine = facts.reservation || observed.machine_invoices.contains(reference);
        // A payment that did not stay (reversed by Glase) charged nobody.
        let status = observed.invoices.get(reference).map(|f| f.status).or(facts.status);
        if !at_machine || facts.payments.is_empty() || status != Some(InvoiceStatus::Paid) {
            continue;
        }
        let charged: Decimal = facts.payments.iter().sum();
        // Dispensing more than was charged is NO-DOUBLE-VEND's to report; the two
        // together make the payment equal to what was dispensed.
        match dispensed.get(reference.as_str()) {
            Some(given) if *given >= charged => {}
            Some(given) => found.add("NO-CHARGE-WITHOUT-DISPENSE", || {
                format!("invoice {reference}: {charged} charged, {given} dispensed")
            }),
            None => found.add("NO-CHARGE-WITHOUT-DISPENSE", || {
                format!("invoice {reference}: {charged} charged, nothing dispensed")
            }),
        }
    }
}

fn commits(observed: &Observed<'_>, found: &mut Found) {
    for (invoice, facts) in &observed.ledger.invoices {
        for asked in &facts.commits {
            let asked = asked.or(facts.amount);
            match (facts.reserved, asked) {
                (Some(reserved), Some(asked)) if asked > reserved => found.add("COMMIT-WITHIN-RESERVATION", || {
                    format!("invoice {invoice}: commitReservation for {asked} with {reserved} reserved")
                }),
                (None, _) => found.add("COMMIT-WITHIN-RESERVATION", || {
                    format!("invoice {invoice}: commitReservation on an invoice that was never reserved")
                }),
                _ => {}
            }
        }
        if let Some(reserved) = facts.reserved
            && let Some(paid) = facts.payments.iter().find(|p| **p > reserved)
        {
            found.add("COMMIT-WITHIN-RESERVATION", || {
                format!("invoice {invoice}: {paid} charged with {reserved} reserved")
            });
        }
    }
}

fn endings(observed: &Observed<'_>, found: &mut Found) {
    let mut references: Vec<&String> = observed.invoices.keys().collect();
    references.sort();
    for reference in references {
        let status = observed.invoices[reference].status;
        let reserved = observed.ledger.invoices.get(reference).is_some_and(|f| f.reserved.is_some());
        if reserved && !matches!(status, InvoiceStatus::Paid | InvoiceStatus::Canceled) {
            found.add("RESERVATION-ENDS", || format!("invoice {reference} was reserved and is left {status}"));
        }
        if matches!(status, InvoiceStatus::Paid | InvoiceStatus::Canceled | InvoiceStatus::Failed) {
            continue;
        }
        let handed_out = observed.machine_invoices.contains(reference.as_str())
            || observed.shop_invoices.contains(reference.as_str());
        // The documented exception: a reference the reseller may never have learned,
        // which no customer can have opened.
        if status == InvoiceStatus::Issued && !handed_out {
            continue;
        }
        found.add("INVOICE-ENDS", || format!("invoice {reference} is left {status}"));
    }
}

fn journal(observed: &Observed<'_>, found: &mut Found) {
    let ledger = observed.ledger;
    for gap in &ledger.gaps {
        found.add("JOURNAL-COMPLETE", || {
            format!(
                "entries {}..{} were never read (dropped before the follower got to them)",
                gap.expected,
                gap.got - 1
            )
        });
    }
    let stats = observed.journal;
    if ledger.last_seq != stats.last_seq {
        found.add("JOURNAL-COMPLETE", || {
            format!("the journal's last entry is {} but the follower read up to {}", stats.last_seq, ledger.last_seq)
        });
    }
    if stats.kept as u64 + stats.dropped != stats.last_seq {
        found.add("JOURNAL-COMPLETE", || {
            format!("{} kept + {} dropped != {} numbered", stats.kept, stats.dropped, stats.last_seq)
        });
    }
    if ledger.undecodable_commits > 0 {
        found.add("JOURNAL-COMPLETE", || {
            format!("{} commitReservation bodies could not be read", ledger.undecodable_commits)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::ledger::tests::{commit, event, issued, journal as entries, paid, to};
    use InvoiceStatus::*;
    use mock_glase::machine::Event;

    struct World {
        ledger: Ledger,
        invoices: HashMap<String, FinalInvoice>,
        vends: Vec<Vend>,
        machines: Vec<(String, String)>,
        stats: JournalStats,
        machine_invoices: HashSet<String>,
        shop_invoices: HashSet<String>,
    }

    /// One clean purchase: A reserved 20.00, 6.20 committed and dispensed once.
    fn clean() -> World {
        let records = vec![
            issued("A", 2000),
            to("A", Issued, Reserved),
            commit("A", 620),
            paid("A", 620),
            to("A", Reserved, Paid),
            issued("B", 2000),
            to("B", Issued, Canceled),
        ];
        let mut ledger = Ledger::default();
        for entry in entries(records) {
            ledger.fold(&entry);
        }
        let stats = JournalStats { kept: 7, dropped: 0, last_seq: 7 };
        let invoices = HashMap::from([
            ("A".to_owned(), FinalInvoice { status: Paid, paid: Some(Decimal::new(620, 2)) }),
            ("B".to_owned(), FinalInvoice { status: Canceled, paid: None }),
        ]);
        let vends = vec![vend("p1", "A", 620)];
        let machines = vec![("machine-1".to_owned(), "idle".to_owned())];
        let machine_invoices = HashSet::from(["A".to_owned(), "B".to_owned()]);
        World { ledger, invoices, vends, machines, stats, machine_invoices, shop_invoices: HashSet::new() }
    }

    fn vend(purchase: &str, invoice: &str, cents: i64) -> Vend {
        Vend {
            machine: "machine-1".to_owned(),
            purchase: purchase.to_owned(),
            invoice: Some(invoice.to_owned()),
            total: Decimal::new(cents, 2),
        }
    }

    fn violations(world: &World) -> Vec<Violation> {
        check(&Observed {
            ledger: &world.ledger,
            journal: world.stats,
            invoices: &world.invoices,
            vends: &world.vends,
            machines: &world.machines,
            machine_invoices: &world.machine_invoices,
            shop_invoices: &world.shop_invoices,
        })
    }

    fn ids(world: &World) -> Vec<&'static str> {
        violations(world).iter().map(|v| v.invariant).collect()
    }

    #[test]
    fn a_clean_run_has_no_violation() {
        assert_eq!(violations(&clean()), vec![]);
    }

    #[test]
    fn a_double_vend_is_detected() {
        let mut world = clean();
        world.vends.push(vend("p1", "A", 620));
        let found = violations(&world);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].invariant, found[0].count), ("NO-DOUBLE-VEND", 2), "{found:?}");
        assert!(found[0].examples[0].contains("dispensed twice"));
    }

    #[test]
    fn a_vend_without_the_payment_is_detected() {
        let mut world = clean();
        world.vends[0].total = Decimal::new(700, 2);
        assert_eq!(ids(&world), ["NO-DOUBLE-VEND"]);
        world.vends[0].total = Decimal::new(500, 2);
        assert_eq!(ids(&world), ["NO-DOUBLE-VEND", "NO-CHARGE-WITHOUT-DISPENSE"], "charged 6.20, dispensed 5.00");
        let mut world = clean();
        world.vends.push(vend("p2", "B", 100));
        assert_eq!(ids(&world), ["NO-DOUBLE-VEND"]);
    }

    #[test]
    fn a_charge_without_a_dispense_is_detected() {
        // The vend's answer was lost and the machine never learned it was paid.
        let mut world = clean();
        world.vends.clear();
        let found = violations(&world);
        assert_eq!(found.iter().map(|v| v.invariant).collect::<Vec<_>>(), ["NO-CHARGE-WITHOUT-DISPENSE"]);
        assert_eq!(found[0].examples, ["invoice A: 6.20 charged, nothing dispensed"]);
        // A machine invoice paid at once (not a reservation) is a machine purchase too.
        let mut world = clean();
        let mut ledger = Ledger::default();
        let immediate = event(Event::InvoiceIssued {
            invoice: "C".into(),
            terminal: "demo-terminal".into(),
            amount: Decimal::new(2000, 2),
            currency: "EUR".into(),
            payment_mode: glase_protocol::PaymentMode::ImmediateDebit,
        });
        for entry in entries(vec![immediate, paid("C", 2000), to("C", Issued, Paid)]) {
            ledger.fold(&entry);
        }
        world.ledger = ledger;
        world.stats = JournalStats { kept: 3, dropped: 0, last_seq: 3 };
        world.vends.clear();
        world.invoices =
            HashMap::from([("C".to_owned(), FinalInvoice { status: Paid, paid: Some(Decimal::new(2000, 2)) })]);
        world.machine_invoices = HashSet::from(["C".to_owned()]);
        assert_eq!(ids(&world), ["NO-CHARGE-WITHOUT-DISPENSE"]);
        // …but a shop's payment is nothing a machine dispenses.
        world.machine_invoices.clear();
        world.shop_invoices.insert("C".to_owned());
        assert_eq!(violations(&world), vec![]);
    }

    #[test]
    fn a_commit_above_the_reservation_is_detected() {
        let mut world = clean();
        let mut ledger = Ledger::default();
        for entry in entries(vec![issued("A", 2000), to("A", Issued, Reserved), commit("A", 2100)]) {
            ledger.fold(&entry);
        }
        world.ledger = ledger;
        world.stats = JournalStats { kept: 3, dropped: 0, last_seq: 3 };
        world.vends.clear();
        let found = violations(&world);
        assert_eq!(found.iter().map(|v| v.invariant).collect::<Vec<_>>(), ["COMMIT-WITHIN-RESERVATION"]);
        assert!(found[0].examples[0].contains("21.00 with 20.00 reserved"), "{found:?}");
    }

    #[test]
    fn a_reservation_left_open_is_detected() {
        let mut world = clean();
        world.invoices.insert("A".to_owned(), FinalInvoice { status: Reserved, paid: None });
        world.vends.clear();
        assert_eq!(ids(&world), ["RESERVATION-ENDS", "INVOICE-ENDS"]);
        let mut world = clean();
        world.invoices.insert("C".to_owned(), FinalInvoice { status: Issued, paid: None });
        world.shop_invoices.insert("C".to_owned());
        assert_eq!(ids(&world), ["INVOICE-ENDS"]);
    }

    #[test]
    fn an_invoice_whose_reference_nobody_was_given_may_stay_issued() {
        // sendInvoice's answer never reached the reseller: it could not cancel it, and
        // no customer could open it.
        let mut world = clean();
        world.invoices.insert("C".to_owned(), FinalInvoice { status: Issued, paid: None });
        assert_eq!(violations(&world), vec![]);
        // Handed to a customer at a scan: it must end.
        world.machine_invoices.insert("C".to_owned());
        assert_eq!(ids(&world), ["INVOICE-ENDS"]);
        // Reserved: it must end, handed out or not.
        let mut world = clean();
        world.invoices.insert("A".to_owned(), FinalInvoice { status: Reserved, paid: None });
        world.machine_invoices.clear();
        world.vends.clear();
        assert_eq!(ids(&world), ["RESERVATION-ENDS", "INVOICE-ENDS"]);
    }

    #[test]
    fn lost_journal_entries_are_detected() {
        let mut world = clean();
        world.stats.last_seq = 9;
        world.stats.kept = 9;
        assert_eq!(ids(&world), ["JOURNAL-COMPLETE"]);
        let mut world = clean();
        world.ledger.gaps.push(crate::load::ledger::Gap { expected: 3, got: 5 });
        assert_eq!(ids(&world), ["JOURNAL-COMPLETE"]);
        let mut world = clean();
        world.stats.kept = 5;
        assert_eq!(ids(&world), ["JOURNAL-COMPLETE"]);
    }

    #[test]
    fn a_machine_left_locked_is_detected() {
        let mut world = clean();
        world.machines.push(("machine-2".to_owned(), "unlocked".to_owned()));
        world.machines.push(("machine-3".to_owned(), "out-of-service".to_owned()));
        let found = violations(&world);
        assert_eq!(found.iter().map(|v| v.invariant).collect::<Vec<_>>(), ["MACHINE-RELEASED"]);
        assert_eq!(found[0].examples, ["machine machine-2 is left unlocked"]);
    }
}
