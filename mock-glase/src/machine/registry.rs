//! Why a merchant (reseller) or terminal added at run time was refused: the control API
//! answers each kind with its own status (bad input 400, an unknown reseller or
//! merchant 404, a name already taken 409), and the suite's harness reports it with its reason.

/// A refused `add_reseller`, `add_terminal` or `set_create_purchase_url`; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The input cannot be a merchant or terminal (a bad createPurchase URL, a short
    /// password).
    #[error("{0}")]
    Invalid(String),
    #[error("unknown reseller {0:?}")]
    UnknownReseller(String),
    #[error("no merchant has merchantId {0:?}")]
    UnknownMerchant(String),
    /// The id, merchantId or seqrId is another's.
    #[error("{0}")]
    Taken(String),
}
