//! A small headless-Chromium driver over the Chrome DevTools Protocol, for end-to-end
//! tests of the pages our own servers serve on 127.0.0.1 (feature `browser`, tests only).
//!
//! A [`Browser`] is one Chromium process with one page: [`Browser::goto`] a URL, read and
//! act on the page with [`Browser::eval`] (any JavaScript; clicks are `el.click()`), wait
//! for a condition with [`Browser::wait_for`], type with [`Browser::press`] and
//! [`Browser::type_text`], look with [`Browser::screenshot`], and check
//! [`Browser::errors`] (the page's uncaught exceptions and console errors). Dropping it
//! kills the process and removes its profile directory.
//!
//! A test starts with [`launch_or_skip`]: where there is no Chromium it prints one line
//! and skips, unless `GLASE_REQUIRE_BROWSER=1` (`scripts/test` sets it once it has
//! installed Chromium), which makes a missing Chromium a failure.
//!
//! Nothing waits forever: every command has a timeout, and when Chromium exits or
//! crashes, the calls waiting for it fail with that reason at once.
//!
//! # Implementation rationale
//! A minimal client (a WebSocket, JSON, a reader task) rather than chromiumoxide or
//! headless_chrome: the tests need a dozen commands, and those crates bring hundreds of
//! generated protocol types and their own process handling. The Debian package's
//! `/usr/bin/chromium` is a shell script that `exec`s the browser, so the child we start
//! is the browser process itself and killing it by its handle ends the browser (its
//! helper processes exit when it does).

mod connection;
mod error;
mod keys;
mod process;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use connection::Connection;
pub use error::BrowserError;
use process::Chromium;

/// Set to `1` to make a missing Chromium a test failure instead of a skip.
pub const REQUIRE_ENV: &str = "GLASE_REQUIRE_BROWSER";

/// From starting Chromium to its page being ready for commands.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(20);
/// One command's answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// A navigation's load event.
const LOAD_TIMEOUT: Duration = Duration::from_secs(20);
/// How often [`Browser::wait_for`] evaluates its condition.
const POLL: Duration = Duration::from_millis(50);

/// Whether `GLASE_REQUIRE_BROWSER=1`.
pub fn require_browser() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v.trim() == "1")
}

/// A launched browser for `test`, or `None` (after one line on stderr) where there is no
/// Chromium and it is not required.
///
/// # Panics
/// When Chromium is missing and `GLASE_REQUIRE_BROWSER=1`, or when it is there but does
/// not start: with the error's message.
pub async fn launch_or_skip(test: &str) -> Option<Browser> {
    let executable = match Browser::find() {
        Ok(executable) => executable,
        Err(e) if require_browser() => panic!("{test}: {e} ({REQUIRE_ENV}=1 requires Chromium)"),
        Err(_) => {
            eprintln!(
                "skipped {test}: no Chromium (install the Debian package chromium, or set GLASE_CHROMIUM); \
                 scripts/test installs it"
            );
            return None;
        }
    };
    match Browser::launch_at(&executable).await {
        Ok(browser) => Some(browser),
        Err(e) => panic!("{test}: {e}"),
    }
}

/// One headless Chromium process and its one page (tab). Dropping it kills the process
/// (and reaps it) and removes its temporary profile directory.
pub struct Browser {
    // Dropped in this order: the connection (its reader task) before the process.
    connection: Connection,
    chromium: Chromium,
}

impl fmt::Debug for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Browser").field("pid", &self.pid()).field("profile", &self.chromium.profile()).finish()
    }
}

impl Browser {
    /// Finds Chromium: `$GLASE_CHROMIUM` (a path, or a name on `PATH`; when set, only it),
    /// else `/usr/bin/chromium`, else `chromium`, `chromium-browser`, `google-chrome` on `PATH`.
    pub fn find() -> Result<PathBuf, BrowserError> {
        process::find()
    }

    /// Starts the Chromium that [`Browser::find`] finds, headless on `about:blank`, and
    /// connects to its page with the `Page`, `Runtime` and `Log` domains enabled.
    pub async fn launch() -> Result<Self, BrowserError> {
        Self::launch_at(&Self::find()?).await
    }

    /// [`Browser::launch`] with the executable given.
    pub async fn launch_at(executable: &Path) -> Result<Self, BrowserError> {
        let deadline = Instant::now() + LAUNCH_TIMEOUT;
        let (mut chromium, address) = Chromium::spawn(executable)?;
        let browser_url = chromium.devtools_url(address, LAUNCH_TIMEOUT).await?;
        let left = || deadline.saturating_duration_since(Instant::now());
        let page_url = connection::page_target(&browser_url, left()).await?;
        let connection = Connection::open(&page_url, left()).await?;
        let browser = Self { connection, chromium };
        for enable in ["Page.enable", "Runtime.enable", "Log.enable"] {
            browser.call(enable, json!({})).await?;
        }
        Ok(browser)
    }

    /// Sends a raw DevTools command to the page and returns its `result`; an error answer
    /// is [`BrowserError::Protocol`], no answer within 30 s [`BrowserError::Timeout`].
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, BrowserError> {
        self.connection.call(method, params, CALL_TIMEOUT).await
    }

    /// Navigates to `url` and waits (up to 20 s) for its load event. A URL Chromium
    /// cannot load (connection refused, …) is a [`BrowserError::Protocol`] naming why; a
    /// same-document navigation (only the `#fragment` changes) has no load to wait for.
    pub async fn goto(&self, url: &str) -> Result<(), BrowserError> {
        let mut loads = self.connection.loads();
        loads.borrow_and_update();
        let navigated = self.call("Page.navigate", json!({ "url": url })).await?;
        if let Some(error) = navigated.get("errorText").and_then(Value::as_str) {
            return Err(BrowserError::Protocol(format!("Page.navigate to {url}: {error}")));
        }
        if navigated.get("loaderId").is_none() {
            return Ok(());
        }
        match tokio::time::timeout(LOAD_TIMEOUT, loads.changed()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(BrowserError::Protocol(format!("the DevTools connection ended while {url} loaded"))),
            Err(_) => Err(BrowserError::Timeout { what: format!("the load event of {url}"), waited: LOAD_TIMEOUT }),
        }
    }

    /// Evaluates `expression` in the page, awaiting it when it is a promise, and returns
    /// its value as JSON (`undefined` is `null`; `NaN`, `Infinity`, `-0` and `BigInt`s are
    /// strings). A throw or rejection is [`BrowserError::Js`] with the exception's text.
    pub async fn eval(&self, expression: &str) -> Result<Value, BrowserError> {
        let params =
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true, "userGesture": true });
        let mut answer = self.call("Runtime.evaluate", params).await?;
        if let Some(details) = answer.get("exceptionDetails") {
            let message = exception_message(details);
            return Err(BrowserError::Js { expression: expression.to_owned(), message });
        }
        let Some(Value::Object(mut result)) = answer.get_mut("result").map(Value::take) else {
            return Err(BrowserError::Protocol(format!("Runtime.evaluate answered without a result: {answer}")));
        };
        Ok(result.remove("value").or_else(|| result.remove("unserializableValue")).unwrap_or_default())
    }

    /// Evaluates `expression` every 50 ms until its value is truthy (not `false`, `null`,
    /// `undefined`, `0` or `""`) and returns that value. After `timeout` it is a
    /// [`BrowserError::Timeout`] naming `what` (and the condition's last exception, if it
    /// threw); an exception alone does not end the wait (the page may still be loading).
    pub async fn wait_for(&self, what: &str, expression: &str, timeout: Duration) -> Result<Value, BrowserError> {
        let deadline = Instant::now() + timeout;
        let mut last_exception = None;
        loop {
            match tokio::time::timeout_at(deadline, self.eval(expression)).await {
                Ok(Ok(value)) if truthy(&value) => return Ok(value),
                Ok(Ok(_)) => {}
                Ok(Err(BrowserError::Js { message, .. })) => last_exception = Some(message),
                Ok(Err(other)) => return Err(other),
                Err(_) => break,
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep_until((Instant::now() + POLL).min(deadline)).await;
        }
        let what = match last_exception {
            Some(message) => format!("{what} (the condition last threw: {message})"),
            None => what.to_owned(),
        };
        Err(BrowserError::Timeout { what, waited: timeout })
    }

    /// Sets the page's viewport (CSS pixels, device scale factor 1); `mobile` emulates a
    /// mobile device (meta viewport, overlay scrollbars).
    pub async fn set_viewport(&self, width: u32, height: u32, mobile: bool) -> Result<(), BrowserError> {
        let params = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile });
        self.call("Emulation.setDeviceMetricsOverride", params).await.map(drop)
    }

    /// Writes a PNG of the viewport to `path`, creating its parent directories.
    pub async fn screenshot(&self, path: &Path) -> Result<(), BrowserError> {
        use base64::Engine as _;
        let answer = self.call("Page.captureScreenshot", json!({ "format": "png" })).await?;
        let data = answer.get("data").and_then(Value::as_str);
        let data = data.ok_or_else(|| BrowserError::Protocol("Page.captureScreenshot answered without data".into()))?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| BrowserError::Protocol(format!("Page.captureScreenshot: the image is not base64: {e}")))?;
        let in_path =
            |e: std::io::Error| BrowserError::Io(std::io::Error::new(e.kind(), format!("{}: {e}", path.display())));
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(in_path)?;
        }
        std::fs::write(path, png).map_err(in_path)
    }

    /// Presses and releases a key in the focused element: `"Tab"`, `"Shift+Tab"`,
    /// `"Enter"`, `"Escape"`, `" "` (space), `"ArrowDown"`, `"ArrowUp"`, `"ArrowLeft"`,
    /// `"ArrowRight"`, `"Backspace"`. Another name is a [`BrowserError::Protocol`].
    pub async fn press(&self, key: &str) -> Result<(), BrowserError> {
        let events = keys::events(key)
            .ok_or_else(|| BrowserError::Protocol(format!("press: no key named {key:?}; known: {}", keys::names())))?;
        for event in events {
            self.call("Input.dispatchKeyEvent", event).await?;
        }
        Ok(())
    }

    /// Types `text` into the focused element, as an input method would (one `input`
    /// event, no key events).
    pub async fn type_text(&self, text: &str) -> Result<(), BrowserError> {
        self.call("Input.insertText", json!({ "text": text })).await.map(drop)
    }

    /// The page's uncaught exceptions, `console.error`s and browser log errors seen so
    /// far (since launch, across navigations), oldest first.
    pub fn errors(&self) -> Vec<String> {
        self.connection.errors()
    }

    /// The Chromium process's id (the process [`Drop`] kills).
    pub fn pid(&self) -> u32 {
        self.chromium.pid()
    }

    /// Chromium's temporary profile directory (`--user-data-dir`), removed on drop.
    pub fn user_data_dir(&self) -> &Path {
        self.chromium.profile()
    }

    /// The last lines Chromium printed on stderr, for a test's failure message.
    pub fn stderr_tail(&self) -> String {
        self.chromium.stderr_tail()
    }
}

/// JavaScript's truthiness for the JSON an evaluation returns.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// The text of an evaluation's `exceptionDetails`: the exception's description (for an
/// `Error`, its message and stack), else its value (`throw "text"`), else the summary.
fn exception_message(details: &Value) -> String {
    let exception = &details["exception"];
    if let Some(description) = exception["description"].as_str() {
        return description.to_owned();
    }
    match exception.get("value") {
        Some(Value::String(s)) => s.clone(),
        Some(value) => value.to_string(),
        None => details["text"].as_str().unwrap_or("an exception without a description").to_owned(),
    }
}
