//! The vending vocabulary: ids, the states of a machine and of a purchase, vended rows,
//! and money. No IO here.

use std::fmt;

use glase_protocol::driver::MachineShows;
use rand::RngCore;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::config::money_text;

/// Our id of one purchase; sent to Glase as `clientInvoiceId`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PurchaseId(pub String);

impl PurchaseId {
    /// Unique across restarts: the start time in milliseconds and random bits.
    pub fn generate(now_ms: i64) -> Self {
        Self(format!("vp-{now_ms:x}-{:06x}", rand::rng().next_u32() & 0x00ff_ffff))
    }
}

impl fmt::Display for PurchaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The secret last segment of a purchase's notificationUrl. 128 random bits from the
/// thread-local CSPRNG (seeded by the OS): nobody can guess another purchase's URL, and
/// the URL tells us which purchase to look at without trusting anything else in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct NotifyToken(pub String);

impl NotifyToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Whether `text` could be a token at all (checked before touching the database).
    pub fn looks_valid(text: &str) -> bool {
        text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// The machine's id of one vend: its idempotency key. The machine driver sends it
/// (`vendId`; one is made up when it does not), the reseller records it with the vend
/// before Glase hears of the vend, and the machine asks for the vend's outcome by it
/// after a lost answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct VendId(pub String);

impl VendId {
    /// The longest vend id accepted.
    pub const MAX_LEN: usize = 64;

    /// A vend id for a vend request that came without one.
    pub fn generate(now_ms: i64) -> Self {
        Self(format!("vd-{now_ms:x}-{:08x}", rand::rng().next_u32()))
    }

    /// A machine's vend id: 1–64 letters, digits, `-`, `_`, `.` or `:`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':');
        if (1..=Self::MAX_LEN).contains(&text.len()) && text.bytes().all(allowed) {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!("vendId {text:?} must be 1–{} letters, digits, '-', '_', '.' or ':'", Self::MAX_LEN))
        }
    }
}

impl fmt::Display for VendId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) use glase_protocol::driver::VendState;

/// A vend as recorded: what the machine asked for and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VendRecord {
    pub id: VendId,
    pub machine: String,
    pub purchase: PurchaseId,
    pub state: VendState,
    /// The priced selection (empty: the customer chose nothing) and its total.
    pub rows: Vec<VendedRow>,
    pub total: Decimal,
    /// Why it ended as it did (for people).
    pub note: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl VendRecord {
    /// Whether `rows` is the same selection (products and quantities) as recorded: a
    /// repeated request with the vend id must not change what is charged.
    pub fn same_selection(&self, rows: &[VendedRow]) -> bool {
        let key = |rows: &[VendedRow]| rows.iter().map(|r| (r.sku.clone(), r.quantity)).collect::<Vec<_>>();
        key(&self.rows) == key(rows)
    }
}

/// What a machine is doing. Stored with the machine; out of service is a separate flag
/// that only an idle machine can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MachineState {
    Idle,
    /// A purchase is started: the invoice is (being) sent, the customer has not confirmed.
    Reserved,
    /// The reservation is confirmed (status RESERVED): the customer chooses products.
    Unlocked,
    /// updateInvoice / commitReservation are under way (or their outcome is unknown).
    Vending,
}

impl MachineState {
    /// As stored: the driver's name of the state.
    pub const fn as_str(self) -> &'static str {
        self.shown(false).as_str()
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Idle, Self::Reserved, Self::Unlocked, Self::Vending].into_iter().find(|s| s.as_str() == text)
    }

    /// What the driver shows: an idle machine may be out of service.
    pub const fn shown(self, out_of_service: bool) -> MachineShows {
        match self {
            Self::Idle if out_of_service => MachineShows::OutOfService,
            Self::Idle => MachineShows::Idle,
            Self::Reserved => MachineShows::Reserved,
            Self::Unlocked => MachineShows::Unlocked,
            Self::Vending => MachineShows::Vending,
        }
    }
}

/// Where a purchase is in its life. The first four are open; the rest are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PurchaseState {
    /// The machine is claimed; sendInvoice has not answered yet.
    Claimed,
    /// The invoice exists (ISSUED); waiting for the customer to confirm.
    Issued,
    /// RESERVED was read with getPaymentStatus; the machine is unlocked.
    Unlocked,
    /// Products chosen; updateInvoice and commitReservation sent or about to be.
    Vending,
    /// Committed: the customer paid the vended total.
    Paid,
    /// Cancelled by the customer, by Glase (reversal, expiry, FAILED) or by us (idle,
    /// nothing vended).
    Canceled,
    /// No invoice came of it (sendInvoice failed, or a crash before it answered).
    Failed,
}

impl PurchaseState {
    pub const OPEN: [Self; 4] = [Self::Claimed, Self::Issued, Self::Unlocked, Self::Vending];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Claimed => "claimed",
            Self::Issued => "issued",
            Self::Unlocked => "unlocked",
            Self::Vending => "vending",
            Self::Paid => "paid",
            Self::Canceled => "canceled",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::OPEN.into_iter().chain([Self::Paid, Self::Canceled, Self::Failed]).find(|s| s.as_str() == text)
    }

    pub fn is_final(self) -> bool {
        !Self::OPEN.contains(&self)
    }
}

/// A machine as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MachineRecord {
    pub token: String,
    pub state: MachineState,
    pub purchase: Option<PurchaseId>,
    pub out_of_service: bool,
    /// Milliseconds since the epoch of the last state change: the idle timer's start.
    pub state_since: i64,
}

/// A purchase as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Purchase {
    pub id: PurchaseId,
    pub machine: String,
    pub notify_token: NotifyToken,
    pub invoice_reference: Option<String>,
    /// The amount the customer offered (createPurchase `amount`), also the invoice total.
    pub amount: Decimal,
    pub currency: String,
    pub msisdn: Option<String>,
    pub state: PurchaseState,
    /// The latest invoice `version` seen, echoed in getPaymentStatus.
    pub status_version: i32,
    /// What Glase reserved (set when RESERVED is read).
    pub reserved_amount: Option<Decimal>,
    /// The vended total, fixed before updateInvoice/commitReservation are sent.
    pub final_amount: Option<Decimal>,
    /// The vended rows (JSON), kept so a commit interrupted by a crash can be repeated.
    pub rows: Vec<VendedRow>,
    pub ers_reference: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Earliest time the background may retry a failed Glase call for this purchase.
    pub retry_at: Option<i64>,
    /// Why the purchase ended as it did (for people).
    pub note: Option<String>,
}

impl Purchase {
    /// A purchase just accepted and claimed: `machine`'s, for `amount` in `currency`,
    /// nothing sent to Glase yet.
    pub fn claimed(
        id: PurchaseId,
        machine: &str,
        amount: Decimal,
        currency: &str,
        msisdn: Option<String>,
        now: i64,
    ) -> Self {
        Self {
            id,
            machine: machine.to_owned(),
            notify_token: NotifyToken::generate(),
            invoice_reference: None,
            amount,
            currency: currency.to_owned(),
            msisdn,
            state: PurchaseState::Claimed,
            status_version: 0,
            reserved_amount: None,
            final_amount: None,
            rows: Vec::new(),
            ers_reference: None,
            created_at: now,
            updated_at: now,
            retry_at: None,
            note: None,
        }
    }
}

/// One line of what the customer took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VendedRow {
    pub sku: String,
    pub description: String,
    pub quantity: u32,
    #[serde(with = "money_text")]
    pub unit_price: Decimal,
    #[serde(with = "money_text")]
    pub total: Decimal,
}

/// An amount as Glase wants it: two decimals, never rounded up (a reservation total
/// must stay ≤ the amount offered).
pub(crate) fn money(value: Decimal) -> Decimal {
    glase_protocol::Amount::cents(value)
}

/// Milliseconds since the epoch: stored times survive a restart, unlike `Instant`.
pub(crate) fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_text() {
        for state in PurchaseState::OPEN.into_iter().chain([PurchaseState::Paid, PurchaseState::Canceled]) {
            assert_eq!(PurchaseState::parse(state.as_str()), Some(state));
        }
        assert_eq!(MachineState::parse("unlocked"), Some(MachineState::Unlocked));
        assert!(PurchaseState::Failed.is_final() && !PurchaseState::Vending.is_final());
    }

    #[test]
    fn vend_ids_are_short_plain_text() {
        assert!(VendId::parse("m1-2026-12-04T10:00:00.123_7").is_ok());
        for bad in ["", "a b", "x/y", "é", &"v".repeat(65)] {
            assert!(VendId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(VendId::parse(&VendId::generate(1).0).is_ok());
        assert_eq!(VendState::parse("rejected"), Some(VendState::Rejected));
    }

    #[test]
    fn notify_tokens_are_128_random_bits_in_hex() {
        let (a, b) = (NotifyToken::generate(), NotifyToken::generate());
        assert_ne!(a, b);
        assert!(NotifyToken::looks_valid(&a.0));
        assert!(!NotifyToken::looks_valid("../../etc"));
    }
}
