//! Exports the git commit being built as `GLASE_KIT_COMMIT`, for `mock-glase --version`
//! (the same logic as the conformance suite's: `glase_devkit::commit`), and converts
//! `docs/openapi/control.yaml` to `$OUT_DIR/openapi.json`, which the mock serves at
//! `GET /openapi.json` (one source, in YAML for people; no conversion at run time).

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    glase_devkit::commit::emit(&manifest);

    let source = manifest.join("..").join("docs").join("openapi").join("control.yaml");
    println!("cargo::rerun-if-changed={}", source.display());
    let text = std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("cannot read {}: {e}", source.display()));
    let document: serde_json::Value =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", source.display()));
    let target = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("openapi.json");
    // Serializing a parsed JSON value cannot fail.
    let json = serde_json::to_string(&document).expect("a JSON value serializes");
    std::fs::write(&target, json).expect("OUT_DIR is writable");
}
