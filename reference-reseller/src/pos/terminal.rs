//! The till's registration, kept durably (`pos_terminal`, one row per
//! externalTerminalId): the terminalId Glase gave, the password the till chose, the
//! sticker's seqrId and whether assignSeqrId succeeded, when it was registered and
//! unregistered.
//!
//! # Implementation rationale
//! A new password is stored (`pending_password`) *before* registerTerminal carries it,
//! and becomes the password only once Glase has answered: a till that stops mid-call
//! or loses the answer never calls with a password it does not know Glase has, and
//! never forgets one Glase may have. After a lost answer the row is marked not
//! registered, so the next sale or register action registers again (with another new
//! password), which settles the doubt: registering the same externalTerminalId again
//! sets the password whatever it was.

use rusqlite::{Row, params};

use crate::store::{CachedStatements, Db, StoreError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pos_terminal (
    external_id        TEXT PRIMARY KEY,
    terminal_id        TEXT,
    password           TEXT,
    pending_password   TEXT,
    seqr_id            TEXT NOT NULL,
    seqr_assigned      INTEGER NOT NULL DEFAULT 0,
    registered         INTEGER NOT NULL DEFAULT 0,
    registered_at_ms   INTEGER,
    unregistered_at_ms INTEGER
);
";

/// The till's registration as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TerminalRecord {
    pub(crate) external_id: String,
    /// Glase's terminalId, once a registerTerminal answered (kept after unregistering:
    /// registering the same externalTerminalId again gives it back).
    pub(crate) terminal_id: Option<String>,
    /// The password Glase accepted at the last registration.
    pub(crate) password: Option<String>,
    pub(crate) seqr_id: String,
    /// Whether assignSeqrId succeeded since the last registration.
    pub(crate) seqr_assigned: bool,
    pub(crate) registered: bool,
    pub(crate) registered_at_ms: Option<i64>,
    pub(crate) unregistered_at_ms: Option<i64>,
}

impl TerminalRecord {
    /// The credentials to call as, while registered.
    pub(crate) fn credentials(&self) -> Option<(&str, &str)> {
        match (&self.terminal_id, &self.password) {
            (Some(id), Some(password)) if self.registered => Some((id, password)),
            _ => None,
        }
    }
}

fn record_of(row: &Row<'_>) -> rusqlite::Result<TerminalRecord> {
    Ok(TerminalRecord {
        external_id: row.get("external_id")?,
        terminal_id: row.get("terminal_id")?,
        password: row.get("password")?,
        seqr_id: row.get("seqr_id")?,
        seqr_assigned: row.get("seqr_assigned")?,
        registered: row.get("registered")?,
        registered_at_ms: row.get("registered_at_ms")?,
        unregistered_at_ms: row.get("unregistered_at_ms")?,
    })
}

/// The `pos_terminal` table of one till (its externalTerminalId).
#[derive(Debug, Clone)]
pub(crate) struct Terminals {
    db: Db,
    external_id: String,
}

impl Terminals {
    /// Creates the table if needed and the till's row if missing. A sticker changed
    /// in the configuration is recorded as not assigned, so it is assigned again.
    pub(crate) fn open(db: Db, external_id: &str, seqr_id: &str) -> Result<Self, StoreError> {
        db.migrate(SCHEMA)?;
        {
            let conn = db.lock();
            conn.execute_cached(
                "INSERT OR IGNORE INTO pos_terminal (external_id, seqr_id) VALUES (?1, ?2)",
                params![external_id, seqr_id],
            )?;
            conn.execute_cached(
                "UPDATE pos_terminal SET seqr_id = ?2, seqr_assigned = 0 WHERE external_id = ?1 AND seqr_id <> ?2",
                params![external_id, seqr_id],
            )?;
        }
        Ok(Self { db, external_id: external_id.to_owned() })
    }

    pub(crate) fn load(&self) -> Result<TerminalRecord, StoreError> {
        Ok(self.db.lock().query_row_cached(
            "SELECT * FROM pos_terminal WHERE external_id = ?1",
            [&self.external_id],
            record_of,
        )?)
    }

    /// Stores a new password before registerTerminal carries it.
    pub(crate) fn choose_password(&self, password: &str) -> Result<(), StoreError> {
        self.update(
            "UPDATE pos_terminal SET pending_password = ?2 WHERE external_id = ?1",
            params![self.external_id, password],
        )
    }

    /// registerTerminal answered: the pending password is the password now, the sticker
    /// must be assigned (again).
    pub(crate) fn registered(&self, terminal_id: &str, now_ms: i64) -> Result<(), StoreError> {
        self.update(
            "UPDATE pos_terminal SET terminal_id = ?2, password = pending_password, pending_password = NULL,
                 registered = 1, seqr_assigned = 0, registered_at_ms = ?3, unregistered_at_ms = NULL
             WHERE external_id = ?1 AND pending_password IS NOT NULL",
            params![self.external_id, terminal_id, now_ms],
        )
    }

    /// Glase refused registerTerminal: nothing changed there, nor here.
    pub(crate) fn registration_refused(&self) -> Result<(), StoreError> {
        self.update("UPDATE pos_terminal SET pending_password = NULL WHERE external_id = ?1", params![self.external_id])
    }

    /// registerTerminal's answer was lost: Glase may hold the old password or the new
    /// one, so the till counts as not registered until it registers again.
    pub(crate) fn registration_lost(&self) -> Result<(), StoreError> {
        self.update(
            "UPDATE pos_terminal SET registered = 0, seqr_assigned = 0 WHERE external_id = ?1",
            params![self.external_id],
        )
    }

    pub(crate) fn seqr_assigned(&self) -> Result<(), StoreError> {
        self.update("UPDATE pos_terminal SET seqr_assigned = 1 WHERE external_id = ?1", params![self.external_id])
    }

    pub(crate) fn unregistered(&self, now_ms: i64) -> Result<(), StoreError> {
        self.update(
            "UPDATE pos_terminal SET registered = 0, seqr_assigned = 0, unregistered_at_ms = ?2 WHERE external_id = ?1",
            params![self.external_id, now_ms],
        )
    }

    fn update(&self, sql: &str, params: impl rusqlite::Params) -> Result<(), StoreError> {
        self.db.lock().execute_cached(sql, params)?;
        Ok(())
    }

    /// Whether the till's row exists (tests).
    #[cfg(test)]
    fn exists(&self) -> Result<bool, StoreError> {
        use rusqlite::OptionalExtension as _;
        Ok(self
            .db
            .lock()
            .query_row_cached("SELECT 1 FROM pos_terminal WHERE external_id = ?1", [&self.external_id], |_| Ok(()))
            .optional()?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terminals() -> (Db, Terminals) {
        let db = Db::in_memory().expect("in-memory database");
        let terminals = Terminals::open(db.clone(), "till-1", "STICKER1").expect("schema");
        (db, terminals)
    }

    #[test]
    fn a_password_becomes_the_terminals_only_once_glase_has_answered() {
        let (_, terminals) = terminals();
        assert!(terminals.exists().expect("db"));
        terminals.choose_password("first").expect("db");
        terminals.registered("T1", 10).expect("db");
        let record = terminals.load().expect("db");
        assert_eq!(record.credentials(), Some(("T1", "first")));
        assert!(!record.seqr_assigned);
        // A refused re-registration keeps the old password; a lost one unregisters.
        terminals.choose_password("second").expect("db");
        terminals.registration_refused().expect("db");
        assert_eq!(terminals.load().expect("db").credentials(), Some(("T1", "first")));
        terminals.choose_password("third").expect("db");
        terminals.registration_lost().expect("db");
        assert_eq!(terminals.load().expect("db").credentials(), None);
        terminals.registered("T1", 20).expect("db");
        let record = terminals.load().expect("db");
        assert_eq!((record.credentials(), record.registered_at_ms), (Some(("T1", "third")), Some(20)));
    }

    #[test]
    fn the_registration_survives_reopening_and_a_new_sticker_is_assigned_again() {
        let (db, terminals) = terminals();
        terminals.choose_password("pw").expect("db");
        terminals.registered("T1", 10).expect("db");
        terminals.seqr_assigned().expect("db");
        let same = Terminals::open(db.clone(), "till-1", "STICKER1").expect("reopen");
        assert!(same.load().expect("db").seqr_assigned);
        let moved = Terminals::open(db, "till-1", "STICKER2").expect("reopen");
        let record = moved.load().expect("db");
        assert_eq!((record.seqr_id.as_str(), record.seqr_assigned, record.registered), ("STICKER2", false, true));
        moved.unregistered(30).expect("db");
        let record = moved.load().expect("db");
        assert_eq!((record.registered, record.unregistered_at_ms), (false, Some(30)));
        assert_eq!(record.terminal_id.as_deref(), Some("T1"));
    }
}
