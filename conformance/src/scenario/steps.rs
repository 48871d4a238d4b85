//! The resolved scenario: typed, validated, ready to run. Everything here was checked by
//! the loader (durations parsed, amounts decimal, operations and statuses known, rule ids
//! in the catalog, invoice names defined before use), so the runner never re-validates.

use std::fmt;
use std::time::Duration;

use glase_protocol::{InvoiceStatus, Operation};
use rust_decimal::Decimal;

/// One scenario file, resolved.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Stable id, e.g. `unattended/happy-path`.
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// Where it came from: a path, or `embedded:unattended/happy-path.yaml`.
    pub file: String,
    /// SHA-256 (lowercase hex) of the file's exact text as loaded, for the evidence bundle.
    pub sha256: String,
    pub profiles: Vec<Profile>,
    pub requires: Vec<Driver>,
    /// Spec sections it exercises (`2.1`, `5`, …).
    pub spec: Vec<String>,
    /// Rule ids the scenario targets (for the report; every rule is checked anyway).
    pub rules: Vec<String>,
    /// The certification checklist items it exercises (`unattended/3`), for the report.
    pub covers: Vec<String>,
    pub setup: Setup,
    pub steps: Vec<Located<Step>>,
    /// `expect_findings`: exactly these rules must fire (a negative scenario).
    pub expected_findings: Option<Vec<String>>,
}

impl Scenario {
    /// The profile the rules are evaluated under (the first listed).
    pub fn primary_profile(&self) -> Profile {
        self.profiles.first().copied().unwrap_or(Profile::Unattended)
    }

    pub fn in_profile(&self, selected: Option<Profile>) -> bool {
        selected.is_none_or(|p| self.profiles.contains(&p))
    }
}

/// A step with where it was written.
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub value: T,
    /// `file:line` of the step.
    pub location: String,
    /// The step as written, one line (`scan: {"machine":"machine-1"}`).
    pub text: String,
    /// `rule: ID` on a step: the rule this step checks. When the step does not hold,
    /// the scenario reports a finding of that rule (for rules only a scenario with a
    /// driver can check, such as UPS-IDLE-RELEASE).
    pub rule: Option<String>,
}

/// An integration profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    Unattended,
    Webshop,
    Pos,
}

impl Profile {
    pub const ALL: [Self; 3] = [Self::Unattended, Self::Webshop, Self::Pos];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unattended => "unattended",
            Self::Webshop => "webshop",
            Self::Pos => "pos",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A test-build HTTP contract a scenario needs from the system under test (spec 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Driver {
    Machine,
    Shop,
    /// The till's point-of-sale driver (`/driver/pos/…`): the shop steps sell at the
    /// till, and the till steps register it and scan its sticker.
    Pos,
}

impl Driver {
    pub const ALL: [Self; 3] = [Self::Machine, Self::Shop, Self::Pos];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Machine => "machine-driver",
            Self::Shop => "shop-driver",
            Self::Pos => "pos-driver",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

/// Done before the first step.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// The scenario customer's wallet (default 1000.00).
    pub wallet: Option<Decimal>,
    /// Glase-side deadline scale for this scenario (default: the run's).
    pub deadline_scale: Option<f64>,
    pub faults: Vec<FaultSpec>,
}

/// Which invoice a step acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvoiceRef {
    /// The one the latest scan, race or checkout produced.
    Current,
    /// One named with `as:` earlier in the scenario.
    Named(String),
}

impl fmt::Display for InvoiceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Current => f.write_str("the current invoice"),
            Self::Named(name) => write!(f, "invoice `{name}`"),
        }
    }
}

/// Which invoices `expect_call` counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallScope {
    /// The current invoice for invoice operations, every call otherwise.
    Default,
    Any,
    Invoice(InvoiceRef),
}

/// From where `expect_call`/`expect_no_call` count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// The scenario's start.
    Start,
    /// The latest notification sent for the invoice in scope.
    Notification,
    /// Just after the latest step of this kind (`confirm`, `checkout`, …).
    Step(String),
}

/// A timer an expectation may wait for: Glase's own, or one the system under test
/// declares (`--idle-timeout`, `--unpaid-timeout`). A window measured in a timer is as
/// long as the timer really is, so it is never cut shorter than the spec or the system
/// allows (see [`Wait`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Glase's status deadline (20 s, times the deadline scale): getPaymentStatus must
    /// follow a payment or reservation within it (spec 2.2 step 5, 4).
    StatusDeadline,
    /// The system's own idle timeout: a reservation nobody uses is released after it.
    IdleTimeout,
    /// The shop's own timeout for unpaid orders: they are cancelled after it.
    UnpaidTimeout,
}

impl Timer {
    pub const ALL: [Self; 3] = [Self::StatusDeadline, Self::IdleTimeout, Self::UnpaidTimeout];

    /// As written in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StatusDeadline => "status-deadline",
            Self::IdleTimeout => "idle-timeout",
            Self::UnpaidTimeout => "unpaid-timeout",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// How long an expectation may wait, or a `wait` lasts: `5s`, `status-deadline`,
/// `idle-timeout + 5s`, `unpaid-timeout - 2s, at most 10s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// The timer the window is measured in, if any.
    pub timer: Option<Timer>,
    /// A fixed time (alone), or the slack added to the timer.
    pub plus: Duration,
    /// Taken off the timer (`unpaid-timeout - 2s`: just before it fires).
    pub minus: Duration,
    /// Never longer than this (`, at most 10s`).
    pub at_most: Option<Duration>,
}

impl Wait {
    pub const fn fixed(duration: Duration) -> Self {
        Self { timer: None, plus: duration, minus: Duration::ZERO, at_most: None }
    }

    /// `timer + plus`.
    pub const fn timer_plus(timer: Timer, plus: Duration) -> Self {
        Self { timer: Some(timer), plus, minus: Duration::ZERO, at_most: None }
    }

    /// The length, given the timer's value (zero without a timer).
    pub fn length_with(&self, timer: Duration) -> Duration {
        let length = timer.saturating_add(self.plus).saturating_sub(self.minus);
        self.at_most.map_or(length, |most| length.min(most))
    }
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let human = |d: Duration| humantime::format_duration(d).to_string();
        let mut text = match self.timer {
            None => human(self.plus),
            Some(timer) => {
                let mut text = timer.as_str().to_owned();
                if !self.plus.is_zero() {
                    text.push_str(&format!(" + {}", human(self.plus)));
                }
                text
            }
        };
        if !self.minus.is_zero() {
            text.push_str(&format!(" - {}", human(self.minus)));
        }
        if let Some(most) = self.at_most {
            text.push_str(&format!(", at most {}", human(most)));
        }
        f.write_str(&text)
    }
}

/// Polling window of an expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Holds at some moment within this time (checked as soon as it holds).
    Within(Wait),
    /// Holds throughout this time.
    During(Duration),
}

/// A product chosen at a machine or put in the shop's cart.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Item {
    pub sku: String,
    pub quantity: u32,
}

/// An injected Glase fault.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// `sendInvoice`, …, `*`, `createPurchase` or `notification`.
    pub operation: String,
    pub action: FaultKind,
    pub times: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    ResultCode(i32),
    SoapFault(String),
    HttpStatus(u16),
    Delay(Duration),
    DropConnection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurchaseOutcome {
    Accepted,
    Declined,
    Violation,
}

impl PurchaseOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Violation => "violation",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Paid,
    Reserved,
    WrongPin,
    InsufficientFunds,
}

impl ConfirmOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::Reserved => "reserved",
            Self::WrongPin => "wrong_pin",
            Self::InsufficientFunds => "insufficient_funds",
        }
    }
}

/// What a driver call should come to: `refused` is HTTP 409, `failed` any 4xx/5xx,
/// everything else 2xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverOutcome {
    /// 2xx (and for vend: `"outcome": "paid"`).
    Ok,
    Paid,
    Canceled,
    Refused,
    /// The system could not do it (a checkout whose sendInvoice failed): not 2xx.
    Failed,
}

impl DriverOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Paid => "paid",
            Self::Canceled => "canceled",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyKind {
    Forged,
    Duplicate,
}

/// One step.
#[derive(Debug, Clone)]
pub enum Step {
    // ---- the customer ----
    /// Scan a machine's UPS QR: the mock calls the SUT's createPurchase.
    Scan {
        machine: String,
        amount: Option<Decimal>,
        notify_early: bool,
        /// Scan as a merchant in another currency (same createPurchase URL).
        currency: Option<String>,
        alias: Option<String>,
    },
    /// Scan an invoice's QR (opens the PIN dialog without confirming).
    ScanInvoice {
        invoice: InvoiceRef,
    },
    Confirm {
        invoice: InvoiceRef,
        pin: Option<String>,
        outcome: Option<ConfirmOutcome>,
    },
    WrongPin {
        invoice: InvoiceRef,
    },
    Cancel {
        invoice: InvoiceRef,
    },
    WalkAway {
        invoice: InvoiceRef,
    },
    SetWallet {
        balance: Decimal,
    },
    /// Several customers scan one machine at the same moment.
    Race {
        machine: String,
        amount: Option<Decimal>,
        customers: u32,
        alias: Option<String>,
    },

    // ---- the machine driver ----
    Vend {
        machine: Option<String>,
        items: Vec<Item>,
        expect: Option<DriverOutcome>,
    },
    OutOfService {
        machine: String,
        expect: Option<DriverOutcome>,
    },
    InService {
        machine: String,
        expect: Option<DriverOutcome>,
    },

    // ---- the shop driver ----
    Checkout {
        items: Vec<Item>,
        alias: Option<String>,
        /// `ok` (the default: 201 with the order) or `failed`.
        expect: DriverOutcome,
    },
    Refund {
        amount: Option<Decimal>,
        expect: Option<DriverOutcome>,
    },
    ShopCancel {
        expect: Option<DriverOutcome>,
    },
    ShopClose,

    // ---- the point-of-sale driver ----
    /// Register the till (registerTerminal, assignSeqrId), or take it out of service
    /// (unregisterTerminal).
    TillRegistration {
        register: bool,
        expect: Option<DriverOutcome>,
    },
    /// The customer scans the till's static QR sticker (the till driver's `qrCode`):
    /// Glase opens the till's newest invoice, which must be the current sale's.
    ScanTill {
        alias: Option<String>,
    },

    // ---- the mock ----
    Fault(FaultSpec),
    ClearFaults,
    AdvanceClock(Duration),
    /// Waits this long (a timer-measured wait lasts as the timer does).
    Wait(Wait),
    Notify {
        kind: NotifyKind,
        invoice: InvoiceRef,
        delay: Option<Duration>,
    },

    // ---- expectations ----
    ExpectPurchase {
        outcome: PurchaseOutcome,
        error_code: Option<String>,
    },
    ExpectRace {
        accepted: u32,
        error_code: Option<String>,
    },
    ExpectStatus {
        invoice: InvoiceRef,
        status: InvoiceStatus,
        timing: Timing,
    },
    ExpectCall {
        operation: Operation,
        within: Wait,
        min: u32,
        max: Option<u32>,
        after: Mark,
        scope: CallScope,
    },
    ExpectNoCall {
        operation: Operation,
        during: Duration,
        after: Mark,
        scope: CallScope,
    },
    ExpectMachine {
        machine: Option<String>,
        state: String,
        timing: Timing,
    },
    ExpectOrder {
        state: String,
        timing: Timing,
    },
    ExpectRefund {
        outcome: DriverOutcome,
    },
    ExpectPayment {
        invoice: InvoiceRef,
        amount: Option<Decimal>,
        refunded: Option<Decimal>,
    },
    ExpectFindings(Vec<String>),
}

impl Step {
    /// The YAML key of the step.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Scan { .. } => "scan",
            Self::ScanInvoice { .. } => "scan_invoice",
            Self::Confirm { .. } => "confirm",
            Self::WrongPin { .. } => "wrong_pin",
            Self::Cancel { .. } => "cancel",
            Self::WalkAway { .. } => "walk_away",
            Self::SetWallet { .. } => "set_wallet",
            Self::Race { .. } => "race",
            Self::Vend { .. } => "vend",
            Self::OutOfService { .. } => "out_of_service",
            Self::InService { .. } => "in_service",
            Self::Checkout { .. } => "checkout",
            Self::Refund { .. } => "refund",
            Self::ShopCancel { .. } => "shop_cancel",
            Self::ShopClose => "shop_close",
            Self::TillRegistration { register: true, .. } => "till_register",
            Self::TillRegistration { register: false, .. } => "till_unregister",
            Self::ScanTill { .. } => "scan_till",
            Self::Fault(_) => "fault",
            Self::ClearFaults => "clear_faults",
            Self::AdvanceClock(_) => "advance_clock",
            Self::Wait(_) => "wait",
            Self::Notify { .. } => "notify",
            Self::ExpectPurchase { .. } => "expect_purchase",
            Self::ExpectRace { .. } => "expect_race",
            Self::ExpectStatus { .. } => "expect_status",
            Self::ExpectCall { .. } => "expect_call",
            Self::ExpectNoCall { .. } => "expect_no_call",
            Self::ExpectMachine { .. } => "expect_machine",
            Self::ExpectOrder { .. } => "expect_order",
            Self::ExpectRefund { .. } => "expect_refund",
            Self::ExpectPayment { .. } => "expect_payment",
            Self::ExpectFindings(_) => "expect_findings",
        }
    }

    /// Whether the step judges what the system under test did: an expectation, or a
    /// driver call whose answer it checks. Such steps in the built-in library name the
    /// rule they check (`rule:`), so every failure can be looked up.
    pub fn is_expectation(&self) -> bool {
        match self {
            Self::ExpectPurchase { .. }
            | Self::ExpectRace { .. }
            | Self::ExpectStatus { .. }
            | Self::ExpectCall { .. }
            | Self::ExpectNoCall { .. }
            | Self::ExpectMachine { .. }
            | Self::ExpectOrder { .. }
            | Self::ExpectRefund { .. }
            | Self::ExpectPayment { .. }
            | Self::Vend { .. }
            | Self::OutOfService { .. }
            | Self::InService { .. }
            | Self::Checkout { .. }
            | Self::ShopCancel { .. }
            | Self::ShopClose
            | Self::TillRegistration { .. }
            | Self::ScanTill { .. } => true,
            Self::Refund { expect, .. } => expect.is_some(),
            _ => false,
        }
    }

    /// The driver a step needs, if any. The shop steps say `Shop`; a point-of-sale
    /// scenario's point-of-sale driver serves them too (they sell at its till).
    pub fn driver(&self) -> Option<Driver> {
        match self {
            Self::Vend { .. } | Self::OutOfService { .. } | Self::InService { .. } | Self::ExpectMachine { .. } => {
                Some(Driver::Machine)
            }
            Self::Checkout { .. }
            | Self::Refund { .. }
            | Self::ShopCancel { .. }
            | Self::ShopClose
            | Self::ExpectOrder { .. }
            | Self::ExpectRefund { .. } => Some(Driver::Shop),
            Self::TillRegistration { .. } | Self::ScanTill { .. } => Some(Driver::Pos),
            _ => None,
        }
    }
}

/// Every step key, for "unknown step" messages and the README.
pub const STEP_KINDS: &[&str] = &[
    "scan",
    "scan_invoice",
    "confirm",
    "wrong_pin",
    "cancel",
    "walk_away",
    "set_wallet",
    "race",
    "vend",
    "out_of_service",
    "in_service",
    "checkout",
    "refund",
    "shop_cancel",
    "shop_close",
    "till_register",
    "till_unregister",
    "scan_till",
    "fault",
    "clear_faults",
    "advance_clock",
    "wait",
    "notify",
    "expect_purchase",
    "expect_race",
    "expect_status",
    "expect_call",
    "expect_no_call",
    "expect_machine",
    "expect_order",
    "expect_refund",
    "expect_payment",
    "expect_findings",
];
