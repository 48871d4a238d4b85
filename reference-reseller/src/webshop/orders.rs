//! The webshop's durable records: orders and their rows, payments, refunds and closed
//! transaction periods, in the shared SQLite database.
//!
//! Every change that must happen at most once is a guarded statement inside one
//! transaction: an order leaves `pending` only through `… WHERE state = 'pending'`, so
//! when the notification fetch and the poller both see PAID, exactly one of them records
//! the payment (and submits the receipt); a refund is checked against the payment and
//! reserved in the same transaction, so two concurrent refunds cannot both pass.
//!
//! Both instances of the engine (the webshop and the till, see `shop`) keep their orders
//! in these tables, told apart by the `channel` column; every query that lists or looks
//! up orders is narrowed to the instance's channel, so each status loop and recovery
//! sees only its own.
//!
//! # Implementation rationale
//! Amounts are stored as decimal text and summed in Rust: SQLite's `SUM` over text goes
//! through floating point. Times are milliseconds since the epoch of the reseller's
//! wall clock, so the unpaid timeout keeps counting across a restart.

use std::str::FromStr;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use rust_decimal::Decimal;
use serde::Serialize;

use super::channel::Channel;
use crate::glase::PaymentStatus;
use crate::store::{CachedStatements, Db, StoreError};
use glase_protocol::InvoiceStatus;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS webshop_orders (
    id                TEXT PRIMARY KEY,
    token             TEXT NOT NULL UNIQUE,
    state             TEXT NOT NULL,
    reason            TEXT,
    currency          TEXT NOT NULL,
    total             TEXT NOT NULL,
    created_at_ms     INTEGER NOT NULL,
    invoice_reference TEXT UNIQUE,
    qr_code           TEXT,
    version           INTEGER NOT NULL DEFAULT 0,
    ers_reference     TEXT,
    finished_at_ms    INTEGER,
    channel           TEXT NOT NULL DEFAULT 'web'
);
CREATE INDEX IF NOT EXISTS webshop_orders_state ON webshop_orders (state);
CREATE TABLE IF NOT EXISTS webshop_order_rows (
    order_id   TEXT NOT NULL REFERENCES webshop_orders (id),
    position   INTEGER NOT NULL,
    sku        TEXT NOT NULL,
    name       TEXT NOT NULL,
    quantity   INTEGER NOT NULL,
    unit_price TEXT NOT NULL,
    total      TEXT NOT NULL,
    PRIMARY KEY (order_id, position)
);
CREATE TABLE IF NOT EXISTS webshop_payments (
    ers_reference          TEXT PRIMARY KEY,
    order_id               TEXT NOT NULL UNIQUE REFERENCES webshop_orders (id),
    amount                 TEXT NOT NULL,
    currency               TEXT NOT NULL,
    paid_at_ms             INTEGER NOT NULL,
    receipt_submitted_at_ms INTEGER,
    receipt_attempts       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS webshop_refunds (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id        TEXT NOT NULL REFERENCES webshop_orders (id),
    amount          TEXT NOT NULL,
    state           TEXT NOT NULL,
    ers_reference   TEXT,
    error           TEXT,
    requested_at_ms INTEGER NOT NULL,
    finished_at_ms  INTEGER
);
CREATE TABLE IF NOT EXISTS webshop_periods (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_period_id TEXT,
    closed_at_ms          INTEGER NOT NULL,
    channel               TEXT NOT NULL DEFAULT 'web'
);
";

/// Columns added after the first release: added to an existing database when missing
/// (its rows were all the webshop's, hence the default), then indexed.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("webshop_orders", "channel", "TEXT NOT NULL DEFAULT 'web'"),
    ("webshop_periods", "channel", "TEXT NOT NULL DEFAULT 'web'"),
];
const AFTER_ADDED_COLUMNS: &str =
    "CREATE INDEX IF NOT EXISTS webshop_orders_channel_state ON webshop_orders (channel, state);";

/// How often submitPaymentReceipt is tried for one payment before giving up.
pub(crate) const RECEIPT_ATTEMPTS: i64 = 5;

/// An order's identifier: also the invoice's `clientInvoiceId` and part of the
/// customer's page URL, so it is random (64 bits), not a counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub(crate) struct OrderId(pub(crate) String);

impl std::fmt::Display for OrderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an order stands, as the shop sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum OrderState {
    /// Invoice sent (or being sent); waiting for the customer.
    Pending,
    /// getPaymentStatus said PAID; the ersReference is stored.
    Paid,
    /// Cancelled: by the customer, by the shop (on request or after the unpaid
    /// timeout), or by Glase.
    Canceled,
    /// The payment failed (FAILED, e.g. insufficient funds) or no invoice could be sent.
    Failed,
}

impl OrderState {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Canceled => "canceled",
            Self::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "paid" => Self::Paid,
            "canceled" => Self::Canceled,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }
}

/// One order line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrderRow {
    pub(crate) sku: String,
    pub(crate) name: String,
    pub(crate) quantity: u32,
    pub(crate) unit_price: Decimal,
    pub(crate) total: Decimal,
}

/// An order as stored.
#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub(crate) id: OrderId,
    /// The secret in the notificationUrl.
    pub(crate) token: String,
    pub(crate) state: OrderState,
    /// Why it is canceled or failed, for people.
    pub(crate) reason: Option<String>,
    pub(crate) currency: String,
    pub(crate) total: Decimal,
    pub(crate) created_at_ms: i64,
    pub(crate) invoice_reference: Option<String>,
    pub(crate) qr_code: Option<String>,
    /// The latest `version` getPaymentStatus returned, echoed as `invoiceVersion`.
    pub(crate) version: i32,
    pub(crate) ers_reference: Option<String>,
}

impl Order {
    /// Whether the unpaid timeout has passed at `now_ms`.
    pub(crate) fn is_overdue(&self, now_ms: i64, unpaid_timeout_ms: i64) -> bool {
        self.state == OrderState::Pending && now_ms.saturating_sub(self.created_at_ms) >= unpaid_timeout_ms
    }
}

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RefundState {
    /// Reserved locally; refundPayment under way.
    Requested,
    /// Glase confirmed it (ersReference stored).
    Done,
    /// Glase refused it with a resultCode: no money moved.
    Rejected,
    /// Glase did not answer (or the reseller stopped mid-call): it may or may not have
    /// happened. Never retried automatically; it keeps its amount reserved until a
    /// person reconciles it against the transaction report.
    Unknown,
}

impl RefundState {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Done => "done",
            Self::Rejected => "rejected",
            Self::Unknown => "unknown",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "done" => Self::Done,
            "rejected" => Self::Rejected,
            "unknown" => Self::Unknown,
            _ => Self::Requested,
        }
    }

    /// Whether the amount counts against what may still be refunded.
    const fn holds_money(self) -> bool {
        !matches!(self, Self::Rejected)
    }
}

/// One refund of an order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Refund {
    pub(crate) id: i64,
    #[serde(with = "super::config::money")]
    pub(crate) amount: Decimal,
    pub(crate) state: RefundState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ers_reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    pub(crate) requested_at_ms: i64,
}

/// A payment as stored.
#[derive(Debug, Clone)]
pub(crate) struct StoredPayment {
    pub(crate) ers_reference: String,
    pub(crate) amount: Decimal,
    pub(crate) currency: String,
    pub(crate) receipt_submitted: bool,
    pub(crate) receipt_attempts: i64,
}

/// What recording a getPaymentStatus answer changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// The order was pending and is now paid: this caller submits the receipt.
    NewlyPaid,
    /// The order was pending and is now canceled or failed.
    Ended(OrderState),
    /// Nothing changed (still pending, or the order had already left `pending`).
    Unchanged,
}

/// Why a refund cannot be reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefundRefusal {
    UnknownOrder,
    NotPaid(OrderState),
    /// Nothing is left to refund.
    NothingLeft,
    /// More than what is left (`remaining`).
    Exceeds {
        remaining: Decimal,
    },
    NotPositive,
}

/// What [`Orders::reserve_refund`] checks before reserving a refund. Both always,
/// except under the deliberate faults `refund-unpaid-order` (`paid`) and
/// `refund-beyond-payment` (`amount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RefundChecks {
    /// Only a paid order can be refunded.
    pub(crate) paid: bool,
    /// Refunds never add up to more than the payment.
    pub(crate) amount: bool,
}

#[cfg(test)]
impl RefundChecks {
    pub(crate) const ALL: Self = Self { paid: true, amount: true };
}

/// A refund reserved locally, ready for refundPayment.
#[derive(Debug, Clone)]
pub(crate) struct ReservedRefund {
    pub(crate) id: i64,
    pub(crate) amount: Decimal,
    pub(crate) payment: StoredPayment,
}

/// The webshop's tables, over the shared connection, seen by one channel.
#[derive(Debug, Clone)]
pub(crate) struct Orders {
    db: Db,
    channel: &'static str,
}

fn decimal(text: &str) -> Decimal {
    // Only this module writes these columns, always from a Decimal's own text.
    Decimal::from_str(text).unwrap_or_default()
}

fn order_of(row: &Row<'_>) -> rusqlite::Result<Order> {
    Ok(Order {
        id: OrderId(row.get("id")?),
        token: row.get("token")?,
        state: OrderState::parse(&row.get::<_, String>("state")?),
        reason: row.get("reason")?,
        currency: row.get("currency")?,
        total: decimal(&row.get::<_, String>("total")?),
        created_at_ms: row.get("created_at_ms")?,
        invoice_reference: row.get("invoice_reference")?,
        qr_code: row.get("qr_code")?,
        version: row.get("version")?,
        ers_reference: row.get("ers_reference")?,
    })
}

fn refund_of(row: &Row<'_>) -> rusqlite::Result<Refund> {
    Ok(Refund {
        id: row.get("id")?,
        amount: decimal(&row.get::<_, String>("amount")?),
        state: RefundState::parse(&row.get::<_, String>("state")?),
        ers_reference: row.get("ers_reference")?,
        error: row.get("error")?,
        requested_at_ms: row.get("requested_at_ms")?,
    })
}

fn payment_of(conn: &Connection, order: &OrderId) -> rusqlite::Result<Option<StoredPayment>> {
    conn.query_row_cached(
        "SELECT ers_reference, amount, currency, receipt_submitted_at_ms, receipt_attempts
         FROM webshop_payments WHERE order_id = ?1",
        [&order.0],
        |row| {
            Ok(StoredPayment {
                ers_reference: row.get(0)?,
                amount: decimal(&row.get::<_, String>(1)?),
                currency: row.get(2)?,
                receipt_submitted: row.get::<_, Option<i64>>(3)?.is_some(),
                receipt_attempts: row.get(4)?,
            })
        },
    )
    .optional()
}

fn refunds_of(conn: &Connection, order: &OrderId) -> rusqlite::Result<Vec<Refund>> {
    let mut statement = conn.prepare_cached("SELECT * FROM webshop_refunds WHERE order_id = ?1 ORDER BY id")?;
    statement.query_map([&order.0], refund_of)?.collect()
}

impl Orders {
    /// Creates the tables if needed (and adds the columns an older database lacks).
    pub(crate) fn open(db: Db, channel: Channel) -> Result<Self, StoreError> {
        db.migrate(SCHEMA)?;
        {
            let conn = db.lock();
            for (table, column, definition) in ADDED_COLUMNS {
                if !has_column(&conn, table, column)? {
                    conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {definition}"))?;
                }
            }
        }
        db.migrate(AFTER_ADDED_COLUMNS)?;
        Ok(Self { db, channel: channel.as_str() })
    }

    /// Stores a new pending order (no invoice yet) with its rows.
    pub(crate) fn insert(&self, order: &Order, rows: &[OrderRow]) -> Result<(), StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction()?;
        tx.execute_cached(
            "INSERT INTO webshop_orders (id, token, state, currency, total, created_at_ms, channel)
             VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6)",
            params![
                order.id.0,
                order.token,
                order.currency,
                order.total.to_string(),
                order.created_at_ms,
                self.channel
            ],
        )?;
        for (position, row) in rows.iter().enumerate() {
            tx.execute_cached(
                "INSERT INTO webshop_order_rows (order_id, position, sku, name, quantity, unit_price, total)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    order.id.0,
                    position as i64,
                    row.sku,
                    row.name,
                    row.quantity,
                    row.unit_price.to_string(),
                    row.total.to_string()
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records the invoice sendInvoice created.
    pub(crate) fn set_invoice(&self, id: &OrderId, reference: &str, qr_code: &str) -> Result<(), StoreError> {
        self.db.lock().execute_cached(
            "UPDATE webshop_orders SET invoice_reference = ?2, qr_code = ?3 WHERE id = ?1",
            params![id.0, reference, qr_code],
        )?;
        Ok(())
    }

    pub(crate) fn get(&self, id: &OrderId) -> Result<Option<Order>, StoreError> {
        Ok(self
            .db
            .lock()
            .query_row_cached(
                "SELECT * FROM webshop_orders WHERE id = ?1 AND channel = ?2",
                params![id.0, self.channel],
                order_of,
            )
            .optional()?)
    }

    /// The newest order created at or after `since_ms`.
    pub(crate) fn latest_since(&self, since_ms: i64) -> Result<Option<Order>, StoreError> {
        Ok(self
            .db
            .lock()
            .query_row_cached(
                "SELECT * FROM webshop_orders WHERE channel = ?1 AND created_at_ms >= ?2
                 ORDER BY created_at_ms DESC, rowid DESC LIMIT 1",
                params![self.channel, since_ms],
                order_of,
            )
            .optional()?)
    }

    /// How many orders are still pending, and how many paid ones still owe their
    /// receipt (with attempts left).
    pub(crate) fn open_counts(&self) -> Result<(i64, i64), StoreError> {
        Ok(self.db.lock().query_row_cached(
            "SELECT
                (SELECT COUNT(*) FROM webshop_orders WHERE channel = ?1 AND state = 'pending'),
                (SELECT COUNT(*) FROM webshop_orders o JOIN webshop_payments p ON p.order_id = o.id
                 WHERE o.channel = ?1 AND o.state = 'paid' AND p.receipt_submitted_at_ms IS NULL
                   AND p.receipt_attempts < ?2)",
            params![self.channel, RECEIPT_ATTEMPTS],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?)
    }

    pub(crate) fn by_token(&self, token: &str) -> Result<Option<Order>, StoreError> {
        Ok(self
            .db
            .lock()
            .query_row_cached(
                "SELECT * FROM webshop_orders WHERE token = ?1 AND channel = ?2",
                params![token, self.channel],
                order_of,
            )
            .optional()?)
    }

    pub(crate) fn rows(&self, id: &OrderId) -> Result<Vec<OrderRow>, StoreError> {
        let conn = self.db.lock();
        let mut statement = conn.prepare_cached(
            "SELECT sku, name, quantity, unit_price, total FROM webshop_order_rows WHERE order_id = ?1 ORDER BY position",
        )?;
        let rows = statement
            .query_map([&id.0], |row| {
                Ok(OrderRow {
                    sku: row.get(0)?,
                    name: row.get(1)?,
                    quantity: row.get(2)?,
                    unit_price: decimal(&row.get::<_, String>(3)?),
                    total: decimal(&row.get::<_, String>(4)?),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub(crate) fn payment(&self, id: &OrderId) -> Result<Option<StoredPayment>, StoreError> {
        Ok(payment_of(&self.db.lock(), id)?)
    }

    pub(crate) fn refunds(&self, id: &OrderId) -> Result<Vec<Refund>, StoreError> {
        Ok(refunds_of(&self.db.lock(), id)?)
    }

    /// Orders the status loop works on at each tick: pending ones with an invoice, and
    /// paid ones whose receipt still has to be submitted.
    pub(crate) fn active(&self) -> Result<Vec<OrderId>, StoreError> {
        let conn = self.db.lock();
        let mut statement = conn.prepare_cached(
            "SELECT o.id FROM webshop_orders o
             WHERE o.channel = ?2
               AND ((o.state = 'pending' AND o.invoice_reference IS NOT NULL)
                OR (o.state = 'paid' AND EXISTS (SELECT 1 FROM webshop_payments p WHERE p.order_id = o.id
                      AND p.receipt_submitted_at_ms IS NULL AND p.receipt_attempts < ?1)))
             ORDER BY o.created_at_ms",
        )?;
        let ids = statement
            .query_map(params![RECEIPT_ATTEMPTS, self.channel], |row| row.get(0).map(OrderId))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// Records a getPaymentStatus answer: the version always (it only grows), the
    /// outcome only while the order is pending.
    pub(crate) fn record_status(
        &self,
        id: &OrderId,
        status: &PaymentStatus,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_cached(
            "UPDATE webshop_orders SET version = MAX(version, ?2) WHERE id = ?1",
            params![id.0, status.version],
        )?;
        let recorded = match (status.status, &status.ers_reference) {
            (InvoiceStatus::Paid, Some(ers)) => {
                let changed = tx.execute_cached(
                    "UPDATE webshop_orders SET state = 'paid', ers_reference = ?2, finished_at_ms = ?3
                     WHERE id = ?1 AND state = 'pending'",
                    params![id.0, ers, now_ms],
                )?;
                if changed == 1 {
                    tx.execute_cached(
                        "INSERT INTO webshop_payments (ers_reference, order_id, amount, currency, paid_at_ms)
                         SELECT ?2, id, total, currency, ?3 FROM webshop_orders WHERE id = ?1",
                        params![id.0, ers, now_ms],
                    )?;
                    Recorded::NewlyPaid
                } else {
                    Recorded::Unchanged
                }
            }
            (InvoiceStatus::Canceled, _) => end(&tx, id, OrderState::Canceled, "canceled at Glase", now_ms)?,
            (InvoiceStatus::Failed, _) => end(&tx, id, OrderState::Failed, "the payment failed at Glase", now_ms)?,
            _ => Recorded::Unchanged,
        };
        tx.commit()?;
        Ok(recorded)
    }

    /// Ends a pending order (canceled or failed) with a reason; `false` if it was no
    /// longer pending.
    pub(crate) fn end(&self, id: &OrderId, state: OrderState, reason: &str, now_ms: i64) -> Result<bool, StoreError> {
        let conn = self.db.lock();
        Ok(end(&conn, id, state, reason, now_ms)? != Recorded::Unchanged)
    }

    /// Marks a pending order paid on nothing but a notification, without an
    /// ersReference: only the deliberate faults `trust-notification` and
    /// `paid-on-notification` do this.
    pub(crate) fn mark_paid_untrusted(&self, id: &OrderId, now_ms: i64) -> Result<bool, StoreError> {
        let changed = self.db.lock().execute_cached(
            "UPDATE webshop_orders SET state = 'paid', finished_at_ms = ?2 WHERE id = ?1 AND state = 'pending'",
            params![id.0, now_ms],
        )?;
        Ok(changed == 1)
    }

    /// Back to `pending`, an order marked paid on nothing but a notification (paid
    /// without an ersReference): only the deliberate fault `paid-on-notification` does
    /// this, before recording the getPaymentStatus answer that corrects it.
    pub(crate) fn reopen_untrusted(&self, id: &OrderId) -> Result<bool, StoreError> {
        let changed = self.db.lock().execute_cached(
            "UPDATE webshop_orders SET state = 'pending', finished_at_ms = NULL
             WHERE id = ?1 AND state = 'paid' AND ers_reference IS NULL",
            params![id.0],
        )?;
        Ok(changed == 1)
    }

    /// Counts an attempt to submit the receipt (before making it, so that a crash loop
    /// cannot retry forever).
    pub(crate) fn receipt_attempt(&self, ers: &str) -> Result<(), StoreError> {
        self.db.lock().execute_cached(
            "UPDATE webshop_payments SET receipt_attempts = receipt_attempts + 1 WHERE ers_reference = ?1",
            [ers],
        )?;
        Ok(())
    }

    pub(crate) fn receipt_submitted(&self, ers: &str, now_ms: i64) -> Result<(), StoreError> {
        self.db.lock().execute_cached(
            "UPDATE webshop_payments SET receipt_submitted_at_ms = ?2 WHERE ers_reference = ?1",
            params![ers, now_ms],
        )?;
        Ok(())
    }

    /// Gives up on a receipt Glase refused for good.
    pub(crate) fn receipt_abandoned(&self, ers: &str) -> Result<(), StoreError> {
        self.db.lock().execute_cached(
            "UPDATE webshop_payments SET receipt_attempts = ?2 WHERE ers_reference = ?1",
            params![ers, RECEIPT_ATTEMPTS],
        )?;
        Ok(())
    }

    /// Checks a refund against the order and its payment and reserves it, in one
    /// transaction. `amount` `None` is everything that is left. Without `checks.amount`
    /// (the deliberate fault `refund-beyond-payment`) any positive amount is reserved;
    /// without `checks.paid` (the deliberate fault `refund-unpaid-order`) an order with
    /// no payment is refunded as if it had paid its total, under whatever ersReference
    /// it has (possibly none: an empty one).
    pub(crate) fn reserve_refund(
        &self,
        id: &OrderId,
        amount: Option<Decimal>,
        checks: RefundChecks,
        now_ms: i64,
    ) -> Result<Result<ReservedRefund, RefundRefusal>, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(order) = tx
            .query_row_cached(
                "SELECT * FROM webshop_orders WHERE id = ?1 AND channel = ?2",
                params![id.0, self.channel],
                order_of,
            )
            .optional()?
        else {
            return Ok(Err(RefundRefusal::UnknownOrder));
        };
        let payment = match payment_of(&tx, id)?.filter(|_| order.state == OrderState::Paid) {
            Some(payment) => payment,
            None if !checks.paid => StoredPayment {
                ers_reference: order.ers_reference.clone().unwrap_or_default(),
                amount: order.total,
                currency: order.currency.clone(),
                receipt_submitted: false,
                receipt_attempts: 0,
            },
            None => return Ok(Err(RefundRefusal::NotPaid(order.state))),
        };
        let held: Decimal = refunds_of(&tx, id)?.iter().filter(|r| r.state.holds_money()).map(|r| r.amount).sum();
        let remaining = payment.amount - held;
        let amount = match amount {
            Some(amount) if amount <= Decimal::ZERO => return Ok(Err(RefundRefusal::NotPositive)),
            Some(amount) if checks.amount && amount > remaining => {
                return Ok(Err(RefundRefusal::Exceeds { remaining }));
            }
            Some(amount) => amount,
            None if remaining <= Decimal::ZERO => return Ok(Err(RefundRefusal::NothingLeft)),
            None => remaining,
        };
        tx.execute_cached(
            "INSERT INTO webshop_refunds (order_id, amount, state, requested_at_ms) VALUES (?1, ?2, ?3, ?4)",
            params![id.0, amount.to_string(), RefundState::Requested.as_str(), now_ms],
        )?;
        let refund_id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Ok(ReservedRefund { id: refund_id, amount, payment }))
    }

    /// Records how refundPayment ended.
    pub(crate) fn finish_refund(
        &self,
        refund: i64,
        state: RefundState,
        ers_reference: Option<&str>,
        error: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.db.lock().execute_cached(
            "UPDATE webshop_refunds SET state = ?2, ers_reference = ?3, error = ?4, finished_at_ms = ?5 WHERE id = ?1",
            params![refund, state.as_str(), ers_reference, error, now_ms],
        )?;
        Ok(())
    }

    /// After a restart: refunds that were under way when the reseller stopped may or
    /// may not have happened. Returns how many were marked unknown.
    pub(crate) fn orphan_refunds(&self, now_ms: i64) -> Result<usize, StoreError> {
        Ok(self.db.lock().execute_cached(
            "UPDATE webshop_refunds SET state = 'unknown', finished_at_ms = ?1,
                 error = 'the reseller stopped during refundPayment; reconcile with the transaction report'
             WHERE state = 'requested'
               AND order_id IN (SELECT id FROM webshop_orders WHERE channel = ?2)",
            params![now_ms, self.channel],
        )?)
    }

    /// After a restart: pending orders whose sendInvoice never returned. The customer
    /// never saw a QR code, so nobody can pay them; they fail.
    pub(crate) fn fail_orders_without_invoice(&self, now_ms: i64) -> Result<Vec<OrderId>, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction()?;
        let ids: Vec<OrderId> = {
            let mut statement = tx.prepare_cached(
                "SELECT id FROM webshop_orders WHERE state = 'pending' AND invoice_reference IS NULL AND channel = ?1",
            )?;
            statement.query_map([self.channel], |row| row.get(0).map(OrderId))?.collect::<Result<_, _>>()?
        };
        for id in &ids {
            end(&tx, id, OrderState::Failed, "the reseller stopped while sending the invoice", now_ms)?;
        }
        tx.commit()?;
        Ok(ids)
    }

    pub(crate) fn insert_period(&self, transaction_period_id: Option<&str>, now_ms: i64) -> Result<(), StoreError> {
        self.db.lock().execute_cached(
            "INSERT INTO webshop_periods (transaction_period_id, closed_at_ms, channel) VALUES (?1, ?2, ?3)",
            params![transaction_period_id, now_ms, self.channel],
        )?;
        Ok(())
    }
}

fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    let mut statement = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let names = statement.query_map([], |row| row.get::<_, String>("name"))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(names.iter().any(|name| name == column))
}

fn end(conn: &Connection, id: &OrderId, state: OrderState, reason: &str, now_ms: i64) -> rusqlite::Result<Recorded> {
    let changed = conn.execute_cached(
        "UPDATE webshop_orders SET state = ?2, reason = ?3, finished_at_ms = ?4 WHERE id = ?1 AND state = 'pending'",
        params![id.0, state.as_str(), reason, now_ms],
    )?;
    Ok(if changed == 1 { Recorded::Ended(state) } else { Recorded::Unchanged })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with_order(total: &str) -> (Orders, OrderId) {
        let orders = Orders::open(Db::in_memory().expect("in-memory database"), Channel::Web).expect("schema");
        let id = OrderId("W1".to_owned());
        let order = Order {
            id: id.clone(),
            token: "t".to_owned(),
            state: OrderState::Pending,
            reason: None,
            currency: "EUR".to_owned(),
            total: decimal(total),
            created_at_ms: 0,
            invoice_reference: None,
            qr_code: None,
            version: 0,
            ers_reference: None,
        };
        orders.insert(&order, &[]).expect("insert");
        orders.set_invoice(&id, "123", "HTTP://SEQR.SE/R123").expect("invoice");
        (orders, id)
    }

    fn status(status: InvoiceStatus, version: i32, ers: Option<&str>) -> PaymentStatus {
        PaymentStatus { status, version, ers_reference: ers.map(str::to_owned) }
    }

    #[test]
    fn a_payment_is_recorded_once_however_often_paid_is_seen() {
        let (orders, id) = store_with_order("10.00");
        let paid = status(InvoiceStatus::Paid, 1, Some("ers1"));
        assert_eq!(orders.record_status(&id, &paid, 5).expect("record"), Recorded::NewlyPaid);
        assert_eq!(orders.record_status(&id, &paid, 6).expect("record"), Recorded::Unchanged);
        let order = orders.get(&id).expect("get").expect("exists");
        assert_eq!((order.state, order.version, order.ers_reference.as_deref()), (OrderState::Paid, 1, Some("ers1")));
        assert!(orders.payment(&id).expect("payment").is_some());
    }

    #[test]
    fn versions_only_grow_and_final_states_stay_final() {
        let (orders, id) = store_with_order("10.00");
        orders.record_status(&id, &status(InvoiceStatus::Canceled, 3, None), 1).expect("record");
        orders.record_status(&id, &status(InvoiceStatus::Paid, 2, Some("late")), 2).expect("record");
        let order = orders.get(&id).expect("get").expect("exists");
        assert_eq!((order.state, order.version), (OrderState::Canceled, 3));
        assert!(orders.payment(&id).expect("payment").is_none());
    }

    #[test]
    fn refunds_never_add_up_to_more_than_the_payment() {
        let (orders, id) = store_with_order("10.00");
        orders.record_status(&id, &status(InvoiceStatus::Paid, 1, Some("ers1")), 1).expect("record");
        let first = orders.reserve_refund(&id, Some(decimal("4.00")), RefundChecks::ALL, 2).expect("db").expect("fits");
        orders.finish_refund(first.id, RefundState::Done, Some("r1"), None, 3).expect("finish");
        let refused = orders.reserve_refund(&id, Some(decimal("6.01")), RefundChecks::ALL, 4).expect("db");
        assert_eq!(refused.err(), Some(RefundRefusal::Exceeds { remaining: decimal("6.00") }));
        // An unknown outcome keeps its amount reserved; a rejected one frees it.
        let unknown =
            orders.reserve_refund(&id, Some(decimal("1.00")), RefundChecks::ALL, 5).expect("db").expect("fits");
        orders.finish_refund(unknown.id, RefundState::Unknown, None, Some("timeout"), 6).expect("finish");
        let rejected =
            orders.reserve_refund(&id, Some(decimal("2.00")), RefundChecks::ALL, 7).expect("db").expect("fits");
        orders.finish_refund(rejected.id, RefundState::Rejected, None, Some("97"), 8).expect("finish");
        let rest = orders.reserve_refund(&id, None, RefundChecks::ALL, 9).expect("db").expect("fits");
        assert_eq!(rest.amount, decimal("5.00"));
        assert_eq!(
            orders.reserve_refund(&id, None, RefundChecks::ALL, 10).expect("db").err(),
            Some(RefundRefusal::NothingLeft)
        );
        // The deliberate fault skips the check.
        assert!(
            orders
                .reserve_refund(&id, Some(decimal("100")), RefundChecks { amount: false, ..RefundChecks::ALL }, 11)
                .expect("db")
                .is_ok()
        );
    }

    #[test]
    fn an_unpaid_order_cannot_be_refunded() {
        let (orders, id) = store_with_order("10.00");
        let refused = orders.reserve_refund(&id, None, RefundChecks::ALL, 1).expect("db");
        assert_eq!(refused.err(), Some(RefundRefusal::NotPaid(OrderState::Pending)));
        let unknown = orders.reserve_refund(&OrderId("nope".to_owned()), None, RefundChecks::ALL, 1).expect("db");
        assert_eq!(unknown.err(), Some(RefundRefusal::UnknownOrder));
        // The deliberate fault refunds it anyway, under an empty ersReference.
        let unchecked = RefundChecks { paid: false, ..RefundChecks::ALL };
        let reserved = orders.reserve_refund(&id, None, unchecked, 2).expect("db").expect("not checked");
        assert_eq!((reserved.amount, reserved.payment.ers_reference.as_str()), (decimal("10.00"), ""));
    }

    #[test]
    fn each_channel_sees_only_its_own_orders() {
        let db = Db::in_memory().expect("in-memory database");
        let web = Orders::open(db.clone(), Channel::Web).expect("schema");
        let till = Orders::open(db, Channel::Till).expect("schema");
        let order = |id: &str| Order {
            id: OrderId(id.to_owned()),
            token: id.to_owned(),
            state: OrderState::Pending,
            reason: None,
            currency: "EUR".to_owned(),
            total: decimal("1.00"),
            created_at_ms: 5,
            invoice_reference: None,
            qr_code: None,
            version: 0,
            ers_reference: None,
        };
        web.insert(&order("W1"), &[]).expect("insert");
        till.insert(&order("P1"), &[]).expect("insert");
        till.set_invoice(&OrderId("P1".to_owned()), "7", "QR").expect("invoice");
        assert!(web.get(&OrderId("P1".to_owned())).expect("db").is_none());
        assert_eq!(till.active().expect("db"), [OrderId("P1".to_owned())]);
        assert!(web.active().expect("db").is_empty());
        assert_eq!(till.open_counts().expect("db"), (1, 0));
        assert_eq!(till.latest_since(5).expect("db").map(|o| o.id.0), Some("P1".to_owned()));
        assert_eq!(web.fail_orders_without_invoice(9).expect("db"), [OrderId("W1".to_owned())]);
        assert_eq!(till.get(&OrderId("P1".to_owned())).expect("db").map(|o| o.state), Some(OrderState::Pending));
    }

    #[test]
    fn a_database_from_before_the_till_gets_the_channel_column_and_keeps_its_orders_as_web() {
        let db = Db::in_memory().expect("in-memory database");
        db.migrate(
            "CREATE TABLE webshop_orders (id TEXT PRIMARY KEY, token TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
                 reason TEXT, currency TEXT NOT NULL, total TEXT NOT NULL, created_at_ms INTEGER NOT NULL,
                 invoice_reference TEXT UNIQUE, qr_code TEXT, version INTEGER NOT NULL DEFAULT 0,
                 ers_reference TEXT, finished_at_ms INTEGER);
             CREATE TABLE webshop_periods (id INTEGER PRIMARY KEY AUTOINCREMENT, transaction_period_id TEXT,
                 closed_at_ms INTEGER NOT NULL);
             INSERT INTO webshop_orders (id, token, state, currency, total, created_at_ms, invoice_reference)
                 VALUES ('W1', 't', 'pending', 'EUR', '1.00', 1, '9');",
        )
        .expect("old schema");
        let web = Orders::open(db.clone(), Channel::Web).expect("migrated");
        assert_eq!(web.active().expect("db"), [OrderId("W1".to_owned())]);
        Orders::open(db, Channel::Till).expect("migrating twice changes nothing");
        web.insert_period(Some("1"), 2).expect("periods have a channel");
    }

    #[test]
    fn the_unpaid_timeout_counts_from_the_stored_creation_time() {
        let (orders, id) = store_with_order("10.00");
        let order = orders.get(&id).expect("get").expect("exists");
        assert!(!order.is_overdue(119_999, 120_000));
        assert!(order.is_overdue(120_000, 120_000));
    }
}
