//! The headless-Chromium driver against a tiny page served from 127.0.0.1: reading the
//! DOM, clicking and waiting, typing, keyboard focus, screenshots, the page's errors,
//! timeouts, a crashed browser, and the process ending with the `Browser`.
//!
//! Each test launches its own Chromium; where there is none they skip with one line
//! (unless `GLASE_REQUIRE_BROWSER=1`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use glase_devkit::browser::{Browser, BrowserError, launch_or_skip};
use serde_json::json;

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>devkit browser test</title>
<link rel="icon" href="data:,"></head>
<body>
<h1 id="title">Hello, Glase</h1>
<button id="change" onclick="document.getElementById('status').textContent = 'clicked'">Change</button>
<p id="status">idle</p>
<input id="name" type="text" autocomplete="off">
<button id="boom" onclick="throw new Error('boom from the page')">Boom</button>
</body></html>
"#;

/// Serves [`PAGE`] for every request on 127.0.0.1, from threads that live as long as
/// the test process; returns the page's URL.
fn serve_page() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            // A thread per connection: Chromium opens speculative connections that send nothing.
            std::thread::spawn(move || answer(stream));
        }
    });
    format!("http://{address}/")
}

fn answer(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        PAGE.len()
    );
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(PAGE.as_bytes()));
}

/// A browser on the test page, or `None` to skip.
async fn on_page(test: &str) -> Option<Browser> {
    let browser = launch_or_skip(test).await?;
    browser.goto(&serve_page()).await.expect("goto the test page");
    Some(browser)
}

#[tokio::test]
async fn goto_then_eval_reads_the_dom() {
    let Some(browser) = on_page("goto_then_eval_reads_the_dom").await else { return };
    assert_eq!(browser.eval("document.getElementById('title').textContent").await.unwrap(), json!("Hello, Glase"));
    assert_eq!(browser.eval("document.title").await.unwrap(), json!("devkit browser test"));
    // Promises are awaited; objects come back by value; undefined is null.
    assert_eq!(browser.eval("Promise.resolve({ n: 41 + 1 })").await.unwrap(), json!({ "n": 42 }));
    assert_eq!(browser.eval("undefined").await.unwrap(), json!(null));
    assert!(browser.errors().is_empty(), "{:?}", browser.errors());
}

#[tokio::test]
async fn a_click_then_wait_for_sees_the_change() {
    let Some(browser) = on_page("a_click_then_wait_for_sees_the_change").await else { return };
    browser.eval("document.getElementById('change').click()").await.unwrap();
    let status = "document.getElementById('status').textContent === 'clicked' && 'done'";
    let seen = browser.wait_for("the status to read clicked", status, Duration::from_secs(5)).await.unwrap();
    assert_eq!(seen, json!("done"));
}

#[tokio::test]
async fn type_text_goes_into_the_focused_input() {
    let Some(browser) = on_page("type_text_goes_into_the_focused_input").await else { return };
    browser.eval("document.getElementById('name').focus()").await.unwrap();
    browser.type_text("Glase Ödön").await.unwrap();
    assert_eq!(browser.eval("document.getElementById('name').value").await.unwrap(), json!("Glase Ödön"));
    browser.press("Backspace").await.unwrap();
    assert_eq!(browser.eval("document.getElementById('name').value").await.unwrap(), json!("Glase Ödö"));
}

#[tokio::test]
async fn tab_and_shift_tab_move_the_focus_and_enter_clicks() {
    let Some(browser) = on_page("tab_and_shift_tab_move_the_focus_and_enter_clicks").await else { return };
    let focused = "document.activeElement.id";
    browser.eval("document.getElementById('change').focus()").await.unwrap();
    assert_eq!(browser.eval(focused).await.unwrap(), json!("change"));
    browser.press("Tab").await.unwrap();
    assert_eq!(browser.eval(focused).await.unwrap(), json!("name"));
    browser.press("Tab").await.unwrap();
    assert_eq!(browser.eval(focused).await.unwrap(), json!("boom"));
    browser.press("Shift+Tab").await.unwrap();
    browser.press("Shift+Tab").await.unwrap();
    assert_eq!(browser.eval(focused).await.unwrap(), json!("change"));
    browser.press("Enter").await.unwrap();
    let clicked = "document.getElementById('status').textContent === 'clicked'";
    browser.wait_for("Enter to click the focused button", clicked, Duration::from_secs(5)).await.unwrap();
    let unknown = browser.press("F13").await.unwrap_err();
    assert!(matches!(unknown, BrowserError::Protocol(_)) && unknown.to_string().contains("\"Tab\""), "{unknown}");
}

#[tokio::test]
async fn screenshot_writes_a_png_of_the_viewport() {
    let Some(browser) = on_page("screenshot_writes_a_png_of_the_viewport").await else { return };
    browser.set_viewport(400, 300, false).await.unwrap();
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("devkit-browser").join("page.png");
    let _ = std::fs::remove_file(&path);
    browser.screenshot(&path).await.unwrap();
    let png = std::fs::read(&path).unwrap();
    assert!(png.len() > 100, "{} bytes", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // The IHDR chunk's width and height: the viewport's.
    let dimension = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    assert_eq!((dimension(16), dimension(20)), (400, 300));
}

#[tokio::test]
async fn errors_report_the_pages_exceptions_and_console_errors() {
    let Some(browser) = on_page("errors_report_the_pages_exceptions_and_console_errors").await else { return };
    browser.eval("document.getElementById('boom').click(); console.error('bad', 42)").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while browser.errors().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let errors = browser.errors();
    assert!(errors.iter().any(|e| e.contains("uncaught exception: Error: boom from the page")), "{errors:?}");
    assert!(errors.iter().any(|e| e == "console.error: bad 42"), "{errors:?}");
    // An exception in the evaluated expression itself is the call's error.
    let thrown = browser.eval("null.property").await.unwrap_err();
    let BrowserError::Js { expression, message } = &thrown else { panic!("{thrown:?}") };
    assert_eq!(expression, "null.property");
    assert!(message.contains("TypeError"), "{message}");
    let rejected = browser.eval("Promise.reject(new Error('no'))").await.unwrap_err();
    assert!(rejected.to_string().contains("Error: no"), "{rejected}");
}

#[tokio::test]
async fn wait_for_times_out_on_a_condition_that_never_holds() {
    let Some(browser) = on_page("wait_for_times_out_on_a_condition_that_never_holds").await else { return };
    let started = Instant::now();
    let error = browser.wait_for("a miracle", "0", Duration::from_millis(300)).await.unwrap_err();
    let elapsed = started.elapsed();
    let BrowserError::Timeout { what, waited } = &error else { panic!("{error:?}") };
    assert_eq!((what.as_str(), *waited), ("a miracle", Duration::from_millis(300)));
    assert!(elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(error.to_string(), "timed out after 300ms waiting for a miracle");
    // A condition that throws names its exception.
    let error = browser.wait_for("a missing element", "document.getElementById('x').id", Duration::from_millis(200));
    let error = error.await.unwrap_err().to_string();
    assert!(error.contains("a missing element (the condition last threw: TypeError"), "{error}");
}

#[tokio::test]
async fn goto_an_unreachable_url_is_an_error_naming_why() {
    let Some(browser) = launch_or_skip("goto_an_unreachable_url_is_an_error_naming_why").await else { return };
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let error = browser.goto(&format!("http://127.0.0.1:{port}/")).await.unwrap_err();
    assert!(error.to_string().contains("ERR_CONNECTION_REFUSED"), "{error}");
}

#[tokio::test]
async fn calls_fail_instead_of_hanging_once_chromium_is_gone() {
    let Some(browser) = on_page("calls_fail_instead_of_hanging_once_chromium_is_gone").await else { return };
    let started = Instant::now();
    // Crashes the browser process: the answer never comes, the connection ends.
    let crashed = browser.call("Browser.crash", json!({})).await;
    assert!(crashed.is_err(), "{crashed:?}");
    let after = browser.eval("1 + 1").await.unwrap_err();
    assert!(matches!(after, BrowserError::Protocol(_)), "{after:?}");
    assert!(after.to_string().contains("did Chromium exit or crash?"), "{after}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[tokio::test]
async fn dropping_the_browser_ends_chromium_and_removes_its_profile() {
    let Some(browser) = on_page("dropping_the_browser_ends_chromium_and_removes_its_profile").await else { return };
    let process = format!("/proc/{}", browser.pid());
    let profile = browser.user_data_dir().to_path_buf();
    assert!(Path::new(&process).exists() && profile.is_dir());
    drop(browser);
    assert!(!Path::new(&process).exists(), "{process} is still there after the drop");
    assert!(!profile.exists(), "{} is still there after the drop", profile.display());
}
