//! The Chromium process: finding the executable, starting it headless with a fresh
//! profile, reading its DevTools address from stderr, and ending it when dropped (kill,
//! wait so no zombie is left, remove the profile).
//!
//! # Implementation rationale
//! stderr is read to its end by a thread of its own for the whole life of the process,
//! not only until the DevTools line: Chromium keeps logging there (D-Bus complaints on a
//! machine without one), and a pipe nobody reads fills up and blocks the browser. The
//! last lines are kept for the error when the DevTools line never comes.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, ErrorKind};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;

use super::error::BrowserError;

/// The executable to use instead of searching (a path, or a name looked up on `PATH`).
pub(super) const CHROMIUM_ENV: &str = "GLASE_CHROMIUM";

/// Where the Debian package puts it.
const DEBIAN: &str = "/usr/bin/chromium";

/// Names looked up on `PATH`, in order, after [`DEBIAN`].
const ON_PATH: &[&str] = &["chromium", "chromium-browser", "google-chrome"];

/// Headless, no sandbox (tests run as root in containers, where the sandbox cannot
/// start), and nothing that talks to the network or does background work on its own.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
];

/// How long a drop waits for Chromium's helper processes to exit after the browser's.
const HELPERS_EXIT: Duration = Duration::from_secs(5);

/// What Chromium prints before the browser's WebSocket address.
const DEVTOOLS_LINE: &str = "DevTools listening on ";

/// How many of stderr's last lines are kept, and how long each may be.
const TAIL_LINES: usize = 30;
const TAIL_LINE_CHARS: usize = 400;

/// The Chromium executable: `$GLASE_CHROMIUM` when set (and then only it), else
/// `/usr/bin/chromium`, else `chromium`, `chromium-browser`, `google-chrome` on `PATH`.
pub(super) fn find() -> Result<PathBuf, BrowserError> {
    if let Some(explicit) = std::env::var_os(CHROMIUM_ENV).filter(|v| !v.is_empty()) {
        let explicit = PathBuf::from(explicit);
        return resolve(&explicit).ok_or(BrowserError::NotFound { searched: vec![explicit] });
    }
    let mut searched = Vec::new();
    for candidate in std::iter::once(DEBIAN).chain(ON_PATH.iter().copied()) {
        let candidate = PathBuf::from(candidate);
        if let Some(found) = resolve(&candidate) {
            return Ok(found);
        }
        searched.push(candidate);
    }
    Err(BrowserError::NotFound { searched })
}

/// `candidate` itself when it names a directory, else the first match on `PATH`.
fn resolve(candidate: &Path) -> Option<PathBuf> {
    if candidate.components().count() > 1 {
        return is_executable(candidate).then(|| candidate.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join(candidate)).find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A running Chromium, ended when dropped.
#[derive(Debug)]
pub(super) struct Chromium {
    child: Child,
    profile: PathBuf,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    /// The thread reading stderr: it ends when every process holding the pipe (the
    /// browser and all its helpers) has exited.
    stderr_reader: Option<JoinHandle<()>>,
}

impl Chromium {
    /// Starts `executable` headless on `about:blank` with a fresh profile; the receiver
    /// gets the browser's WebSocket address once Chromium prints it.
    pub(super) fn spawn(executable: &Path) -> Result<(Self, oneshot::Receiver<String>), BrowserError> {
        let profile = fresh_profile().map_err(BrowserError::Launch)?;
        let mut user_data_dir = std::ffi::OsString::from("--user-data-dir=");
        user_data_dir.push(&profile);
        let spawned = Command::new(executable)
            .args(FLAGS)
            .arg(user_data_dir)
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                remove_profile(&profile);
                let message = format!("{}: {e}", executable.display());
                return Err(BrowserError::Launch(std::io::Error::new(e.kind(), message)));
            }
        };
        let stderr = child.stderr.take();
        // From here on, dropping `chromium` ends the process on every error path.
        let mut chromium = Self { child, profile, stderr_tail: Arc::default(), stderr_reader: None };
        let (address, receiver) = oneshot::channel();
        if let Some(stderr) = stderr {
            let tail = Arc::clone(&chromium.stderr_tail);
            let reader = std::thread::Builder::new()
                .name("chromium-stderr".into())
                .spawn(move || read_stderr(stderr, address, &tail))
                .map_err(BrowserError::Launch)?;
            chromium.stderr_reader = Some(reader);
        }
        Ok((chromium, receiver))
    }

    /// The browser's WebSocket address, as the receiver from [`Chromium::spawn`] gets it.
    pub(super) async fn devtools_url(
        &mut self,
        address: oneshot::Receiver<String>,
        timeout: Duration,
    ) -> Result<String, BrowserError> {
        let outcome = match tokio::time::timeout(timeout, address).await {
            Ok(Ok(url)) => return Ok(url),
            // stderr closed without the line: Chromium exited (give it a moment to be reaped).
            Ok(Err(_)) => self.exit_status(Duration::from_secs(2)).await,
            Err(_) => format!("(still running after {timeout:?})"),
        };
        Err(BrowserError::NoDevToolsUrl { stderr_tail: format!("{}\n{outcome}", self.stderr_tail()) })
    }

    /// How the process ended, waiting up to `patience` for it.
    async fn exit_status(&mut self, patience: Duration) -> String {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return format!("(Chromium exited: {status})"),
                Ok(None) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(None) => return "(Chromium closed its stderr but is still running)".into(),
                Err(e) => return format!("(could not tell whether Chromium exited: {e})"),
            }
        }
    }

    /// The last lines Chromium printed on stderr.
    pub(super) fn stderr_tail(&self) -> String {
        let tail = self.stderr_tail.lock().unwrap_or_else(PoisonError::into_inner);
        if tail.is_empty() { "(nothing)".into() } else { Vec::from(tail.clone()).join("\n") }
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(super) fn profile(&self) -> &Path {
        &self.profile
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Our own child only, by its handle. `kill` fails only when it has exited
        // already; `wait` reaps it either way, so no zombie is left behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Its helper processes (zygote, renderer, network, GPU, crashpad) exit by
        // themselves once the browser is gone (in 20–60 ms here), and may write into the
        // profile until then: a profile removed earlier was seen to come back. Wait for
        // them: they all hold stderr, so its end means they are gone.
        let started = Instant::now();
        if let Some(reader) = &self.stderr_reader {
            while !reader.is_finished() && started.elapsed() < HELPERS_EXIT {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        remove_profile(&self.profile);
    }
}

/// Reads Chromium's stderr to its end: sends the DevTools address once, keeps the tail.
fn read_stderr(stderr: ChildStderr, address: oneshot::Sender<String>, tail: &Mutex<VecDeque<String>>) {
    let mut address = Some(address);
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
        if let Some(at) = text.find(DEVTOOLS_LINE)
            && let Some(address) = address.take()
        {
            let _ = address.send(text[at + DEVTOOLS_LINE.len()..].trim().to_owned());
        }
        let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(text.chars().take(TAIL_LINE_CHARS).collect());
    }
}

/// A new, empty directory for Chromium's profile under the system's temp directory.
fn fresh_profile() -> std::io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let mut tries = 0;
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("glase-chromium-{}-{n}-{nanos}", std::process::id());
        let dir = std::env::temp_dir().join(OsStr::new(&name));
        tries += 1;
        match fs::create_dir(&dir) {
            // Left behind by an earlier process that had the same id: take the next name.
            Err(e) if e.kind() == ErrorKind::AlreadyExists && tries < 100 => continue,
            other => return other.map(|()| dir),
        }
    }
}

/// Removes the profile; Chromium's helper processes may still be writing into it for a
/// moment after the browser process died, so a failure is tried again a few times.
fn remove_profile(profile: &Path) {
    for _ in 0..20 {
        match fs::remove_dir_all(profile) {
            Err(e) if e.kind() != ErrorKind::NotFound => std::thread::sleep(Duration::from_millis(25)),
            _ => return,
        }
    }
}
