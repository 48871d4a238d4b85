//! From the file as written ([`super::raw`]) to the scenario the runner executes
//! ([`super::resolved`]): the top level checked here, each step by its kind
//! ([`crate::step`], with [`super::arguments`]); every problem collected with its file,
//! line and key, none fatal to the checks after it.

use std::collections::HashSet;

use serde_json::Value;
use serde_saphyr::{Location, Spanned};

use super::arguments::{StepCx, unknown_rule};
use super::error::Problem;
use super::raw::{self, RawScenario};
use super::resolved::{Located, Profile, Scenario, Setup, sha256_hex};
use crate::spelling::closest;
use crate::step::values::Driver;
use crate::step::{STEP_KINDS, Step};

/// Everything a file's checks need to know besides the file.
pub(crate) struct Resolver<'a> {
    pub file: &'a str,
    /// The file's text, to quote steps as written.
    pub text: &'a str,
    pub known_rule: &'a dyn Fn(&str) -> bool,
    pub problems: &'a mut Vec<Problem>,
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
            sha256: sha256_hex(self.text),
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
            let line = (location.line() > 0).then(|| location.line());
            let text = self.quote(line, &kind);
            let mut cx = StepCx {
                file: self.file,
                line,
                column: (location.line() > 0).then(|| location.column()),
                key: format!("steps[{i}].{kind}"),
                problems: &mut *self.problems,
                known_rule: self.known_rule,
                names: &mut names,
                seen: &seen,
                kinds: STEP_KINDS,
            };
            let (args, rule) = cx.rule_of(args);
            let text = text.unwrap_or_else(|| describe(&kind, &args));
            let Some(resolved) = Step::resolve(&kind, &mut cx, args) else { continue };
            if let Step::ExpectFindings(findings) = &resolved {
                if expected_findings.is_some() {
                    cx.problem("", "expect_findings may appear only once");
                }
                expected_findings = Some(findings.rules.clone());
            }
            if let Some(driver) = resolved.driver()
                && !requires.contains(&driver)
                && !(driver == Driver::Shop && requires.contains(&Driver::Pos))
            {
                let needs = match driver {
                    Driver::Shop => "the shop-driver (or, to sell at a till, the pos-driver)".to_owned(),
                    other => format!("the {}", other.as_str()),
                };
                cx.problem("", format!("this step needs {needs}: add it to `requires`"));
            }
            seen.insert(kind.clone());
            let location = match line {
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
        let (mut names, seen) = (HashSet::new(), HashSet::new());
        let mut cx = StepCx {
            file: self.file,
            line: Some(setup.referenced.line()).filter(|l| *l > 0),
            column: Some(setup.referenced.column()),
            key: "setup".to_owned(),
            problems: &mut *self.problems,
            known_rule: self.known_rule,
            names: &mut names,
            seen: &seen,
            kinds: STEP_KINDS,
        };
        let Some(args) = cx.args::<raw::SetupArgs>(setup.value) else { return Setup::default() };
        let wallet = args.wallet.and_then(|w| cx.money("wallet", &w));
        if args.deadline_scale.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
            cx.problem("deadline_scale", "must be a positive number");
        }
        let faults =
            args.faults.into_iter().enumerate().filter_map(|(i, f)| cx.fault(&format!("faults[{i}]"), f)).collect();
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
