//! What the machine reports back: journal-worthy facts and the notifications the
//! transport must deliver. The machine does no IO; it returns these.

use glase_protocol::{Deviation, InvoiceStatus, Operation, PaymentMode};
use rust_decimal::Decimal;
use serde::Serialize;
use smol_str::SmolStr;

/// Something that happened inside the machine.
///
/// The events of a payment's lifecycle name things with [`SmolStr`]s: invoice references,
/// terminal ids, msisdns and currencies fit inline, ersReferences are shared with the
/// machine's records, and fixed texts such as a transition's reason are static, so
/// recording them copies no text. Rare events (terminal administration, periods, faults,
/// purchases) keep `String`s. Both serialize as plain strings: the journal's JSON is
/// unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Event {
    InvoiceIssued {
        invoice: SmolStr,
        terminal: SmolStr,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
        currency: SmolStr,
        payment_mode: PaymentMode,
    },
    InvoiceUpdated {
        invoice: SmolStr,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    },
    Transition {
        invoice: SmolStr,
        from: InvoiceStatus,
        to: InvoiceStatus,
        reason: SmolStr,
    },
    CustomerScanned {
        invoice: SmolStr,
        msisdn: SmolStr,
    },
    CustomerWrongPin {
        invoice: SmolStr,
        msisdn: SmolStr,
    },
    CustomerWalkedAway {
        invoice: SmolStr,
        msisdn: SmolStr,
    },
    /// The merchant fetched the status of a PAID/RESERVED invoice in time.
    StatusAcknowledged {
        invoice: SmolStr,
        after_ms: u64,
    },
    PaymentCreated {
        invoice: SmolStr,
        ers_reference: SmolStr,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    },
    RefundCreated {
        payment: SmolStr,
        refund: SmolStr,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    },
    ReceiptSubmitted {
        ers_reference: SmolStr,
        mime_type: Option<String>,
        bytes: usize,
    },
    TerminalRegistered {
        terminal: String,
        reseller: String,
        external_id: Option<String>,
    },
    TerminalUnregistered {
        terminal: String,
    },
    SeqrIdAssigned {
        terminal: String,
        seqr_id: String,
    },
    PeriodMarked {
        period: String,
        reseller: String,
        terminal: Option<String>,
    },
    FaultInjected {
        /// `sendInvoice` …, `*`, `createPurchase` or `notification`.
        target: String,
        operation: Option<Operation>,
        terminal: Option<String>,
        /// The invoice the faulted call was about, when it names one.
        invoice: Option<String>,
        fault: String,
    },
    /// The UPS calls a merchant's createPurchase.
    PurchaseStarted {
        purchase: u64,
        merchant_id: String,
        token: String,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
        msisdn: String,
    },
    /// How that call ended: accepted, declined with an error code, or a protocol violation.
    PurchaseEnded {
        purchase: u64,
        merchant_id: String,
        outcome: super::ups::PurchaseOutcome,
    },
    /// Crediting a customer's wallet would overflow: the operation on the invoice was
    /// refused and nothing changed (see `machine::wallet`).
    WalletOverflow {
        invoice: SmolStr,
        msisdn: SmolStr,
        #[serde(with = "rust_decimal::serde::str")]
        balance: Decimal,
        #[serde(with = "rust_decimal::serde::str")]
        credit: Decimal,
    },
    /// A notification the transport is about to send.
    NotificationDue {
        invoice: SmolStr,
        url: SmolStr,
        reason: SmolStr,
    },
}

impl Event {
    /// The merchantId the event names itself (purchases), for journal filtering.
    pub fn merchant_id(&self) -> Option<&str> {
        match self {
            Self::PurchaseStarted { merchant_id, .. } | Self::PurchaseEnded { merchant_id, .. } => Some(merchant_id),
            _ => None,
        }
    }

    /// The invoice the event is about, for journal filtering.
    pub fn invoice(&self) -> Option<&str> {
        match self {
            Self::InvoiceIssued { invoice, .. }
            | Self::InvoiceUpdated { invoice, .. }
            | Self::Transition { invoice, .. }
            | Self::CustomerScanned { invoice, .. }
            | Self::CustomerWrongPin { invoice, .. }
            | Self::CustomerWalkedAway { invoice, .. }
            | Self::StatusAcknowledged { invoice, .. }
            | Self::PaymentCreated { invoice, .. }
            | Self::WalletOverflow { invoice, .. }
            | Self::NotificationDue { invoice, .. } => Some(invoice),
            Self::FaultInjected { invoice, .. } => invoice.as_deref(),
            _ => None,
        }
    }
}

/// An empty POST the transport must send to an invoice's `notificationUrl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub invoice: SmolStr,
    pub url: String,
    pub reason: NotificationReason,
}

/// Why a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationReason {
    /// Before the createPurchase answer (a scan with `notify_early`): one attempt, sent
    /// before the merchant gets its sendInvoice answer.
    Early,
    Confirmed,
    Canceled,
    Failed,
    /// The merchant never fetched the status: the payment was reversed.
    Reversed,
    /// The reservation was not committed in time.
    Expired,
    /// Sent through the control API though nothing happened to the invoice.
    Forged,
    /// Sent again through the control API.
    Duplicate,
}

impl NotificationReason {
    /// As the journal and the control API write it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Early => "early (before the createPurchase answer)",
            Self::Confirmed => "confirmed",
            Self::Canceled => "canceled",
            Self::Failed => "failed",
            Self::Reversed => "reversed",
            Self::Expired => "expired",
            Self::Forged => "forged (nothing happened to the invoice)",
            Self::Duplicate => "duplicate",
        }
    }
}

impl std::fmt::Display for NotificationReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for NotificationReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Side effects collected while applying one command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    pub events: Vec<Event>,
    pub notifications: Vec<Notification>,
    /// What the request did that the spec does not allow but lax mode accepted.
    pub deviations: Vec<Deviation>,
}

impl Effects {
    /// Adds `later`'s events, notifications and deviations after these.
    pub(crate) fn append(&mut self, later: Effects) {
        self.events.extend(later.events);
        self.notifications.extend(later.notifications);
        self.deviations.extend(later.deviations);
    }

    pub(crate) fn event(&mut self, event: Event) {
        self.events.push(event);
    }

    pub(crate) fn notify(&mut self, invoice: &SmolStr, url: Option<&str>, reason: NotificationReason) {
        if let Some(url) = url {
            self.events.push(Event::NotificationDue {
                invoice: invoice.clone(),
                url: SmolStr::new(url),
                reason: SmolStr::new_static(reason.as_str()),
            });
            self.notifications.push(Notification { invoice: invoice.clone(), url: url.to_owned(), reason });
        }
    }
}
