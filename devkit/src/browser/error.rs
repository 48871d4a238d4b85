//! What can go wrong while finding, starting or driving Chromium, each case with what a
//! person needs to act on it (where Chromium was looked for, what it printed last, which
//! expression threw, what was waited for and how long).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// An error of the headless-Chromium driver.
#[derive(Debug)]
pub enum BrowserError {
    /// No Chromium executable at any of the places searched (in order; a bare name means
    /// every directory of `PATH`).
    NotFound { searched: Vec<PathBuf> },
    /// The Chromium process could not be started (or its profile directory created).
    Launch(std::io::Error),
    /// Chromium did not print `DevTools listening on ws://…` in time, or exited first;
    /// the last lines it printed on stderr tell why.
    NoDevToolsUrl { stderr_tail: String },
    /// The DevTools Protocol failed: Chromium answered a command with an error, the
    /// connection closed (Chromium exited), or an answer was not what the protocol says.
    Protocol(String),
    /// The page's JavaScript threw (or rejected) while evaluating `expression`.
    Js { expression: String, message: String },
    /// `what` did not happen within `waited`.
    Timeout { what: String, waited: Duration },
    /// Reading or writing a local file (a screenshot).
    Io(std::io::Error),
}

impl fmt::Display for BrowserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { searched } => {
                let searched: Vec<String> = searched.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "no Chromium found (looked at: {}; a bare name is looked up on PATH): install the Debian \
                     package chromium, or set GLASE_CHROMIUM to the browser's executable",
                    searched.join(", ")
                )
            }
            Self::Launch(e) => write!(f, "could not start Chromium: {e}"),
            Self::NoDevToolsUrl { stderr_tail } => write!(
                f,
                "Chromium did not print its DevTools address (\"DevTools listening on ws://…\"); \
                 the last lines it printed on stderr:\n{stderr_tail}"
            ),
            Self::Protocol(message) => write!(f, "Chrome DevTools Protocol: {message}"),
            Self::Js { expression, message } => {
                write!(f, "the page's JavaScript threw evaluating `{}`: {message}", shorten(expression))
            }
            Self::Timeout { what, waited } => write!(f, "timed out after {waited:?} waiting for {what}"),
            Self::Io(e) => write!(f, "file I/O: {e}"),
        }
    }
}

impl std::error::Error for BrowserError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Launch(e) | Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// The expression as shown in a message: long scripts cut to their first 200 characters.
fn shorten(expression: &str) -> String {
    const MAX: usize = 200;
    match expression.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &expression[..at]),
        None => expression.to_owned(),
    }
}
