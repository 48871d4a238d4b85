//! From the file as written ([`super::raw`]) to the scenario the runner executes
//! ([`super::steps`]): every step typed and checked, every problem collected with its
//! file, line and key, none fatal to the checks after it.

use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use glase_protocol::{InvoiceStatus, Operation};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_saphyr::{Location, Spanned};

use super::error::Problem;
use super::raw::{self, RawScenario, Scalar};
use super::steps::{
    CallScope, ConfirmOutcome, Driver, DriverOutcome, FaultKind, FaultSpec, InvoiceRef, Item, Located, Mark,
    NotifyKind, Profile, PurchaseOutcome, STEP_KINDS, Scenario, Setup, Step, Timer, Timing, Wait,
};
use crate::spelling::closest;

// Each step kind's resolution, by who acts: `step` dispatches.
mod customer;
mod expect;
mod glase;
mod machine;
mod shop;
mod till;

/// The five createPurchase error codes (seed 000).
const ERROR_CODES: &[&str] = mock_glase::machine::ups::ERROR_CODES;
/// Machine states of the machine driver contract.
const MACHINE_STATES: &[&str] = &["idle", "reserved", "unlocked", "vending", "out-of-service"];
/// Order states of the shop driver contract.
const ORDER_STATES: &[&str] = &["pending", "paid", "canceled", "failed"];
/// Default polling window of `expect_*` steps without `within`.
const DEFAULT_WITHIN: Duration = Duration::from_secs(5);
/// Default observation window of `expect_no_call` without `during`.
const DEFAULT_DURING: Duration = Duration::from_secs(1);

/// Everything a file's checks need to know besides the file.
pub(crate) struct Resolver<'a> {
    pub file: &'a str,
    /// The file's text, to quote steps as written.
    pub text: &'a str,
    pub known_rule: &'a dyn Fn(&str) -> bool,
    pub problems: &'a mut Vec<Problem>,
}

/// Where a step's checks are: its location and key, and what it may refer to.
struct StepCx {
    line: Option<u64>,
    column: Option<u64>,
    key: String,
}

impl Resolver<'_> {
    fn problem(&mut self, location: Option<Location>, key: impl Into<String>, message: impl Into<String>) {
        let (line, column) = match location {
            Some(l) if l.line() > 0 => (Some(l.line()), Some(l.column())),
            _ => (None, None),
        };
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line,
            column,
            key: key.into(),
            message: message.into(),
        });
    }

    fn step_problem(&mut self, cx: &StepCx, field: &str, message: impl Into<String>) {
        let key = if field.is_empty() { cx.key.clone() } else { format!("{}.{field}", cx.key) };
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line: cx.line,
            column: cx.column,
            key,
            message: message.into(),
        });
    }

    /// Parses and resolves one file; `None` if it has problems (all recorded).
    pub fn resolve(&mut self) -> Option<Scenario> {
        let text = self.text;
        let before = self.problems.len();
        let options = serde_saphyr::options! {};
        let raw: RawScenario = match serde_saphyr::from_str_with_options(text, options) {
            Ok(raw) => raw,
            Err(error) => {
                let message = error
                    .render_with_options(serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off });
                self.problem(error.location(), "", strip_location_suffix(&message));
                return None;
            }
        };
        let scenario = self.scenario(raw);
        (self.problems.len() == before).then_some(scenario).flatten()
    }

    fn scenario(&mut self, raw: RawScenario) -> Option<Scenario> {
        let id = raw.id.value.trim().to_owned();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_/.".contains(&b)) {
            self.problem(
                Some(raw.id.referenced),
                "id",
                format!("{id:?} must be lower-case words joined by '-' and '/', like unattended/happy-path"),
            );
        }
        if raw.title.value.trim().is_empty() {
            self.problem(Some(raw.title.referenced), "title", "must not be empty");
        }
        let profiles = self.profiles(&raw.profiles);
        let requires = self.requires(&raw.requires);
        let spec = raw
            .spec
            .iter()
            .map(|s| match &s.value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect();
        let rules = self.rules(&raw.rules);
        let covers = self.covers(&raw.covers);
        let setup = match raw.setup {
            Some(setup) => self.setup(setup),
            None => Setup::default(),
        };
        let (steps, expected_findings) = self.steps(raw.steps, &requires);
        Some(Scenario {
            id,
            title: raw.title.value.trim().to_owned(),
            description: raw.description.map(|d| d.trim().to_owned()),
            file: self.file.to_owned(),
            sha256: super::sha256_hex(self.text),
            profiles,
            requires,
            spec,
            rules,
            covers,
            setup,
            steps,
            expected_findings,
        })
    }

    fn profiles(&mut self, raw: &Spanned<Vec<Spanned<String>>>) -> Vec<Profile> {
        let mut profiles = Vec::new();
        for (i, p) in raw.value.iter().enumerate() {
            match Profile::parse(p.value.trim()) {
                Some(profile) => profiles.push(profile),
                None => self.problem(
                    Some(p.referenced),
                    format!("profiles[{i}]"),
                    format!("unknown profile {:?}: expected unattended, webshop or pos", p.value),
                ),
            }
        }
        if raw.value.is_empty() {
            self.problem(Some(raw.referenced), "profiles", "name at least one profile (unattended, webshop, pos)");
        }
        profiles
    }

    fn requires(&mut self, raw: &[Spanned<String>]) -> Vec<Driver> {
        let mut requires = Vec::new();
        for (i, r) in raw.iter().enumerate() {
            match Driver::parse(r.value.trim()) {
                Some(driver) => requires.push(driver),
                None => self.problem(
                    Some(r.referenced),
                    format!("requires[{i}]"),
                    format!("unknown driver {:?}: expected machine-driver, shop-driver or pos-driver", r.value),
                ),
            }
        }
        requires
    }

    /// The rule ids a scenario names, upper-cased; unknown ones are problems.
    fn rules(&mut self, raw: &[Spanned<String>]) -> Vec<String> {
        let mut rules = Vec::new();
        for (i, r) in raw.iter().enumerate() {
            if (self.known_rule)(r.value.trim()) {
                rules.push(r.value.trim().to_ascii_uppercase());
            } else {
                self.problem(Some(r.referenced), format!("rules[{i}]"), unknown_rule(&r.value));
            }
        }
        rules
    }

    /// The certification checklist items a scenario covers; unknown ones are problems.
    fn covers(&mut self, raw: &[Spanned<String>]) -> Vec<String> {
        let mut covers = Vec::new();
        for (i, c) in raw.iter().enumerate() {
            match crate::checklist::find(&c.value) {
                Some(item) => covers.push(item.id()),
                None => {
                    let known: Vec<String> = crate::checklist::CHECKLIST.iter().map(|i| i.id()).collect();
                    self.problem(
                        Some(c.referenced),
                        format!("covers[{i}]"),
                        format!("{:?} is not a certification checklist item; items are: {}", c.value, known.join(", ")),
                    );
                }
            }
        }
        covers
    }

    /// The steps, each resolved and located, and the findings `expect_findings` names.
    /// `as:` names and the kinds of earlier steps are known to the steps after them.
    fn steps(
        &mut self,
        raw: Spanned<Vec<Spanned<Value>>>,
        requires: &[Driver],
    ) -> (Vec<Located<Step>>, Option<Vec<String>>) {
        let mut names = HashSet::new();
        let mut seen = HashSet::new();
        let mut steps = Vec::new();
        let mut expected_findings = None;
        if raw.value.is_empty() {
            self.problem(Some(raw.referenced), "steps", "a scenario needs at least one step");
        }
        for (i, step) in raw.value.into_iter().enumerate() {
            let location = step.referenced;
            let Some((kind, args)) = self.split_step(i, step) else { continue };
            let cx = StepCx {
                line: (location.line() > 0).then(|| location.line()),
                column: (location.line() > 0).then(|| location.column()),
                key: format!("steps[{i}].{kind}"),
            };
            let (args, rule) = self.rule_of(&cx, args);
            let text = self.quote(cx.line, &kind).unwrap_or_else(|| describe(&kind, &args));
            let Some(resolved) = self.step(&cx, &kind, args, &mut names, &seen) else { continue };
            if let Step::ExpectFindings(ids) = &resolved {
                if expected_findings.is_some() {
                    self.step_problem(&cx, "", "expect_findings may appear only once");
                }
                expected_findings = Some(ids.clone());
            }
            if let Some(driver) = resolved.driver()
                && !requires.contains(&driver)
                && !(driver == Driver::Shop && requires.contains(&Driver::Pos))
            {
                let needs = match driver {
                    Driver::Shop => "the shop-driver (or, to sell at a till, the pos-driver)".to_owned(),
                    other => format!("the {}", other.as_str()),
                };
                self.step_problem(&cx, "", format!("this step needs {needs}: add it to `requires`"));
            }
            seen.insert(kind.clone());
            let location = match cx.line {
                Some(line) => format!("{}:{line}", self.file),
                None => self.file.to_owned(),
            };
            steps.push(Located { value: resolved, location, text, rule });
        }
        (steps, expected_findings)
    }

    /// The step's line as written (`scan: {machine: machine-1}`), when the whole step
    /// is on it.
    fn quote(&self, line: Option<u64>, kind: &str) -> Option<String> {
        let index = usize::try_from(line?).ok()?.checked_sub(1)?;
        let written = self.text.lines().nth(index)?.trim();
        let written = written.strip_prefix("- ").unwrap_or(written).trim();
        let written = match written.find(" #") {
            Some(comment) => written[..comment].trim_end(),
            None => written,
        };
        let complete = written == kind || written.starts_with(&format!("{kind}:")) && !written.ends_with(':');
        complete.then(|| written.to_owned())
    }

    fn setup(&mut self, setup: Spanned<Value>) -> Setup {
        let cx = StepCx {
            line: Some(setup.referenced.line()).filter(|l| *l > 0),
            column: Some(setup.referenced.column()),
            key: "setup".to_owned(),
        };
        let Some(args) = self.args::<raw::SetupArgs>(&cx, setup.value) else { return Setup::default() };
        let wallet = args.wallet.and_then(|w| self.money(&cx, "wallet", &w));
        if args.deadline_scale.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
            self.step_problem(&cx, "deadline_scale", "must be a positive number");
        }
        let faults = args
            .faults
            .into_iter()
            .enumerate()
            .filter_map(|(i, f)| self.fault(&cx, &format!("faults[{i}]"), f))
            .collect();
        Setup { wallet, deadline_scale: args.deadline_scale, faults }
    }

    /// A step is a one-key map (`- scan: {…}`) or a bare key (`- clear_faults`).
    fn split_step(&mut self, i: usize, step: Spanned<Value>) -> Option<(String, Value)> {
        let location = Some(step.referenced);
        match step.value {
            Value::String(kind) => Some((kind, Value::Null)),
            Value::Object(map) if map.len() == 1 => map.into_iter().next(),
            Value::Object(map) => {
                let keys: Vec<&String> = map.keys().collect();
                self.problem(location, format!("steps[{i}]"), format!("a step is a map with exactly one key (the step), found {keys:?}; start each step with its own '-'"));
                None
            }
            other => {
                self.problem(location, format!("steps[{i}]"), format!("a step is a map like `scan: {{machine: machine-1}}`, found {other}"));
                None
            }
        }
        .and_then(|(kind, args)| {
            if STEP_KINDS.contains(&kind.as_str()) {
                Some((kind, args))
            } else {
                let hint = closest(&kind, STEP_KINDS).map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default();
                self.problem(location, format!("steps[{i}]"), format!("unknown step `{kind}`{hint}; steps are: {}", STEP_KINDS.join(", ")));
                None
            }
        })
    }

    /// Takes `rule: ID` out of a step's arguments (any step may name the rule it checks).
    fn rule_of(&mut self, cx: &StepCx, args: Value) -> (Value, Option<String>) {
        let Value::Object(mut map) = args else { return (args, None) };
        let rule = match map.remove("rule") {
            None => None,
            Some(Value::String(id)) if (self.known_rule)(id.trim()) => Some(id.trim().to_ascii_uppercase()),
            Some(other) => {
                let text = other.as_str().map_or_else(|| other.to_string(), str::to_owned);
                self.step_problem(cx, "rule", unknown_rule(&text));
                None
            }
        };
        (Value::Object(map), rule)
    }

    fn args<T: DeserializeOwned>(&mut self, cx: &StepCx, value: Value) -> Option<T> {
        let value = if value.is_null() { Value::Object(serde_json::Map::new()) } else { value };
        match serde_json::from_value(value) {
            Ok(args) => Some(args),
            Err(error) => {
                self.step_problem(cx, "", error.to_string());
                None
            }
        }
    }

    fn step(
        &mut self,
        cx: &StepCx,
        kind: &str,
        args: Value,
        names: &mut HashSet<String>,
        seen: &HashSet<String>,
    ) -> Option<Step> {
        let before = self.problems.len();
        let step = match kind {
            "scan" => self.scan_step(cx, args, names)?,
            "scan_invoice" => self.scan_invoice_step(cx, args, names)?,
            "confirm" => self.confirm_step(cx, args, names)?,
            "wrong_pin" => Step::WrongPin { invoice: self.invoice_arg(cx, args, names)? },
            "cancel" => Step::Cancel { invoice: self.invoice_arg(cx, args, names)? },
            "walk_away" => Step::WalkAway { invoice: self.invoice_arg(cx, args, names)? },
            "set_wallet" => self.set_wallet_step(cx, args)?,
            "race" => self.race_step(cx, args, names)?,
            "vend" => self.vend_step(cx, args)?,
            "out_of_service" | "in_service" => self.machine_service_step(cx, args, kind)?,
            "checkout" => self.checkout_step(cx, args, names)?,
            "refund" => self.refund_step(cx, args)?,
            "shop_cancel" => self.shop_cancel_step(cx, args)?,
            "shop_close" => self.shop_close_step(cx, args)?,
            "till_register" | "till_unregister" => self.till_registration_step(cx, args, kind)?,
            "scan_till" => self.scan_till_step(cx, args, names)?,
            "fault" => self.fault_step(cx, args)?,
            "clear_faults" => self.clear_faults_step(cx, args)?,
            "advance_clock" => self.advance_clock_step(cx, args)?,
            "wait" => self.wait_step(cx, args)?,
            "notify" => self.notify_step(cx, args, names)?,
            "expect_purchase" => self.expect_purchase_step(cx, args)?,
            "expect_race" => self.expect_race_step(cx, args, seen)?,
            "expect_status" => self.expect_status_step(cx, args, names)?,
            "expect_call" => self.expect_call_step(cx, args, names, seen)?,
            "expect_no_call" => self.expect_no_call_step(cx, args, names, seen)?,
            "expect_machine" => self.expect_machine_step(cx, args)?,
            "expect_order" => self.expect_order_step(cx, args, seen)?,
            "expect_refund" => self.expect_refund_step(cx, args, seen)?,
            "expect_payment" => self.expect_payment_step(cx, args, names)?,
            "expect_findings" => self.expect_findings_step(cx, args)?,
            // split_step only lets known kinds through.
            other => {
                self.step_problem(cx, "", format!("unknown step `{other}`"));
                return None;
            }
        };
        (self.problems.len() == before).then_some(step)
    }

    fn invoice_arg(&mut self, cx: &StepCx, args: Value, names: &HashSet<String>) -> Option<InvoiceRef> {
        let a: raw::InvoiceArgs = self.args(cx, args)?;
        Some(self.invoice(cx, a.invoice, names))
    }

    /// `invoice: NAME` must name an invoice defined with `as:` in an earlier step.
    fn invoice(&mut self, cx: &StepCx, name: Option<String>, names: &HashSet<String>) -> InvoiceRef {
        match name {
            None => InvoiceRef::Current,
            Some(name) if name == "current" => InvoiceRef::Current,
            Some(name) => {
                if !names.contains(&name) {
                    self.step_problem(
                        cx,
                        "invoice",
                        format!("no earlier step names an invoice `{name}` (with `as: {name}`)"),
                    );
                }
                InvoiceRef::Named(name)
            }
        }
    }

    fn scope(&mut self, cx: &StepCx, name: Option<String>, names: &HashSet<String>) -> CallScope {
        match name.as_deref() {
            None => CallScope::Default,
            Some("any") => CallScope::Any,
            Some(_) => CallScope::Invoice(self.invoice(cx, name, names)),
        }
    }

    fn define(&mut self, cx: &StepCx, alias: Option<String>, names: &mut HashSet<String>) -> Option<String> {
        let alias = alias?;
        if ["current", "any"].contains(&alias.as_str()) {
            self.step_problem(cx, "as", format!("`{alias}` is reserved"));
        } else if !names.insert(alias.clone()) {
            self.step_problem(cx, "as", format!("the name `{alias}` is already used by an earlier step"));
        }
        Some(alias)
    }

    fn mark(&mut self, cx: &StepCx, after: Option<&str>, seen: &HashSet<String>) -> Option<Mark> {
        match after {
            None | Some("start") => Some(Mark::Start),
            Some("notification") => Some(Mark::Notification),
            Some(step) if STEP_KINDS.contains(&step) => {
                if !seen.contains(step) {
                    self.step_problem(cx, "after", format!("no `{step}` step comes before this one"));
                }
                Some(Mark::Step(step.to_owned()))
            }
            Some(other) => {
                self.step_problem(cx, "after", format!("{other:?} is not `start`, `notification` or a step name"));
                None
            }
        }
    }

    fn after_step(&mut self, cx: &StepCx, step: &str, seen: &HashSet<String>) {
        if !seen.contains(step) {
            self.step_problem(cx, "", format!("needs an earlier `{step}` step"));
        }
    }

    fn timing(&mut self, cx: &StepCx, within: Option<&Scalar>, during: Option<&Scalar>) -> Option<Timing> {
        match (within, during) {
            (Some(_), Some(_)) => {
                self.step_problem(
                    cx,
                    "",
                    "give `within` (holds at some point) or `during` (holds throughout), not both",
                );
                None
            }
            (Some(w), None) => self.wait(cx, "within", w).map(Timing::Within),
            (None, Some(d)) => self.duration(cx, "during", d).map(Timing::During),
            (None, None) => Some(Timing::Within(Wait::fixed(DEFAULT_WITHIN))),
        }
    }

    fn operation(&mut self, cx: &StepCx, name: &str) -> Option<Operation> {
        let operation = Operation::from_name(name.trim());
        if operation.is_none() {
            self.step_problem(
                cx,
                "operation",
                format!("unknown SOAP operation {name:?} (e.g. sendInvoice, getPaymentStatus, commitReservation)"),
            );
        }
        operation
    }

    fn error_code(&mut self, cx: &StepCx, code: &str) {
        if !ERROR_CODES.contains(&code) {
            self.step_problem(
                cx,
                "error_code",
                format!("{code:?} is not a createPurchase error code ({})", ERROR_CODES.join(", ")),
            );
        }
    }

    fn driver_outcome(&mut self, cx: &StepCx, text: Option<&str>, allowed: &[&str]) -> Option<DriverOutcome> {
        let text = text?;
        if !allowed.contains(&text) {
            self.step_problem(cx, "expect", format!("{text:?} is not one of {}", allowed.join(", ")));
            return None;
        }
        self.choice(
            cx,
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

    fn choice<T: Copy>(&mut self, cx: &StepCx, field: &str, text: &str, options: &[(&str, T)]) -> Option<T> {
        let found = options.iter().find(|(name, _)| *name == text.trim()).map(|(_, value)| *value);
        if found.is_none() {
            let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
            self.step_problem(cx, field, format!("{text:?} is not one of {}", names.join(", ")));
        }
        found
    }

    fn fault(&mut self, cx: &StepCx, field: &str, a: raw::FaultArgs) -> Option<FaultSpec> {
        let key = |name: &str| if field.is_empty() { name.to_owned() } else { format!("{field}.{name}") };
        if mock_glase::machine::FaultTarget::parse(a.operation.trim()).is_none() {
            self.step_problem(
                cx,
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
                self.step_problem(cx, &key("http_status"), format!("{status} is not a 5xx status"));
            }
            actions.push(FaultKind::HttpStatus(status));
        }
        if let Some(delay) = &a.delay {
            actions.push(FaultKind::Delay(self.duration(cx, &key("delay"), delay)?));
        }
        if a.drop_connection {
            actions.push(FaultKind::DropConnection);
        }
        if actions.len() != 1 {
            self.step_problem(
                cx,
                field,
                "give exactly one of result_code, soap_fault, http_status, delay, drop_connection",
            );
            return None;
        }
        if a.times == Some(0) {
            self.step_problem(cx, &key("times"), "must be at least 1 (leave it out to fault until clear_faults)");
        }
        Some(FaultSpec { operation: a.operation.trim().to_owned(), action: actions.remove(0), times: a.times })
    }

    fn money(&mut self, cx: &StepCx, field: &str, value: &Scalar) -> Option<Decimal> {
        let text = value.text();
        match Decimal::from_str(text.trim()) {
            Ok(amount) if amount >= Decimal::ZERO && amount.normalize().scale() <= 2 => Some(amount),
            Ok(_) => {
                self.step_problem(cx, field, format!("{text:?}: an amount is ≥ 0 with at most 2 decimals"));
                None
            }
            Err(_) => {
                self.step_problem(cx, field, format!("{text:?} is not an amount like \"20.00\""));
                None
            }
        }
    }

    /// A window: a duration, a timer, a timer plus or minus durations, and an upper bound
    /// (`5s`, `status-deadline`, `idle-timeout + 5s`, `unpaid-timeout - 2s, at most 10s`).
    /// The operators need spaces around them: timer names and `1m 30s` hold `-` and spaces.
    fn wait(&mut self, cx: &StepCx, field: &str, value: &Scalar) -> Option<Wait> {
        let text = value.text();
        let (sum, bound) = match text.split_once(", at most ") {
            Some((sum, bound)) => (sum, Some(bound)),
            None => (text.as_str(), None),
        };
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
                    self.step_problem(
                        cx,
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
                        self.step_problem(
                            cx,
                            field,
                            format!(
                                "{part:?} is neither a duration like 500ms, 2s or 1m ({error}) nor a timer ({})",
                                timers.join(", ")
                            ),
                        );
                        return None;
                    }
                }
            }
            match after {
                Some((op, tail)) => {
                    sign = op.trim().chars().next().unwrap_or('+');
                    rest = tail;
                }
                None => break,
            }
        }
        if let Some(bound) = bound {
            match humantime::parse_duration(bound.trim()) {
                Ok(most) => wait.at_most = Some(most),
                Err(error) => {
                    self.step_problem(cx, field, format!("{bound:?} after `at most` is not a duration: {error}"));
                    return None;
                }
            }
        }
        Some(wait)
    }

    fn duration(&mut self, cx: &StepCx, field: &str, value: &Scalar) -> Option<Duration> {
        let text = value.text();
        match humantime::parse_duration(text.trim()) {
            Ok(duration) => Some(duration),
            Err(error) => {
                self.step_problem(cx, field, format!("{text:?} is not a duration like 500ms, 2s or 1m: {error}"));
                None
            }
        }
    }
}

/// "unknown rule id" with the ids it most likely meant.
fn unknown_rule(id: &str) -> String {
    let near = crate::rules::suggest(id);
    let hint = if near.is_empty() { String::new() } else { format!(" (did you mean {}?)", near.join(", ")) };
    format!("unknown rule id {id:?}{hint}; `glase-conformance list` shows every rule")
}

fn items(items: Vec<raw::ItemArgs>) -> Vec<Item> {
    items.into_iter().map(|i| Item { sku: i.sku, quantity: i.quantity }).collect()
}

/// One-line description of a step, as written: `scan {"machine":"machine-1"}`.
fn describe(kind: &str, args: &Value) -> String {
    match args {
        Value::Null => kind.to_owned(),
        Value::Object(map) if map.is_empty() => kind.to_owned(),
        Value::String(text) => format!("{kind}: {text}"),
        other => format!("{kind}: {other}"),
    }
}

/// serde-saphyr's plain rendering ends with " at line L column C"; the problem carries
/// the location itself.
fn strip_location_suffix(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message);
    match first.rfind(" at line ") {
        Some(at) => first[..at].to_owned(),
        None => first.to_owned(),
    }
}
