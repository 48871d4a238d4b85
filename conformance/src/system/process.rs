//! `--start`: the system under test as a child process of the suite.
//!
//! Order matters to real backends: clients generated from a WSDL (zeep, JAX-WS, .NET)
//! fetch it at start-up, so the embedded Glase must already listen when the system
//! starts. The caller binds Glase first, then [`Started::spawn`]s the command (with
//! `GLASE_URL` set to the SOAP URL) in a process group of its own, its stdout and stderr
//! appended to a log file in the evidence bundle (a file, so a chatty system costs the
//! suite no memory). [`Started::stop`] ends the whole group — SIGTERM, then SIGKILL
//! after a grace period — so a shell wrapper cannot leave the real server running; so
//! does dropping it.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use super::declared::StartCommand;

/// How long a stopped system gets to exit after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(5);

/// Why the system could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error("cannot create its log file {path}")]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot run `sh -c {command:?}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
}

/// A running system under test. Dropping it kills its process group.
#[derive(Debug)]
pub struct Started {
    child: tokio::process::Child,
    /// The child's process group (its pid: it leads a group of its own).
    group: Option<u32>,
    command: String,
    log: PathBuf,
}

impl Started {
    /// Runs `command` with `sh -c` in its own process group, `GLASE_URL` set to
    /// `glase_url`, output appended to `log` (its directory is created).
    pub fn spawn(command: &StartCommand, glase_url: &str, log: &Path) -> Result<Self, StartError> {
        let log_error = |source| StartError::Log { path: log.to_owned(), source };
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).map_err(log_error)?;
        }
        let out = File::options().create(true).append(true).open(log).map_err(log_error)?;
        let err = out.try_clone().map_err(log_error)?;
        let mut shell = tokio::process::Command::new("sh");
        if let Some(dir) = &command.dir {
            shell.current_dir(dir);
        }
        let child = shell
            .arg("-c")
            .arg(&command.command)
            .env("GLASE_URL", glase_url)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| StartError::Spawn { command: command.command.clone(), source })?;
        let group = child.id();
        Ok(Self { child, group, command: command.command.clone(), log: log.to_owned() })
    }

    /// The command line, as given.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Where its output goes.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Its exit status, if it has exited already.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `lines` lines of its output (for an error message).
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    /// Stops the whole process group: SIGTERM, then SIGKILL after [`GRACE`]. Returns
    /// how it ended.
    pub async fn stop(mut self) -> String {
        if let Some(status) = self.exited() {
            self.group = None;
            return format!("it had exited already ({status})");
        }
        signal_group(self.group, "TERM");
        let ended = match tokio::time::timeout(GRACE, self.child.wait()).await {
            Ok(Ok(status)) => format!("stopped ({status})"),
            Ok(Err(error)) => format!("cannot tell how it ended: {error}"),
            Err(_) => {
                signal_group(self.group, "KILL");
                // If the group could not be signalled, at least the leader goes.
                if tokio::time::timeout(GRACE, self.child.wait()).await.is_err() {
                    let _ = self.child.kill().await;
                }
                format!("killed: it did not stop within {} of SIGTERM", humantime::format_duration(GRACE))
            }
        };
        // The leader has ended; the rest of its group goes with it.
        signal_group(self.group.take(), "KILL");
        ended
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        signal_group(self.group.take(), "KILL");
    }
}

/// Sends `signal` to process group `group` through the shell's `kill` (no unsafe code,
/// and `sh` is what runs the command anyway). Failures are moot: the group has gone.
fn signal_group(group: Option<u32>, signal: &str) {
    if let Some(group) = group {
        let _ = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("kill -{signal} -{group} 2>/dev/null"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The last `lines` lines of a file, read from its end (bounded: at most 64 KiB).
fn tail(path: &Path, lines: usize) -> String {
    const MOST: u64 = 64 * 1024;
    let Ok(mut file) = File::open(path) else { return String::new() };
    let length = file.metadata().map_or(0, |m| m.len());
    let _ = file.seek(SeekFrom::Start(length.saturating_sub(MOST)));
    let mut text = String::new();
    let _ = file.take(MOST).read_to_string(&mut text);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_in(dir: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("glase-start-{dir}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("evidence").join("system-under-test.log")
    }

    #[tokio::test]
    async fn the_command_sees_glase_url_and_its_output_lands_in_the_log() {
        let log = log_in("env");
        let command = StartCommand { command: "echo \"glase at $GLASE_URL\"; echo oops >&2".to_owned(), dir: None };
        let mut started =
            Started::spawn(&command, "http://127.0.0.1:1/extclientproxy/service/v2", &log).expect("spawn");
        for _ in 0..200 {
            if started.exited().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(started.exited().is_some_and(|s| s.success()));
        let tail = started.log_tail(5);
        assert!(
            tail.contains("glase at http://127.0.0.1:1/extclientproxy/service/v2") && tail.contains("oops"),
            "{tail}"
        );
        assert!(started.stop().await.contains("exited already"));
    }

    #[tokio::test]
    async fn stop_ends_the_whole_group_even_behind_a_shell() {
        let log = log_in("group");
        let pid_file = log.with_file_name("grandchild.pid");
        // A wrapper script whose real server is a grandchild that ignores nothing.
        let command =
            StartCommand { command: format!("sleep 300 & echo $! > {}; wait", pid_file.display()), dir: None };
        let started = Started::spawn(&command, "http://x", &log).expect("spawn");
        let mut grandchild = String::new();
        for _ in 0..200 {
            grandchild = std::fs::read_to_string(&pid_file).unwrap_or_default().trim().to_owned();
            if !grandchild.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!grandchild.is_empty(), "the wrapper started its server");
        let ended = started.stop().await;
        assert!(ended.starts_with("stopped"), "{ended}");
        assert!(!running(&grandchild), "the grandchild {grandchild} was stopped with its group");
    }

    /// Whether a process runs: it exists and is not a zombie waiting to be reaped.
    fn running(pid: &str) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // `pid (comm) S …`: the state follows the last ')'.
        stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
    }
}
