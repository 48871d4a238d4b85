//! The run report as pretty JSON: the [`RunReport`] exactly as serialized (camelCase,
//! durations in milliseconds, each scenario's journal as the mock's entries), for scripts.

use std::io::{self, Write};
use std::path::Path;

use crate::results::RunReport;

/// Writes `report` to `path` as pretty JSON (creating missing parent directories).
pub fn write_json(report: &RunReport, path: &Path) -> io::Result<()> {
    let mut out = super::common::create(path)?;
    serde_json::to_writer_pretty(&mut out, report)?;
    out.write_all(b"\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn parses_back_with_the_counts() {
        let dir = std::env::temp_dir().join(format!("glase-report-json-{}", std::process::id()));
        let path = dir.join("nested").join("report.json");
        write_json(&fixtures::report(false), &path).expect("written");
        let text = std::fs::read_to_string(&path).expect("read back");
        let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let results = json["results"].as_array().expect("results");
        assert_eq!(results.len(), 4);
        let verdicts: Vec<&str> = results.iter().filter_map(|r| r["verdict"].as_str()).collect();
        assert_eq!(verdicts, ["passedWithWarnings", "failed", "skipped", "error"]);
        assert_eq!(json["duration"], 4321);
        assert_eq!(json["seed"], 42);
        assert_eq!(results[1]["findings"][0]["rule"], "UPS-COMMIT-LE-RESERVED");
        assert_eq!(results[1]["journal"].as_array().map(Vec::len), Some(10));
        assert_eq!(results[1]["journal"][0]["kind"], "createPurchaseRequest");
        assert!(text.contains("\n  \"suiteVersion\""), "pretty-printed");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
