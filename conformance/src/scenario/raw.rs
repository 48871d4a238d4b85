//! The scenario file as written (the "low-level arguments"): what serde-saphyr reads,
//! with source locations, and nothing checked beyond the YAML shape of the top level.
//!
//! Steps are kept as untyped values with their location, so that one misspelt step does
//! not hide the problems of the next: [`super::resolve`] types each step separately and
//! reports every problem of every file at once.

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::step::values::Item;

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

// ---- arguments more than one step (or the setup) takes, as written; the others are
// ---- in the module of their step kind ([`crate::step`])

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetupArgs {
    pub wallet: Option<Scalar>,
    pub deadline_scale: Option<f64>,
    #[serde(default)]
    pub faults: Vec<FaultArgs>,
}

/// `invoice:` alone (`cancel`, `scan_invoice`, …).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvoiceArgs {
    pub invoice: Option<String>,
}

/// `expect:` alone, or nothing (`shop_cancel`, `clear_faults`, …).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectOnlyArgs {
    pub expect: Option<String>,
}

/// A product and how many (`vend`, `checkout`).
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

pub(crate) fn items(items: Vec<ItemArgs>) -> Vec<Item> {
    items.into_iter().map(|i| Item { sku: i.sku, quantity: i.quantity }).collect()
}

/// A fault (the `fault` step, `setup.faults`).
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
