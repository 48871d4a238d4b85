//! Follows the mock's journal during the run and folds every entry into the [`Ledger`]
//! as it appears, so that nothing has to be kept and a journal bounded by capacity
//! still gets read whole (a gap means the follower fell behind by more than the
//! capacity, and is reported).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use mock_glase::Mock;
use mock_glase::journal::Filter;

use super::ledger::Ledger;

/// Entries read per lock of the mock: short critical sections for the mock's lock.
const BATCH: usize = 1_024;
/// How often the follower looks for new entries.
const EVERY: Duration = Duration::from_millis(2);

/// A running follower: an OS thread of its own, so folding a burst of entries never
/// holds up one of the async runtime's few workers (and with them the flows' latency).
#[derive(Debug)]
pub struct Follower {
    mock: Mock,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Follower {
    /// Starts following after the journal's current last entry.
    pub fn start(mock: &Mock) -> Self {
        let (_, _, last) = mock.journal_stats();
        let ledger = Arc::new(Mutex::new(Ledger::after(last)));
        let stop = Arc::new(AtomicBool::new(false));
        let (follow_mock, follow_ledger, follow_stop) = (mock.clone(), ledger.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("journal-follower".to_owned())
            .spawn(move || {
                while !follow_stop.load(Ordering::Relaxed) {
                    catch_up(&follow_mock, &follow_ledger);
                    std::thread::sleep(EVERY);
                }
            })
            .ok();
        Self { mock: mock.clone(), ledger, stop, thread }
    }

    /// Reads whatever is left, stops, and hands over the ledger.
    pub fn finish(mut self) -> Ledger {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        catch_up(&self.mock, &self.ledger);
        std::mem::take(&mut *self.ledger.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Folds every entry after the ledger's last one.
fn catch_up(mock: &Mock, ledger: &Mutex<Ledger>) {
    let mut ledger = ledger.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let filter = Filter { after: Some(ledger.last_seq), limit: Some(BATCH), ..Filter::default() };
        let entries = mock.journal(&filter);
        for entry in &entries {
            ledger.fold(entry);
        }
        if entries.len() < BATCH {
            return;
        }
    }
}
