//! Checking one step's arguments (or the setup's): the typed values every step kind is
//! made of — amounts, durations, windows, invoice names, outcomes, faults — each checked
//! with its problem recorded under the step's file, line and key. A step kind
//! ([`crate::step`]) resolves its own arguments with these; none of them stops at the
//! first problem.

use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use glase_protocol::Operation;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::Problem;
use super::raw::{FaultArgs, Scalar};
use crate::step::values::{CallScope, DriverOutcome, FaultKind, FaultSpec, InvoiceRef, Mark, Timer, Timing, Wait};

/// The five createPurchase error codes (seed 000).
const ERROR_CODES: &[&str] = mock_glase::machine::ups::ERROR_CODES;
/// Default polling window of `expect_*` steps without `within`.
pub(crate) const DEFAULT_WITHIN: Duration = Duration::from_secs(5);

/// One step being resolved: where it is written, what the steps before it defined, and
/// where its problems go.
pub(crate) struct StepCx<'r> {
    pub file: &'r str,
    pub line: Option<u64>,
    pub column: Option<u64>,
    /// `steps[3].scan`, or `setup`.
    pub key: String,
    pub problems: &'r mut Vec<Problem>,
    pub known_rule: &'r dyn Fn(&str) -> bool,
    /// `as:` names the steps before it defined (a step that defines one adds it).
    pub names: &'r mut HashSet<String>,
    /// The kinds of the steps before it (`after: confirm` needs an earlier `confirm`).
    pub seen: &'r HashSet<String>,
    /// Every step key (what `after:` may name).
    pub kinds: &'r [&'static str],
}

impl StepCx<'_> {
    /// Records a problem with one of the step's fields (`""`: the step as a whole).
    pub fn problem(&mut self, field: &str, message: impl Into<String>) {
        let key = if field.is_empty() { self.key.clone() } else { format!("{}.{field}", self.key) };
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line: self.line,
            column: self.column,
            key,
            message: message.into(),
        });
    }

    /// How many problems have been recorded so far (of every step).
    pub fn problem_count(&self) -> usize {
        self.problems.len()
    }

    /// The arguments as written, in their shape (`null`: no arguments).
    pub fn args<T: DeserializeOwned>(&mut self, value: Value) -> Option<T> {
        let value = if value.is_null() { Value::Object(serde_json::Map::new()) } else { value };
        match serde_json::from_value(value) {
            Ok(args) => Some(args),
            Err(error) => {
                self.problem("", error.to_string());
                None
            }
        }
    }

    /// Takes `rule: ID` out of a step's arguments (any step may name the rule it checks).
    pub fn rule_of(&mut self, args: Value) -> (Value, Option<String>) {
        let Value::Object(mut map) = args else { return (args, None) };
        let rule = match map.remove("rule") {
            None => None,
            Some(Value::String(id)) if (self.known_rule)(id.trim()) => Some(id.trim().to_ascii_uppercase()),
            Some(other) => {
                let text = other.as_str().map_or_else(|| other.to_string(), str::to_owned);
                self.problem("rule", unknown_rule(&text));
                None
            }
        };
        (Value::Object(map), rule)
    }

    /// `invoice: NAME` must name an invoice defined with `as:` in an earlier step.
    pub fn invoice(&mut self, name: Option<String>) -> InvoiceRef {
        match name {
            None => InvoiceRef::Current,
            Some(name) if name == "current" => InvoiceRef::Current,
            Some(name) => {
                if !self.names.contains(&name) {
                    self.problem("invoice", format!("no earlier step names an invoice `{name}` (with `as: {name}`)"));
                }
                InvoiceRef::Named(name)
            }
        }
    }

    pub fn scope(&mut self, name: Option<String>) -> CallScope {
        match name.as_deref() {
            None => CallScope::Default,
            Some("any") => CallScope::Any,
            Some(_) => CallScope::Invoice(self.invoice(name)),
        }
    }

    /// `as: NAME`: names the invoice the step makes, for the steps after it.
    pub fn define(&mut self, alias: Option<String>) -> Option<String> {
        let alias = alias?;
        if ["current", "any"].contains(&alias.as_str()) {
            self.problem("as", format!("`{alias}` is reserved"));
        } else if !self.names.insert(alias.clone()) {
            self.problem("as", format!("the name `{alias}` is already used by an earlier step"));
        }
        Some(alias)
    }

    pub fn mark(&mut self, after: Option<&str>) -> Option<Mark> {
        match after {
            None | Some("start") => Some(Mark::Start),
            Some("notification") => Some(Mark::Notification),
            Some(step) if self.kinds.contains(&step) => {
                if !self.seen.contains(step) {
                    self.problem("after", format!("no `{step}` step comes before this one"));
                }
                Some(Mark::Step(step.to_owned()))
            }
            Some(other) => {
                self.problem("after", format!("{other:?} is not `start`, `notification` or a step name"));
                None
            }
        }
    }

    /// The step only makes sense after an earlier `step` (`expect_refund` after `refund`).
    pub fn after_step(&mut self, step: &str) {
        if !self.seen.contains(step) {
            self.problem("", format!("needs an earlier `{step}` step"));
        }
    }

    pub fn timing(&mut self, within: Option<&Scalar>, during: Option<&Scalar>) -> Option<Timing> {
        match (within, during) {
            (Some(_), Some(_)) => {
                self.problem("", "give `within` (holds at some point) or `during` (holds throughout), not both");
                None
            }
            (Some(w), None) => self.wait("within", w).map(Timing::Within),
            (None, Some(d)) => self.duration("during", d).map(Timing::During),
            (None, None) => Some(Timing::Within(Wait::fixed(DEFAULT_WITHIN))),
        }
    }

    pub fn operation(&mut self, name: &str) -> Option<Operation> {
        let operation = Operation::from_name(name.trim());
        if operation.is_none() {
            self.problem(
                "operation",
                format!("unknown SOAP operation {name:?} (e.g. sendInvoice, getPaymentStatus, commitReservation)"),
            );
        }
        operation
    }

    pub fn error_code(&mut self, code: &str) {
        if !ERROR_CODES.contains(&code) {
            self.problem(
                "error_code",
                format!("{code:?} is not a createPurchase error code ({})", ERROR_CODES.join(", ")),
            );
        }
    }

    /// `expect:` of a driver step, one of `allowed`.
    pub fn driver_outcome(&mut self, text: Option<&str>, allowed: &[&str]) -> Option<DriverOutcome> {
        let text = text?;
        if !allowed.contains(&text) {
            self.problem("expect", format!("{text:?} is not one of {}", allowed.join(", ")));
            return None;
        }
        self.choice(
            "expect",
            text,
            &[
                ("ok", DriverOutcome::Ok),
                ("paid", DriverOutcome::Paid),
                ("canceled", DriverOutcome::Canceled),
                ("refused", DriverOutcome::Refused),
                ("failed", DriverOutcome::Failed),
            ],
        )
    }

    pub fn choice<T: Copy>(&mut self, field: &str, text: &str, options: &[(&str, T)]) -> Option<T> {
        let found = options.iter().find(|(name, _)| *name == text.trim()).map(|(_, value)| *value);
        if found.is_none() {
            let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
            self.problem(field, format!("{text:?} is not one of {}", names.join(", ")));
        }
        found
    }

    /// A fault to inject (a `fault` step, or one of `setup.faults` under `field`).
    pub fn fault(&mut self, field: &str, a: FaultArgs) -> Option<FaultSpec> {
        let key = |name: &str| if field.is_empty() { name.to_owned() } else { format!("{field}.{name}") };
        if mock_glase::machine::FaultTarget::parse(a.operation.trim()).is_none() {
            self.problem(
                &key("operation"),
                format!("{:?} is not a SOAP operation, `*`, `createPurchase` or `notification`", a.operation),
            );
        }
        let mut actions = Vec::new();
        if let Some(code) = a.result_code {
            actions.push(FaultKind::ResultCode(code));
        }
        if let Some(text) = a.soap_fault {
            actions.push(FaultKind::SoapFault(text));
        }
        if let Some(status) = a.http_status {
            if !(500..=599).contains(&status) {
                self.problem(&key("http_status"), format!("{status} is not a 5xx status"));
            }
            actions.push(FaultKind::HttpStatus(status));
        }
        if let Some(delay) = &a.delay {
            actions.push(FaultKind::Delay(self.duration(&key("delay"), delay)?));
        }
        if a.drop_connection {
            actions.push(FaultKind::DropConnection);
        }
        if actions.len() != 1 {
            self.problem(field, "give exactly one of result_code, soap_fault, http_status, delay, drop_connection");
            return None;
        }
        if a.times == Some(0) {
            self.problem(&key("times"), "must be at least 1 (leave it out to fault until clear_faults)");
        }
        Some(FaultSpec { operation: a.operation.trim().to_owned(), action: actions.remove(0), times: a.times })
    }

    pub fn money(&mut self, field: &str, value: &Scalar) -> Option<Decimal> {
        let text = value.text();
        match Decimal::from_str(text.trim()) {
            Ok(amount) if amount >= Decimal::ZERO && amount.normalize().scale() <= 2 => Some(amount),
            Ok(_) => {
                self.problem(field, format!("{text:?}: an amount is ≥ 0 with at most 2 decimals"));
                None
            }
            Err(_) => {
                self.problem(field, format!("{text:?} is not an amount like \"20.00\""));
                None
            }
        }
    }

    /// A window: a duration, a timer, a timer plus or minus durations, and an upper bound
    /// (`5s`, `status-deadline`, `idle-timeout + 5s`, `unpaid-timeout - 2s, at most 10s`).
    /// The operators need spaces around them: timer names and `1m 30s` hold `-` and spaces.
    pub fn wait(&mut self, field: &str, value: &Scalar) -> Option<Wait> {
        let text = value.text();
        let (sum, bound) = match text.split_once(", at most ") {
            Some((sum, bound)) => (sum, Some(bound)),
            None => (text.as_str(), None),
        };
        let mut wait = self.wait_sum(field, &text, sum)?;
        if let Some(bound) = bound {
            match humantime::parse_duration(bound.trim()) {
                Ok(most) => wait.at_most = Some(most),
                Err(error) => {
                    self.problem(field, format!("{bound:?} after `at most` is not a duration: {error}"));
                    return None;
                }
            }
        }
        Some(wait)
    }

    /// `idle-timeout + 5s - 1s`: at most one timer, added, and durations.
    fn wait_sum(&mut self, field: &str, text: &str, sum: &str) -> Option<Wait> {
        let timers: Vec<&str> = Timer::ALL.iter().map(|t| t.as_str()).collect();
        let mut wait = Wait::fixed(Duration::ZERO);
        let mut sign = '+';
        let mut rest = sum.trim();
        loop {
            let next = [" + ", " - "].iter().filter_map(|op| rest.find(op).map(|i| (i, *op))).min();
            let (part, after) = match next {
                Some((i, op)) => (&rest[..i], Some((op, &rest[i + op.len()..]))),
                None => (rest, None),
            };
            let part = part.trim();
            if let Some(timer) = Timer::parse(part) {
                if sign == '-' || wait.timer.replace(timer).is_some() {
                    self.problem(
                        field,
                        format!("{text:?} names two timers, or takes one away: at most one timer, added"),
                    );
                    return None;
                }
            } else {
                match humantime::parse_duration(part) {
                    Ok(d) if sign == '+' => wait.plus = wait.plus.saturating_add(d),
                    Ok(d) => wait.minus = wait.minus.saturating_add(d),
                    Err(error) => {
                        let message = format!(
                            "{part:?} is neither a duration like 500ms, 2s or 1m ({error}) nor a timer ({})",
                            timers.join(", ")
                        );
                        self.problem(field, message);
                        return None;
                    }
                }
            }
            match after {
                Some((op, tail)) => {
                    sign = op.trim().chars().next().unwrap_or('+');
                    rest = tail;
                }
                None => return Some(wait),
            }
        }
    }

    pub fn duration(&mut self, field: &str, value: &Scalar) -> Option<Duration> {
        let text = value.text();
        match humantime::parse_duration(text.trim()) {
            Ok(duration) => Some(duration),
            Err(error) => {
                self.problem(field, format!("{text:?} is not a duration like 500ms, 2s or 1m: {error}"));
                None
            }
        }
    }
}

/// "unknown rule id" with the ids it most likely meant.
pub(crate) fn unknown_rule(id: &str) -> String {
    let near = crate::rules::suggest(id);
    let hint = if near.is_empty() { String::new() } else { format!(" (did you mean {}?)", near.join(", ")) };
    format!("unknown rule id {id:?}{hint}; `glase-conformance list` shows every rule")
}
