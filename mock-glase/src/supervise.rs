//! Panics: a bug in the mock must not take it down or leave state half-written.
//!
//! - Every call into the state machine runs under [`guarded`] (see `Mock`): a panic
//!   becomes an error answer (SOAP result 90 SYSTEM_ERROR, control API 500), is journaled
//!   (`control` entry, action `panic`) and logged. The machine checks everything that can
//!   fail before its first write (see `machine::wallet`), so a panic — always a bug —
//!   comes before any change; due deadlines are fired one at a time, each guarded, so
//!   one that fails is dropped and the rest still fire.
//! - Background tasks run under [`supervise`]: a panic that escapes is journaled and
//!   logged, and the task restarts after a short, growing pause.
//!
//! # Implementation rationale
//! `catch_unwind` inside the locked section rather than letting the lock poison: the
//! guard is still held when the panic is caught, so no other request ever sees a poisoned
//! lock, and the panic is journaled in order. Rejected: snapshotting the machine before
//! each call to roll back on a panic (a copy of every invoice per request).

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

/// Where a panic that escaped a task is told (the mock journals and logs it).
pub(crate) trait PanicLog: Send + Sync + 'static {
    /// `task` panicked with `message`; `consequence` says what happens now.
    fn note_panic(&self, task: &str, message: &str, consequence: &str);
}

/// The first and the longest pause before a crashed task restarts.
const RESTART_FIRST: Duration = Duration::from_millis(50);
const RESTART_MAX: Duration = Duration::from_secs(5);

/// Runs `f`, turning a panic into `Err` with its message.
pub(crate) fn guarded<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    // AssertUnwindSafe: the caller reports the panic and the machine writes nothing
    // before its checks pass (see the module docs), so nothing half-written is observed.
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| panic_message(&*payload))
}

/// The text a panic was raised with.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// Runs the task `make` builds until it returns; when it panics, journals and logs the
/// panic and starts a new one. Dropping the returned future (aborting its task) stops the
/// task it runs too.
pub(crate) async fn supervise<F, Fut>(log: impl PanicLog, task: &'static str, make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut pause = RESTART_FIRST;
    loop {
        let mut running = AbortOnDrop(tokio::spawn(make()));
        let ended = (&mut running.0).await;
        match ended {
            Err(error) if error.is_panic() => {
                let message = panic_message(&*error.into_panic());
                let consequence = format!("restarting it in {}", humantime::format_duration(pause));
                log.note_panic(task, &message, &consequence);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(RESTART_MAX);
            }
            // Returned, or cancelled (the runtime is shutting down).
            _ => return,
        }
    }
}

/// Spawns a one-off task whose panic is journaled and logged instead of vanishing.
pub(crate) fn spawn_reported(
    log: impl PanicLog,
    task: &'static str,
    future: impl Future<Output = ()> + Send + 'static,
) {
    let runtime = tokio::runtime::Handle::current();
    let inner = runtime.spawn(future);
    runtime.spawn(async move {
        if let Err(error) = inner.await
            && error.is_panic()
        {
            let message = panic_message(&*error.into_panic());
            log.note_panic(task, &message, "it was not retried");
        }
    });
}

/// Aborts the task when dropped.
#[derive(Debug)]
pub(crate) struct AbortOnDrop<T>(pub(crate) tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
