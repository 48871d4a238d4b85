//! Start-up configuration: who may call the mock, the simulated customers, and the
//! Glase-side deadlines. Read from TOML; anything not given takes the documented
//! demo defaults, which the binary prints at start-up.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Everything the mock needs to start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Deadlines and limits on the Glase side.
    pub deadlines: Deadlines,
    /// `true` keeps the demo reseller, terminal and customer and adds the file's entries;
    /// `false` replaces them.
    pub keep_demo: bool,
    pub resellers: Vec<ResellerConfig>,
    pub terminals: Vec<TerminalConfig>,
    pub customers: Vec<CustomerConfig>,
    /// The customer the control API acts as when a call names none.
    pub default_customer: Option<String>,
    /// Seed of the reference generators; by default the start-up time, so references
    /// differ between runs.
    pub reference_seed: Option<u64>,
    /// Journal entries kept in memory (oldest dropped first).
    pub journal_capacity: usize,
    /// Bytes the journal may hold (bodies, texts and per-entry overhead, estimated);
    /// beyond that the oldest entries are dropped, as for `journal_capacity`.
    pub journal_max_bytes: usize,
    /// Largest SOAP request body accepted, in bytes; larger ones get HTTP 413.
    pub max_body_bytes: usize,
    /// Multiplies every Glase-side deadline (status, reservation, report readiness):
    /// `0.01` runs the 20-second rule in 200 ms. Must be positive.
    pub deadline_scale: f64,
    /// The Unattended Payments Service's calls to `createPurchase`.
    pub ups: UpsConfig,
    /// Delivery of notification callbacks.
    pub notifications: NotificationConfig,
    /// Outbound HTTPS (createPurchase, notifications).
    pub tls: TlsConfig,
    /// Limits on every call the mock makes to a merchant (createPurchase, notifications).
    pub outbound: OutboundConfig,
    /// Limits on the connections clients open to the mock.
    pub server: glase_listen::Limits,
    /// When set, every `/control/…` call must carry `Authorization: Bearer <token>`
    /// **[decision]**: the control API can pay, inject faults and move the clock. SOAP,
    /// the WSDL and `/healthz` stay open (SOAP has its own principals).
    pub control_token: Option<String>,
    /// How much finished business the state machine keeps in memory.
    pub retention: RetentionConfig,
    /// How strictly SOAP requests are read.
    pub wire: WireConfig,
}

/// How strictly SOAP requests are read **[decision]**. Strict by default, as the real
/// server (JAX-WS) is: a client bug the mock accepts is one the integrator finds in
/// production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct WireConfig {
    /// `false` (strict): namespace-qualified children and `mustUnderstand` headers get a
    /// SOAP fault, amounts with more than two decimals a result code (49 in invoices, 11
    /// in commits and refunds). `true` (lax): all three are accepted and each is
    /// journaled as a `wireDeviation` entry, for clients that cannot be fixed yet.
    pub lax: bool,
}

/// Bounds the state machine's memory **[decision]**. A mock that runs a load test for
/// hours must not grow without limit; invoices that are still open are never dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Finished invoices (PAID, CANCELED, FAILED) kept; beyond that the oldest to finish
    /// is forgotten with its payment and refunds, and answers like an unknown invoice
    /// (getPaymentStatus 54, refundPayment 23). Invoices not yet final, or still waiting
    /// for their status acknowledgement, are never dropped. The same number bounds the
    /// transactions the reconciliation reports keep (newest first). `0` keeps
    /// everything. A completed reservation costs about 2.3 KB, so the default of 50 000
    /// holds the machine near 120 MB however long the mock runs, leaving room for the
    /// journal in the same process; keeping 1 M completed invoices takes about 2.2 GB.
    pub finished_invoices: usize,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self { finished_invoices: 50_000 }
    }
}

/// How the Unattended Payments Service calls resellers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpsConfig {
    /// How long the UPS waits for a createPurchase answer before giving up
    /// **[decision]**; a timeout is journaled as a protocol violation.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// The reservation amount offered when a scan does not name one.
    #[serde(with = "rust_decimal::serde::str")]
    pub default_amount: Decimal,
}

impl Default for UpsConfig {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(10), default_amount: Decimal::new(2000, 2) }
    }
}

/// The notification retry policy. A delivery fails on a connection error, a timeout or
/// a status other than 2xx; it is retried after `retry_delay`, doubling each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationConfig {
    /// Attempts in all (1 = no retries).
    pub attempts: u32,
    #[serde(with = "humantime_serde")]
    pub retry_delay: Duration,
    /// Per attempt.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Also notify when the mock reverses a payment or a reservation expires
    /// **[decision]**: a careful reseller learns of it sooner.
    pub on_reversal: bool,
}

impl Default for NotificationConfig {
    fn default() -> Self {
        Self { attempts: 3, retry_delay: Duration::from_secs(1), timeout: Duration::from_secs(5), on_reversal: true }
    }
}

/// Limits on every call the mock makes to a merchant **[decision]**. The systems under
/// test are buggy by definition: an answer that never ends, or a redirect to somewhere
/// else, must cost the mock nothing and be on record as the merchant's fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboundConfig {
    /// Largest answer body the mock reads, in bytes. A createPurchase answer beyond it is a
    /// protocol violation: the mock stops reading and closes the connection. Notification
    /// answers are never read (only their status counts).
    pub max_answer_bytes: usize,
    /// Which redirects outbound calls follow: none (default; a 3xx is the answer) or only
    /// those to the same origin (scheme, host and port), at most [`MAX_REDIRECTS`].
    pub redirects: Redirects,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        // A createPurchase answer is a one-line JSON object; 64 KiB is also what the
        // journal keeps of a body.
        Self { max_answer_bytes: 64 * 1024, redirects: Redirects::None }
    }
}

/// Hops a same-origin redirect chain may take.
pub const MAX_REDIRECTS: usize = 5;

/// Which redirects outbound calls follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Redirects {
    /// A 3xx answer is the answer: for createPurchase a violation, for a notification a
    /// failed attempt.
    #[default]
    None,
    /// Follow redirects to the same scheme, host and port only (a 307 re-POSTs the body,
    /// so it must not leave the merchant's server).
    SameOrigin,
}

/// Extra trust for outbound HTTPS, e.g. a reseller's self-signed test certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// A PEM file with one or more CA certificates trusted in addition to the system's.
    pub extra_ca_file: Option<std::path::PathBuf>,
}

/// The two createPurchase body dialects (spec 2.1), defined with the body itself.
pub use glase_protocol::purchase::Dialect;

/// The Glase-side clocks of spec section 4, all configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Deadlines {
    /// After PAID/RESERVED the merchant must call getPaymentStatus within this, or the
    /// payment is reversed.
    #[serde(with = "humantime_serde")]
    pub status_deadline: Duration,
    /// A reservation not committed within this (unless the invoice's own
    /// `commitReservationTimeout` says otherwise) is cancelled.
    #[serde(with = "humantime_serde")]
    pub reservation_timeout: Duration,
    /// A transaction period's reports answer REPORT_NOT_READY for this long after
    /// markTransactionPeriod.
    #[serde(with = "humantime_serde")]
    pub report_ready_delay: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            status_deadline: Duration::from_secs(20),
            reservation_timeout: Duration::from_secs(600),
            report_ready_delay: Duration::from_secs(2),
        }
    }
}

/// A reseller (merchant) account and its RESELLERUSER login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResellerConfig {
    /// Principal id of the RESELLERUSER login (`initiatorPrincipalId/id`).
    pub id: String,
    /// `initiatorPrincipalId/userId` of the login.
    #[serde(alias = "userId")]
    pub user_id: String,
    pub password: String,
    /// The one currency this reseller's invoices may use (ISO 4217).
    #[serde(default = "default_currency")]
    pub currency: String,
    /// The `w` of unattended QR codes; by default the reseller id.
    #[serde(alias = "merchantId")]
    pub merchant_id: Option<String>,
    /// Shown to customers and in receipts.
    pub name: Option<String>,
    /// `false` makes every refundPayment answer 97.
    #[serde(default = "yes", alias = "refundsAllowed")]
    pub refunds_allowed: bool,
    /// `false` makes every refundPayment answer 99 (the receiving bank refuses).
    #[serde(default = "yes", alias = "receiverAllowsRefunds")]
    pub receiver_allows_refunds: bool,
    /// Where the Unattended Payments Service calls this merchant; must end with
    /// `createPurchase`.
    #[serde(default, alias = "createPurchaseUrl")]
    pub create_purchase_url: Option<String>,
    /// Which createPurchase body to send.
    #[serde(default, alias = "createPurchaseDialect")]
    pub create_purchase_dialect: Dialect,
}

/// A terminal that exists before any registerTerminal call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminalConfig {
    /// The TERMINALID principal id.
    pub id: String,
    pub password: String,
    /// Id of the reseller it belongs to.
    pub reseller: String,
    pub name: Option<String>,
    /// The static QR sticker id, as if assignSeqrId had been called.
    #[serde(alias = "seqrId")]
    pub seqr_id: Option<String>,
}

/// A simulated app user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerConfig {
    pub msisdn: String,
    pub pin: String,
    /// Wallet balance; a payment above it ends FAILED.
    #[serde(with = "rust_decimal::serde::str")]
    pub balance: Decimal,
}

fn default_currency() -> String {
    "EUR".to_owned()
}

fn yes() -> bool {
    true
}

/// The documented demo credentials.
pub mod demo {
    pub const RESELLER_ID: &str = "glase-demo";
    pub const RESELLER_USER_ID: &str = "9900";
    pub const PASSWORD: &str = "demo1234";
    pub const TERMINAL_ID: &str = "demo-terminal";
    pub const CURRENCY: &str = "EUR";
    pub const MERCHANT_ID: &str = "glase-demo";
    pub const CUSTOMER_MSISDN: &str = "483344323423";
    pub const CUSTOMER_PIN: &str = "1234";
    pub const CUSTOMER_BALANCE: &str = "1000.00";
}

impl Default for Config {
    fn default() -> Self {
        Self {
            deadlines: Deadlines::default(),
            keep_demo: true,
            resellers: Vec::new(),
            terminals: Vec::new(),
            customers: Vec::new(),
            default_customer: None,
            reference_seed: None,
            journal_capacity: 100_000,
            journal_max_bytes: 256 * 1024 * 1024,
            max_body_bytes: 1024 * 1024,
            deadline_scale: 1.0,
            ups: UpsConfig::default(),
            notifications: NotificationConfig::default(),
            tls: TlsConfig::default(),
            outbound: OutboundConfig::default(),
            server: glase_listen::Limits::default(),
            control_token: None,
            retention: RetentionConfig::default(),
            wire: WireConfig::default(),
        }
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file, or a value in it: what every service's configuration can get wrong.
    #[error(transparent)]
    Service(#[from] glase_listen::ConfigError),
    #[error("cannot use the extra CA certificates in {path}")]
    Tls {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ConfigError {
    /// Every problem the checks found.
    pub fn invalid(problems: impl Into<String>) -> Self {
        Self::Service(glase_listen::ConfigError::Invalid(problems.into()))
    }
}

impl From<glase_listen::ConfigFileError> for ConfigError {
    fn from(error: glase_listen::ConfigFileError) -> Self {
        Self::Service(error.into())
    }
}

impl Config {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        Ok(glase_listen::read_toml(path)?)
    }

    /// The demo reseller, terminal and customer.
    pub fn demo_entries() -> (ResellerConfig, TerminalConfig, CustomerConfig) {
        (
            ResellerConfig {
                id: demo::RESELLER_ID.to_owned(),
                user_id: demo::RESELLER_USER_ID.to_owned(),
                password: demo::PASSWORD.to_owned(),
                currency: demo::CURRENCY.to_owned(),
                merchant_id: Some(demo::MERCHANT_ID.to_owned()),
                name: Some("Glase Demo Merchant".to_owned()),
                refunds_allowed: true,
                receiver_allows_refunds: true,
                create_purchase_url: None,
                create_purchase_dialect: Dialect::Seed,
            },
            TerminalConfig {
                id: demo::TERMINAL_ID.to_owned(),
                password: demo::PASSWORD.to_owned(),
                reseller: demo::RESELLER_ID.to_owned(),
                name: Some("Demo terminal".to_owned()),
                seqr_id: None,
            },
            CustomerConfig {
                msisdn: demo::CUSTOMER_MSISDN.to_owned(),
                pin: demo::CUSTOMER_PIN.to_owned(),
                // A literal that always parses.
                balance: demo::CUSTOMER_BALANCE.parse().unwrap_or(Decimal::ONE_THOUSAND),
            },
        )
    }

    /// The configuration with the demo entries merged in (when `keep_demo`), checked for
    /// dangling references and duplicates.
    pub fn resolved(&self) -> Result<Self, ConfigError> {
        let mut config = self.clone();
        if config.keep_demo {
            config.add_demo_entries();
        }
        let mut problems = config.entry_problems();
        problems.extend(config.setting_problems());
        if problems.is_empty() { Ok(config) } else { Err(ConfigError::invalid(problems.join("; "))) }
    }

    /// Puts the demo reseller, terminal and customer first, each unless the file has an
    /// entry with its id.
    fn add_demo_entries(&mut self) {
        let (reseller, terminal, customer) = Self::demo_entries();
        if !self.resellers.iter().any(|r| r.id == reseller.id) {
            self.resellers.insert(0, reseller);
        }
        if !self.terminals.iter().any(|t| t.id == terminal.id) {
            self.terminals.insert(0, terminal);
        }
        if !self.customers.iter().any(|c| c.msisdn == customer.msisdn) {
            self.customers.insert(0, customer);
        }
    }

    /// What is wrong with the resellers, terminals and customers: duplicates, references
    /// to nobody, short passwords, balances out of bounds, malformed createPurchase URLs,
    /// no customer at all.
    fn entry_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        unique(self.resellers.iter().map(|r| r.id.as_str()), "reseller id", &mut problems);
        unique(self.terminals.iter().map(|t| t.id.as_str()), "terminal id", &mut problems);
        unique(self.customers.iter().map(|c| c.msisdn.as_str()), "customer msisdn", &mut problems);
        unique(self.resellers.iter().map(|r| r.merchant_id.as_deref().unwrap_or(&r.id)), "merchant id", &mut problems);
        unique(self.terminals.iter().filter_map(|t| t.seqr_id.as_deref()), "seqr id", &mut problems);
        for terminal in &self.terminals {
            if !self.resellers.iter().any(|r| r.id == terminal.reseller) {
                problems.push(format!("terminal {:?} names unknown reseller {:?}", terminal.id, terminal.reseller));
            }
            if terminal.password.chars().count() < 4 {
                problems.push(format!("terminal {:?}: password must have at least 4 characters", terminal.id));
            }
        }
        for customer in &self.customers {
            if let Err(error) = check_balance(customer.balance) {
                problems.push(format!("customer {:?}: {error}", customer.msisdn));
            }
        }
        if let Some(msisdn) = &self.default_customer
            && !self.customers.iter().any(|c| &c.msisdn == msisdn)
        {
            problems.push(format!("default_customer {msisdn:?} is not a configured customer"));
        }
        if self.customers.is_empty() {
            problems.push("at least one customer is needed to play the app".to_owned());
        }
        for reseller in &self.resellers {
            if let Some(url) = &reseller.create_purchase_url
                && let Err(problem) = check_create_purchase_url(url)
            {
                problems.push(format!("reseller {:?}: {problem}", reseller.id));
            }
        }
        problems
    }

    /// What is wrong with the other settings: deadlines, limits and sizes out of bounds.
    fn setting_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(error) = check_deadline_scale(self.deadline_scale) {
            problems.push(error.to_string());
        }
        if let Err(error) = self.deadlines.check() {
            problems.push(error.to_string());
        }
        if self.ups.default_amount <= Decimal::ZERO {
            problems.push("ups.default_amount must be positive".to_owned());
        }
        if self.control_token.as_deref().is_some_and(|t| t.trim().is_empty() || t.chars().any(char::is_whitespace)) {
            problems.push("control_token must be non-empty and without spaces".to_owned());
        }
        problems.extend(self.server.problems());
        if self.outbound.max_answer_bytes == 0 {
            problems.push("outbound.max_answer_bytes must be at least 1".to_owned());
        }
        if self.notifications.attempts == 0 {
            problems.push("notifications.attempts must be at least 1".to_owned());
        }
        if self.journal_capacity == 0 {
            problems.push("journal_capacity must be at least 1".to_owned());
        }
        // The journal always keeps its newest entry, whatever its size; a limit this small
        // would keep little else, and is almost certainly a typo for a bigger number.
        if self.journal_max_bytes < MIN_JOURNAL_BYTES {
            problems.push(format!(
                "journal_max_bytes must be at least {MIN_JOURNAL_BYTES}, not {}",
                self.journal_max_bytes
            ));
        }
        problems
    }
}

/// The largest deadline scale **[decision]**: 100× slower deadlines are plenty to step
/// through a flow in a debugger, and keep every deadline within 100 years of now (see
/// [`crate::clock`]). `Duration::mul_f64` panics on overflow, which `1e300` used to reach.
pub const MAX_DEADLINE_SCALE: f64 = 100.0;

/// The longest each configured Glase-side deadline may be **[decision]**: a year
/// (humantime's `1year`, 365.25 days, so it prints as such).
pub const MAX_DEADLINE: Duration = Duration::from_secs(31_557_600);

/// The largest wallet balance the configuration and the control API accept
/// **[decision]**: 10^15. Far beyond any test, and far below `Decimal::MAX` (about
/// 7.9 × 10^28), so crediting money back to a wallet cannot overflow in practice; the
/// state machine still checks every sum (see `machine::wallet`).
pub const MAX_BALANCE: Decimal = Decimal::from_parts(0xA4C6_8000, 0x0003_8D7E, 0, false, 0);

/// An input outside the bounds the mock accepts.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    // `{0:?}`: Debug prints 1e300 as such, Display as 301 digits.
    #[error("deadline scale must be a positive number of at most {MAX_DEADLINE_SCALE}, not {0:?}")]
    DeadlineScale(f64),
    #[error("balance must be between 0 and {MAX_BALANCE}, not {0}")]
    Balance(Decimal),
    #[error("{what} must be at most {max}, not {value}", max = humantime::format_duration(MAX_DEADLINE), value = humantime::format_duration(*value))]
    Deadline { what: &'static str, value: Duration },
}

/// A deadline scale is positive, finite and at most [`MAX_DEADLINE_SCALE`].
pub fn check_deadline_scale(factor: f64) -> Result<(), LimitError> {
    if factor.is_finite() && factor > 0.0 && factor <= MAX_DEADLINE_SCALE {
        Ok(())
    } else {
        Err(LimitError::DeadlineScale(factor))
    }
}

/// A balance is between 0 and [`MAX_BALANCE`].
pub fn check_balance(balance: Decimal) -> Result<(), LimitError> {
    if balance.is_sign_negative() || balance > MAX_BALANCE { Err(LimitError::Balance(balance)) } else { Ok(()) }
}

impl Deadlines {
    /// Each deadline is at most [`MAX_DEADLINE`].
    pub fn check(&self) -> Result<(), LimitError> {
        for (what, value) in [
            ("deadlines.status_deadline", self.status_deadline),
            ("deadlines.reservation_timeout", self.reservation_timeout),
            ("deadlines.report_ready_delay", self.report_ready_delay),
        ] {
            if value > MAX_DEADLINE {
                return Err(LimitError::Deadline { what, value });
            }
        }
        Ok(())
    }
}

/// The smallest `journal_max_bytes` accepted.
pub const MIN_JOURNAL_BYTES: usize = 4096;

/// A createPurchase URL must be http(s) with a host, and its path must end with
/// `createPurchase` (seed 000). Plain http is allowed for local testing; callers warn.
pub(crate) fn check_create_purchase_url(url: &str) -> Result<(), String> {
    let parsed =
        reqwest::Url::parse(url.trim()).map_err(|e| format!("createPurchase URL {url:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("createPurchase URL {url:?} must be https:// (or http:// for local tests) with a host"));
    }
    if !parsed.path().ends_with("createPurchase") {
        return Err(format!("createPurchase URL {url:?} must end with \"createPurchase\" (seed 000)"));
    }
    Ok(())
}

fn unique<'a>(items: impl Iterator<Item = &'a str>, what: &str, problems: &mut Vec<String>) {
    let mut seen = BTreeMap::new();
    for item in items {
        if seen.insert(item, ()).is_some() {
            problems.push(format!("duplicate {what} {item:?}"));
        }
    }
}

mod humantime_serde {
    //! `Duration` as a humantime string ("20s", "10m", "250ms") in TOML and JSON.
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*value).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_the_demo_setup() {
        let config: Config = toml::from_str("").unwrap();
        let resolved = config.resolved().unwrap();
        assert_eq!(resolved.resellers[0].id, "glase-demo");
        assert_eq!(resolved.resellers[0].user_id, "9900");
        assert_eq!(resolved.terminals[0].id, "demo-terminal");
        assert_eq!(resolved.deadlines.status_deadline, Duration::from_secs(20));
    }

    #[test]
    fn file_entries_extend_the_demo_and_deadlines_parse() {
        let config: Config = toml::from_str(
            r#"
            [deadlines]
            status_deadline = "5s"
            [[resellers]]
            id = "shop"
            user_id = "1"
            password = "secret"
            currency = "SEK"
            [[terminals]]
            id = "till-1"
            password = "pass1"
            reseller = "shop"
            "#,
        )
        .unwrap();
        let resolved = config.resolved().unwrap();
        assert_eq!(resolved.deadlines.status_deadline, Duration::from_secs(5));
        assert_eq!(resolved.resellers.len(), 2);
        assert_eq!(resolved.terminals.len(), 2);
    }

    #[test]
    fn invalid_entries_are_all_reported() {
        let config: Config = toml::from_str(
            r#"
            keep_demo = false
            [[terminals]]
            id = "t"
            password = "abc"
            reseller = "nobody"
            "#,
        )
        .unwrap();
        let error = config.resolved().unwrap_err().to_string();
        assert!(error.contains("unknown reseller"), "{error}");
        assert!(error.contains("at least 4 characters"), "{error}");
        assert!(error.contains("at least one customer"), "{error}");
    }

    #[test]
    fn a_journal_byte_limit_too_small_to_hold_anything_is_refused() {
        let config = Config { journal_max_bytes: 0, ..Config::default() };
        let error = config.resolved().unwrap_err().to_string();
        assert!(error.contains("journal_max_bytes must be at least 4096"), "{error}");
        let config = Config { journal_max_bytes: MIN_JOURNAL_BYTES, ..Config::default() };
        assert!(config.resolved().is_ok());
    }

    #[test]
    fn create_purchase_urls_must_end_with_create_purchase() {
        assert!(check_create_purchase_url("https://shop.example/seqr/createPurchase").is_ok());
        assert!(check_create_purchase_url("http://127.0.0.1:9000/createPurchase").is_ok());
        assert!(check_create_purchase_url("https://shop.example/seqr/purchase").is_err());
        assert!(check_create_purchase_url("ftp://shop.example/createPurchase").is_err());
        assert!(check_create_purchase_url("createPurchase").is_err());
    }

    #[test]
    fn the_largest_balance_is_ten_to_the_fifteenth() {
        assert_eq!(MAX_BALANCE, Decimal::from(1_000_000_000_000_000u64));
    }

    #[test]
    fn out_of_bounds_scales_deadlines_and_balances_are_refused_with_the_bound() {
        let mut config = Config { deadline_scale: 1e300, ..Config::default() };
        config.deadlines.status_deadline = Duration::from_secs(400 * 24 * 3600);
        config.customers.push(CustomerConfig {
            msisdn: "1".into(),
            pin: "1234".into(),
            balance: Decimal::from(100_000_000_000_000_000_000u128),
        });
        let error = config.resolved().unwrap_err().to_string();
        assert!(error.contains("deadline scale must be a positive number of at most 100, not 1e300"), "{error}");
        assert!(error.contains("deadlines.status_deadline must be at most 1year"), "{error}");
        assert!(error.contains("balance must be between 0 and 1000000000000000"), "{error}");
        assert!(check_deadline_scale(100.0).is_ok() && check_deadline_scale(0.0001).is_ok());
        assert!(check_deadline_scale(f64::NAN).is_err() && check_deadline_scale(0.0).is_err());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(toml::from_str::<Config>("status_deadline = \"5s\"").is_err());
    }
}
