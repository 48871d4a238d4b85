//! `resultCode` values (spec section 3.5).

use serde::{Deserialize, Serialize};

/// A `resultCode`. A newtype rather than an enum because a client must be able to read
/// codes it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResultCode(pub i32);

macro_rules! result_codes {
    ($($name:ident = $code:literal, $description:literal;)+) => {
        impl ResultCode {
            $(pub const $name: Self = Self($code);)+

            /// Every code the specification documents.
            pub const DOCUMENTED: &'static [Self] = &[$(Self::$name),+];

            /// The documented name (`SUCCESS`, `REJECTED_AMOUNT`, …), if the code is known.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 { $($code => Some(stringify!($name)),)+ _ => None }
            }

            /// The human-readable `resultDescription` the mock sends.
            pub const fn description(self) -> &'static str {
                match self.0 { $($code => $description,)+ _ => "Unknown result code" }
            }
        }
    };
}

result_codes! {
    SUCCESS = 0, "SUCCESS";
    REPORT_NOT_READY = 2, "Report is not ready yet, try again later";
    REJECTED_AMOUNT = 11, "Rejected amount";
    AUTHENTICATION_FAILED = 20, "Authentication failed";
    ACCESS_DENIED = 21, "Access denied";
    INVALID_ERS_REFERENCE = 23, "Invalid ersReference";
    INVALID_INITIATOR_PRINCIPAL_ID = 29, "Invalid initiator principal id";
    INVALID_INITIATOR_PRINCIPAL_STATE = 33, "Invalid initiator principal state";
    INITIATOR_PRINCIPAL_NOT_FOUND = 37, "Initiator principal not found";
    PAYMENT_IN_PROGRESS = 48, "Payment in progress";
    INVALID_INVOICE_DATA = 49, "Invalid invoice data";
    CANNOT_CANCEL_PAID_INVOICE = 50, "Cannot cancel paid invoice";
    CANNOT_CANCEL_INVOICE_IN_PROGRESS = 51, "Cannot cancel invoice in progress";
    INVALID_SEQR_ID = 53, "Invalid SEQR id";
    INVALID_INVOICE_REFERENCE = 54, "Invalid invoice reference";
    INVALID_NOTIFICATION_URL = 64, "Invalid notification URL";
    SYSTEM_ERROR = 90, "System error";
    UNSUPPORTED_OPERATION = 91, "Unsupported operation";
    SYSTEM_BUSY = 93, "System busy";
    SERVICE_UNAVAILABLE = 94, "Service unavailable";
    INVOICE_ALREADY_CANCELED = 95, "Invoice already canceled";
    INVOICE_STATE_NOT_RESERVED = 96, "Invoice state is not RESERVED";
    RESELLER_NOT_ALLOWED_TO_DO_REFUND = 97, "Reseller is not allowed to do refunds";
    SUM_OF_REFUNDS_CAN_NOT_BE_MORE_THAN_ORIGINAL_TRANSACTION = 98, "Sum of refunds can not be more than original transaction";
    RECEIVER_ACCOUNT_DOES_NOT_ALLOW_REFUNDS = 99, "Receiver account does not allow refunds";
}

impl ResultCode {
    pub const fn is_success(self) -> bool {
        self.0 == 0
    }

    /// Whether the same request may succeed later: 90 (system error), 93 (system busy)
    /// and 94 (service unavailable) say nothing about the request itself
    /// (docs/integrate.md: "Retry transient Glase errors"). Every other code is an answer.
    pub const fn is_transient(self) -> bool {
        matches!(self, Self::SYSTEM_ERROR | Self::SYSTEM_BUSY | Self::SERVICE_UNAVAILABLE)
    }
}

impl std::fmt::Display for ResultCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} {}", self.0, name),
            None => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ResultCode;

    #[test]
    fn only_90_93_and_94_are_worth_a_retry() {
        let transient: Vec<i32> = (0..=100).map(ResultCode).filter(|c| c.is_transient()).map(|c| c.0).collect();
        assert_eq!(transient, [90, 93, 94]);
    }
}
