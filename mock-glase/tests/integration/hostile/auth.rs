//! Finding 8: the control API (which can pay, inject faults and move the clock) had no
//! authentication, and a notificationUrl could point the mock at any loopback endpoint: a
//! confirm POSTed into the reseller's driver took a machine out of service.

use std::process::Command;

use reqwest::Method;

use crate::hostile::outbound::issue;
use crate::support::*;

const TOKEN: &str = "s3cret-t0ken";

#[tokio::test]
async fn with_a_control_token_the_control_api_needs_it_and_soap_stays_open() {
    let h = start(|config| config.control_token = Some(TOKEN.to_owned())).await;
    let url = format!("{}/control/clock/advance", h.server.base_url());
    let advance = serde_json::json!({"by": "1h"});
    for (authorization, expected) in [
        (None, 401),
        (Some("Bearer wrong"), 401),
        (Some("Basic czNjcmV0LXQwa2Vu"), 401),
        (Some("Bearer s3cret-t0ken"), 200),
    ] {
        let mut request = h.http.post(&url).json(&advance);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), expected, "{authorization:?}");
        if expected == 401 {
            assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
            let body: serde_json::Value = response.json().await.unwrap();
            assert!(body["error"].as_str().unwrap().contains("token"), "{body}");
        }
    }
    // Only the authorized advance moved the clock.
    let moved = h.mock.now().as_millis() - mock_glase::Clock::now(&mock_glase::SystemClock).as_millis();
    assert!((3_500_000..3_700_000).contains(&moved), "moved {moved} ms");
    // The journal is part of the control API too.
    let (status, _) = h.control(Method::GET, "/journal", None).await;
    assert_eq!(status, 401);
    // SOAP, the WSDL and the health check need no token.
    issue(&h, "http://127.0.0.1:9/notify").await;
    for path in ["/healthz", "/extclientproxy/service/v2?wsdl"] {
        let response = h.http.get(format!("{}{path}", h.server.base_url())).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn the_customer_command_sends_the_control_token() {
    let h = start(|config| config.control_token = Some(TOKEN.to_owned())).await;
    let base = h.server.base_url();
    let run = move |env: &[(&str, &str)]| {
        let output = Command::new(env!("CARGO_BIN_EXE_mock-glase"))
            .args(["customer", "--mock", &base, "wallet"])
            .env_remove("GLASE_CONTROL_TOKEN")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, _, stderr) = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(&[])
    })
    .await
    .unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("needs Authorization: Bearer"), "{stderr}");
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || run(&[("GLASE_CONTROL_TOKEN", TOKEN)])).await.unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("1000.00"), "{stdout}");
}

#[tokio::test]
async fn a_notification_url_on_a_driver_or_control_path_is_never_posted_to() {
    let driver = Fixed::start(json_response("200 OK", r#"{"state": "out-of-service"}"#)).await;
    let h = start(|config| config.notifications.attempts = 1).await;
    for url in [
        format!("{}/driver/machines/machine-1/out-of-service", driver.base_url),
        format!("{}/control/customer/confirm", h.server.base_url()),
    ] {
        let reference = issue(&h, &url).await;
        h.mock.confirm(&reference, None, None).unwrap();
        let sent = wait_for("the notification to be journaled", || {
            h.journal().into_iter().find(|e| e["kind"] == "notificationSent" && e["invoice"] == reference.as_str())
        })
        .await;
        let outcome = sent["outcome"].as_str().unwrap();
        assert!(outcome.starts_with("not sent") && outcome.contains("segment"), "{sent}");
        assert_eq!(sent["lastAttempt"], true);
    }
    assert!(driver.hits().is_empty(), "the driver was called: {:?}", driver.hits());
}
