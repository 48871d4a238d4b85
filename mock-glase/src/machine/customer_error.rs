//! What can go wrong when the customer acts (scans, confirms, cancels): one error for
//! the app, its QR codes and the control API that plays it.

use glase_protocol::InvoiceStatus;

/// Why a customer action could not be done. These are answers to the person or test
/// driving the app, never SOAP results.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CustomerError {
    #[error("unknown customer {0:?}")]
    UnknownCustomer(String),
    #[error(
        "{0:?} is not a Glase QR code (expected HTTP://SEQR.SE/R<invoiceReference>, HTTP://SEQR.SE/Q<seqrId> or HTTP://SEQR.SE/000/ups?w=<merchantId>&t=<token>)"
    )]
    NotAGlaseQr(String),
    #[error("malformed unattended QR code {qr:?}: {reason}")]
    MalformedUnattendedQr { qr: String, reason: String },
    #[error("malformed QR code {qr:?}: {reason}")]
    MalformedQr { qr: String, reason: String },
    #[error("no invoice {0:?}")]
    UnknownInvoice(String),
    #[error("no terminal has seqrId {0:?}")]
    UnknownSeqrId(String),
    #[error("terminal with seqrId {0:?} has no invoice waiting to be paid")]
    NothingToPay(String),
    #[error("invoice {invoice} is open in another customer's app ({msisdn})")]
    OpenedByAnother { invoice: String, msisdn: String },
    #[error("invoice {invoice} cannot be {action}: it is {status}")]
    WrongState { invoice: String, action: &'static str, status: InvoiceStatus },
    #[error(
        "{0:?} is an unattended machine's QR code: it names a machine, not an invoice (scan it to start a purchase)"
    )]
    UnattendedQr(String),
    #[error("no merchant has merchantId {0:?}")]
    UnknownMerchant(String),
    #[error(
        "merchant {0:?} has no createPurchase URL configured (config create_purchase_url, or PUT /control/merchants/{0})"
    )]
    NoCreatePurchaseUrl(String),
    #[error("invalid reservation amount {0}: it must be positive")]
    InvalidAmount(String),
    #[error("no createPurchase call #{0} is in progress")]
    UnknownPurchase(u64),
    #[error("invoice {0} has no notificationUrl; give a url to send the notification to")]
    NoNotificationUrl(String),
    /// Giving money back to the wallet would overflow it; nothing changed.
    #[error("invoice {0}: crediting the customer's wallet would overflow it; nothing changed")]
    WalletOverflow(String),
    /// The mock failed (a bug, journaled); the action was not done.
    #[error("the mock failed while doing this ({0}); see the journal")]
    SystemError(String),
}
