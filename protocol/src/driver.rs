//! The machine driver's wire types (spec section 8, `docs/openapi/drivers.yaml`): what a
//! vending backend shows of a machine and of a vend, and the vend request a machine
//! sends. The reference reseller and the benchmark's null backend serve them; the suite
//! names the states in its scenarios. The suite's own client reads answers leniently
//! (as JSON values) on purpose: it judges what a backend answers, whatever it is.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A machine's `state` as the driver shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MachineShows {
    /// Free: a customer may scan it.
    Idle,
    /// Claimed by a purchase whose reservation is not confirmed yet.
    Reserved,
    /// The reservation is confirmed: the customer may choose.
    Unlocked,
    /// A vend is being settled with Glase.
    Vending,
    /// Taken out of service by the operator (and idle).
    OutOfService,
}

impl MachineShows {
    pub const ALL: [Self; 5] = [Self::Idle, Self::Reserved, Self::Unlocked, Self::Vending, Self::OutOfService];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Reserved => "reserved",
            Self::Unlocked => "unlocked",
            Self::Vending => "vending",
            Self::OutOfService => "out-of-service",
        }
    }
}

impl fmt::Display for MachineShows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one vend stands: what the machine must do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VendState {
    /// Recorded; updateInvoice/commitReservation are under way or their outcome is not
    /// known yet (it is resolved in the background): do not dispense yet, ask again.
    Pending,
    /// Committed: dispense.
    Paid,
    /// The reservation ended (or nothing was chosen): nothing charged, do not dispense.
    Canceled,
    /// Glase refused the commit: nothing charged, do not dispense; the machine is
    /// unlocked again and the customer may choose again (a new vend, a new vend id).
    Rejected,
}

impl VendState {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Paid, Self::Canceled, Self::Rejected];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Canceled => "canceled",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for VendState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `POST /driver/machines/{token}/vend`: what the customer chose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VendRequest {
    /// The machine's idempotency key for this vend (optional: the backend makes one up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vend_id: Option<String>,
    /// Empty: the customer chose nothing.
    pub items: Vec<VendItem>,
}

/// One product of a vend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendItem {
    pub sku: String,
    pub quantity: u32,
}

/// `GET /driver/machines/{token}` (and each of `GET /driver/machines`): a machine, with
/// its products in whatever form the backend keeps them (`P` serializes to the
/// document's product list).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MachineView<P> {
    pub token: String,
    pub name: String,
    pub state: MachineShows,
    pub in_service: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_reference: Option<String>,
    /// Two decimals, while the machine is unlocked or vending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_amount: Option<String>,
    pub currency: String,
    pub products: P,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_written_as_the_document_names_them() {
        let names: Vec<String> =
            MachineShows::ALL.iter().map(|s| serde_json::to_value(s).unwrap().as_str().unwrap().to_owned()).collect();
        assert_eq!(names, ["idle", "reserved", "unlocked", "vending", "out-of-service"]);
        assert!(MachineShows::ALL.iter().zip(&names).all(|(s, n)| s.as_str() == n));
        for state in VendState::ALL {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
            assert_eq!(VendState::parse(state.as_str()), Some(state));
        }
        assert_eq!(VendState::parse("PAID"), None);
    }

    #[test]
    fn a_vend_request_is_read_strictly() {
        let request: VendRequest =
            serde_json::from_str(r#"{"vendId":"v-1","items":[{"sku":"cola","quantity":2}]}"#).unwrap();
        assert_eq!(request.vend_id.as_deref(), Some("v-1"));
        assert_eq!(request.items, [VendItem { sku: "cola".to_owned(), quantity: 2 }]);
        let no_id: VendRequest = serde_json::from_str(r#"{"items":[]}"#).unwrap();
        assert_eq!(serde_json::to_string(&no_id).unwrap(), r#"{"items":[]}"#);
        for bad in [r#"{"items":[],"x":1}"#, r#"{"items":[{"sku":"a","quantity":-1}]}"#, r#"{"vendId":"v"}"#] {
            assert!(serde_json::from_str::<VendRequest>(bad).is_err(), "{bad}");
        }
    }
}
