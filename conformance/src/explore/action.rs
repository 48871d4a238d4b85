//! The action alphabet of an exploration and its seeded generation.
//!
//! An action is something that happens to the system under test from outside: a
//! customer scans, confirms, enters a wrong PIN, cancels or walks away; the machine
//! vends; several customers scan one machine at once; Glase misbehaves once. Actions
//! name machines by index into the run's fleet and products by index into the
//! machine's list, so a sequence means the same against any fleet and can be shrunk
//! without becoming invalid: an action that no longer applies (a confirmation with no
//! customer at the machine, once the scan was shrunk away) is skipped when executed.
//!
//! Generation follows a coarse picture of each machine (free, a customer confirming,
//! unlocked, abandoned) so that most generated actions apply; what the reseller must
//! do is judged by the model (`model.rs`), not here.

use std::fmt;

use super::fleet::Machine;
use crate::rng::Rng;

/// How much the customer's app offers when scanning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Offer {
    /// The app's default amount (the mock's `ups.default_amount`, 20.00).
    Default,
    /// One cent less than the machine's cheapest product: nothing can be bought.
    BelowCheapest,
}

/// What the customer takes at an unlocked machine.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Choice {
    Nothing,
    /// `(product index, quantity)`; the index wraps around the machine's products.
    Items(Vec<(u8, u8)>),
    /// More than the reservation covers.
    TooMuch,
}

/// Glase misbehaving once (the next matching call), as an operator would see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum GlaseFault {
    /// The next sendInvoice answers resultCode 90 (SYSTEM_ERROR).
    SendInvoiceRefused,
    /// The next notification is never delivered.
    NotificationLost,
    /// The next getPaymentStatus answers HTTP 503.
    StatusUnavailable,
    /// The next commitReservation is answered 200 ms late.
    SlowCommit,
}

impl GlaseFault {
    const ALL: [Self; 4] =
        [Self::SendInvoiceRefused, Self::NotificationLost, Self::StatusUnavailable, Self::SlowCommit];
}

/// One thing that happens. Machines are indices into the run's fleet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Action {
    /// A new customer scans the machine's QR code.
    Scan { machine: usize, offer: Offer },
    /// Several new customers scan the machine at the same moment.
    ScanTogether { machine: usize, customers: u8 },
    /// The customer at the machine confirms the reservation with the right PIN.
    Confirm { machine: usize },
    /// The customer at the machine enters a wrong PIN.
    WrongPin { machine: usize },
    /// The customer at the machine cancels in the app.
    Cancel { machine: usize },
    /// The customer at the machine closes the app / leaves without choosing.
    WalkAway { machine: usize },
    /// Products are chosen at the machine (the machine driver's vend).
    Vend { machine: usize, choice: Choice },
    /// Glase misbehaves once.
    Fault(GlaseFault),
}

impl Action {
    /// The machine the action happens at, if any.
    pub fn machine(&self) -> Option<usize> {
        match self {
            Self::Scan { machine, .. }
            | Self::ScanTogether { machine, .. }
            | Self::Confirm { machine }
            | Self::WrongPin { machine }
            | Self::Cancel { machine }
            | Self::WalkAway { machine }
            | Self::Vend { machine, .. } => Some(*machine),
            Self::Fault(_) => None,
        }
    }

    /// Simpler variants of the action, simplest first, for shrinking: one customer
    /// instead of several, one product instead of several, one of it instead of more.
    pub fn simpler(&self) -> Vec<Self> {
        match self {
            Self::ScanTogether { machine, customers } => {
                let mut variants = vec![Self::Scan { machine: *machine, offer: Offer::Default }];
                if *customers > 2 {
                    variants.push(Self::ScanTogether { machine: *machine, customers: 2 });
                }
                variants
            }
            Self::Vend { machine, choice: Choice::Items(items) } => {
                let mut variants = Vec::new();
                if let Some((product, quantity)) = items.first() {
                    if items.len() > 1 || *quantity > 1 {
                        variants.push(Self::Vend { machine: *machine, choice: Choice::Items(vec![(*product, 1)]) });
                    }
                    if items.len() > 1 && *quantity > 1 {
                        variants
                            .push(Self::Vend { machine: *machine, choice: Choice::Items(vec![(*product, *quantity)]) });
                    }
                }
                variants
            }
            _ => Vec::new(),
        }
    }

    /// The action for people, with the fleet's machine and product names.
    pub fn describe(&self, fleet: &[Machine]) -> String {
        Described { action: self, fleet }.to_string()
    }
}

struct Described<'a> {
    action: &'a Action,
    fleet: &'a [Machine],
}

impl Described<'_> {
    fn machine(&self, index: usize) -> String {
        self.fleet.get(index).map_or_else(|| format!("machine #{}", index + 1), |m| m.token.clone())
    }

    fn product(&self, machine: usize, index: u8) -> String {
        self.fleet
            .get(machine)
            .and_then(|m| m.product(index))
            .map_or_else(|| format!("product #{}", index + 1), |p| p.sku.clone())
    }
}

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.action {
            Action::Scan { machine, offer: Offer::Default } => {
                write!(f, "a new customer scans {}", self.machine(*machine))
            }
            Action::Scan { machine, offer: Offer::BelowCheapest } => {
                write!(f, "a new customer scans {} offering less than its cheapest product", self.machine(*machine))
            }
            Action::ScanTogether { machine, customers } => {
                write!(f, "{customers} new customers scan {} at the same moment", self.machine(*machine))
            }
            Action::Confirm { machine } => {
                write!(f, "the customer at {} confirms with the right PIN", self.machine(*machine))
            }
            Action::WrongPin { machine } => write!(f, "the customer at {} enters a wrong PIN", self.machine(*machine)),
            Action::Cancel { machine } => write!(f, "the customer at {} cancels in the app", self.machine(*machine)),
            Action::WalkAway { machine } => {
                write!(f, "the customer at {} walks away without choosing anything", self.machine(*machine))
            }
            Action::Vend { machine, choice: Choice::Nothing } => {
                write!(f, "{}: the customer takes nothing", self.machine(*machine))
            }
            Action::Vend { machine, choice: Choice::TooMuch } => {
                write!(f, "{}: the customer chooses more than the reservation covers", self.machine(*machine))
            }
            Action::Vend { machine, choice: Choice::Items(items) } => {
                let items: Vec<String> =
                    items.iter().map(|(p, q)| format!("{q} × {}", self.product(*machine, *p))).collect();
                write!(f, "{}: the customer takes {}", self.machine(*machine), items.join(", "))
            }
            Action::Fault(GlaseFault::SendInvoiceRefused) => {
                write!(f, "Glase: the next sendInvoice is refused (resultCode 90)")
            }
            Action::Fault(GlaseFault::NotificationLost) => write!(f, "Glase: the next notification is lost"),
            Action::Fault(GlaseFault::StatusUnavailable) => {
                write!(f, "Glase: the next getPaymentStatus answers HTTP 503")
            }
            Action::Fault(GlaseFault::SlowCommit) => write!(f, "Glase: the next commitReservation answers 200 ms late"),
        }
    }
}

/// The generator's picture of a machine, assuming a correct reseller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Free,
    Confirming,
    Unlocked,
    /// The customer walked away: executing the next action here waits for the release.
    Abandoned,
}

/// The kinds of machine action, in the order of the weight tables.
const KINDS: usize = 10;

/// How likely each kind is in a phase: scan, scan below cheapest, concurrent scans,
/// confirm, wrong PIN, cancel, walk away, vend items, vend nothing, vend too much.
fn weights(phase: Phase) -> [u32; KINDS] {
    match phase {
        Phase::Free | Phase::Abandoned => [10, 1, 4, 0, 0, 0, 0, 1, 0, 0],
        Phase::Confirming => [1, 0, 1, 10, 2, 3, 1, 1, 0, 0],
        Phase::Unlocked => [1, 0, 1, 0, 0, 0, 1, 8, 2, 1],
    }
}

/// One in this many actions is a Glase fault.
const FAULT_ODDS: usize = 10;

/// The sequence of run `seed`: between 1 and `max_length` actions on `machines` machines.
/// The same arguments always give the same sequence.
pub(crate) fn generate(seed: u64, max_length: usize, machines: usize) -> Vec<Action> {
    let mut rng = Rng::new(seed);
    let machines = machines.max(1);
    let length = rng.between(1, max_length.max(1));
    let mut phases = vec![Phase::Free; machines];
    let mut refusals_pending = 0_usize;
    let mut actions = Vec::with_capacity(length);
    for _ in 0..length {
        if rng.below(FAULT_ODDS) == 0 {
            let fault = GlaseFault::ALL[rng.below(GlaseFault::ALL.len())];
            refusals_pending += usize::from(fault == GlaseFault::SendInvoiceRefused);
            actions.push(Action::Fault(fault));
            continue;
        }
        // Abandoned machines are picked less often: acting there waits for the release.
        let machine_weights: Vec<u32> = phases.iter().map(|p| if *p == Phase::Abandoned { 1 } else { 4 }).collect();
        let machine = rng.weighted(&machine_weights).unwrap_or(0);
        let phase = phases[machine];
        let kind = rng.weighted(&weights(phase)).unwrap_or(0);
        let action = match kind {
            0 => Action::Scan { machine, offer: Offer::Default },
            1 => Action::Scan { machine, offer: Offer::BelowCheapest },
            2 => Action::ScanTogether { machine, customers: u8::try_from(rng.between(2, 3)).unwrap_or(2) },
            3 => Action::Confirm { machine },
            4 => Action::WrongPin { machine },
            5 => Action::Cancel { machine },
            6 => Action::WalkAway { machine },
            7 => {
                let lines = rng.between(1, 2);
                let items = (0..lines)
                    .map(|_| {
                        let product = u8::try_from(rng.below(8)).unwrap_or(0);
                        let quantity = u8::try_from(rng.between(1, 3)).unwrap_or(1);
                        (product, quantity)
                    })
                    .collect();
                Action::Vend { machine, choice: Choice::Items(items) }
            }
            8 => Action::Vend { machine, choice: Choice::Nothing },
            _ => Action::Vend { machine, choice: Choice::TooMuch },
        };
        phases[machine] = next_phase(phase, &action, &mut refusals_pending);
        actions.push(action);
    }
    actions
}

/// What a correct reseller's machine does next (the generator's guess).
fn next_phase(phase: Phase, action: &Action, refusals_pending: &mut usize) -> Phase {
    let phase = if phase == Phase::Abandoned { Phase::Free } else { phase };
    match (phase, action) {
        (Phase::Free, Action::Scan { offer: Offer::Default, .. } | Action::ScanTogether { .. }) => {
            if *refusals_pending > 0 {
                *refusals_pending -= 1;
                Phase::Free
            } else {
                Phase::Confirming
            }
        }
        (Phase::Confirming, Action::Confirm { .. }) => Phase::Unlocked,
        (Phase::Confirming, Action::Cancel { .. }) => Phase::Free,
        (Phase::Confirming | Phase::Unlocked, Action::WalkAway { .. }) => Phase::Abandoned,
        (Phase::Unlocked, Action::Vend { choice: Choice::Items(_) | Choice::Nothing, .. }) => Phase::Free,
        (phase, _) => phase,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        for seed in 0..200 {
            assert_eq!(generate(seed, 12, 2), generate(seed, 12, 2), "seed {seed}");
        }
        let differ = (0..50).filter(|seed| generate(*seed, 12, 2) != generate(seed + 1000, 12, 2)).count();
        assert!(differ > 40, "different seeds mostly give different sequences ({differ} of 50)");
    }

    #[test]
    fn sequences_respect_length_and_machine_count() {
        for seed in 0..300 {
            let actions = generate(seed, 7, 3);
            assert!((1..=7).contains(&actions.len()), "{actions:?}");
            assert!(actions.iter().filter_map(Action::machine).all(|m| m < 3), "{actions:?}");
        }
        assert!(generate(9, 0, 0).len() == 1, "degenerate arguments still give one action");
    }

    #[test]
    fn generation_covers_the_whole_alphabet() {
        let all: Vec<Action> = (0..400).flat_map(|seed| generate(seed, 12, 2)).collect();
        let has = |f: &dyn Fn(&Action) -> bool| all.iter().any(f);
        assert!(has(&|a| matches!(a, Action::Scan { offer: Offer::Default, .. })));
        assert!(has(&|a| matches!(a, Action::Scan { offer: Offer::BelowCheapest, .. })));
        assert!(has(&|a| matches!(a, Action::ScanTogether { .. })));
        assert!(has(&|a| matches!(a, Action::Confirm { .. })));
        assert!(has(&|a| matches!(a, Action::WrongPin { .. })));
        assert!(has(&|a| matches!(a, Action::Cancel { .. })));
        assert!(has(&|a| matches!(a, Action::WalkAway { .. })));
        assert!(has(&|a| matches!(a, Action::Vend { choice: Choice::Items(_), .. })));
        assert!(has(&|a| matches!(a, Action::Vend { choice: Choice::Nothing, .. })));
        assert!(has(&|a| matches!(a, Action::Vend { choice: Choice::TooMuch, .. })));
        for fault in GlaseFault::ALL {
            assert!(all.contains(&Action::Fault(fault)), "{fault:?}");
        }
    }

    #[test]
    fn most_confirmations_follow_a_scan_of_their_machine() {
        // The generator's picture keeps sequences meaningful: a confirmation is only
        // generated for a machine whose last scan may have started a purchase.
        for seed in 0..200 {
            let actions = generate(seed, 12, 2);
            for (i, action) in actions.iter().enumerate() {
                if let Action::Confirm { machine } = action {
                    let scanned = actions[..i].iter().any(|a| {
                        matches!(a, Action::Scan { machine: m, .. } | Action::ScanTogether { machine: m, .. } if m == machine)
                    });
                    assert!(scanned, "seed {seed}: {actions:?}");
                }
            }
        }
    }

    #[test]
    fn simpler_variants_have_fewer_customers_and_products() {
        let race = Action::ScanTogether { machine: 1, customers: 3 };
        let scan = Action::Scan { machine: 1, offer: Offer::Default };
        assert_eq!(race.simpler(), vec![scan.clone(), Action::ScanTogether { machine: 1, customers: 2 }]);
        let vend = Action::Vend { machine: 0, choice: Choice::Items(vec![(2, 3), (1, 1)]) };
        assert_eq!(
            vend.simpler(),
            vec![
                Action::Vend { machine: 0, choice: Choice::Items(vec![(2, 1)]) },
                Action::Vend { machine: 0, choice: Choice::Items(vec![(2, 3)]) },
            ]
        );
        assert!(scan.simpler().is_empty() && Action::Confirm { machine: 0 }.simpler().is_empty());
    }

    #[test]
    fn actions_read_as_sentences_with_the_fleet_names() {
        let fleet = vec![Machine::new("machine-1", &[("cola", "2.50"), ("water", "1.20")])];
        let vend = Action::Vend { machine: 0, choice: Choice::Items(vec![(0, 2), (3, 1)]) };
        assert_eq!(vend.describe(&fleet), "machine-1: the customer takes 2 × cola, 1 × water");
        assert_eq!(
            Action::Confirm { machine: 1 }.describe(&fleet),
            "the customer at machine #2 confirms with the right PIN"
        );
    }
}
