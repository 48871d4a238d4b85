//! The suite's vocabulary, shared by the runner, the rules and the reporters: rules and
//! their findings, scenario results, the run report, and the events a run emits.
//!
//! The runner knows nothing about output: it emits [`RunEvent`]s through a callback and
//! returns a [`RunReport`]; reporters turn those into a terminal view, JSON, JUnit and
//! HTML.

use std::time::Duration;

use mock_glase::journal::Entry;
use serde::{Deserialize, Serialize};

/// How binding a rule is (spec section 5; RFC 2119 words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// A SHOULD finding fails the run only under `--strict`.
    Should,
    /// A MUST finding always fails the run.
    Must,
}

/// A rule's identity and provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleInfo {
    /// Stable id, e.g. `UPS-STATUS-BEFORE-UNLOCK`. Never reused for another meaning.
    pub id: String,
    pub level: Level,
    /// One line: what the system under test must do.
    pub summary: String,
    /// Spec section(s), e.g. `5`, `2.1 step 7`.
    pub spec_section: String,
    /// The sentence of the user's seed (or the spec) the rule comes from, verbatim.
    pub source_text: String,
    /// Which integrations it applies to (`unattended`, `webshop`, `pos`, `all`).
    pub applies_to: Vec<String>,
}

/// A rule broken in a scenario, with the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub rule: String,
    pub level: Level,
    /// What should have happened.
    pub expected: String,
    /// What happened instead.
    pub actual: String,
    /// Journal sequence numbers of the messages that show it.
    pub evidence: Vec<u64>,
    /// The invoice concerned, when there is one.
    pub invoice: Option<String>,
}

/// A scenario step whose expectation did not hold (or could not be carried out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepFailure {
    /// 1-based index of the step in its scenario.
    pub step: usize,
    /// The step as written (`expect_status: RESERVED`, …).
    pub description: String,
    pub expected: String,
    pub actual: String,
    /// File and line of the step in the scenario file.
    pub location: Option<String>,
    /// The rule the step checks (`rule:` in the file): its finding says how bad this is.
    /// `None`: a scenario expectation that is not a protocol rule (reports say so).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// How a scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    Passed,
    /// Only SHOULD findings (a failure under `--strict`).
    PassedWithWarnings,
    Failed,
    /// A required driver is absent, or the profile does not include it.
    Skipped,
    /// Not decided: a wait `--patience` cut ran out (the reason says which and how to
    /// make it conclusive), or the scenario could not start on a clean machine. Never a
    /// violation; it fails the run only under `--strict`.
    Inconclusive,
    /// The system under test could not be reached.
    Error,
}

/// One scenario's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioResult {
    pub id: String,
    pub title: String,
    /// The scenario file it came from.
    pub file: String,
    pub profiles: Vec<String>,
    pub verdict: Verdict,
    /// Why it was skipped, inconclusive or errored.
    pub reason: Option<String>,
    #[serde(with = "duration_ms")]
    pub duration: Duration,
    pub failures: Vec<StepFailure>,
    pub findings: Vec<Finding>,
    /// The certification checklist items it exercises (`covers:`, e.g. `webshop/5`).
    pub covers: Vec<String>,
    /// The journal of the scenario (its merchant's entries), numbered as in the mock.
    pub journal: Vec<Entry>,
}

/// Everything a run produced.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    pub suite_version: String,
    /// The git commit the suite was built from (`unknown` outside a checkout).
    pub suite_commit: String,
    /// Who the system under test is, as declared (`--system-name`, …).
    pub system: crate::system::Identity,
    /// RFC 3339.
    pub started_at: String,
    #[serde(with = "duration_ms")]
    pub duration: Duration,
    /// What was tested: its createPurchase URL / shop driver, for people.
    pub target: String,
    pub profile: String,
    pub strict: bool,
    pub seed: u64,
    /// What the waits were judged against: the declared timers, `--patience`, the
    /// deadline scale.
    pub conditions: Conditions,
    pub rules: Vec<RuleInfo>,
    pub results: Vec<ScenarioResult>,
}

impl Verdict {
    /// Every verdict, in the order reports count them.
    pub const ALL: [Self; 6] =
        [Self::Passed, Self::PassedWithWarnings, Self::Failed, Self::Inconclusive, Self::Skipped, Self::Error];
}

impl RunReport {
    /// Whether the run passes (exit code 0).
    pub fn passed(&self) -> bool {
        self.results.iter().all(|r| match r.verdict {
            Verdict::Passed | Verdict::Skipped => true,
            Verdict::PassedWithWarnings | Verdict::Inconclusive => !self.strict,
            Verdict::Failed | Verdict::Error => false,
        })
    }

    pub fn count(&self, verdict: Verdict) -> usize {
        self.results.iter().filter(|r| r.verdict == verdict).count()
    }
}

/// What a run's waits were judged against.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conditions {
    /// The system's idle timeout as declared (`60s`); `None`: undeclared (the library's
    /// 3 m bound was assumed).
    pub idle_timeout: Option<String>,
    /// Its unpaid-order timeout as declared; `None`: undeclared (5 m assumed).
    pub unpaid_timeout: Option<String>,
    /// `--patience`, if given.
    pub patience: Option<String>,
    /// Glase's deadlines were multiplied by this.
    pub deadline_scale: f64,
}

impl Conditions {
    /// `idle timeout 60s (declared), unpaid timeout 5m (undeclared: the library's bound), patience 10s, deadlines × 1`.
    pub fn describe(&self) -> String {
        let timer = |name: &str, value: &Option<String>, bound: &str| match value {
            Some(value) => format!("{name} {value} (declared)"),
            None => format!("{name} undeclared (at most {bound} assumed)"),
        };
        let mut parts =
            vec![timer("idle timeout", &self.idle_timeout, "3m"), timer("unpaid timeout", &self.unpaid_timeout, "5m")];
        if let Some(patience) = &self.patience {
            parts.push(format!("patience {patience}"));
        }
        parts.push(format!("Glase deadlines × {}", self.deadline_scale));
        parts.join(", ")
    }
}

/// What the runner reports while it works.
#[derive(Debug, Clone)]
pub enum RunEvent {
    Started { scenarios: usize },
    ScenarioStarted { id: String, title: String },
    ScenarioFinished(Box<ScenarioResult>),
    Finished,
}

mod duration_ms {
    //! A duration as whole milliseconds in JSON.
    use std::time::Duration;

    use serde::Serializer;

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }
}
