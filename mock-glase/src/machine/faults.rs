//! Injected faults: make Glase answer a chosen result code or a SOAP fault, for the next
//! N calls (or until cleared), for one operation or all, from one terminal or any.

use glase_protocol::{Operation, Reply, Response, ResultCode, SoapFault};
use serde::{Deserialize, Serialize};

use super::{Effects, Event, Machine};

/// What an injected fault does to a matching call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultAction {
    /// Answer with this resultCode (e.g. 90, 93, 94).
    ResultCode(i32),
    /// Answer with a `soap:Server` fault carrying this text.
    SoapFault(String),
}

/// A fault rule. `None` fields match anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// Assigned by the machine.
    #[serde(default)]
    pub id: u64,
    pub operation: Option<Operation>,
    pub terminal: Option<String>,
    pub action: FaultAction,
    /// Calls left to fault; `None` faults until the rule is removed.
    pub remaining: Option<u32>,
}

impl Machine {
    /// Adds a rule; returns its id.
    pub fn add_fault(&mut self, mut rule: FaultRule) -> u64 {
        rule.id = self.faults.iter().map(|r| r.id).max().unwrap_or(0) + 1;
        let id = rule.id;
        self.faults.push(rule);
        id
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

    pub(crate) fn injected_fault(&mut self, op: Operation, terminal: Option<&str>, fx: &mut Effects) -> Option<Reply> {
        let index = self.faults.iter().position(|rule| {
            rule.operation.is_none_or(|o| o == op)
                && rule.terminal.as_deref().is_none_or(|t| Some(t) == terminal)
                && rule.remaining != Some(0)
        })?;
        let rule = &mut self.faults[index];
        let action = rule.action.clone();
        if let Some(remaining) = rule.remaining.as_mut() {
            *remaining -= 1;
            if *remaining == 0 {
                self.faults.remove(index);
            }
        }
        let (reply, shown) = match action {
            FaultAction::ResultCode(code) => {
                (Reply::Response(Response::result(op, ResultCode(code))), format!("resultCode {}", ResultCode(code)))
            }
            FaultAction::SoapFault(text) => {
                (Reply::Fault(SoapFault::server(text.clone())), format!("SOAP fault {text:?}"))
            }
        };
        fx.event(Event::FaultInjected { operation: op, terminal: terminal.map(str::to_owned), fault: shown });
        Some(reply)
    }
}
