//! `list` (the scenarios, the fixture names they use, every rule; validating every file)
//! and `explain RULE`.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::select::{Selection, load_mapped};
use crate::command::Exit;
use crate::rules;
use crate::scenario::Scenario;
use crate::system::ConfigFile;

pub(super) const LIST_EXAMPLES: &str = "\
Examples:
  glase-conformance list                                    # the built-in library and every rule
  glase-conformance list --scenarios ./mine                 # validate your own scenario files
  glase-conformance list --scenarios builtin --scenarios ./mine/vend.yaml
  glase-conformance list --fixture machine-1=vm-17          # what each fixture name becomes
  glase-conformance list --config glase-conformance.toml    # with your config file's [fixtures]";

pub(super) const EXPLAIN_EXAMPLES: &str = "\
Examples:
  glase-conformance explain UPS-IDLE-RELEASE
  glase-conformance explain status-before-deadline    # ids in any case";

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Your config file (see `run --help`): its `[fixtures]` apply.
    #[arg(long, value_name = "FILE", env = "GLASE_CONFORMANCE_CONFIG")]
    pub config: Option<PathBuf>,
}

pub(super) fn list(args: &ListArgs) -> Exit {
    let declared: Vec<(String, String)> = match args.config.as_deref().map(ConfigFile::read).transpose() {
        Ok(file) => file.map(|f| f.fixtures.into_iter().collect()).unwrap_or_default(),
        Err(error) => {
            eprintln!("error: {error}");
            return Exit::Usage;
        }
    };
    let selection = &args.selection;
    let (scenarios, fixture_table) = match load_mapped(selection, &declared) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    let profile = selection.profile.profile();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let shown: Vec<&Scenario> = scenarios.iter().filter(|s| s.in_profile(profile)).collect();
    let _ = writeln!(out, "Scenarios ({}):", shown.len());
    let width = shown.iter().map(|s| s.id.len()).max().unwrap_or(0);
    for s in &shown {
        let profiles: Vec<&str> = s.profiles.iter().map(|p| p.as_str()).collect();
        let mut needs: Vec<&str> = s.requires.iter().map(|d| d.as_str()).collect();
        if s.steps.iter().any(|st| st.value.scans_machine()) {
            needs.insert(0, "createPurchase");
        }
        let _ = writeln!(
            out,
            "  {:width$}  {}  [{}{}{}]",
            s.id,
            s.title,
            profiles.join(","),
            if needs.is_empty() { "" } else { "; needs " },
            needs.join(", ")
        );
    }
    let _ = writeln!(out, "\nFixtures (as the scenarios name them, and in your test build; --fixture NAME=VALUE):");
    let width = fixture_table.iter().map(|(name, ..)| name.len()).max().unwrap_or(0);
    for (name, kinds, value) in &fixture_table {
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let kinds = kinds.join(", ");
        let mark = if value == name { "  " } else { "->" };
        let _ = writeln!(out, "  {name:width$}  {kinds:17} {mark} {value}");
    }
    let catalog = rules::catalog();
    let _ = writeln!(out, "\nRules ({}):", catalog.len());
    let width = catalog.iter().map(|r| r.id.len()).max().unwrap_or(0);
    for rule in &catalog {
        let level = match rule.level {
            crate::results::Level::Must => "MUST  ",
            crate::results::Level::Should => "SHOULD",
        };
        let _ = writeln!(out, "  {:width$}  {level}  §{:8} {}", rule.id, rule.spec_section, rule.summary);
    }
    let _ = writeln!(
        out,
        "\nAll {} scenario files are valid. `glase-conformance explain RULE` says more about a rule.",
        scenarios.len()
    );
    Exit::Passed
}

pub(super) fn explain(id: &str) -> Exit {
    match rules::explain(id) {
        Some(text) => {
            println!("{text}");
            Exit::Passed
        }
        None => {
            eprintln!("error: no rule {id:?}.");
            let near = rules::suggest(id);
            if !near.is_empty() {
                eprintln!("did you mean: {}", near.join(", "));
            }
            eprintln!("`glase-conformance list` shows every rule.");
            Exit::Usage
        }
    }
}
