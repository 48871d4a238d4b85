//! Exports the git commit being built as `GLASE_KIT_COMMIT`, for `reference-reseller --version`
//! (the same logic as the conformance suite's: `glase_devkit::commit`).

fn main() {
    let manifest =
        std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    glase_devkit::commit::emit(&manifest);
}
