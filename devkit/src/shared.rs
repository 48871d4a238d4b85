//! The project's `shared/` directory beside the checkout (`../shared`), for the tests
//! that compare with the reference material in it: the public v2 WSDL, the seeds, the
//! spec. It is never copied into the repository, and a plain clone does not have it.
//!
//! [`dir`] finds a path under it. When the path is missing, a test skips: it prints one
//! line (`skipped: ../shared/… not beside this checkout`) and passes, so `scripts/test`
//! passes on a clone with nothing beside it. With `GLASE_REQUIRE_SHARED=1` (`.ci/run`
//! sets it; CI has `../shared`) it panics instead, so a comparison never silently stops
//! running where it should run.

use std::path::{Path, PathBuf};

/// Set to `1` to make a missing `../shared` a failure instead of a skip.
pub const REQUIRE_ENV: &str = "GLASE_REQUIRE_SHARED";

/// Whether `GLASE_REQUIRE_SHARED=1`.
pub fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v.trim() == "1")
}

/// `<workspace>/../shared/<relative>` if it exists. Otherwise prints the skip line for
/// `test` and returns `None`, or panics when [`required`].
///
/// `workspace` is the workspace root (a crate's `CARGO_MANIFEST_DIR` joined with `..`);
/// `relative` is a path under `shared/`, such as `reference/seqr-v2-wsdl`.
pub fn dir(workspace: &Path, relative: &str, test: &str) -> Option<PathBuf> {
    locate(&workspace.join("..").join("shared"), relative, test, required())
}

fn locate(shared: &Path, relative: &str, test: &str, required: bool) -> Option<PathBuf> {
    let path = shared.join(relative);
    if path.exists() {
        return Some(path);
    }
    let shown = format!("../shared/{relative}");
    assert!(
        !required,
        "{test}: {shown} is not beside this checkout (looked for {}), and {REQUIRE_ENV}=1 requires it: \
         check out the project's shared/ directory beside the repository",
        path.display()
    );
    eprintln!("skipped: {shown} not beside this checkout ({test}; {REQUIRE_ENV}=1 makes this a failure)");
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> PathBuf {
        let root = std::env::temp_dir().join(format!("glase-devkit-shared-{}", std::process::id()));
        std::fs::create_dir_all(root.join("reference/wsdl")).expect("the temp dir is writable");
        root
    }

    #[test]
    fn a_present_path_is_found_and_a_missing_one_skips() {
        let root = scratch();
        assert_eq!(locate(&root, "reference/wsdl", "t", false), Some(root.join("reference/wsdl")));
        assert_eq!(locate(&root, "reference/other", "t", false), None);
        assert_eq!(locate(&root, "reference/wsdl", "t", true), Some(root.join("reference/wsdl")));
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    #[should_panic(expected = "GLASE_REQUIRE_SHARED=1 requires it")]
    fn a_missing_path_fails_when_required() {
        locate(Path::new("/nonexistent-glase-shared"), "reference/wsdl", "t", true);
    }
}
