//! `glase-conformance explore` end to end, as a user runs it: the binary, the embedded
//! mock and fresh in-process reference resellers on loopback sockets. The correct
//! reseller survives a few random sequences; a reseller with a deliberate fault is
//! caught, the failure is shrunk to a short sequence, and the printed replay command
//! reproduces exactly the same failure.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed setup should panic loudly

use std::process::Command;

/// Runs `glase-conformance ARGS`; returns the exit code and stdout.
fn explore(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_glase-conformance")).args(args).output().expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    (output.status.code().expect("an exit code, not a signal"), format!("{stdout}\n--- stderr ---\n{stderr}"))
}

/// The lines after `heading` up to the next blank line.
fn section<'a>(output: &'a str, heading: &str) -> Vec<&'a str> {
    output.lines().skip_while(|l| !l.starts_with(heading)).skip(1).take_while(|l| !l.trim().is_empty()).collect()
}

fn broken(output: &str) -> &str {
    output.lines().find(|l| l.starts_with("Broken ")).unwrap_or_else(|| panic!("no failure printed:\n{output}"))
}

#[test]
fn the_reference_reseller_survives_random_sequences() {
    let (code, output) = explore(&["explore", "--seed", "11", "--runs", "4", "--length", "6"]);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("No failure: 4 run(s)"), "{output}");
    assert!(output.contains("seed 11"), "the seed is printed: {output}");
}

#[test]
fn a_deliberate_fault_is_found_shrunk_and_replayed_exactly() {
    let (code, output) =
        explore(&["explore", "--seed", "7", "--runs", "10", "--length", "8", "--fault", "skip-status-fetch"]);
    assert_eq!(code, 1, "{output}");
    // A reseller that never asks getPaymentStatus breaks a model property (no unlock
    // after a confirmation) or a status rule, whichever the sequence reaches first.
    let failure = broken(&output);
    assert!(["MODEL-UNLOCK-AFTER-CONFIRM", "STATUS-"].iter().any(|k| failure.contains(k)), "{output}");
    assert!(output.contains("expected: ") && output.contains("actual: "), "{output}");

    let minimal = section(&output, "Minimal failing sequence");
    assert!(!minimal.is_empty() && minimal.len() <= 3, "shrunk to at most 3 actions: {output}");

    let replay = section(&output, "Replay");
    let command = replay.first().map(|l| l.trim()).expect("a replay command");
    assert!(command.starts_with("glase-conformance explore --seed 7 --run "), "{command}");
    assert!(command.contains("--fault skip-status-fetch"), "{command}");
    let words: Vec<&str> = command.split_whitespace().skip(1).collect();
    let (again, replayed) = explore(&words);
    assert_eq!(again, 1, "{replayed}");
    assert_eq!(broken(&replayed), failure, "the same property breaks at the same action");
    assert_eq!(section(&replayed, "Minimal failing sequence"), minimal, "the same minimal sequence");
}

#[test]
fn a_reseller_that_keeps_the_machine_after_a_cancellation_is_caught() {
    // Caught without shrinking (a failing rerun waits out the release window).
    let args = ["explore", "--seed", "5", "--runs", "10", "--length", "4", "--shrink-budget", "0"];
    let (code, output) = explore(&[&args[..], &["--fault", "no-release-on-cancel"]].concat());
    assert_eq!(code, 1, "{output}");
    let failure = broken(&output);
    let released = ["MODEL-RELEASE-ON-CANCEL", "MODEL-EMPTY-VEND-CANCELS", "MODEL-IDLE-RELEASE"];
    assert!(released.iter().any(|p| failure.contains(p)), "a machine left locked: {output}");
}

#[test]
fn usage_errors_exit_2_and_list_faults_names_them() {
    let (code, output) = explore(&["explore", "--machines", "0"]);
    assert_eq!(code, 2, "{output}");
    let (code, output) = explore(&["explore", "--list-faults"]);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("skip-status-fetch"), "{output}");
}

#[test]
fn an_unreachable_system_exits_3() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let base = format!("http://127.0.0.1:{port}");
    let create = format!("{base}/seqr/createPurchase");
    let (code, output) = explore(&[
        "explore",
        "--create-purchase-url",
        &create,
        "--machine-driver",
        &base,
        "--glase-listen",
        "127.0.0.1:0",
        "--runs",
        "1",
    ]);
    assert_eq!(code, 3, "{output}");
}
