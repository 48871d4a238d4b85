//! Deliberate faults: ways to make this reseller wrong on purpose, so the conformance
//! suite can prove it catches each one. Never on by default; switched on at start-up
//! with `--fault NAME` (repeatable) or `faults = [...]` in the config file.

use serde::{Deserialize, Serialize};

macro_rules! faults {
    ($($variant:ident = $name:literal: $doc:literal;)+) => {
        /// A deliberate mistake. Each one breaks one obligation of spec section 5 (the
        /// till's: of the point-of-sale procedure, sections 2.3 and 7).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
        pub enum Fault {
            $(#[doc = $doc] #[serde(rename = $name)] #[value(name = $name)] $variant,)+
        }

        impl Fault {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub const fn name(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }

            /// What the fault does, for `--help` and the README.
            pub const fn description(self) -> &'static str {
                match self { $(Self::$variant => $doc),+ }
            }
        }
    };
}

faults! {
    SkipStatusFetch = "skip-status-fetch": "Never calls getPaymentStatus, neither on a notification nor by polling (Glase reverses the payment after 20 s).";
    TrustNotification = "trust-notification": "Acts on a notification without asking getPaymentStatus: unlocks the machine, or marks the shop order paid.";
    CommitMoreThanReserved = "commit-more-than-reserved": "Commits more than the reserved amount.";
    IgnoreDeviceInUse = "ignore-device-in-use": "Starts a second purchase on a machine another customer is using instead of answering DEVICE_IN_USE.";
    NoReleaseOnCancel = "no-release-on-cancel": "Leaves the machine locked when the reservation is CANCELED.";
    WrongInvoiceReference = "wrong-invoice-reference": "Answers createPurchase with an invoiceReferenceId that is not the one sendInvoice returned.";
    SkipUpdateBeforeCommit = "skip-update-before-commit": "Commits without calling updateInvoice with the vended rows first.";
    RowsNotSummingToTotal = "rows-not-summing-to-total": "Sends updateInvoice rows that do not add up to the total.";
    NonZeroClientRequestTimeout = "nonzero-client-request-timeout": "Sends clientRequestTimeout 30 instead of the required 0.";
    NoClientReference = "no-client-reference": "Omits clientReference from the client context.";
    NoIdleCancel = "no-idle-cancel": "Never cancels a reservation when the customer walks away without vending.";
    ImmediateDebitForUnattended = "immediate-debit-for-unattended": "Creates unattended invoices with paymentMode IMMEDIATE_DEBIT instead of a reservation.";
    CommitCanceled = "commit-canceled": "Tries to vend and commit even when the status is CANCELED.";
    StaleInvoiceVersion = "stale-invoice-version": "Webshop and till: always poll getPaymentStatus with invoiceVersion 0.";
    RefundBeyondPayment = "refund-beyond-payment": "Webshop and till: do not check refunds against the payment and ask Glase for more than was paid.";
    RecommitAfterLostAnswer = "recommit-after-lost-answer": "When a commitReservation answer is lost (dropped connection, timeout), commits again instead of asking getPaymentStatus.";
    EmptyVendStaysReserved = "empty-vend-stays-reserved": "When the customer chooses nothing, frees the machine and answers canceled but never calls cancelInvoice (the invoice stays RESERVED).";
    NotificationOnly = "notification-only": "Never polls getPaymentStatus on its own, only after a notification: a lost notification gets the reservation or payment reversed.";
    GiveUpPolling = "give-up-polling": "Webshop: stops polling an order's status 1 s after checkout; only a notification can still trigger a fetch.";
    PollTooOften = "poll-too-often": "Webshop: polls getPaymentStatus twenty times per poll_interval (every 50 ms at the default 1 s) while an order is pending.";
    PaidOnNotification = "paid-on-notification": "Webshop: marks the order paid as soon as a notification arrives and only then corrects it from getPaymentStatus.";
    IgnoreCancelResult = "ignore-cancel-result": "Webshop and till: the staff cancel marks the order or sale canceled whatever cancelInvoice answered (51 while the customer is confirming, 50 when paid).";
    CancelPaidOrder = "cancel-paid-order": "Webshop and till: the staff cancel of a paid order or sale calls cancelInvoice anyway (Glase answers 50) instead of refusing without asking Glase.";
    ResendInvoiceOnLostAnswer = "resend-invoice-on-lost-answer": "Webshop and till: when sendInvoice's answer is lost or times out, send a second invoice for the same order or sale and use that one.";
    RefundUnpaidOrder = "refund-unpaid-order": "Webshop and till: refund a canceled or never-paid order or sale by calling refundPayment anyway, with whatever ersReference it has (possibly empty).";
    TillPollSlowly = "till-poll-slowly": "Till: polls getPaymentStatus every 3 s instead of every second while a sale waits.";
    TillGiveUpPolling = "till-give-up-polling": "Till: stops polling a sale a third of the payment window after it started, without cancelling it (a customer who pays later is never seen; Glase reverses the payment).";
    TillNoReceipt = "till-no-receipt": "Till: never submits a receipt (submitPaymentReceipt) after a payment.";
    TillNoUnregister = "till-no-unregister": "Till: the unregister action and shutdown report the till unregistered but never call unregisterTerminal.";
    TillNoSeqrId = "till-no-seqr-id": "Till: registers the terminal but never calls assignSeqrId, so the till's QR sticker leads nowhere.";
}

impl Fault {
    /// Whether the fault is one of the till's own (`Till: …`): the webshop ignores them.
    pub const fn till_only(self) -> bool {
        matches!(
            self,
            Self::TillPollSlowly
                | Self::TillGiveUpPolling
                | Self::TillNoReceipt
                | Self::TillNoUnregister
                | Self::TillNoSeqrId
        )
    }

    /// Whether the fault reaches the till: its own, the engine's that the till shares
    /// with the webshop ("Webshop and till: …"), and those of the whole reseller that
    /// concern a till too (the client context, never fetching the status). The
    /// webshop's polling and notification faults do not: the till has its own polling
    /// faults and no notifications.
    pub const fn reaches_till(self) -> bool {
        self.till_only()
            || matches!(
                self,
                Self::SkipStatusFetch
                    | Self::NonZeroClientRequestTimeout
                    | Self::NoClientReference
                    | Self::StaleInvoiceVersion
                    | Self::RefundBeyondPayment
                    | Self::IgnoreCancelResult
                    | Self::CancelPaidOrder
                    | Self::ResendInvoiceOnLostAnswer
                    | Self::RefundUnpaidOrder
            )
    }
}

/// The set of faults switched on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults(Vec<Fault>);

impl Faults {
    pub fn new(faults: impl IntoIterator<Item = Fault>) -> Self {
        let mut list: Vec<Fault> = faults.into_iter().collect();
        list.sort_by_key(|f| f.name());
        list.dedup();
        Self(list)
    }

    /// The faults of this set that `keep` keeps (those that reach one part).
    pub fn only(&self, keep: impl Fn(Fault) -> bool) -> Self {
        Self(self.0.iter().copied().filter(|f| keep(*f)).collect())
    }

    pub fn has(&self, fault: Fault) -> bool {
        self.0.contains(&fault)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Fault> + '_ {
        self.0.iter().copied()
    }
}
