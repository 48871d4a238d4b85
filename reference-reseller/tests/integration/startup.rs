//! What the binary says when it cannot start: every cause, down to SQLite's own words.

use std::process::Command;

/// Regression: a database that cannot be opened printed "cannot open database X:
/// database error" and lost SQLite's reason (`{e:#}` on a thiserror type prints only its
/// own message).
#[test]
fn a_database_that_cannot_be_opened_is_reported_with_sqlites_reason() {
    let folder = std::env::temp_dir().join(format!("glase-reseller-startup-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    // A file where the database's folder should be: SQLite cannot create the database.
    let not_a_folder = folder.join("not-a-folder");
    std::fs::write(&not_a_folder, "x").unwrap();
    let database = not_a_folder.join("reseller.sqlite");
    let output = Command::new(env!("CARGO_BIN_EXE_reference-reseller"))
        .args(["--listen", "127.0.0.1:0", "--database"])
        .arg(&database)
        .output()
        .expect("the binary runs");
    std::fs::remove_dir_all(&folder).ok();
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("cannot open database {}", database.display())), "{stderr}");
    assert!(stderr.contains("unable to open database file"), "SQLite's reason is missing: {stderr}");
}
