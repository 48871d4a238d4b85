//! What an integrator who does not compile Rust relies on, checked from outside the
//! binary: `mock-glase --version` names the build's commit.

use std::process::Command;

/// `<name> <version> (commit <12 hex digits or "unknown">)`, as `glase-conformance`.
fn assert_version_line(name: &str, stdout: &str) {
    let line = stdout.trim_end();
    let rest = line.strip_prefix(&format!("{name} {} (commit ", env!("CARGO_PKG_VERSION"))).unwrap_or_else(|| {
        panic!("--version printed {line:?}, expected `{name} {} (commit …)`", env!("CARGO_PKG_VERSION"))
    });
    let commit = rest.strip_suffix(')').unwrap_or_else(|| panic!("no closing parenthesis in {line:?}"));
    assert!(
        commit == "unknown" || (!commit.is_empty() && commit.bytes().all(|b| b.is_ascii_alphanumeric())),
        "commit {commit:?} in {line:?}"
    );
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let output = Command::new(env!("CARGO_BIN_EXE_mock-glase")).arg("--version").output().expect("the binary runs");
    assert!(output.status.success(), "{output:?}");
    assert_version_line("mock-glase", &String::from_utf8_lossy(&output.stdout));
}
