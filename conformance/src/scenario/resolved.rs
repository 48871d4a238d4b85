//! The resolved scenario: typed, validated, ready to run. Everything here was checked by
//! the loader (durations parsed, amounts decimal, operations and statuses known, rule ids
//! in the catalog, invoice names defined before use), so the runner never re-validates.
//! Its steps are [`crate::step::Step`]s, each kind in its own module there.

use std::fmt;

use rust_decimal::Decimal;

use crate::step::Step;
use crate::step::values::{Driver, FaultSpec};

/// One scenario file, resolved.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Stable id, e.g. `unattended/happy-path`.
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// Where it came from: a path, or `embedded:unattended/happy-path.yaml`.
    pub file: String,
    /// SHA-256 (lowercase hex) of the file's exact text as loaded, for the evidence bundle.
    pub sha256: String,
    pub profiles: Vec<Profile>,
    pub requires: Vec<Driver>,
    /// Spec sections it exercises (`2.1`, `5`, …).
    pub spec: Vec<String>,
    /// Rule ids the scenario targets (for the report; every rule is checked anyway).
    pub rules: Vec<String>,
    /// The certification checklist items it exercises (`unattended/3`), for the report.
    pub covers: Vec<String>,
    pub setup: Setup,
    pub steps: Vec<Located<Step>>,
    /// `expect_findings`: exactly these rules must fire (a negative scenario).
    pub expected_findings: Option<Vec<String>>,
}

impl Scenario {
    /// The profile the rules are evaluated under (the first listed).
    pub fn primary_profile(&self) -> Profile {
        self.profiles.first().copied().unwrap_or(Profile::Unattended)
    }

    pub fn in_profile(&self, selected: Option<Profile>) -> bool {
        selected.is_none_or(|p| self.profiles.contains(&p))
    }
}

/// A step with where it was written.
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub value: T,
    /// `file:line` of the step.
    pub location: String,
    /// The step as written, one line (`scan: {"machine":"machine-1"}`).
    pub text: String,
    /// `rule: ID` on a step: the rule this step checks. When the step does not hold,
    /// the scenario reports a finding of that rule (for rules only a scenario with a
    /// driver can check, such as UPS-IDLE-RELEASE).
    pub rule: Option<String>,
}

/// An integration profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    Unattended,
    Webshop,
    Pos,
}

impl Profile {
    pub const ALL: [Self; 3] = [Self::Unattended, Self::Webshop, Self::Pos];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unattended => "unattended",
            Self::Webshop => "webshop",
            Self::Pos => "pos",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Done before the first step.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// The scenario customer's wallet (default 1000.00).
    pub wallet: Option<Decimal>,
    /// Glase-side deadline scale for this scenario (default: the run's).
    pub deadline_scale: Option<f64>,
    pub faults: Vec<FaultSpec>,
}

/// SHA-256 of `text` (its UTF-8 bytes) as lowercase hex: a scenario file's identity in
/// the evidence bundle.
pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest as _, Sha256};
    use std::fmt::Write as _;
    Sha256::digest(text.as_bytes()).iter().fold(String::with_capacity(64), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}
