//! The operations of the SOAP Payment API, as named by the WSDL.

use serde::{Deserialize, Serialize};

macro_rules! operations {
    ($($variant:ident = $wire:literal, implemented = $implemented:literal;)+) => {
        /// Every operation of the WSDL's port type, in the order the WSDL lists its elements.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Operation {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl Operation {
            /// Every operation.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The request element's local name; the response element appends `Response`.
            pub const fn name(self) -> &'static str {
                match self { $(Self::$variant => $wire),+ }
            }

            /// Looks an operation up by its request element's local name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($wire => Some(Self::$variant),)+ _ => None }
            }

            /// Whether the mock implements it (the rest answer `91 UNSUPPORTED_OPERATION`).
            pub const fn is_implemented(self) -> bool {
                match self { $(Self::$variant => $implemented),+ }
            }
        }
    };
}

operations! {
    AssignSeqrId = "assignSeqrId", implemented = true;
    BenchmarkingNop = "benchmarkingNop", implemented = false;
    CancelInvoice = "cancelInvoice", implemented = true;
    ChangePrincipalPassword = "changePrincipalPassword", implemented = false;
    CommitReservation = "commitReservation", implemented = true;
    ConfirmCustomerRegistration = "confirmCustomerRegistration", implemented = false;
    ExecuteReport = "executeReport", implemented = true;
    GetPaymentStatus = "getPaymentStatus", implemented = true;
    MarkTransactionPeriod = "markTransactionPeriod", implemented = true;
    RefundPayment = "refundPayment", implemented = true;
    RegisterTerminal = "registerTerminal", implemented = true;
    RequestPrincipalInformation = "requestPrincipalInformation", implemented = false;
    RequestPurchase = "requestPurchase", implemented = false;
    RequestTopup = "requestTopup", implemented = false;
    RequestTransfer = "requestTransfer", implemented = false;
    SendInvoice = "sendInvoice", implemented = true;
    SubmitPaymentReceipt = "submitPaymentReceipt", implemented = true;
    UnregisterTerminal = "unregisterTerminal", implemented = true;
    UpdateInvoice = "updateInvoice", implemented = true;
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
