//! What an integrator who does not compile Rust relies on, checked from outside:
//! `reference-reseller --version` names the build's commit.

use std::process::Command;

#[test]
fn version_names_the_commit_it_was_built_from() {
    let output =
        Command::new(env!("CARGO_BIN_EXE_reference-reseller")).arg("--version").output().expect("the binary runs");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.trim_end();
    let prefix = format!("reference-reseller {} (commit ", env!("CARGO_PKG_VERSION"));
    let commit = line.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(')'));
    assert!(
        commit.is_some_and(|c| c == "unknown" || (!c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric()))),
        "--version printed {line:?}, expected `{prefix}<commit>)`"
    );
}
