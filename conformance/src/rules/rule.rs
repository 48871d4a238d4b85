//! What a rule is: its identity, provenance and documentation ([`Meta`]), and its check
//! over the parsed journal ([`Rule`]).

use super::support;
use crate::results::{Finding, Level, RuleInfo};

/// How a rule is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// Over the journal, after every scenario ([`check_all`]).
    Journal,
    /// Only by scenarios that drive the machine or shop and cite the id.
    Scenario,
    /// An approximation over the journal, and fully by scenarios with a driver.
    JournalAndScenario,
}

/// A rule's identity, provenance and documentation.
#[derive(Debug)]
pub(crate) struct Meta {
    pub id: &'static str,
    pub level: Level,
    pub summary: &'static str,
    pub spec_section: &'static str,
    /// Verbatim from a seed (`../shared/seeds/`) or the spec (quotes from two places are
    /// joined by a line holding only `…`); a test checks it.
    pub source_text: &'static str,
    pub applies_to: &'static [&'static str],
    pub method: Method,
    /// How the check works, for `explain`.
    pub how: &'static str,
    /// What usually fixes a finding, for `explain`.
    pub fixes: &'static str,
}

impl Meta {
    pub(crate) fn info(&self) -> RuleInfo {
        RuleInfo {
            id: self.id.to_owned(),
            level: self.level,
            summary: self.summary.to_owned(),
            spec_section: self.spec_section.to_owned(),
            source_text: self.source_text.to_owned(),
            applies_to: self.applies_to.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// A finding of this rule.
    pub(crate) fn finding(
        &self,
        expected: impl Into<String>,
        actual: impl Into<String>,
        mut evidence: Vec<u64>,
        invoice: Option<&str>,
    ) -> Finding {
        evidence.sort_unstable();
        evidence.dedup();
        Finding {
            rule: self.id.to_owned(),
            level: self.level,
            expected: expected.into(),
            actual: actual.into(),
            evidence,
            invoice: invoice.map(str::to_owned),
        }
    }

    pub(crate) fn applies(&self, profile: &str) -> bool {
        profile == "all" || self.applies_to.iter().any(|p| *p == "all" || *p == profile)
    }
}

/// One rule: its metadata and its check over the parsed journal.
pub(crate) trait Rule: Sync + std::fmt::Debug {
    fn meta(&self) -> &'static Meta;

    /// Findings over one scenario's journal. Scenario-only rules return none.
    fn check(&self, view: &support::View<'_>) -> Vec<Finding>;

    /// Until when (the mock's clock, ms) this journal leaves the rule undecided: a
    /// deadline not yet passed whose outcome is not in the journal. `None`: decided.
    /// The runner waits for it before judging, so a deadline rule fires however early
    /// a scenario ends and whatever the deadline scale.
    fn undecided_until(&self, _view: &support::View<'_>) -> Option<u64> {
        None
    }
}

/// A rule only scenarios can check (through the machine or shop driver): it has its
/// metadata, and nothing to look for in the journal alone.
#[derive(Debug)]
pub(crate) struct ScenarioChecked(pub &'static Meta);

impl Rule for ScenarioChecked {
    fn meta(&self) -> &'static Meta {
        self.0
    }

    fn check(&self, _: &support::View<'_>) -> Vec<Finding> {
        Vec::new()
    }
}
