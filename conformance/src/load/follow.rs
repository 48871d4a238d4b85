//! Follows the mock's journal during the run and folds every entry into the [`Ledger`]
//! as it appears, so that nothing has to be kept and a journal bounded by capacity
//! still gets read whole (a gap means the follower fell behind by more than the
//! capacity, and is reported).
//!
//! The embedded mock is read in-process by an OS thread of its own, so folding a burst
//! of entries never holds up one of the async runtime's few workers (and with them the
//! flows' latency). A mock in another process is read over its control API by a task
//! that long-polls (`wait`), so an idle journal costs a request a second, not hundreds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use mock_glase::Mock;
use mock_glase::journal::Filter;

use super::glase::Glase;
use super::invariants::JournalStats;
use super::ledger::Ledger;
use super::remote::Remote;

/// Entries read per lock of the mock (or per request): short critical sections.
const BATCH: usize = 1_024;
/// How often the in-process follower looks for new entries.
const EVERY: Duration = Duration::from_millis(2);
/// How long one long-poll of a remote journal waits for new entries.
const LONG_POLL: &str = "1s";
/// Longest pause between attempts when a remote journal cannot be read.
const SLOWEST_RETRY: Duration = Duration::from_secs(1);

/// A running follower.
#[derive(Debug)]
pub struct Follower {
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    running: Running,
    /// The last reason a remote journal could not be read, if it could not.
    trouble: Arc<Mutex<Option<String>>>,
}

/// What follows the journal, with the mock it reads.
#[derive(Debug)]
enum Running {
    Thread(Mock, Option<JoinHandle<()>>),
    Task(Remote, Option<tokio::task::JoinHandle<()>>),
}

impl Follower {
    /// Starts following after the journal's current last entry; with `keep_facts`, the
    /// ledger also keeps every fact it folds (for an evidence file).
    pub async fn start(glase: &Glase, keep_facts: bool) -> Result<Self, String> {
        let last = match glase {
            Glase::Local(mock) => local_stats(mock).last_seq,
            Glase::Remote(remote) => remote.journal(u64::MAX, 0, None).await?.stats.last_seq,
        };
        let mut ledger = Ledger::after(last);
        if keep_facts {
            ledger.keep_facts();
        }
        let ledger = Arc::new(Mutex::new(ledger));
        let stop = Arc::new(AtomicBool::new(false));
        let trouble = Arc::new(Mutex::new(None));
        let running = match glase {
            Glase::Local(local) => {
                let (mock, ledger, stop) = (local.clone(), ledger.clone(), stop.clone());
                let thread = std::thread::Builder::new()
                    .name("journal-follower".to_owned())
                    .spawn(move || {
                        while !stop.load(Ordering::Relaxed) {
                            catch_up_local(&mock, &ledger);
                            std::thread::sleep(EVERY);
                        }
                    })
                    .map_err(|e| format!("cannot start the journal follower: {e}"))?;
                Running::Thread(local.clone(), Some(thread))
            }
            Glase::Remote(far) => {
                let (remote, ledger, stop, trouble) = (far.clone(), ledger.clone(), stop.clone(), trouble.clone());
                let task = tokio::spawn(async move {
                    let mut pause = Duration::from_millis(10);
                    while !stop.load(Ordering::Relaxed) {
                        match catch_up_remote(&remote, &ledger, Some(LONG_POLL)).await {
                            Ok(_) => pause = Duration::from_millis(10),
                            Err(why) => {
                                *trouble.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
                                tokio::time::sleep(pause).await;
                                pause = (pause * 2).min(SLOWEST_RETRY);
                            }
                        }
                    }
                });
                Running::Task(far.clone(), Some(task))
            }
        };
        Ok(Self { ledger, stop, running, trouble })
    }

    /// Looks at the ledger as folded so far.
    pub fn peek<T>(&self, look: impl FnOnce(&Ledger) -> T) -> T {
        look(&self.ledger.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Reads whatever is left, stops, and hands over the ledger with the journal's
    /// counters at that point; a remote journal that could not be read at the end is
    /// the error (the last trouble is reported either way by the caller's checks).
    pub async fn finish(mut self) -> (Ledger, JournalStats, Option<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let stats = match &mut self.running {
            Running::Thread(mock, thread) => {
                if let Some(thread) = thread.take() {
                    let _ = thread.join();
                }
                catch_up_local(mock, &self.ledger);
                Ok(local_stats(mock))
            }
            Running::Task(remote, task) => {
                if let Some(task) = task.take() {
                    let _ = task.await;
                }
                catch_up_remote(remote, &self.ledger, None).await
            }
        };
        let ledger = std::mem::take(&mut *self.ledger.lock().unwrap_or_else(|p| p.into_inner()));
        let trouble = self.trouble.lock().unwrap_or_else(|p| p.into_inner()).take();
        match stats {
            Ok(stats) => (ledger, stats, trouble),
            Err(why) => (ledger, JournalStats::default(), Some(why)),
        }
    }
}

fn local_stats(mock: &Mock) -> JournalStats {
    let (kept, dropped, last_seq) = mock.journal_stats();
    JournalStats { kept, dropped, last_seq }
}

/// Folds every entry after the ledger's last one. The mock's lock is held only to take
/// a page of shared entries; the facts are read from them after it, copying nothing
/// else (a SOAP body is copied only by the mock's own readers that need it).
fn catch_up_local(mock: &Mock, ledger: &Mutex<Ledger>) {
    let mut ledger = ledger.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let filter = Filter { after: Some(ledger.last_seq), limit: Some(BATCH), ..Filter::default() };
        let page = mock.journal_page(&filter, None, usize::MAX);
        for entry in &page.entries {
            ledger.fold(entry);
        }
        if !page.full {
            return;
        }
    }
}

/// Folds every entry after the ledger's last one, over HTTP; the first request may
/// long-poll for `wait`. The lock is held only while folding, never across a request.
async fn catch_up_remote(remote: &Remote, ledger: &Mutex<Ledger>, wait: Option<&str>) -> Result<JournalStats, String> {
    let mut wait = wait;
    loop {
        let after = ledger.lock().unwrap_or_else(|p| p.into_inner()).last_seq;
        let page = remote.journal(after, BATCH, wait.take()).await?;
        let read = page.entries.len();
        let mut ledger = ledger.lock().unwrap_or_else(|p| p.into_inner());
        for (seq, fact) in &page.entries {
            ledger.fold_entry(*seq, fact.as_ref());
        }
        if read < BATCH {
            return Ok(page.stats);
        }
    }
}
