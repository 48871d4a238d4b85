//! The vending tables and every statement on them. Each function is one short
//! synchronous use of the shared connection; functions that change a purchase and its
//! machine together do it in one transaction, so a crash leaves both or neither.
//!
//! # Implementation rationale
//! The machine row carries its own `state` and `purchase_id` instead of deriving them
//! from the purchase: claiming a machine is then a single conditional
//! `UPDATE … WHERE state = 'idle'` (the atomic step that lets only one of two
//! simultaneous scans through), and a purchase that ended without releasing its machine
//! (the `no-release-on-cancel` fault) is representable. Money is stored as decimal text,
//! times as milliseconds since the epoch (they must survive a restart).

use rusqlite::{Connection, OptionalExtension, Row, params};
use rust_decimal::Decimal;

use super::config::MachineConfig;
use super::model::{
    MachineRecord, MachineState, NotifyToken, Purchase, PurchaseId, PurchaseState, VendId, VendRecord, VendState,
    VendedRow,
};
use crate::store::{CachedStatements, Db, StoreError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS vending_machines (
    token          TEXT PRIMARY KEY,
    state          TEXT NOT NULL,
    purchase_id    TEXT,
    out_of_service INTEGER NOT NULL DEFAULT 0,
    state_since    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS vending_purchases (
    id                TEXT PRIMARY KEY,
    machine           TEXT NOT NULL,
    notify_token      TEXT NOT NULL UNIQUE,
    invoice_reference TEXT,
    amount            TEXT NOT NULL,
    currency          TEXT NOT NULL,
    msisdn            TEXT,
    state             TEXT NOT NULL,
    status_version    INTEGER NOT NULL DEFAULT 0,
    reserved_amount   TEXT,
    final_amount      TEXT,
    rows              TEXT,
    ers_reference     TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    retry_at          INTEGER,
    note              TEXT
);
CREATE INDEX IF NOT EXISTS vending_purchases_by_state ON vending_purchases (state);
CREATE TABLE IF NOT EXISTS vending_vends (
    vend_id     TEXT PRIMARY KEY,
    machine     TEXT NOT NULL,
    purchase_id TEXT NOT NULL,
    state       TEXT NOT NULL,
    total       TEXT NOT NULL,
    rows        TEXT NOT NULL,
    note        TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- A purchase has at most one vend under way: the one its `vending` state is about.
CREATE UNIQUE INDEX IF NOT EXISTS vending_vends_pending ON vending_vends (purchase_id) WHERE state = 'pending';
";

const VEND_COLUMNS: &str = "vend_id, machine, purchase_id, state, total, rows, note, created_at, updated_at";

const PURCHASE_COLUMNS: &str = "id, machine, notify_token, invoice_reference, amount, currency, msisdn, state, \
     status_version, reserved_amount, final_amount, rows, ers_reference, created_at, updated_at, retry_at, note";

/// Creates the tables (idempotent) and brings the machine rows in line with the fleet:
/// new machines are added idle; `in_service = false` puts a machine out of service at
/// every start (a driver's out-of-service is kept across restarts otherwise).
pub(crate) fn migrate(db: &Db, fleet: &[MachineConfig], now: i64) -> Result<(), StoreError> {
    db.migrate(SCHEMA)?;
    let mut connection = db.lock();
    let tx = connection.transaction()?;
    for machine in fleet {
        tx.execute_cached(
            "INSERT OR IGNORE INTO vending_machines (token, state, purchase_id, out_of_service, state_since)
             VALUES (?1, 'idle', NULL, ?2, ?3)",
            params![machine.token, !machine.in_service, now],
        )?;
        if !machine.in_service {
            tx.execute_cached(
                "UPDATE vending_machines SET out_of_service = 1 WHERE token = ?1",
                params![machine.token],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn decimal(row: &Row<'_>, index: usize) -> rusqlite::Result<Decimal> {
    let text: String = row.get(index)?;
    text.parse().map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e)))
}

fn optional_decimal(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<Decimal>> {
    match row.get::<_, Option<String>>(index)? {
        None => Ok(None),
        Some(_) => decimal(row, index).map(Some),
    }
}

fn invalid(index: usize, text: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        index,
        rusqlite::types::Type::Text,
        format!("unknown state {text:?}").into(),
    )
}

fn purchase_from_row(row: &Row<'_>) -> rusqlite::Result<Purchase> {
    let state: String = row.get(7)?;
    let rows: Option<String> = row.get(11)?;
    let rows = match rows {
        None => Vec::new(),
        Some(text) => rows_from_json(&text, 11)?,
    };
    Ok(Purchase {
        id: PurchaseId(row.get(0)?),
        machine: row.get(1)?,
        notify_token: NotifyToken(row.get(2)?),
        invoice_reference: row.get(3)?,
        amount: decimal(row, 4)?,
        currency: row.get(5)?,
        msisdn: row.get(6)?,
        state: PurchaseState::parse(&state).ok_or_else(|| invalid(7, &state))?,
        status_version: row.get(8)?,
        reserved_amount: optional_decimal(row, 9)?,
        final_amount: optional_decimal(row, 10)?,
        rows,
        ers_reference: row.get(12)?,
        created_at: row.get(13)?,
        updated_at: row.get(14)?,
        retry_at: row.get(15)?,
        note: row.get(16)?,
    })
}

fn rows_from_json(text: &str, index: usize) -> rusqlite::Result<Vec<VendedRow>> {
    serde_json::from_str::<Vec<VendedRow>>(text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e)))
}

fn rows_to_json(rows: &[VendedRow]) -> String {
    // Plain strings and numbers: serialising them cannot fail.
    serde_json::to_string(rows).unwrap_or_else(|_| "[]".to_owned())
}

fn vend_from_row(row: &Row<'_>) -> rusqlite::Result<VendRecord> {
    let state: String = row.get(3)?;
    Ok(VendRecord {
        id: VendId(row.get(0)?),
        machine: row.get(1)?,
        purchase: PurchaseId(row.get(2)?),
        state: VendState::parse(&state).ok_or_else(|| invalid(3, &state))?,
        total: decimal(row, 4)?,
        rows: rows_from_json(&row.get::<_, String>(5)?, 5)?,
        note: row.get(6)?,
        created_at: row.get(7)?,
        updated_at: row.get(8)?,
    })
}

fn machine_from_row(row: &Row<'_>) -> rusqlite::Result<MachineRecord> {
    let state: String = row.get(1)?;
    Ok(MachineRecord {
        token: row.get(0)?,
        state: MachineState::parse(&state).ok_or_else(|| invalid(1, &state))?,
        purchase: row.get::<_, Option<String>>(2)?.map(PurchaseId),
        out_of_service: row.get(3)?,
        state_since: row.get(4)?,
    })
}

pub(crate) fn machine(db: &Db, token: &str) -> Result<Option<MachineRecord>, StoreError> {
    let connection = db.lock();
    let found = connection
        .query_row_cached(
            "SELECT token, state, purchase_id, out_of_service, state_since FROM vending_machines WHERE token = ?1",
            params![token],
            machine_from_row,
        )
        .optional()?;
    Ok(found)
}

pub(crate) fn purchase(db: &Db, id: &PurchaseId) -> Result<Option<Purchase>, StoreError> {
    let connection = db.lock();
    let sql = format!("SELECT {PURCHASE_COLUMNS} FROM vending_purchases WHERE id = ?1");
    Ok(connection.query_row_cached(&sql, params![id.0], purchase_from_row).optional()?)
}

/// A vend by its id.
pub(crate) fn vend(db: &Db, id: &VendId) -> Result<Option<VendRecord>, StoreError> {
    let connection = db.lock();
    let sql = format!("SELECT {VEND_COLUMNS} FROM vending_vends WHERE vend_id = ?1");
    Ok(connection.query_row_cached(&sql, params![id.0], vend_from_row).optional()?)
}

/// Records a vend that ended without Glase being asked to charge anything (the customer
/// chose nothing and the reservation was cancelled), so that its id answers the same
/// way when the machine asks again. False if the id was recorded already.
pub(crate) fn record_ended_vend(db: &Db, vend: &VendRecord) -> Result<bool, StoreError> {
    debug_assert!(vend.state != VendState::Pending);
    let inserted = db.lock().execute_cached(
        "INSERT OR IGNORE INTO vending_vends (vend_id, machine, purchase_id, state, total, rows, note, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![
            vend.id.0,
            vend.machine,
            vend.purchase.0,
            vend.state.as_str(),
            vend.total.to_string(),
            rows_to_json(&vend.rows),
            vend.note,
            vend.created_at,
        ],
    )?;
    Ok(inserted == 1)
}

pub(crate) fn purchase_by_notify_token(db: &Db, token: &str) -> Result<Option<Purchase>, StoreError> {
    let connection = db.lock();
    let sql = format!("SELECT {PURCHASE_COLUMNS} FROM vending_purchases WHERE notify_token = ?1");
    Ok(connection.query_row_cached(&sql, params![token], purchase_from_row).optional()?)
}

fn purchases_where(
    connection: &Connection,
    condition: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Purchase>, StoreError> {
    let sql = format!("SELECT {PURCHASE_COLUMNS} FROM vending_purchases WHERE {condition} ORDER BY created_at, id");
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(args, purchase_from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Purchases that are not finished: what recovery looks at after a restart.
pub(crate) fn open_purchases(db: &Db) -> Result<Vec<Purchase>, StoreError> {
    purchases_where(&db.lock(), "state IN ('claimed', 'issued', 'unlocked', 'vending')", &[])
}

/// Purchases whose invoice waits for the customer: the fallback status poll's work.
pub(crate) fn waiting_purchases(db: &Db) -> Result<Vec<Purchase>, StoreError> {
    purchases_where(&db.lock(), "state = 'issued' AND invoice_reference IS NOT NULL", &[])
}

/// Purchases whose commit outcome is not known yet and that may be retried now.
pub(crate) fn unresolved_vends(db: &Db, now: i64) -> Result<Vec<Purchase>, StoreError> {
    purchases_where(&db.lock(), "state = 'vending' AND (retry_at IS NULL OR retry_at <= ?1)", &[&now])
}

/// Purchases holding a machine that has been reserved or unlocked since `cutoff` or
/// earlier with nothing vended, and that may be retried now: the idle timer's work.
pub(crate) fn idle_purchases(db: &Db, cutoff: i64, now: i64) -> Result<Vec<Purchase>, StoreError> {
    let condition = "state IN ('issued', 'unlocked') AND (retry_at IS NULL OR retry_at <= ?2) AND id IN \
         (SELECT purchase_id FROM vending_machines WHERE state IN ('reserved', 'unlocked') AND state_since <= ?1)";
    purchases_where(&db.lock(), condition, &[&cutoff, &now])
}

pub(crate) fn machines(db: &Db) -> Result<Vec<MachineRecord>, StoreError> {
    let connection = db.lock();
    let mut statement = connection.prepare_cached(
        "SELECT token, state, purchase_id, out_of_service, state_since FROM vending_machines ORDER BY token",
    )?;
    let rows = statement.query_map([], machine_from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// How claiming a machine for a new purchase went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    Claimed,
    UnknownMachine,
    OutOfService,
    InUse,
}

/// Claims the machine for `purchase` and records the purchase (state `claimed`), in one
/// transaction: of two simultaneous scans exactly one finds the machine idle.
/// `ignore_in_use` is the `ignore-device-in-use` fault.
pub(crate) fn claim(db: &Db, purchase: &Purchase, ignore_in_use: bool) -> Result<Claim, StoreError> {
    let mut connection = db.lock();
    let tx = connection.transaction()?;
    let out_of_service: Option<bool> = tx
        .query_row_cached(
            "SELECT out_of_service FROM vending_machines WHERE token = ?1",
            params![purchase.machine],
            |row| row.get(0),
        )
        .optional()?;
    match out_of_service {
        None => return Ok(Claim::UnknownMachine),
        Some(true) => return Ok(Claim::OutOfService),
        Some(false) => {}
    }
    let claimed = tx.execute_cached(
        "UPDATE vending_machines SET state = 'reserved', purchase_id = ?1, state_since = ?2
         WHERE token = ?3 AND out_of_service = 0 AND (state = 'idle' OR ?4)",
        params![purchase.id.0, purchase.created_at, purchase.machine, ignore_in_use],
    )?;
    if claimed == 0 {
        return Ok(Claim::InUse);
    }
    tx.execute_cached(
        "INSERT INTO vending_purchases (id, machine, notify_token, invoice_reference, amount, currency, msisdn, state,
             status_version, created_at, updated_at)
         VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, 'claimed', 0, ?7, ?7)",
        params![
            purchase.id.0,
            purchase.machine,
            purchase.notify_token.0,
            purchase.amount.to_string(),
            purchase.currency,
            purchase.msisdn,
            purchase.created_at,
        ],
    )?;
    tx.commit()?;
    Ok(Claim::Claimed)
}

/// sendInvoice answered: the purchase now waits for the customer.
pub(crate) fn set_invoice(db: &Db, id: &PurchaseId, reference: &str, now: i64) -> Result<(), StoreError> {
    db.lock().execute_cached(
        "UPDATE vending_purchases SET invoice_reference = ?2, state = 'issued', updated_at = ?3
         WHERE id = ?1 AND state = 'claimed'",
        params![id.0, reference, now],
    )?;
    Ok(())
}

/// Remembers the latest invoice version seen.
pub(crate) fn set_version(db: &Db, id: &PurchaseId, version: i32) -> Result<(), StoreError> {
    db.lock()
        .execute_cached("UPDATE vending_purchases SET status_version = ?2 WHERE id = ?1", params![id.0, version])?;
    Ok(())
}

/// Postpones background retries of this purchase until `at` (`None`: retry at once).
pub(crate) fn set_retry(db: &Db, id: &PurchaseId, at: Option<i64>) -> Result<(), StoreError> {
    db.lock().execute_cached("UPDATE vending_purchases SET retry_at = ?2 WHERE id = ?1", params![id.0, at])?;
    Ok(())
}

/// `issued` → `unlocked` with the reserved amount; the machine (if still this
/// purchase's) becomes unlocked and its idle timer restarts. False if the purchase was
/// not `issued` (a repeated status, or another path got there first).
pub(crate) fn unlock(db: &Db, id: &PurchaseId, reserved: Decimal, now: i64) -> Result<bool, StoreError> {
    let mut connection = db.lock();
    let tx = connection.transaction()?;
    let changed = tx.execute_cached(
        "UPDATE vending_purchases SET state = 'unlocked', reserved_amount = ?2, updated_at = ?3, retry_at = NULL
         WHERE id = ?1 AND state = 'issued'",
        params![id.0, reserved.to_string(), now],
    )?;
    if changed == 1 {
        move_machine(&tx, id, "unlocked", now)?;
    }
    tx.commit()?;
    Ok(changed == 1)
}

/// `unlocked` → `vending` with the final amount and rows, and the vend recorded
/// (`pending`) under its id, in one transaction, before Glase is told: after a crash
/// the commit is repeated with exactly this amount, and the machine can ask for the
/// vend's outcome by its id. False if the purchase was not `unlocked` or the vend id
/// is taken.
pub(crate) fn start_vend(
    db: &Db,
    id: &PurchaseId,
    vend: &VendId,
    total: Decimal,
    rows: &[VendedRow],
    now: i64,
) -> Result<bool, StoreError> {
    let rows = rows_to_json(rows);
    let mut connection = db.lock();
    let tx = connection.transaction()?;
    let changed = tx.execute_cached(
        "UPDATE vending_purchases SET state = 'vending', final_amount = ?2, rows = ?3, updated_at = ?4, retry_at = NULL
         WHERE id = ?1 AND state = 'unlocked'",
        params![id.0, total.to_string(), rows, now],
    )?;
    if changed == 0 {
        return Ok(false);
    }
    let recorded = tx.execute_cached(
        "INSERT OR IGNORE INTO vending_vends (vend_id, machine, purchase_id, state, total, rows, created_at, updated_at)
         SELECT ?1, machine, id, 'pending', ?3, ?4, ?5, ?5 FROM vending_purchases WHERE id = ?2",
        params![vend.0, id.0, total.to_string(), rows, now],
    )?;
    if recorded == 0 {
        // Dropping the transaction rolls the purchase back too.
        return Ok(false);
    }
    move_machine(&tx, id, "vending", now)?;
    tx.commit()?;
    Ok(true)
}

/// Ends the purchase's vend under way (if any) as `state`, inside the purchase's
/// transaction.
fn end_pending_vend(
    tx: &rusqlite::Transaction<'_>,
    id: &PurchaseId,
    state: VendState,
    note: &str,
    now: i64,
) -> rusqlite::Result<()> {
    tx.execute_cached(
        "UPDATE vending_vends SET state = ?2, note = ?3, updated_at = ?4 WHERE purchase_id = ?1 AND state = 'pending'",
        params![id.0, state.as_str(), note, now],
    )?;
    Ok(())
}

/// `vending` → `unlocked` after Glase refused the commit: the customer may choose
/// again, and the idle timer starts over.
pub(crate) fn back_to_unlocked(db: &Db, id: &PurchaseId, note: &str, now: i64) -> Result<bool, StoreError> {
    let mut connection = db.lock();
    let tx = connection.transaction()?;
    let changed = tx.execute_cached(
        "UPDATE vending_purchases SET state = 'unlocked', final_amount = NULL, rows = NULL, note = ?2, updated_at = ?3
         WHERE id = ?1 AND state = 'vending'",
        params![id.0, note, now],
    )?;
    if changed == 1 {
        move_machine(&tx, id, "unlocked", now)?;
        end_pending_vend(&tx, id, VendState::Rejected, note, now)?;
    }
    tx.commit()?;
    Ok(changed == 1)
}

/// How a purchase ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ending<'a> {
    pub state: PurchaseState,
    pub ers_reference: Option<&'a str>,
    pub note: &'a str,
    /// Free the machine (false only under the `no-release-on-cancel` fault).
    pub release: bool,
}

/// Ends an open purchase and (normally) releases its machine, in one transaction.
/// False if the purchase had ended already: ending is idempotent.
pub(crate) fn finish(db: &Db, id: &PurchaseId, ending: &Ending<'_>, now: i64) -> Result<bool, StoreError> {
    debug_assert!(ending.state.is_final());
    let mut connection = db.lock();
    let tx = connection.transaction()?;
    let changed = tx.execute_cached(
        "UPDATE vending_purchases SET state = ?2, ers_reference = COALESCE(?3, ers_reference), note = ?4,
             updated_at = ?5, retry_at = NULL
         WHERE id = ?1 AND state IN ('claimed', 'issued', 'unlocked', 'vending')",
        params![id.0, ending.state.as_str(), ending.ers_reference, ending.note, now],
    )?;
    if changed == 1 {
        // The vend under way, if any, ends with the purchase: paid, or not charged.
        let vend = if ending.state == PurchaseState::Paid { VendState::Paid } else { VendState::Canceled };
        end_pending_vend(&tx, id, vend, ending.note, now)?;
    }
    if changed == 1 && ending.release {
        tx.execute_cached(
            "UPDATE vending_machines SET state = 'idle', purchase_id = NULL, state_since = ?2 WHERE purchase_id = ?1",
            params![id.0, now],
        )?;
    }
    tx.commit()?;
    Ok(changed == 1)
}

/// Why a machine's service flag could not be changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServiceChange {
    Done,
    UnknownMachine,
    /// A purchase holds the machine.
    InUse(MachineState),
}

/// Puts an idle machine out of service (`true`) or back in service (`false`).
pub(crate) fn set_out_of_service(db: &Db, token: &str, out: bool, now: i64) -> Result<ServiceChange, StoreError> {
    let connection = db.lock();
    let changed = connection.execute_cached(
        "UPDATE vending_machines SET out_of_service = ?2, state_since = ?3 WHERE token = ?1 AND state = 'idle'",
        params![token, out, now],
    )?;
    if changed == 1 {
        return Ok(ServiceChange::Done);
    }
    let state: Option<String> = connection
        .query_row_cached("SELECT state FROM vending_machines WHERE token = ?1", params![token], |row| row.get(0))
        .optional()?;
    Ok(match state {
        None => ServiceChange::UnknownMachine,
        Some(state) => ServiceChange::InUse(MachineState::parse(&state).unwrap_or(MachineState::Reserved)),
    })
}

/// Moves the machine a purchase holds to `state` (inside the purchase's transaction).
fn move_machine(tx: &rusqlite::Transaction<'_>, id: &PurchaseId, state: &str, now: i64) -> rusqlite::Result<()> {
    tx.execute_cached(
        "UPDATE vending_machines SET state = ?3, state_since = ?2 WHERE purchase_id = ?1",
        params![id.0, now, state],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vending::config::demo_fleet;

    fn new_purchase(machine: &str, id: &str, now: i64) -> Purchase {
        let msisdn = Some("46700000000".to_owned());
        Purchase::claimed(PurchaseId(id.to_owned()), machine, Decimal::new(2000, 2), "EUR", msisdn, now)
    }

    fn db() -> Db {
        let db = Db::in_memory().unwrap();
        migrate(&db, &demo_fleet(), 1).unwrap();
        db
    }

    #[test]
    fn only_one_of_two_claims_of_a_machine_succeeds() {
        let db = db();
        assert_eq!(claim(&db, &new_purchase("machine-1", "a", 10), false).unwrap(), Claim::Claimed);
        assert_eq!(claim(&db, &new_purchase("machine-1", "b", 11), false).unwrap(), Claim::InUse);
        assert_eq!(claim(&db, &new_purchase("nope", "c", 12), false).unwrap(), Claim::UnknownMachine);
        assert!(purchase(&db, &PurchaseId("b".to_owned())).unwrap().is_none());
        let machine = machine(&db, "machine-1").unwrap().unwrap();
        assert_eq!((machine.state, machine.purchase), (MachineState::Reserved, Some(PurchaseId("a".to_owned()))));
    }

    #[test]
    fn a_purchase_moves_through_its_states_and_releases_the_machine_once() {
        let db = db();
        let id = PurchaseId("a".to_owned());
        claim(&db, &new_purchase("machine-1", "a", 10), false).unwrap();
        set_invoice(&db, &id, "123", 11).unwrap();
        assert!(unlock(&db, &id, Decimal::new(2000, 2), 12).unwrap());
        assert!(!unlock(&db, &id, Decimal::new(2000, 2), 13).unwrap(), "a repeated RESERVED changes nothing");
        assert_eq!(machine(&db, "machine-1").unwrap().unwrap().state, MachineState::Unlocked);
        let rows = vec![VendedRow {
            sku: "cola".into(),
            description: "Cola".into(),
            quantity: 2,
            unit_price: Decimal::new(250, 2),
            total: Decimal::new(500, 2),
        }];
        let vend_id = VendId("v1".to_owned());
        assert!(start_vend(&db, &id, &vend_id, Decimal::new(500, 2), &rows, 14).unwrap());
        assert_eq!(vend(&db, &vend_id).unwrap().unwrap().state, VendState::Pending);
        let stored = purchase(&db, &id).unwrap().unwrap();
        assert_eq!(
            (stored.state, stored.rows.clone(), stored.final_amount),
            (PurchaseState::Vending, rows, Some(Decimal::new(500, 2)))
        );
        let ending = Ending { state: PurchaseState::Paid, ers_reference: Some("9"), note: "committed", release: true };
        assert!(finish(&db, &id, &ending, 15).unwrap());
        assert!(!finish(&db, &id, &ending, 16).unwrap());
        let ended = vend(&db, &vend_id).unwrap().unwrap();
        assert_eq!((ended.state, ended.total, ended.rows.len()), (VendState::Paid, Decimal::new(500, 2), 1));
        let machine = machine(&db, "machine-1").unwrap().unwrap();
        assert_eq!((machine.state, machine.purchase, machine.state_since), (MachineState::Idle, None, 15));
    }

    #[test]
    fn a_vend_ends_with_its_purchase_and_its_id_names_one_vend() {
        let db = db();
        let (a, b) = (PurchaseId("a".to_owned()), PurchaseId("b".to_owned()));
        for (machine, id) in [("machine-1", &a), ("machine-2", &b)] {
            claim(&db, &new_purchase(machine, &id.0, 10), false).unwrap();
            set_invoice(&db, id, &format!("ref-{}", id.0), 11).unwrap();
            unlock(&db, id, Decimal::new(2000, 2), 12).unwrap();
        }
        let (first, second) = (VendId("v1".to_owned()), VendId("v2".to_owned()));
        assert!(start_vend(&db, &a, &first, Decimal::ONE, &[], 13).unwrap());
        // The id is taken: another purchase cannot use it, and stays unlocked.
        assert!(!start_vend(&db, &b, &first, Decimal::ONE, &[], 14).unwrap());
        assert_eq!(purchase(&db, &b).unwrap().unwrap().state, PurchaseState::Unlocked);
        assert_eq!(vend(&db, &first).unwrap().unwrap().purchase, a);
        // Glase refused the commit: the vend is rejected, the purchase unlocked again,
        // and a new vend takes a new id.
        assert!(back_to_unlocked(&db, &a, "refused: 90", 15).unwrap());
        let rejected = vend(&db, &first).unwrap().unwrap();
        assert_eq!((rejected.state, rejected.note.as_deref()), (VendState::Rejected, Some("refused: 90")));
        assert!(start_vend(&db, &a, &second, Decimal::ONE, &[], 16).unwrap());
        let ending = Ending { state: PurchaseState::Canceled, ers_reference: None, note: "reversed", release: true };
        assert!(finish(&db, &a, &ending, 17).unwrap());
        assert_eq!(vend(&db, &second).unwrap().unwrap().state, VendState::Canceled);
        assert_eq!(vend(&db, &first).unwrap().unwrap().state, VendState::Rejected, "an ended vend stays as it ended");
    }

    #[test]
    fn only_an_idle_machine_changes_service() {
        let db = db();
        assert_eq!(set_out_of_service(&db, "machine-2", true, 5).unwrap(), ServiceChange::Done);
        assert_eq!(claim(&db, &new_purchase("machine-2", "x", 6), false).unwrap(), Claim::OutOfService);
        claim(&db, &new_purchase("machine-1", "a", 10), false).unwrap();
        assert_eq!(
            set_out_of_service(&db, "machine-1", true, 11).unwrap(),
            ServiceChange::InUse(MachineState::Reserved)
        );
        assert_eq!(set_out_of_service(&db, "zzz", true, 11).unwrap(), ServiceChange::UnknownMachine);
    }

    #[test]
    fn idle_purchases_are_those_past_the_cutoff() {
        let db = db();
        claim(&db, &new_purchase("machine-1", "a", 10), false).unwrap();
        let id = PurchaseId("a".to_owned());
        assert!(idle_purchases(&db, 100, 100).unwrap().is_empty(), "claimed: sendInvoice still running");
        set_invoice(&db, &id, "123", 11).unwrap();
        assert_eq!(idle_purchases(&db, 100, 100).unwrap().len(), 1);
        assert!(idle_purchases(&db, 9, 100).unwrap().is_empty());
        set_retry(&db, &id, Some(200)).unwrap();
        assert!(idle_purchases(&db, 100, 100).unwrap().is_empty());
    }
}
