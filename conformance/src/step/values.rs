//! The values step arguments are made of, typed: which invoice, which window, which
//! outcome. Shared by the step kinds ([`super`]), the loader's checks and the runner.

use std::fmt;
use std::time::Duration;

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
