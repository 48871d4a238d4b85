//! Which scenarios a command runs: the files (`--scenarios`), the prefixes (`--only`),
//! the profile, and the fixture names of the system under test.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::command::Exit;
use crate::rules;
use crate::scenario::fixtures::{self, FixtureKind};
use crate::scenario::{self, FixtureError, Fixtures, LoadError, Problem, Profile, Scenario, Source};

/// Which scenarios.
#[derive(Debug, Default, Args)]
pub struct Selection {
    /// A scenario file or a directory of them (repeatable). `builtin` is the library
    /// compiled into this binary, which is also the default.
    #[arg(long = "scenarios", value_name = "PATH", env = "GLASE_CONFORMANCE_SCENARIOS", value_delimiter = ',')]
    pub scenarios: Vec<PathBuf>,
    /// Run only scenarios whose id starts with this (repeatable), e.g. `unattended/`.
    #[arg(long, value_name = "ID", env = "GLASE_CONFORMANCE_ONLY", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Which integration to test; scenarios of other profiles are skipped.
    #[arg(long, value_enum, default_value_t = ProfileArg::All, env = "GLASE_CONFORMANCE_PROFILE")]
    pub profile: ProfileArg,
    /// Your test build's name for a machine, SKU or shop item the scenarios use
    /// (repeatable), e.g. `--fixture machine-1=vm-17 --fixture cola=sku-123`.
    #[arg(
        long = "fixture",
        value_name = "NAME=VALUE",
        value_parser = fixtures::parse_fixture,
        env = "GLASE_CONFORMANCE_FIXTURE",
        value_delimiter = ','
    )]
    pub fixture: Vec<(String, String)>,
    /// A YAML map of such names (`machine-1: vm-17`, one a line): your system's names
    /// for the library's fixtures, whichever scenarios run. `--fixture` wins.
    #[arg(long = "fixtures", value_name = "FILE", env = "GLASE_CONFORMANCE_FIXTURES")]
    pub fixtures_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    Unattended,
    Webshop,
    Pos,
    #[default]
    All,
}

impl ProfileArg {
    pub(crate) fn profile(self) -> Option<Profile> {
        match self {
            Self::Unattended => Some(Profile::Unattended),
            Self::Webshop => Some(Profile::Webshop),
            Self::Pos => Some(Profile::Pos),
            Self::All => None,
        }
    }
}

impl Selection {
    /// The fixture map: the config file's (`declared`), then the fixtures file's, then
    /// the command line's.
    fn fixtures(&self, declared: &[(String, String)]) -> Result<Fixtures, FixtureError> {
        let mut fixtures = Fixtures::from_pairs(declared.iter().cloned())?;
        if let Some(path) = &self.fixtures_file {
            fixtures.override_with(Fixtures::from_yaml_file(path)?);
        }
        fixtures.override_with(Fixtures::from_pairs(self.fixture.iter().cloned())?);
        Ok(fixtures)
    }
}

/// Loads the selected scenarios with the fixture map applied, or prints every problem.
/// `declared`: the fixture names of the config file.
pub fn load(selection: &Selection, declared: &[(String, String)]) -> Result<Vec<Scenario>, Exit> {
    load_mapped(selection, declared).map(|(scenarios, _)| scenarios)
}

/// The fixture names the selected scenarios use: what each names, its effective value.
pub(super) type FixtureTable = Vec<(String, BTreeSet<FixtureKind>, String)>;

/// [`load`], and the fixture table of the selected scenarios (for `list`).
pub(super) fn load_mapped(
    selection: &Selection,
    declared: &[(String, String)],
) -> Result<(Vec<Scenario>, FixtureTable), Exit> {
    let mut sources: Vec<Source> = Vec::new();
    let mut problems: Vec<Problem> = Vec::new();
    if selection.scenarios.is_empty() {
        sources.extend(scenario::embedded());
    }
    for path in &selection.scenarios {
        if path == Path::new("builtin") {
            sources.extend(scenario::embedded());
            continue;
        }
        match scenario::from_path(path) {
            Ok(found) => sources.extend(found),
            Err(problem) => problems.push(problem),
        }
    }
    let known_rule = |id: &str| rules::rule(id).is_some();
    let loaded = scenario::load(&sources, &known_rule);
    let mut scenarios = match loaded {
        Ok(scenarios) if problems.is_empty() => scenarios,
        Ok(_) => return Err(load_failed(&LoadError { problems })),
        Err(mut error) => {
            problems.append(&mut error.problems);
            return Err(load_failed(&LoadError { problems }));
        }
    };
    let chosen = |s: &Scenario| {
        selection.only.is_empty() || selection.only.iter().any(|prefix| s.id.starts_with(prefix.as_str()))
    };
    // A fixture map describes the system, whichever scenarios run: names the built-in
    // library uses are known even when only other scenarios are loaded (and `--only`
    // does not make a fixture unknown either).
    let library: BTreeSet<String> = scenario::load(&scenario::embedded(), &known_rule)
        .map(|library| fixtures::used(library.iter()).into_keys().collect())
        .unwrap_or_default();
    let mapped = selection.fixtures(declared).and_then(|map| {
        let used = fixtures::used(scenarios.iter().filter(|s| chosen(s)));
        fixtures::apply(&mut scenarios, &map, &library)?;
        let table: FixtureTable = used
            .into_iter()
            .map(|(name, kinds)| {
                let value = map.get(&name).to_owned();
                (name, kinds, value)
            })
            .collect();
        Ok(table)
    });
    let table = match mapped {
        Ok(table) => table,
        Err(error) => {
            eprintln!("error: {error}");
            return Err(Exit::Usage);
        }
    };
    let selected: Vec<Scenario> = scenarios.into_iter().filter(|s| chosen(s)).collect();
    if selected.is_empty() {
        let ids: HashSet<&str> = selection.only.iter().map(String::as_str).collect();
        let mut ids: Vec<&str> = ids.into_iter().collect();
        ids.sort_unstable();
        eprintln!("error: no scenario matches --only {} (`glase-conformance list` shows the ids)", ids.join(", "));
        return Err(Exit::Usage);
    }
    Ok((selected, table))
}

fn load_failed(error: &LoadError) -> Exit {
    eprintln!("error: {error}");
    Exit::Usage
}
