//! What the machine reports back: journal-worthy facts and the notifications the
//! transport must deliver. The machine does no IO; it returns these.

use glase_protocol::{InvoiceStatus, Operation, PaymentMode};
use rust_decimal::Decimal;
use serde::Serialize;

/// Something that happened inside the machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Event {
    InvoiceIssued {
        invoice: String,
        terminal: String,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
        currency: String,
        payment_mode: PaymentMode,
    },
    InvoiceUpdated {
        invoice: String,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    },
    Transition {
        invoice: String,
        from: InvoiceStatus,
        to: InvoiceStatus,
        reason: String,
    },
    CustomerScanned {
        invoice: String,
        msisdn: String,
    },
    CustomerWrongPin {
        invoice: String,
        msisdn: String,
    },
    CustomerWalkedAway {
        invoice: String,
        msisdn: String,
    },
    /// The merchant fetched the status of a PAID/RESERVED invoice in time.
    StatusAcknowledged {
        invoice: String,
        after_ms: u64,
    },
    PaymentCreated {
        invoice: String,
        ers_reference: String,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    },
    RefundCreated {
        payment: String,
        refund: String,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    },
    ReceiptSubmitted {
        ers_reference: String,
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
    /// A notification the transport is about to send.
    NotificationDue {
        invoice: String,
        url: String,
        reason: String,
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
    pub invoice: String,
    pub url: String,
    /// Why: `confirmed`, `canceled`, `failed`, `reversed`, `expired`.
    pub reason: String,
}

/// Side effects collected while applying one command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    pub events: Vec<Event>,
    pub notifications: Vec<Notification>,
}

impl Effects {
    pub(crate) fn event(&mut self, event: Event) {
        self.events.push(event);
    }

    pub(crate) fn notify(&mut self, invoice: &str, url: Option<&str>, reason: &str) {
        if let Some(url) = url {
            self.events.push(Event::NotificationDue {
                invoice: invoice.to_owned(),
                url: url.to_owned(),
                reason: reason.to_owned(),
            });
            self.notifications.push(Notification {
                invoice: invoice.to_owned(),
                url: url.to_owned(),
                reason: reason.to_owned(),
            });
        }
    }
}
