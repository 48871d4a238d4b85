//! The git commit a crate is built from, for `--version` and reports.
//!
//! Called from a build script: [`emit`] prints the cargo directives that set
//! `GLASE_KIT_COMMIT` for the crate being built and make cargo run the script again when
//! the commit changes. The crate reads it with `env!("GLASE_KIT_COMMIT")`.

use std::path::Path;
use std::process::Command;

/// The environment variable the commit is exported as, and read from when set at build
/// time (a build from a source tarball, which has no `.git`).
pub const ENV: &str = "GLASE_KIT_COMMIT";

/// Prints `cargo::rustc-env=GLASE_KIT_COMMIT=<commit>` and the `rerun-if` directives that
/// keep it current; returns the commit. `manifest_dir` is the crate's
/// `CARGO_MANIFEST_DIR` (git is asked from there).
pub fn emit(manifest_dir: &Path) -> String {
    let commit = commit(manifest_dir);
    println!("cargo::rustc-env={ENV}={commit}");
    commit
}

/// The commit being built: `GLASE_KIT_COMMIT` if set and not empty, else
/// `git rev-parse --short=12 HEAD`, else `unknown`. Prints the `rerun-if` directives.
pub fn commit(manifest_dir: &Path) -> String {
    println!("cargo::rerun-if-env-changed={ENV}");
    if let Some(commit) = std::env::var(ENV).ok().filter(|c| !c.trim().is_empty()) {
        return commit.trim().to_owned();
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(manifest_dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    // A worktree has its own HEAD (--absolute-git-dir) and shares refs with the main
    // checkout (--git-common-dir): a commit moves either.
    for dir in
        [git(&["rev-parse", "--absolute-git-dir"]), git(&["rev-parse", "--git-common-dir"])].into_iter().flatten()
    {
        let dir = manifest_dir.join(dir);
        for watched in ["HEAD", "refs/heads", "packed-refs"] {
            if dir.join(watched).exists() {
                println!("cargo::rerun-if-changed={}", dir.join(watched).display());
            }
        }
    }
    git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned())
}
