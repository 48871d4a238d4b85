//! The scenario file as written (the "low-level arguments"): what serde-saphyr reads,
//! with source locations, and nothing checked beyond the YAML shape of the top level.
//!
//! Steps are kept as untyped values with their location, so that one misspelt step does
//! not hide the problems of the next: [`super::resolve`] types each step separately and
//! reports every problem of every file at once.

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

/// A scenario file's top level.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub id: Spanned<String>,
    pub title: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub profiles: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub requires: Vec<Spanned<String>>,
    /// Section numbers; YAML may read `2.1` as a number, so any scalar is accepted.
    #[serde(default)]
    pub spec: Vec<Spanned<Value>>,
    #[serde(default)]
    pub rules: Vec<Spanned<String>>,
    /// Certification checklist items it exercises (`unattended/3`, `webshop/5`).
    #[serde(default)]
    pub covers: Vec<Spanned<String>>,
    #[serde(default)]
    pub setup: Option<Spanned<Value>>,
    pub steps: Spanned<Vec<Spanned<Value>>>,
}

/// A scalar written as text or as a YAML number/bool (`20.00`, `"20.00"`, `500ms`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Scalar {
    Text(String),
    Number(serde_json::Number),
    Bool(bool),
}

impl Scalar {
    pub fn text(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Number(number) => number.to_string(),
            Self::Bool(flag) => flag.to_string(),
        }
    }
}

// ---- the arguments of each step, as written ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetupArgs {
    pub wallet: Option<Scalar>,
    pub deadline_scale: Option<f64>,
    #[serde(default)]
    pub faults: Vec<FaultArgs>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScanArgs {
    pub machine: String,
    pub amount: Option<Scalar>,
    #[serde(default)]
    pub notify_early: bool,
    pub currency: Option<String>,
    #[serde(rename = "as")]
    pub alias: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvoiceArgs {
    pub invoice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfirmArgs {
    pub invoice: Option<String>,
    pub pin: Option<Scalar>,
    pub outcome: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WalletArgs {
    pub balance: Scalar,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RaceArgs {
    pub scan: RaceScanArgs,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RaceScanArgs {
    pub machine: String,
    pub amount: Option<Scalar>,
    #[serde(default = "two")]
    pub customers: u32,
    #[serde(rename = "as")]
    pub alias: Option<String>,
}

fn two() -> u32 {
    2
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ItemArgs {
    pub sku: String,
    #[serde(default = "one")]
    pub quantity: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VendArgs {
    pub machine: Option<String>,
    #[serde(default)]
    pub items: Vec<ItemArgs>,
    pub expect: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MachineArgs {
    pub machine: String,
    pub expect: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckoutArgs {
    pub items: Vec<ItemArgs>,
    #[serde(rename = "as")]
    pub alias: Option<String>,
    pub expect: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefundArgs {
    pub amount: Option<Scalar>,
    pub expect: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectOnlyArgs {
    pub expect: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AliasOnlyArgs {
    #[serde(rename = "as")]
    pub alias: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultArgs {
    #[serde(default = "all_operations")]
    pub operation: String,
    pub result_code: Option<i32>,
    pub soap_fault: Option<String>,
    pub http_status: Option<u16>,
    pub delay: Option<Scalar>,
    #[serde(default)]
    pub drop_connection: bool,
    pub times: Option<u32>,
}

fn all_operations() -> String {
    "*".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ByArgs {
    pub by: Scalar,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotifyArgs {
    pub kind: String,
    pub invoice: Option<String>,
    pub delay: Option<Scalar>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectPurchaseArgs {
    pub outcome: String,
    pub error_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectRaceArgs {
    #[serde(default = "one")]
    pub accepted: u32,
    pub error_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectStatusArgs {
    pub status: String,
    pub invoice: Option<String>,
    pub within: Option<Scalar>,
    pub during: Option<Scalar>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CountArgs {
    pub min: Option<u32>,
    pub max: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectCallArgs {
    pub operation: String,
    pub within: Option<Scalar>,
    pub count: Option<CountArgs>,
    pub after: Option<String>,
    pub invoice: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectNoCallArgs {
    pub operation: String,
    pub during: Option<Scalar>,
    pub after: Option<String>,
    pub invoice: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectMachineArgs {
    pub machine: Option<String>,
    pub state: String,
    pub within: Option<Scalar>,
    pub during: Option<Scalar>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectOrderArgs {
    pub state: String,
    pub within: Option<Scalar>,
    pub during: Option<Scalar>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectRefundArgs {
    pub outcome: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectPaymentArgs {
    pub invoice: Option<String>,
    pub amount: Option<Scalar>,
    pub refunded: Option<Scalar>,
}
