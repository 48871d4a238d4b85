//! Durable state in an embedded SQLite database. Each part of the reseller (vending,
//! webshop) owns its tables and creates them with [`Db::migrate`]; they share one
//! connection.
//!
//! # Implementation rationale
//! SQLite in WAL mode makes every committed transaction survive a killed process, which
//! the restart guarantees need (a RESERVED invoice is still committed or cancelled,
//! nothing is charged twice). `synchronous = NORMAL` is enough for that in WAL mode: a
//! commit is in the WAL (the OS's page cache) before it returns, and only a power cut
//! or kernel crash can lose the last few commits, never corrupt the file; every state
//! change that could be lost that way is re-learnt from Glase by recovery
//! (getPaymentStatus) or ended by Glase's own timers. `FULL` would fsync the WAL on
//! every commit: measured with `glase-conformance load`, that capped this reseller at
//! about 60 purchases/s on a VM disk, each purchase being six small transactions. One
//! connection behind a mutex keeps transactions simple; the lock is never held across
//! an `.await`, and statements are prepared once and cached. Checkpoints (copying the
//! WAL into the database file, with an fsync) run on a background thread's own
//! connection, never inside a request's commit. To use another database (PostgreSQL in production), keep
//! the SQL in the part modules and swap this type for a pool of that database's
//! connections: the statements are plain SQL with `?N` parameters.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use rusqlite::Connection;

/// Statements through the connection's prepared-statement cache: each SQL text is
/// parsed once per connection instead of on every call (under load, parsing took a
/// third of the time spent in SQLite). For `Connection` and, by deref, `Transaction`.
pub trait CachedStatements {
    fn execute_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn query_row_cached<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl CachedStatements for Connection {
    fn execute_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn query_row_cached<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

/// How often the background checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Copies committed WAL frames into the database file every [`CHECKPOINT_EVERY`], on a
/// thread with its own connection, until the [`Db`] is dropped.
///
/// SQLite's automatic checkpoint runs inside whichever commit crosses 1000 WAL pages,
/// and includes an fsync of the database file: under load that commit, holding the one
/// connection's lock, stalled every request for tens of milliseconds (p99 of a
/// purchase 26 ms instead of 7 ms at low concurrency). A PASSIVE checkpoint on a second
/// connection waits for nobody and blocks nobody; the WAL is reused from its start once
/// a checkpoint has caught up, so it stays small.
fn spawn_checkpointer(path: PathBuf, alive: Weak<Mutex<Connection>>) {
    let spawned = std::thread::Builder::new().name("sqlite-checkpoint".to_owned()).spawn(move || {
        let connection = match Connection::open(&path) {
            Ok(connection) => connection,
            Err(error) => return tracing::error!(error = %error, "checkpointer: cannot open the database"),
        };
        while alive.strong_count() > 0 {
            std::thread::sleep(CHECKPOINT_EVERY);
            if let Err(error) = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %error, "checkpoint failed; retrying");
            }
        }
    });
    if let Err(error) = spawned {
        tracing::error!(error = %error, "cannot start the checkpointer; the WAL grows until restart");
    }
}

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
#[error("database error")]
pub struct StoreError(#[from] rusqlite::Error);

/// The shared database handle.
#[derive(Debug, Clone)]
pub struct Db {
    connection: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (or creates) the database file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let connection = Connection::open(path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.set_prepared_statement_cache_capacity(64);
        // Checkpoints run on their own connection in the background (see below), never
        // inside a request's commit.
        connection.pragma_update(None, "wal_autocheckpoint", 0)?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        let connection = Arc::new(Mutex::new(connection));
        spawn_checkpointer(path.to_path_buf(), Arc::downgrade(&connection));
        Ok(Self { connection })
    }

    /// A private in-memory database (tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Ok(Self { connection: Arc::new(Mutex::new(Connection::open_in_memory()?)) })
    }

    /// Runs `CREATE TABLE IF NOT EXISTS …` statements (idempotent).
    pub fn migrate(&self, statements: &str) -> Result<(), StoreError> {
        self.lock().execute_batch(statements)?;
        Ok(())
    }

    /// The connection, for one short synchronous use.
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done transaction behind
        // (rusqlite rolls back on drop), so the connection is still usable.
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
