//! Injected faults: make Glase fail on purpose. A rule picks calls (one SOAP operation or
//! all, the createPurchase calls, or the notifications; optionally only one terminal's or
//! one merchant's), for the next N calls or with a probability, and says what goes wrong.
//!
//! Rules that replace the answer (a result code, a SOAP fault, an HTTP 5xx) stop the
//! request before the machine looks at it, as a failing Glase would. A delay or a dropped
//! connection happens *after* the request was processed: the merchant does not learn the
//! outcome in time, while Glase did act on it **[decision]** — the hard case for a reseller.

use std::time::Duration;

use glase_protocol::{Operation, Reply, Response, ResultCode, SoapFault};
use serde::{Deserialize, Serialize};

use super::{Effects, Event, Machine};
use crate::clock::Timestamp;

/// Which calls a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultTarget {
    /// SOAP calls: one operation, or every operation when `None`.
    Soap(Option<Operation>),
    /// The UPS's calls to a merchant's createPurchase.
    CreatePurchase,
    /// Notification callbacks.
    Notification,
}

impl FaultTarget {
    /// Parses `sendInvoice` (any SOAP operation), `*` (all SOAP operations),
    /// `createPurchase` or `notification`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "*" => Some(Self::Soap(None)),
            "createPurchase" => Some(Self::CreatePurchase),
            "notification" => Some(Self::Notification),
            name => Operation::from_name(name).map(|op| Self::Soap(Some(op))),
        }
    }

    fn is_soap(self) -> bool {
        matches!(self, Self::Soap(_))
    }
}

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultAction {
    /// SOAP only: answer with this resultCode (e.g. 90, 93, 94).
    ResultCode(i32),
    /// SOAP only: answer with a `soap:Server` fault carrying this text.
    SoapFault(String),
    /// SOAP only: answer with this HTTP status (500–599) and no SOAP body.
    HttpStatus(u16),
    /// Process normally, then wait this long before answering (SOAP) or before calling
    /// (createPurchase, notification).
    Delay(#[serde(with = "millis")] Duration),
    /// Process normally, then close the connection without an answer (SOAP); or do not
    /// make the call at all (createPurchase, notification).
    DropConnection,
}

/// Why a fault rule was refused; nothing was added. Every kind is bad input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultRuleError {
    #[error("{action} applies to SOAP operations only")]
    SoapOnly { action: &'static str },
    #[error("httpStatus must be 500–599, not {0}")]
    HttpStatus(u16),
    #[error("probability must be between 0 and 1")]
    Probability,
    #[error("times must be at least 1 (omit it to fault until removed)")]
    ZeroTimes,
    #[error("{target} calls are never about an existing invoice, so invoice and customer cannot narrow them")]
    NotAboutAnInvoice { target: String },
}

impl FaultAction {
    /// Whether the action fits the target.
    pub fn check(&self, target: FaultTarget) -> Result<(), FaultRuleError> {
        match self {
            Self::ResultCode(_) | Self::SoapFault(_) if !target.is_soap() => {
                Err(FaultRuleError::SoapOnly { action: "resultCode and soapFault" })
            }
            Self::HttpStatus(_) if !target.is_soap() => Err(FaultRuleError::SoapOnly { action: "httpStatus" }),
            Self::HttpStatus(status) if !(500..=599).contains(status) => Err(FaultRuleError::HttpStatus(*status)),
            _ => Ok(()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::ResultCode(code) => format!("resultCode {}", ResultCode(*code)),
            Self::SoapFault(text) => format!("SOAP fault {text:?}"),
            Self::HttpStatus(status) => format!("HTTP {status}"),
            Self::Delay(delay) => format!("delay {}", humantime::format_duration(*delay)),
            Self::DropConnection => "dropped connection".to_owned(),
        }
    }
}

/// A fault rule. `None` scopes match anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// Assigned by the machine.
    #[serde(default)]
    pub id: u64,
    pub target: FaultTarget,
    /// Only calls from (or, for outbound calls, about invoices of) this terminal.
    pub terminal: Option<String>,
    /// Only calls of this merchant (merchantId).
    pub merchant: Option<String>,
    pub action: FaultAction,
    /// Calls left to fault; `None` faults until the rule is removed.
    pub remaining: Option<u32>,
    /// Fault a matching call with this probability (0–1); `None` means always.
    pub probability: Option<f64>,
    /// Only calls naming no invoice or an invoice issued at or after this instant (ms,
    /// the mock's clock). A test that arms a fault before its own purchase sets it to the
    /// present, so a late call about an earlier test's invoice (a retry, a background
    /// poll) cannot take the fault meant for the new one (control API: `newInvoicesOnly`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_from: Option<Timestamp>,
    /// Only calls about this invoice (a test that knows its invoice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice: Option<String>,
    /// Only calls about invoices this customer (msisdn) has open in the app or has paid:
    /// a test's own customer, armed before its invoice exists. A call about an invoice
    /// no customer has touched yet does not match. With `invoice`, tests can run side by
    /// side on one mock, each faulting only its own calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
}

impl FaultRule {
    /// A rule that faults every call of `target` with `action`, whoever makes it, until
    /// removed; narrow it with struct update syntax (`FaultRule { remaining: Some(1),
    /// ..FaultRule::new(target, action) }`).
    pub fn new(target: FaultTarget, action: FaultAction) -> Self {
        Self {
            id: 0,
            target,
            terminal: None,
            merchant: None,
            action,
            remaining: None,
            probability: None,
            issued_from: None,
            invoice: None,
            customer: None,
        }
    }
}

impl FaultTarget {
    /// Whether its calls can be about an invoice that already exists: everything but
    /// createPurchase, sendInvoice and the terminal's own operations (registration, the
    /// SEQR id, periods, reports).
    pub fn about_an_existing_invoice(self) -> bool {
        match self {
            Self::Notification | Self::Soap(None) => true,
            Self::CreatePurchase => false,
            Self::Soap(Some(op)) => matches!(
                op,
                Operation::UpdateInvoice
                    | Operation::GetPaymentStatus
                    | Operation::CancelInvoice
                    | Operation::CommitReservation
                    | Operation::SubmitPaymentReceipt
                    | Operation::RefundPayment
            ),
        }
    }
}

/// What the transport must do besides sending the machine's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFault {
    Delay(Duration),
    Drop,
    HttpStatus(u16),
}

impl Machine {
    /// Adds a rule; returns its id.
    pub fn add_fault(&mut self, mut rule: FaultRule) -> Result<u64, FaultRuleError> {
        rule.action.check(rule.target)?;
        if rule.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
            return Err(FaultRuleError::Probability);
        }
        if rule.remaining == Some(0) {
            return Err(FaultRuleError::ZeroTimes);
        }
        if (rule.invoice.is_some() || rule.customer.is_some()) && !rule.target.about_an_existing_invoice() {
            return Err(FaultRuleError::NotAboutAnInvoice { target: target_name(rule.target) });
        }
        self.last_fault_id += 1;
        rule.id = self.last_fault_id;
        let id = rule.id;
        self.faults.push(rule);
        Ok(id)
    }

    pub fn faults(&self) -> &[FaultRule] {
        &self.faults
    }

    /// Removes one rule (`Some(id)`) or all; returns how many were removed.
    pub fn clear_faults(&mut self, id: Option<u64>) -> usize {
        let before = self.faults.len();
        self.faults.retain(|r| id.is_some_and(|id| r.id != id));
        before - self.faults.len()
    }

    /// The first rule that fires for a call, consuming one of its `remaining`.
    pub(crate) fn fire_fault(
        &mut self,
        target: FaultTarget,
        call: CallScope<'_>,
        fx: &mut Effects,
    ) -> Option<FaultAction> {
        let CallScope { terminal, merchant, invoice } = call;
        let operation = match target {
            FaultTarget::Soap(op) => op,
            _ => None,
        };
        let mut index = None;
        for i in 0..self.faults.len() {
            let rule = &self.faults[i];
            let target_matches = match (rule.target, target) {
                (FaultTarget::Soap(None), FaultTarget::Soap(_)) => true,
                (a, b) => a == b,
            };
            let matches = target_matches
                && rule.terminal.as_deref().is_none_or(|t| Some(t) == terminal)
                && rule.merchant.as_deref().is_none_or(|m| Some(m) == merchant)
                && rule.issued_from.is_none_or(|from| !self.issued_before(invoice, from))
                && rule.invoice.as_deref().is_none_or(|own| Some(own) == invoice)
                && rule.customer.as_deref().is_none_or(|own| self.customer_of(invoice) == Some(own));
            if !matches {
                continue;
            }
            let probability = rule.probability;
            if probability.is_some_and(|p| self.next_random() >= p) {
                continue;
            }
            index = Some(i);
            break;
        }
        let index = index?;
        let rule = &mut self.faults[index];
        let action = rule.action.clone();
        if let Some(remaining) = rule.remaining.as_mut() {
            *remaining -= 1;
            if *remaining == 0 {
                self.faults.remove(index);
            }
        }
        fx.event(Event::FaultInjected {
            target: target_name(target),
            operation,
            terminal: terminal.map(str::to_owned),
            invoice: invoice.map(str::to_owned),
            fault: action.describe(),
        });
        Some(action)
    }

    /// Whether the call is about an invoice the mock issued before `from` (a call about
    /// an unknown reference cannot be told apart from a new one, so it is not).
    fn issued_before(&self, invoice: Option<&str>, from: Timestamp) -> bool {
        invoice.and_then(|reference| self.invoices.get(reference)).is_some_and(|record| record.issued_at < from)
    }

    /// The customer who has the invoice open in the app, or who confirmed it.
    fn customer_of(&self, invoice: Option<&str>) -> Option<&str> {
        let record = self.invoices.get(invoice?)?;
        record.payer.as_deref().or(record.opened_by.as_deref())
    }

    /// Faults for a SOAP call: an answer that replaces the machine's, or something the
    /// transport does after answering.
    pub(crate) fn soap_fault(
        &mut self,
        op: Operation,
        call: CallScope<'_>,
        fx: &mut Effects,
    ) -> (Option<Reply>, Option<TransportFault>) {
        match self.fire_fault(FaultTarget::Soap(Some(op)), call, fx) {
            None => (None, None),
            Some(FaultAction::ResultCode(code)) => {
                (Some(Reply::Response(Response::result(op, ResultCode(code)))), None)
            }
            Some(FaultAction::SoapFault(text)) => (Some(Reply::Fault(SoapFault::server(text))), None),
            // The transport answers the bare status without a body, like a failing proxy.
            Some(FaultAction::HttpStatus(status)) => (
                Some(Reply::Fault(SoapFault::server(format!("injected HTTP {status}")))),
                Some(TransportFault::HttpStatus(status)),
            ),
            Some(FaultAction::Delay(delay)) => (None, Some(TransportFault::Delay(delay))),
            Some(FaultAction::DropConnection) => (None, Some(TransportFault::Drop)),
        }
    }
}

/// Who a call comes from (or is about), for scoped rules and the journal.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallScope<'a> {
    pub terminal: Option<&'a str>,
    /// merchantId.
    pub merchant: Option<&'a str>,
    pub invoice: Option<&'a str>,
}

fn target_name(target: FaultTarget) -> String {
    match target {
        FaultTarget::Soap(Some(op)) => op.name().to_owned(),
        FaultTarget::Soap(None) => "*".to_owned(),
        FaultTarget::CreatePurchase => "createPurchase".to_owned(),
        FaultTarget::Notification => "notification".to_owned(),
    }
}

mod millis {
    //! A delay as milliseconds in JSON.
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}
