//! Durable state in an embedded SQLite database. Each part of the reseller (vending,
//! webshop) owns its tables and creates them with [`Db::migrate`]; they share one
//! connection.
//!
//! # Implementation rationale
//! SQLite in WAL mode with `synchronous = FULL` makes every committed transaction
//! survive a killed process, which the restart guarantees need (a RESERVED invoice is
//! still committed or cancelled, nothing is charged twice). One connection behind a
//! mutex is plenty for a reseller's load and keeps transactions simple; the lock is never
//! held across an `.await`. To use another database (PostgreSQL in production), keep
//! the SQL in the part modules and swap this type for a pool of that database's
//! connections: the statements are plain SQL with `?N` parameters.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;

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
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Self { connection: Arc::new(Mutex::new(connection)) })
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
