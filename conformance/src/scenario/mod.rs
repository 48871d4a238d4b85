//! Scenarios: YAML files describing what a customer, a machine, a shop and Glase do, and
//! what the system under test must do in answer (format: `scenarios/README.md`).
//!
//! Loading has two stages, as ripgrep's flags do (`lowargs` → `hiargs`): `raw` is the
//! file as serde-saphyr reads it, with source locations and untyped steps; `resolve`
//! turns it into a [`Scenario`] of typed [`Step`]s (each kind checks its own arguments,
//! see [`crate::step`] and `arguments`) and collects every problem of every
//! file with its file, line and key, so one run of `glase-conformance list` shows them
//! all. The runner only ever sees resolved scenarios. The repository's own library is
//! compiled into the binary ([`embedded`]); integrators add directories of their own.
//! [`fixtures`] maps the machines and products the scenarios name to the system's own
//! names (`--fixture machine-1=vm-17`), on resolved scenarios, before the runner sees them.

pub(crate) mod arguments;
mod error;
pub mod fixtures;
pub(crate) mod raw;
mod resolve;
mod resolved;

use std::path::{Path, PathBuf};

pub use crate::step::values::{
    CallScope, ConfirmOutcome, Driver, DriverOutcome, FaultKind, FaultSpec, InvoiceRef, Item, Mark, NotifyKind,
    PurchaseOutcome, Timer, Timing, Wait,
};
pub use crate::step::{STEP_KINDS, Step};
pub use error::{LoadError, Problem};
pub use fixtures::{FixtureError, FixtureKind, Fixtures};
pub use resolved::{Located, Profile, Scenario, Setup, sha256_hex};

/// The text of one scenario file and the name it is reported under.
#[derive(Debug, Clone)]
pub struct Source {
    /// A path (`my-scenarios/vend.yaml`) or `scenarios/…` for the embedded library.
    pub name: String,
    pub text: String,
}

/// `(path under scenarios/, text)` of every file of the repository's library.
const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded_scenarios.rs"));

/// The repository's scenario library, as compiled into this binary.
pub fn embedded() -> Vec<Source> {
    EMBEDDED.iter().map(|(path, text)| Source { name: format!("scenarios/{path}"), text: (*text).to_owned() }).collect()
}

/// The scenario files `path` names: the file itself, or every `*.yaml`/`*.yml` file
/// under a directory (recursively, in path order; a `fixtures/` directory directly under
/// it is skipped). A problem if it cannot be read or holds no scenario file.
pub fn from_path(path: &Path) -> Result<Vec<Source>, Problem> {
    let problem = |path: &Path, message: String| Problem {
        file: path.display().to_string(),
        line: None,
        column: None,
        key: String::new(),
        message,
    };
    let unreadable = |path: &Path, error: std::io::Error| problem(path, format!("cannot read: {error}"));
    let metadata = std::fs::metadata(path).map_err(|e| unreadable(path, e))?;
    let mut paths = Vec::new();
    if metadata.is_dir() {
        collect(path, path, &mut paths).map_err(|e| unreadable(path, e))?;
        if paths.is_empty() {
            return Err(problem(path, "no scenario files (*.yaml) in this directory".to_owned()));
        }
        paths.sort();
    } else {
        paths.push(path.to_owned());
    }
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|e| unreadable(&path, e))?;
            Ok(Source { name: path.display().to_string(), text })
        })
        .collect()
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if dir == root && path.file_name().is_some_and(|n| n == "fixtures") {
                continue;
            }
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Resolves every source; all problems of all files at once. `known_rule` says whether a
/// rule id exists (normally `rules::rule(id).is_some()`).
pub fn load(sources: &[Source], known_rule: &dyn Fn(&str) -> bool) -> Result<Vec<Scenario>, LoadError> {
    let mut problems = Vec::new();
    let mut scenarios: Vec<Scenario> = Vec::new();
    for source in sources {
        let mut resolver =
            resolve::Resolver { file: &source.name, text: &source.text, known_rule, problems: &mut problems };
        if let Some(scenario) = resolver.resolve() {
            if let Some(first) = scenarios.iter().find(|s| s.id == scenario.id) {
                problems.push(Problem {
                    file: source.name.clone(),
                    line: None,
                    column: None,
                    key: "id".to_owned(),
                    message: format!("id {:?} is already used by {}", scenario.id, first.file),
                });
            } else {
                scenarios.push(scenario);
            }
        }
    }
    if problems.is_empty() { Ok(scenarios) } else { Err(LoadError { problems }) }
}

/// Loads one file's text (tests, tools).
pub fn load_str(name: &str, text: &str, known_rule: &dyn Fn(&str) -> bool) -> Result<Scenario, LoadError> {
    let sources = [Source { name: name.to_owned(), text: text.to_owned() }];
    load(&sources, known_rule).map(|mut list| list.remove(0))
}

#[cfg(test)]
mod tests;
