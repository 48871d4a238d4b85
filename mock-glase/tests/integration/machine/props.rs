//! Random sequences of merchant calls, customer actions and clock moves over a few
//! invoices, with the machine's invariants checked after every step.

use glase_protocol::{Decimal, InvoiceStatus, PaymentMode, Reply, ResultCode};
use mock_glase::config::demo;
use mock_glase::machine::Machine;
use mock_glase::machine::customer::Confirmation;
use proptest::prelude::*;

use crate::machine::support::*;

const POOR: &str = "46700000099";
const POOR_PIN: &str = "5555";
const REVERSED: &str = "reversed: status not fetched";

#[derive(Debug, Clone)]
enum Op {
    Send {
        mode: PaymentMode,
        cents: i64,
        url: bool,
        commit_timeout: Option<i64>,
    },
    Scan {
        slot: usize,
        poor: bool,
    },
    Confirm {
        slot: usize,
        poor: bool,
        right_pin: bool,
    },
    CustomerCancel {
        slot: usize,
        poor: bool,
    },
    WalkAway {
        slot: usize,
    },
    Update {
        slot: usize,
        cents: i64,
    },
    Commit {
        slot: usize,
        cents: Option<i64>,
    },
    Cancel {
        slot: usize,
    },
    Status {
        slot: usize,
    },
    Refund {
        slot: usize,
        cents: i64,
    },
    /// Refunds exactly what is left of the payment.
    RefundRest {
        slot: usize,
    },
    Advance {
        ms: u64,
    },
}

fn mode() -> impl Strategy<Value = PaymentMode> {
    prop::sample::select(PaymentMode::ALL.to_vec())
}

fn op() -> impl Strategy<Value = Op> {
    let slot = 0..8usize;
    prop_oneof![
        3 => (mode(), 1..=4_000i64, any::<bool>(), prop::option::of(1..=90i64))
            .prop_map(|(mode, cents, url, commit_timeout)| Op::Send { mode, cents, url, commit_timeout }),
        1 => (slot.clone(), prop::bool::weighted(0.3)).prop_map(|(slot, poor)| Op::Scan { slot, poor }),
        4 => (slot.clone(), prop::bool::weighted(0.3), prop::bool::weighted(0.8))
            .prop_map(|(slot, poor, right_pin)| Op::Confirm { slot, poor, right_pin }),
        1 => (slot.clone(), prop::bool::weighted(0.3)).prop_map(|(slot, poor)| Op::CustomerCancel { slot, poor }),
        1 => slot.clone().prop_map(|slot| Op::WalkAway { slot }),
        2 => (slot.clone(), -100..=4_000i64).prop_map(|(slot, cents)| Op::Update { slot, cents }),
        3 => (slot.clone(), prop::option::of(-100..=4_500i64)).prop_map(|(slot, cents)| Op::Commit { slot, cents }),
        1 => slot.clone().prop_map(|slot| Op::Cancel { slot }),
        4 => slot.clone().prop_map(|slot| Op::Status { slot }),
        3 => (slot.clone(), -100..=4_000i64).prop_map(|(slot, cents)| Op::Refund { slot, cents }),
        1 => slot.prop_map(|slot| Op::RefundRest { slot }),
        4 => (0..=30_000u64).prop_map(|ms| Op::Advance { ms }),
    ]
}

/// What the test knows about one invoice, independently of the machine.
#[derive(Debug, Clone)]
struct Tracked {
    reference: String,
    mode: PaymentMode,
    commit_timeout_ms: u64,
    /// When the customer's confirmation made it PAID or RESERVED.
    settled_at: Option<u64>,
    /// getPaymentStatus (or a commit) reached the machine before the status deadline.
    acknowledged: bool,
    committed: bool,
    /// The amount reserved at confirmation.
    reserved: Option<Decimal>,
    last_version: i32,
    last_status: InvoiceStatus,
}

#[derive(Debug)]
struct Run {
    w: World,
    invoices: Vec<Tracked>,
    initial_money: Decimal,
    deadline_ms: u64,
}

fn cents(c: i64) -> Decimal {
    Decimal::new(c, 2)
}

impl Run {
    fn new() -> Self {
        let mut w = World::new();
        w.machine.set_customer(POOR, Some(POOR_PIN), Some(dec("25.00")));
        let initial_money =
            w.machine.customer(demo::CUSTOMER_MSISDN).map(|c| c.balance).unwrap_or_default() + dec("25.00");
        Self { w, invoices: Vec::new(), initial_money, deadline_ms: STATUS_DEADLINE_MS }
    }

    fn pick(&self, slot: usize) -> Option<usize> {
        (!self.invoices.is_empty()).then(|| slot % self.invoices.len())
    }

    fn customer(poor: bool) -> (&'static str, &'static str) {
        if poor { (POOR, POOR_PIN) } else { (demo::CUSTOMER_MSISDN, demo::CUSTOMER_PIN) }
    }

    fn checked_code(reply: &Reply) -> ResultCode {
        let code = response(reply).result_code;
        assert!(ResultCode::DOCUMENTED.contains(&code), "undocumented result code {code}");
        code
    }

    fn step(&mut self, op: &Op) {
        let now = self.w.now;
        let elapsed = self.w.elapsed();
        match *op {
            Op::Send { mode, cents: c, url, commit_timeout } => {
                let mut inv = invoice(&cents(c).to_string(), mode);
                if url {
                    inv = with_url(inv, NOTIFY_URL);
                }
                inv.commit_reservation_timeout = commit_timeout;
                let reference = self.w.issue(inv);
                let timeout_ms = commit_timeout.map_or(RESERVATION_TIMEOUT_MS, |s| s.unsigned_abs() * 1000);
                self.invoices.push(Tracked {
                    reference,
                    mode,
                    commit_timeout_ms: timeout_ms,
                    settled_at: None,
                    acknowledged: false,
                    committed: false,
                    reserved: None,
                    last_version: 0,
                    last_status: InvoiceStatus::Issued,
                });
            }
            Op::Scan { slot, poor } => {
                let Some(i) = self.pick(slot) else { return };
                let qr = Machine::invoice_qr(&self.invoices[i].reference);
                let _ = self.w.machine.scan(&qr, Some(Self::customer(poor).0), now);
            }
            Op::Confirm { slot, poor, right_pin } => {
                let Some(i) = self.pick(slot) else { return };
                let (msisdn, pin) = Self::customer(poor);
                let pin = if right_pin { pin } else { "0000" };
                let reference = self.invoices[i].reference.clone();
                if let Ok((confirmation, _)) = self.w.machine.confirm(&reference, Some(msisdn), Some(pin), now) {
                    let tracked = &mut self.invoices[i];
                    match confirmation {
                        Confirmation::Paid | Confirmation::Reserved => {
                            tracked.settled_at = Some(elapsed);
                            let record = self.w.record(&reference);
                            if confirmation == Confirmation::Reserved {
                                tracked.reserved = record.reserved_amount;
                                assert_eq!(record.reserved_amount, Some(record.total));
                            }
                            assert_eq!(confirmation == Confirmation::Reserved, tracked.mode.reserves());
                        }
                        Confirmation::WrongPin => assert!(!right_pin),
                        Confirmation::InsufficientFunds => {}
                    }
                }
            }
            Op::CustomerCancel { slot, poor } => {
                let Some(i) = self.pick(slot) else { return };
                let reference = self.invoices[i].reference.clone();
                let _ = self.w.machine.customer_cancel(&reference, Some(Self::customer(poor).0), now);
            }
            Op::WalkAway { slot } => {
                let Some(i) = self.pick(slot) else { return };
                let reference = self.invoices[i].reference.clone();
                self.w.machine.walk_away(&reference, now).expect("known invoice");
            }
            Op::Update { slot, cents: c } => {
                let Some(i) = self.pick(slot) else { return };
                let tracked = &self.invoices[i];
                // An update keeps the invoice's commitReservationTimeout when it leaves
                // it out, so the tracked timeout stays as it was.
                let _ = self.w.apply(&update_invoice(&tracked.reference, invoice(&cents(c).to_string(), tracked.mode)));
            }
            Op::Commit { slot, cents: c } => {
                let Some(i) = self.pick(slot) else { return };
                let reference = self.invoices[i].reference.clone();
                let amount = c.map(|c| cents(c).to_string());
                let reply = self.w.apply(&commit(&reference, amount.as_deref())).reply;
                if Self::checked_code(&reply).is_success() {
                    let tracked = &mut self.invoices[i];
                    tracked.committed = true;
                    // A commit also tells the merchant the outcome.
                    tracked.acknowledged = true;
                    let ers = response(&reply).ers_reference.clone().expect("commit answers an ersReference");
                    let paid = self.w.payment(&ers).amount;
                    if let Some(c) = c {
                        assert_eq!(paid, cents(c));
                    }
                    assert!(paid > Decimal::ZERO);
                }
            }
            Op::Cancel { slot } => {
                let Some(i) = self.pick(slot) else { return };
                let reference = self.invoices[i].reference.clone();
                let reply = self.w.apply(&cancel_invoice(&reference)).reply;
                Self::checked_code(&reply);
            }
            Op::Status { slot } => {
                let Some(i) = self.pick(slot) else { return };
                let reference = self.invoices[i].reference.clone();
                let reply = self.w.apply(&get_payment_status(&reference)).reply;
                assert_eq!(Self::checked_code(&reply), ResultCode::SUCCESS);
                let (status, version) = status_of(response(&reply));
                let record = self.w.record(&reference);
                assert_eq!((status, version), (record.status, record.version), "the answer is the current state");
                assert_eq!(response(&reply).ers_reference.is_some(), status == InvoiceStatus::Paid);
                let tracked = &mut self.invoices[i];
                if let Some(settled) = tracked.settled_at
                    && elapsed < settled + self.deadline_ms
                {
                    tracked.acknowledged = true;
                }
            }
            Op::Refund { slot, cents: c } => {
                let Some(i) = self.pick(slot) else { return };
                let reference = self.invoices[i].reference.clone();
                let Some(ers) = self.w.record(&reference).ers_reference.clone() else { return };
                let before = self.w.payment(&ers).refunded();
                let reply = self.w.apply(&refund(&ers, &cents(c).to_string())).reply;
                let code = Self::checked_code(&reply);
                let after = self.w.payment(&ers).refunded();
                if code.is_success() {
                    assert_eq!(after, before + cents(c));
                } else {
                    assert_eq!(after, before, "a refused refund ({code}) adds no refund");
                }
            }
            Op::RefundRest { slot } => {
                let Some(i) = self.pick(slot) else { return };
                let reference = self.invoices[i].reference.clone();
                let Some(ers) = self.w.record(&reference).ers_reference.clone() else { return };
                let payment = self.w.payment(&ers);
                let rest = payment.amount - payment.refunded();
                let reply = self.w.apply(&refund(&ers, &rest.to_string())).reply;
                let code = Self::checked_code(&reply);
                let payment = self.w.payment(&ers);
                if payment.reversed {
                    assert_eq!(code, ResultCode::INVALID_ERS_REFERENCE);
                } else if rest > Decimal::ZERO {
                    assert_eq!(code, ResultCode::SUCCESS, "refunding exactly the rest is allowed");
                    assert_eq!(payment.refunded(), payment.amount);
                } else {
                    assert_eq!(code, ResultCode::REJECTED_AMOUNT);
                }
            }
            Op::Advance { ms } => {
                self.w.advance(ms);
                self.w.expire();
            }
        }
    }

    fn check(&mut self) {
        let now = self.w.elapsed();
        let machine = &self.w.machine;
        let mut held = Decimal::ZERO;
        for tracked in &mut self.invoices {
            let record = machine.invoice(&tracked.reference).expect("invoices are never forgotten");
            let status = record.status;

            // Versions: never decrease, and count exactly the status changes.
            assert!(record.version >= tracked.last_version, "version went down");
            assert_eq!(record.version as usize, record.history.len(), "version = number of status changes");

            // The history is a chain of allowed transitions ending in the current status.
            let mut current = InvoiceStatus::Issued;
            for entry in &record.history {
                assert_eq!(entry.from, current, "broken history {:?}", record.history);
                let allowed = match (entry.from, entry.to) {
                    (InvoiceStatus::Issued, InvoiceStatus::Paid) => !tracked.mode.reserves(),
                    (InvoiceStatus::Issued, InvoiceStatus::Reserved) => tracked.mode.reserves(),
                    (InvoiceStatus::Issued, InvoiceStatus::Canceled | InvoiceStatus::Failed) => true,
                    (InvoiceStatus::Reserved, InvoiceStatus::Paid | InvoiceStatus::Canceled) => true,
                    // The only way out of PAID: the reversal of an immediate payment whose
                    // status was never fetched.
                    (InvoiceStatus::Paid, InvoiceStatus::Canceled) => {
                        entry.reason == REVERSED && !tracked.mode.reserves() && !tracked.acknowledged
                    }
                    _ => false,
                };
                assert!(allowed, "forbidden transition {entry:?} of {tracked:?}");
                current = entry.to;
            }
            assert_eq!(status, current);

            // Terminal states stay terminal (PAID → CANCELED only by the reversal above).
            match tracked.last_status {
                InvoiceStatus::Canceled | InvoiceStatus::Failed => assert_eq!(status, tracked.last_status),
                InvoiceStatus::Paid => assert!(
                    status == InvoiceStatus::Paid
                        || (status == InvoiceStatus::Canceled
                            && record.history.last().is_some_and(|h| h.reason == REVERSED)),
                    "PAID became {status}"
                ),
                _ => {}
            }

            // The deadlines, modelled exactly.
            if let Some(settled) = tracked.settled_at {
                let status_due = now >= settled + self.deadline_ms;
                if !tracked.mode.reserves() {
                    let expected =
                        if tracked.acknowledged || !status_due { InvoiceStatus::Paid } else { InvoiceStatus::Canceled };
                    assert_eq!(status, expected, "immediate payment at {settled}, now {now}: {tracked:?}");
                } else {
                    if status == InvoiceStatus::Reserved {
                        assert!(
                            tracked.acknowledged || !status_due,
                            "an unacknowledged reservation outlived the status deadline"
                        );
                        assert!(now < settled + tracked.commit_timeout_ms, "a reservation outlived its commit timeout");
                    }
                    if !tracked.acknowledged && status_due {
                        assert_eq!(status, InvoiceStatus::Canceled);
                    }
                    if status == InvoiceStatus::Paid {
                        assert!(tracked.committed);
                    }
                }
            } else {
                assert!(matches!(status, InvoiceStatus::Issued | InvoiceStatus::Canceled | InvoiceStatus::Failed));
            }

            // Reservations: committed ≤ reserved; the total stays within the reservation.
            if status == InvoiceStatus::Reserved {
                let reserved = record.reserved_amount.expect("RESERVED holds an amount");
                assert_eq!(Some(reserved), tracked.reserved);
                assert!(record.total <= reserved, "total {} above reservation {reserved}", record.total);
                held += reserved;
            } else {
                assert_eq!(record.reserved_amount, None, "{status} holds no reservation");
            }
            if status == InvoiceStatus::Paid && tracked.mode.reserves() {
                let ers = record.ers_reference.as_deref().expect("PAID has a payment");
                let payment = machine.payment(ers).expect("payment");
                let reserved = tracked.reserved.expect("was reserved");
                assert!(payment.amount <= reserved, "committed {} above reserved {reserved}", payment.amount);
            }
            if status == InvoiceStatus::Paid {
                assert!(record.ers_reference.is_some());
            }
            tracked.last_version = record.version;
            tracked.last_status = status;
        }

        // Payments: refunds never exceed the payment; a reversed payment is a canceled invoice.
        for tracked in &self.invoices {
            let record = machine.invoice(&tracked.reference).expect("invoice");
            let Some(ers) = record.ers_reference.as_deref() else { continue };
            let payment = machine.payment(ers).expect("payment of an invoice");
            assert!(
                payment.refunded() <= payment.amount,
                "refunds {} above payment {}",
                payment.refunded(),
                payment.amount
            );
            assert!(payment.refunds.iter().all(|r| r.amount > Decimal::ZERO));
            assert_eq!(payment.reversed, record.status == InvoiceStatus::Canceled);
            if !payment.reversed {
                held += payment.amount - payment.refunded();
            }
        }

        // Money is neither created nor destroyed.
        let wallets: Decimal = [demo::CUSTOMER_MSISDN, POOR]
            .iter()
            .map(|m| machine.customer(m).expect("customer").balance)
            .inspect(|b| assert!(*b >= Decimal::ZERO, "negative wallet {b}"))
            .sum();
        assert_eq!(wallets + held, self.initial_money, "wallets {wallets} + held {held}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_shrink_iters: 4_096, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_keep_every_invariant(ops in prop::collection::vec(op(), 1..60)) {
        let mut run = Run::new();
        run.check();
        for op in &ops {
            run.step(op);
            run.check();
        }
        // However it ended, once every deadline has passed nothing is left reserved or
        // waiting for a status call, and money still adds up.
        run.w.advance(24 * 3600 * 1000);
        run.w.expire();
        run.check();
        prop_assert_eq!(run.w.machine.next_deadline(), None);
        prop_assert!(run.w.machine.invoices().all(|r| r.status != InvoiceStatus::Reserved));
    }
}
