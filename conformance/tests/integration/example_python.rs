//! The Python examples pass their profiles, strictly, started by the suite's own
//! `--start`: the vending backend (`examples/python-vending`) the whole unattended
//! profile — the command `docs/integrate.md` gives integrators, with free ports instead
//! of the fixed ones — and the till written apart from the kit (`examples/python-till`)
//! the whole point-of-sale profile, so the suite never starts failing a correct till that
//! is not the reference one.

use std::path::Path;
use std::process::Command;

#[test]
fn the_python_vending_example_passes_the_unattended_profile() {
    if !Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: python3 is not on PATH, so the Python example cannot run");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::env::temp_dir().join(format!("glase-example-python-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let (backend, glase) = (free_port(), free_port());
    let start = format!("python3 examples/python-vending/backend.py --listen 127.0.0.1:{backend} --idle-timeout 2s");
    let output = Command::new(env!("CARGO_BIN_EXE_glase-conformance"))
        .args(["run", "--start", &start])
        .args(["--create-purchase-url", &format!("http://127.0.0.1:{backend}/seqr/createPurchase")])
        .args(["--machine-driver", &format!("http://127.0.0.1:{backend}")])
        .args(["--idle-timeout", "2s", "--profile", "unattended", "--strict"])
        .args(["--glase-listen", &format!("127.0.0.1:{glase}")])
        .arg("--out")
        .arg(&out)
        .current_dir(&root)
        .output()
        .expect("the suite runs");
    let report = std::fs::read_to_string(out.join("report.json")).unwrap_or_default();
    let log = std::fs::read_to_string(out.join("evidence").join("system-under-test.log")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "the example passes:\n{stdout}\n{stderr}\nits output:\n{log}");

    let report: serde_json::Value = serde_json::from_str(&report).expect("report.json");
    let mut passed = 0;
    for result in report["results"].as_array().expect("results") {
        let (id, verdict) = (result["id"].as_str().unwrap_or_default(), result["verdict"].as_str().unwrap_or_default());
        if id.starts_with("unattended/") {
            assert_eq!(verdict, "passed", "{id}: {}\nthe example's output:\n{log}", result["reason"]);
            passed += 1;
        } else {
            assert_eq!(verdict, "skipped", "{id} is not in the unattended profile");
        }
    }
    let library = std::fs::read_dir(root.join("scenarios").join("unattended"))
        .expect("scenarios/unattended")
        .filter(|entry| entry.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "yaml")))
        .count();
    assert_eq!(passed, library, "every unattended scenario of the library ran and passed");
}

#[test]
fn the_independent_python_till_passes_the_point_of_sale_profile() {
    if !Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: python3 is not on PATH, so the Python till cannot run");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::env::temp_dir().join(format!("glase-example-till-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("a report folder");
    let (till, glase) = (free_port(), free_port());
    let database = out.join("till.db");
    // A short payment window, declared to the suite as the till's unpaid timeout.
    let start = format!(
        "PAYMENT_WINDOW=6 TILL_PORT={till} TILL_DB={} python3 examples/python-till/till.py",
        database.display()
    );
    let output = Command::new(env!("CARGO_BIN_EXE_glase-conformance"))
        .args(["run", "--start", &start, "--wait-for", "60s"])
        .args(["--pos-driver", &format!("http://127.0.0.1:{till}")])
        .args(["--unpaid-timeout", "6s", "--profile", "pos", "--strict", "--company", "Indie Tills AB"])
        .args(["--glase-listen", &format!("127.0.0.1:{glase}")])
        .arg("--out")
        .arg(out.join("report"))
        .current_dir(&root)
        .output()
        .expect("the suite runs");
    let report = std::fs::read_to_string(out.join("report").join("report.json")).unwrap_or_default();
    let log =
        std::fs::read_to_string(out.join("report").join("evidence").join("system-under-test.log")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "the till passes:\n{stdout}\nits output:\n{log}");
    let report: serde_json::Value = serde_json::from_str(&report).expect("report.json");
    let passed = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["id"].as_str().is_some_and(|id| id.starts_with("pos/")) && r["verdict"] == "passed")
        .count();
    let library = std::fs::read_dir(root.join("scenarios").join("pos"))
        .expect("scenarios/pos")
        .filter(|entry| entry.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "yaml")))
        .count();
    assert_eq!(passed, library, "every point-of-sale scenario of the library ran and passed:\n{stdout}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}
