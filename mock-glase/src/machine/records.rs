//! What the machine keeps: resellers, terminals, customers, invoices with their
//! history, payments and their refunds. Plain records; the machine's rules are in the
//! modules that change them.

use glase_protocol::{Invoice, InvoiceStatus, PaymentMode};
use rust_decimal::Decimal;
use serde::Serialize;
use smol_str::SmolStr;

use crate::clock::Timestamp;
use crate::config::{Dialect, ResellerConfig, TerminalConfig};

/// A reseller account.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reseller {
    pub id: SmolStr,
    pub user_id: String,
    #[serde(skip)]
    pub password: String,
    pub currency: SmolStr,
    pub merchant_id: SmolStr,
    pub name: String,
    pub refunds_allowed: bool,
    pub receiver_allows_refunds: bool,
    pub create_purchase_url: Option<String>,
    pub dialect: Dialect,
}

impl Reseller {
    pub(crate) fn from_config(r: &ResellerConfig) -> Self {
        Self {
            id: SmolStr::new(&r.id),
            user_id: r.user_id.clone(),
            password: r.password.clone(),
            currency: SmolStr::new(&r.currency),
            merchant_id: SmolStr::new(r.merchant_id.as_deref().unwrap_or(&r.id)),
            name: r.name.clone().unwrap_or_else(|| r.id.clone()),
            refunds_allowed: r.refunds_allowed,
            receiver_allows_refunds: r.receiver_allows_refunds,
            create_purchase_url: r.create_purchase_url.clone(),
            dialect: r.create_purchase_dialect,
        }
    }
}

/// The shortest password a terminal may have (configured, added, or registered).
pub const MIN_TERMINAL_PASSWORD: usize = 4;

/// A terminal: configured, or created by registerTerminal.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Terminal {
    pub id: SmolStr,
    pub reseller: SmolStr,
    pub external_id: Option<String>,
    pub name: Option<String>,
    #[serde(skip)]
    pub password: String,
    /// `false` after unregisterTerminal: calls answer 33.
    pub registered: bool,
    pub seqr_id: Option<String>,
}

impl Terminal {
    pub(crate) fn from_config(t: &TerminalConfig) -> Self {
        Self {
            id: SmolStr::new(&t.id),
            reseller: SmolStr::new(&t.reseller),
            external_id: None,
            name: t.name.clone(),
            password: t.password.clone(),
            registered: true,
            seqr_id: t.seqr_id.clone(),
        }
    }
}

/// A simulated app user.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub msisdn: String,
    #[serde(skip)]
    pub pin: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub balance: Decimal,
}

/// An invoice and everything the mock knows about it.
///
/// Its names are [`SmolStr`]s, like the events' (see [`Event`]): a lifecycle copies the
/// reference, terminal and currency into its events, payment and transactions, and those
/// copies are free.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceRecord {
    pub reference: SmolStr,
    pub terminal: SmolStr,
    pub reseller: SmolStr,
    /// The invoice as last sent or updated.
    pub invoice: Invoice,
    pub payment_mode: PaymentMode,
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
    pub currency: SmolStr,
    pub status: InvoiceStatus,
    /// Increments on every status change and on new customer tokens.
    pub version: i32,
    pub issued_at: Timestamp,
    /// The customer who has the invoice open in the app (PIN dialog): drives 48 and 51.
    pub opened_by: Option<SmolStr>,
    /// The customer who confirmed it.
    pub payer: Option<SmolStr>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub reserved_amount: Option<Decimal>,
    /// When the reservation is cancelled if not committed.
    pub commit_deadline: Option<Timestamp>,
    /// While set, the merchant has not fetched the PAID/RESERVED status yet and the
    /// payment is reversed at this time.
    pub status_deadline: Option<Timestamp>,
    /// When the customer's confirmation made it PAID/RESERVED (the status clock's start).
    pub settled_at: Option<Timestamp>,
    /// When the merchant fetched that status.
    pub acknowledged_at: Option<Timestamp>,
    pub ers_reference: Option<SmolStr>,
    pub customer_tokens: Vec<glase_protocol::CustomerToken>,
    pub history: Vec<HistoryEntry>,
}

/// One status change of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub from: InvoiceStatus,
    pub to: InvoiceStatus,
    /// A fixed text: static, so recording a transition copies nothing.
    pub reason: SmolStr,
}

impl InvoiceRecord {
    /// Whether the status is final (nothing leaves PAID but refunds).
    pub fn is_final(&self) -> bool {
        matches!(self.status, InvoiceStatus::Paid | InvoiceStatus::Canceled | InvoiceStatus::Failed)
    }
}

/// A payment (a paid invoice) and its refunds.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub ers_reference: SmolStr,
    pub invoice: SmolStr,
    pub terminal: SmolStr,
    pub reseller: SmolStr,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: SmolStr,
    pub paid_at: Timestamp,
    pub payer: SmolStr,
    pub cashier_id: Option<String>,
    /// Reversed because the merchant never fetched the status.
    pub reversed: bool,
    pub refunds: Vec<Refund>,
    pub receipt: Option<glase_protocol::ReceiptDocument>,
}

impl Payment {
    /// The sum of the refunds. refundPayment keeps it within the payment's amount, so it
    /// cannot overflow; checked anyway, saturating, so no bug here can panic.
    pub fn refunded(&self) -> Decimal {
        self.refunds.iter().try_fold(Decimal::ZERO, |sum, r| sum.checked_add(r.amount)).unwrap_or(Decimal::MAX)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    pub ers_reference: SmolStr,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub at: Timestamp,
    pub cashier_id: Option<String>,
}
