//! Finding 2, control inputs: `PUT /control/clock {"deadlineScale": 1e300}` and
//! `mock-glase --deadline-scale 1e300` panicked; `advance {"by": "8000years"}` moved past
//! year 9999, after which every time rendering panicked; a huge advance then a small one
//! wrapped the offset back to the present; any balance was accepted.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_else(|| panic!("not an error answer: {body}"))
}

#[tokio::test]
async fn a_huge_deadline_scale_is_refused_with_the_bound_and_changes_nothing() {
    let h = start(|_| {}).await;
    for scale in [json!(1e300), json!(101), json!(f64::MAX)] {
        let (status, body) = h.control(Method::PUT, "/clock", Some(json!({"deadlineScale": scale}))).await;
        assert_eq!(status, 400, "{scale}: {body}");
        assert!(error_of(&body).contains("at most 100"), "{body}");
    }
    let (status, clock) = h.control(Method::GET, "/clock", None).await;
    assert_eq!(status, 200);
    assert_eq!(clock["deadlineScale"], 1.0);
    assert_eq!(clock["deadlines"]["statusDeadline"], "20s");
    let (status, _) = h.control(Method::PUT, "/clock", Some(json!({"deadlineScale": 100}))).await;
    assert_eq!(status, 200, "the bound itself is allowed");
}

#[tokio::test]
async fn the_clock_cannot_be_advanced_past_year_9000() {
    let h = start(|_| {}).await;
    let (_, before) = h.control(Method::GET, "/clock", None).await;
    let (status, body) = h.control(Method::POST, "/clock/advance", Some(json!({"by": "8000years"}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(error_of(&body).contains("may not pass 9000-01-01T00:00:00.000Z"), "{body}");
    assert!(error_of(&body).contains("at most"), "the answer says how far it can go: {body}");
    // Nothing moved, and time still renders.
    let (status, clock) = h.control(Method::GET, "/clock", None).await;
    assert_eq!(status, 200, "{clock}");
    let moved = clock["now"].as_u64().unwrap() - before["now"].as_u64().unwrap();
    assert!(moved < 60_000, "the clock moved {moved} ms");
    assert!(clock["time"].as_str().unwrap().starts_with("20"), "{clock}");
}

#[tokio::test]
async fn a_huge_advance_then_a_small_one_does_not_wrap_the_clock_around() {
    let h = start(|_| {}).await;
    let (_, before) = h.control(Method::GET, "/clock", None).await;
    let (huge, _) = h.control(Method::POST, "/clock/advance", Some(json!({"by": "584000000years"}))).await;
    assert_eq!(huge, 400);
    let (small, clock) = h.control(Method::POST, "/clock/advance", Some(json!({"by": "1000years"}))).await;
    assert_eq!(small, 200, "{clock}");
    let years = (clock["now"].as_u64().unwrap() - before["now"].as_u64().unwrap()) / (365 * 24 * 3600 * 1000);
    assert!((999..=1001).contains(&years), "moved {years} years: {clock}");
    // Journal times render too, all the way up to the limit.
    let (status, body) = h.control(Method::GET, "/journal?limit=5", None).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_balance_beyond_the_bound_is_refused_with_the_bound() {
    let h = start(|_| {}).await;
    let path = "/customers/46700000042";
    for balance in ["100000000000000000000", "79228162514264337593543950335", "-1"] {
        let (status, body) = h.control(Method::PUT, path, Some(json!({"balance": balance}))).await;
        assert_eq!(status, 400, "{balance}: {body}");
        assert!(error_of(&body).contains("between 0 and 1000000000000000"), "{body}");
    }
    let (status, body) = h.control(Method::PUT, path, Some(json!({"balance": "1000000000000000"}))).await;
    assert_eq!(status, 200, "the bound itself is allowed: {body}");
}

/// Runs `mock-glase ARGS` on a free port; its exit code and stderr (killed after 5 s if
/// it is still running, which means it started serving).
fn run_mock(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-glase"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    (status.and_then(|s| s.code()), stderr)
}

#[test]
fn out_of_bounds_command_line_values_exit_2_with_a_message() {
    for (args, message) in [
        (&["--deadline-scale", "1e300"][..], "at most 100"),
        (&["--deadline-scale", "0"][..], "positive"),
        (&["--status-deadline", "1000years"][..], "deadlines.status_deadline must be at most 1year, not 1000years"),
        (&["--reservation-timeout", "500000000years"][..], "must be at most"),
    ] {
        let (code, stderr) = run_mock(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
