//! `mock-glase customer …`: play the Glase app against a *running* mock through its
//! control API, so a person can click through their own backend without writing code.
//!
//! Glue only: each subcommand is one control API call (two for `wallet` without
//! `--msisdn`), and the answer is rendered for a person or, with `--json`, printed as
//! received. Answers are read into lenient views (every field optional, unknown fields
//! ignored) so that a newer mock still renders; an answer that does not fit its view is
//! printed as JSON instead of being reported as an error, because the action itself was
//! carried out. Money stays the string the mock sent (never `f64`); amounts typed on the
//! command line are checked as [`Decimal`] and sent as strings.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use reqwest::{Method, Url};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use mock_glase::errors::error_chain;

/// How long one control call may take. Long because an unattended scan waits for the
/// reseller's createPurchase answer before the mock replies.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Exit codes besides 0: the mock refused or failed (1), bad arguments (2, as clap), no
/// mock reachable (3, so scripts can tell "start a mock first" from a refused action).
const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_NO_MOCK: u8 = 3;

const CUSTOMER_HELP: &str = "\
Example session (a mock on the default port, your backend pointed at it):
  mock-glase customer pending                          # invoices waiting for a customer
  mock-glase customer scan 'HTTP://SEQR.SE/R<ref>'     # open one in the app (PIN dialog)
  mock-glase customer confirm <ref> --pin 0000         # a wrong PIN: the invoice stays ISSUED
  mock-glase customer confirm <ref>                    # the right PIN: PAID or RESERVED
  mock-glase customer show <ref>                       # status, history, payment, refunds
  mock-glase customer wallet                           # the default customer's balance

Exit codes: 0 the mock carried out the action (whatever the payment's result),
1 the mock refused it (its error is printed), 2 bad arguments, 3 no mock at --mock.";

const SCAN_HELP: &str = "\
Examples:
  mock-glase customer scan 'HTTP://SEQR.SE/R17954573997090001'
  mock-glase customer scan 'HTTP://SEQR.SE/Qtill1'          # a till's static sticker
  mock-glase customer --msisdn 46700000001 scan 'HTTP://SEQR.SE/R17954573997090001'
  mock-glase customer scan 'HTTP://SEQR.SE/000/ups?w=glase-demo&t=29834231890234' --amount 20.00";

const CONFIRM_HELP: &str = "\
Examples:
  mock-glase customer confirm 17954573997090001             # the customer's right PIN
  mock-glase customer confirm 17954573997090001 --pin 0000  # a wrong PIN (demo PIN is 1234)
  mock-glase customer confirm 'HTTP://SEQR.SE/R17954573997090001'";

const CANCEL_HELP: &str = "\
Example:
  mock-glase customer cancel 17954573997090001";

const WALK_AWAY_HELP: &str = "\
Example:
  mock-glase customer scan 'HTTP://SEQR.SE/R17954573997090001'
  mock-glase customer walk-away 17954573997090001   # updateInvoice/cancelInvoice work again";

const PENDING_HELP: &str = "\
Examples:
  mock-glase customer pending
  mock-glase customer pending --terminal demo-terminal
  mock-glase customer --json pending | jq -r '.[0].reference'";

const SHOW_HELP: &str = "\
Examples:
  mock-glase customer show 17954573997090001
  mock-glase customer --json show 17954573997090001 | jq .history";

const WALLET_HELP: &str = "\
Examples:
  mock-glase customer wallet                                  # the default customer
  mock-glase customer --msisdn 46700000001 wallet --set-balance 5.00 --set-pin 0000
  GLASE_CUSTOMER_MSISDN=46700000001 mock-glase customer wallet";

/// Play the customer against a running mock: scan, confirm, cancel, walk away, look at
/// invoices and wallets.
#[derive(Debug, Args)]
#[command(after_help = CUSTOMER_HELP)]
pub(crate) struct CustomerArgs {
    /// Base URL of the running mock.
    #[arg(long, global = true, value_name = "URL", env = "GLASE_MOCK_URL", default_value = "http://127.0.0.1:7070", value_parser = parse_mock_url)]
    mock: Url,

    /// The app user acting (default: the mock's default customer; the demo's is 483344323423).
    #[arg(long, global = true, env = "GLASE_CUSTOMER_MSISDN")]
    msisdn: Option<String>,

    /// The mock's control token, when it was started with one (sent as a bearer token).
    #[arg(long, global = true, value_name = "TOKEN", env = "GLASE_CONTROL_TOKEN", hide_env_values = true)]
    control_token: Option<String>,

    /// Print the mock's JSON answer as received instead of a summary.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Scan a QR code: opens the invoice in the app (the PIN dialog shows), or starts an
    /// unattended purchase.
    #[command(after_help = SCAN_HELP)]
    Scan {
        /// HTTP://SEQR.SE/R<invoiceReference>, HTTP://SEQR.SE/Q<seqrId> or
        /// HTTP://SEQR.SE/000/ups?w=<merchantId>&t=<token> (also seqr://…).
        qr: String,
        /// For unattended QR codes: the amount the customer chooses, e.g. 20.00.
        #[arg(long, value_parser = parse_amount)]
        amount: Option<Decimal>,
        /// For unattended QR codes: have Glase notify the merchant as soon as its
        /// sendInvoice arrives, before it answers createPurchase (a correct merchant
        /// must not act on that notification).
        #[arg(long)]
        notify_early: bool,
    },
    /// Enter the PIN for an invoice (opening it first if needed): paid, reserved,
    /// wrongPin or insufficientFunds.
    #[command(after_help = CONFIRM_HELP)]
    Confirm {
        /// An invoiceReference, or a QR code (anything starting with http or seqr).
        invoice: String,
        /// The PIN typed; leave out to type the customer's right one.
        #[arg(long)]
        pin: Option<String>,
    },
    /// Cancel the payment in the app: the invoice becomes CANCELED and the merchant is notified.
    #[command(after_help = CANCEL_HELP)]
    Cancel {
        /// An invoiceReference, or a QR code (anything starting with http or seqr).
        invoice: String,
    },
    /// Close the app without answering: the invoice stays ISSUED and is no longer in progress.
    #[command(after_help = WALK_AWAY_HELP)]
    WalkAway {
        /// An invoiceReference, or a QR code (anything starting with http or seqr).
        invoice: String,
    },
    /// List the invoices waiting for a customer (ISSUED), newest first.
    #[command(after_help = PENDING_HELP)]
    Pending {
        /// Only this terminal's invoices (its TERMINALID id).
        #[arg(long)]
        terminal: Option<String>,
    },
    /// Everything about one invoice: status, version, history, payment and refunds.
    #[command(after_help = SHOW_HELP)]
    Show {
        /// The invoiceReference.
        reference: String,
    },
    /// Show a customer's wallet, or change its balance or PIN (needs --msisdn; creates
    /// the customer if unknown).
    #[command(after_help = WALLET_HELP)]
    Wallet {
        /// New balance, e.g. 12.50 (a payment above the balance ends FAILED).
        #[arg(long, value_parser = parse_balance, value_name = "AMOUNT")]
        set_balance: Option<Decimal>,
        /// New PIN.
        #[arg(long, value_name = "PIN")]
        set_pin: Option<String>,
    },
}

fn parse_mock_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("{e} (expected e.g. http://127.0.0.1:7070)"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{text:?} is not an http(s) URL"));
    }
    Ok(url)
}

fn parse_amount(text: &str) -> Result<Decimal, String> {
    match text.parse::<Decimal>() {
        Ok(amount) if amount > Decimal::ZERO => Ok(amount),
        Ok(_) => Err("the amount must be above zero".to_owned()),
        Err(_) => Err(format!("{text:?} is not an amount (e.g. 20.00)")),
    }
}

fn parse_balance(text: &str) -> Result<Decimal, String> {
    match text.parse::<Decimal>() {
        Ok(balance) if !balance.is_sign_negative() => Ok(balance),
        Ok(_) => Err("the balance must not be negative".to_owned()),
        Err(_) => Err(format!("{text:?} is not an amount (e.g. 12.50)")),
    }
}

/// Why a customer command failed; each kind has its exit code.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("no mock at {0} (start one with `mock-glase`)")]
    NoMock(String),
    /// The control API's own `{"error": …}` answer, or a transport failure.
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::NoMock(_) => EXIT_NO_MOCK,
            Self::Failed(_) => EXIT_FAILED,
            Self::Usage(_) => EXIT_USAGE,
        })
    }
}

/// Runs one `mock-glase customer …` command.
pub(crate) fn run(args: CustomerArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mock-glase customer: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(&args)) {
        Ok(output) => {
            // A closed pipe (`| head`) is not worth a panic or an error.
            let _ = std::io::stdout().lock().write_all(output.as_bytes());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("mock-glase customer: {error}");
            error.exit_code()
        }
    }
}

async fn execute(args: &CustomerArgs) -> Result<String, CliError> {
    let http = mock_glase::outbound::http_client(REQUEST_TIMEOUT)
        .map_err(|e| CliError::Failed(format!("cannot build the HTTP client: {e}")))?;
    let control = Control { http, base: args.mock.clone(), token: args.control_token.clone() };
    let msisdn = args.msisdn.as_deref();
    let out = Output { json: args.json };
    match &args.action {
        Action::Scan { qr, amount, notify_early } => {
            let body = ScanBody { qr, msisdn, amount: amount.map(|a| a.to_string()), notify_early: *notify_early };
            let answer = control.call(Method::POST, control.url(&["customer", "scan"], &[]), Some(&body)).await?;
            let unattended = answer.value.get("kind").and_then(Value::as_str) == Some("unattended");
            Ok(if unattended {
                out.render(&answer, |view: UnattendedScan| view.to_string())
            } else {
                out.render(&answer, |view: InvoiceView| scanned(&view, msisdn))
            })
        }
        Action::Confirm { invoice, pin } => {
            let body = ActionBody::new(invoice, msisdn, pin.as_deref());
            let answer = control.call(Method::POST, control.url(&["customer", "confirm"], &[]), Some(&body)).await?;
            Ok(out.render(&answer, |view: Confirmed| view.to_string()))
        }
        Action::Cancel { invoice } => {
            let body = ActionBody::new(invoice, msisdn, None);
            let answer = control.call(Method::POST, control.url(&["customer", "cancel"], &[]), Some(&body)).await?;
            Ok(out.render(&answer, |view: InvoiceView| {
                format!("canceled: invoice {} is now {}{}\n", view.reference, view.status, version(view.version))
            }))
        }
        Action::WalkAway { invoice } => {
            // The mock ignores msisdn here: whoever had it open walks away.
            let body = ActionBody::new(invoice, None, None);
            let answer = control.call(Method::POST, control.url(&["customer", "walk-away"], &[]), Some(&body)).await?;
            Ok(out.render(&answer, |view: InvoiceView| {
                format!("walked away: invoice {} is {} and open in no app\n", view.reference, view.status)
            }))
        }
        Action::Pending { terminal } => {
            let mut query = vec![("status", "ISSUED")];
            query.extend(terminal.as_deref().map(|t| ("terminal", t)));
            let answer = control.call::<()>(Method::GET, control.url(&["invoices"], &query), None).await?;
            Ok(out.render(&answer, |list: Vec<InvoiceView>| pending_table(&list, terminal.as_deref())))
        }
        Action::Show { reference } => {
            let answer = control.call::<()>(Method::GET, control.url(&["invoices", reference], &[]), None).await?;
            Ok(out.render(&answer, |view: InvoiceView| Details(&view).to_string()))
        }
        Action::Wallet { set_balance, set_pin } => {
            if set_balance.is_none() && set_pin.is_none() {
                let msisdn = match msisdn {
                    Some(msisdn) => msisdn.to_owned(),
                    None => default_customer(&control).await?,
                };
                let answer = control.call::<()>(Method::GET, control.url(&["customers", &msisdn], &[]), None).await?;
                return Ok(out.render(&answer, |view: CustomerView| format!("{view}\n")));
            }
            let msisdn = msisdn.ok_or_else(|| {
                CliError::Usage(
                    "--set-balance and --set-pin need --msisdn (or GLASE_CUSTOMER_MSISDN): \
                     they create the customer if it does not exist"
                        .to_owned(),
                )
            })?;
            let body = CustomerBody { pin: set_pin.as_deref(), balance: set_balance.map(|b| b.to_string()) };
            let answer = control.call(Method::PUT, control.url(&["customers", msisdn], &[]), Some(&body)).await?;
            Ok(out.render(&answer, |view: CustomerView| match set_pin {
                Some(pin) => format!("{view}  PIN {pin}\n"),
                None => format!("{view}\n"),
            }))
        }
    }
}

async fn default_customer(control: &Control) -> Result<String, CliError> {
    let answer = control.call::<()>(Method::GET, control.url(&["info"], &[]), None).await?;
    answer
        .value
        .get("defaultCustomer")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| CliError::Failed("the mock's /control/info names no defaultCustomer; pass --msisdn".to_owned()))
}

// ---------------------------------------------------------------------------------------
// The control API client
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
struct Control {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

/// A successful answer: the text as received (for `--json`) and its parse.
#[derive(Debug)]
struct Answer {
    text: String,
    value: Value,
}

impl Control {
    /// `<base>/control/<segments…>?<query>`, each segment escaped (references come from
    /// the command line). A base with a path (a mock behind a proxy) keeps it.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        // Err only for URLs that cannot be a base; parse_mock_url admits http(s) only.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("control").extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    fn base_text(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    async fn call<B: Serialize>(&self, method: Method, url: Url, body: Option<&B>) -> Result<Answer, CliError> {
        let mut request = self.http.request(method, url.clone());
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.transport_error(&url, &e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| self.transport_error(&url, &e))?;
        let value = serde_json::from_str::<Value>(&text).ok();
        if status.is_success() {
            return value.map(|value| Answer { text, value }).ok_or_else(|| {
                CliError::Failed(format!(
                    "{url} answered HTTP {status} without JSON; is {} a mock-glase?",
                    self.base_text()
                ))
            });
        }
        match value.as_ref().and_then(|v| v.get("error")).and_then(Value::as_str) {
            Some(error) => Err(CliError::Failed(error.to_owned())),
            None => Err(CliError::Failed(format!(
                "{url} answered HTTP {status}; is {} a mock-glase with this control API?",
                self.base_text()
            ))),
        }
    }

    fn transport_error(&self, url: &Url, error: &reqwest::Error) -> CliError {
        if error.is_connect() {
            CliError::NoMock(self.base_text().to_owned())
        } else if error.is_timeout() {
            CliError::Failed(format!(
                "the mock at {} did not answer within {}",
                self.base_text(),
                humantime::format_duration(REQUEST_TIMEOUT)
            ))
        } else {
            CliError::Failed(format!("{url}: {}", error_chain(error)))
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ScanBody<'a> {
    qr: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    msisdn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    notify_early: bool,
}

/// Body of confirm, cancel and walk-away: the invoice by reference or by QR code.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ActionBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    invoice_reference: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qr: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    msisdn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pin: Option<&'a str>,
}

impl<'a> ActionBody<'a> {
    fn new(invoice: &'a str, msisdn: Option<&'a str>, pin: Option<&'a str>) -> Self {
        let invoice = invoice.trim();
        let (invoice_reference, qr) = if is_qr(invoice) { (None, Some(invoice)) } else { (Some(invoice), None) };
        Self { invoice_reference, qr, msisdn, pin }
    }
}

/// QR codes start with `http` (HTTP://SEQR.SE/…) or `seqr` (seqr://…); references are digits.
fn is_qr(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("http") || lower.starts_with("seqr")
}

#[derive(Debug, Serialize)]
struct CustomerBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pin: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    balance: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Views of the answers and how they print
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Output {
    json: bool,
}

impl Output {
    /// The answer as received with `--json`; otherwise `show` of its view, or pretty JSON
    /// when the answer does not fit the view.
    fn render<T: DeserializeOwned>(self, answer: &Answer, show: impl FnOnce(T) -> String) -> String {
        if self.json {
            return format!("{}\n", answer.text.trim_end());
        }
        match T::deserialize(&answer.value) {
            Ok(view) => show(view),
            Err(_) => format!("{}\n", serde_json::to_string_pretty(&answer.value).unwrap_or_default()),
        }
    }
}

/// A time as the mock sends it: milliseconds since the epoch (printed as UTC), or text.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Time {
    Millis(u64),
    Text(String),
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Millis(ms) => {
                // Clamped at year 9999: a saturated deadline must print, not fail.
                f.write_str(&mock_glase::Timestamp(*ms).to_rfc3339_seconds())
            }
            Self::Text(text) => f.write_str(text),
        }
    }
}

/// `20.00 EUR`, or what there is of it.
fn money(value: Option<&str>, currency: Option<&str>) -> String {
    match (value, currency) {
        (Some(value), Some(currency)) => format!("{value} {currency}"),
        (Some(value), None) => value.to_owned(),
        (None, _) => "-".to_owned(),
    }
}

fn version(version: Option<i64>) -> String {
    version.map(|v| format!(" (version {v})")).unwrap_or_default()
}

/// A string as itself, anything else as compact JSON.
fn loose(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct AmountView {
    value: Option<String>,
    currency: Option<String>,
}

impl fmt::Display for AmountView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&money(self.value.as_deref(), self.currency.as_deref()))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RowView {
    item_description: Option<String>,
    item_quantity: Option<String>,
    item_unit: Option<String>,
    item_unit_price: Option<AmountView>,
    item_total_amount: Option<AmountView>,
}

impl fmt::Display for RowView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quantity = self.item_quantity.as_deref().unwrap_or("1");
        let unit = self.item_unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
        write!(f, "{quantity}{unit} x {}", self.item_description.as_deref().unwrap_or("(no description)"))?;
        if let Some(price) = &self.item_unit_price {
            write!(f, " @ {price}")?;
        }
        if let Some(total) = &self.item_total_amount {
            write!(f, "  = {total}")?;
        }
        Ok(())
    }
}

/// The `invoice` the merchant sent, as far as a customer sees it.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct SentInvoice {
    title: Option<String>,
    invoice_rows: Option<Vec<RowView>>,
    footer: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct HistoryView {
    at: Option<Time>,
    from: Option<String>,
    to: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RefundView {
    ers_reference: Option<String>,
    amount: Option<String>,
    at: Option<Time>,
    cashier_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PaymentView {
    ers_reference: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
    paid_at: Option<Time>,
    payer: Option<String>,
    reversed: bool,
    refunds: Option<Vec<RefundView>>,
    receipt: Option<Value>,
}

/// An invoice as the control API shows it (`GET /control/invoices/{ref}` and the
/// customer actions; `GET /control/invoices` lists the first few fields).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvoiceView {
    reference: String,
    status: String,
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    terminal: Option<String>,
    #[serde(default)]
    reseller: Option<String>,
    #[serde(default)]
    total: Option<String>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    payment_mode: Option<String>,
    #[serde(default)]
    issued_at: Option<Time>,
    #[serde(default)]
    opened_by: Option<String>,
    #[serde(default)]
    payer: Option<String>,
    #[serde(default)]
    reserved_amount: Option<String>,
    #[serde(default)]
    commit_deadline: Option<Time>,
    #[serde(default)]
    status_deadline: Option<Time>,
    #[serde(default)]
    ers_reference: Option<String>,
    #[serde(default)]
    qr_code: Option<String>,
    #[serde(default)]
    invoice: Option<SentInvoice>,
    #[serde(default)]
    history: Option<Vec<HistoryView>>,
    #[serde(default)]
    payment: Option<PaymentView>,
}

impl InvoiceView {
    fn total(&self) -> String {
        money(self.total.as_deref(), self.currency.as_deref())
    }
}

const LABEL: usize = 14;

/// The lines every invoice printout starts with: what the customer sees in the app.
struct Card<'a>(&'a InvoiceView);

impl fmt::Display for Card<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        writeln!(f, "invoice {}", v.reference)?;
        writeln!(f, "  {:<LABEL$}{}{}", "status", v.status, version(v.version))?;
        let mode = v.payment_mode.as_deref().map(|m| format!("  {m}")).unwrap_or_default();
        writeln!(f, "  {:<LABEL$}{}{mode}", "total", v.total())?;
        let sent = v.invoice.as_ref();
        if let Some(title) = sent.and_then(|i| i.title.as_deref()) {
            writeln!(f, "  {:<LABEL$}{title}", "title")?;
        }
        match sent.and_then(|i| i.invoice_rows.as_deref()).unwrap_or_default() {
            [] => writeln!(f, "  {:<LABEL$}(none)", "rows")?,
            rows => {
                for (i, row) in rows.iter().enumerate() {
                    writeln!(f, "  {:<LABEL$}{row}", if i == 0 { "rows" } else { "" })?;
                }
            }
        }
        if let Some(footer) = sent.and_then(|i| i.footer.as_deref()) {
            writeln!(f, "  {:<LABEL$}{footer}", "footer")?;
        }
        if let Some(terminal) = &v.terminal {
            let reseller = v.reseller.as_deref().map(|r| format!(" (reseller {r})")).unwrap_or_default();
            writeln!(f, "  {:<LABEL$}{terminal}{reseller}", "terminal")?;
        }
        if let Some(msisdn) = &v.opened_by {
            writeln!(f, "  {:<LABEL$}{msisdn} (PIN dialog showing)", "open by")?;
        }
        Ok(())
    }
}

/// `scan` of an invoice QR code.
fn scanned(view: &InvoiceView, msisdn: Option<&str>) -> String {
    let who = view.opened_by.as_deref().or(msisdn).unwrap_or("the default customer");
    let mut text = format!("scanned: {who} has the invoice open in the app\n{}", Card(view));
    if view.status == "ISSUED" {
        let r = &view.reference;
        let _ = writeln!(text, "next: mock-glase customer confirm {r} [--pin PIN]   (or cancel {r}, walk-away {r})");
    }
    text
}

/// The details of `show`: the card, then deadlines, history, payment and refunds.
struct Details<'a>(&'a InvoiceView);

impl fmt::Display for Details<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(f, "{}", Card(v))?;
        if let Some(at) = &v.issued_at {
            writeln!(f, "  {:<LABEL$}{at}", "issued")?;
        }
        if let Some(qr) = &v.qr_code {
            writeln!(f, "  {:<LABEL$}{qr}", "qr")?;
        }
        if let Some(payer) = &v.payer {
            writeln!(f, "  {:<LABEL$}{payer}", "payer")?;
        }
        if let Some(reserved) = &v.reserved_amount {
            let until = v.commit_deadline.as_ref().map(|t| format!(", commit by {t}")).unwrap_or_default();
            writeln!(f, "  {:<LABEL$}{}{until}", "reserved", money(Some(reserved), v.currency.as_deref()))?;
        }
        if let Some(deadline) = &v.status_deadline {
            writeln!(f, "  {:<LABEL$}getPaymentStatus due by {deadline}, or the payment is reversed", "status due")?;
        }
        if let Some(ers) = &v.ers_reference {
            writeln!(f, "  {:<LABEL$}{ers}", "ersReference")?;
        }
        writeln!(f, "history")?;
        match v.history.as_deref().unwrap_or_default() {
            [] => writeln!(f, "  (no status change yet)")?,
            history => {
                for entry in history {
                    let at = entry.at.as_ref().map(ToString::to_string).unwrap_or_default();
                    let from = entry.from.as_deref().unwrap_or("?");
                    let to = entry.to.as_deref().unwrap_or("?");
                    writeln!(f, "  {at}  {from} -> {to}  {}", entry.reason.as_deref().unwrap_or(""))?;
                }
            }
        }
        match &v.payment {
            None => writeln!(f, "payment\n  (none)")?,
            Some(p) => {
                writeln!(f, "payment")?;
                if let Some(ers) = &p.ers_reference {
                    writeln!(f, "  {:<LABEL$}{ers}", "ersReference")?;
                }
                let paid_at = p.paid_at.as_ref().map(|t| format!(" at {t}")).unwrap_or_default();
                let payer = p.payer.as_deref().map(|m| format!(" by {m}")).unwrap_or_default();
                writeln!(
                    f,
                    "  {:<LABEL$}{}{paid_at}{payer}",
                    "paid",
                    money(p.amount.as_deref(), p.currency.as_deref())
                )?;
                if p.reversed {
                    writeln!(f, "  {:<LABEL$}yes: the merchant did not fetch the status in time", "reversed")?;
                }
                if let Some(receipt) = p.receipt.as_ref().filter(|r| !r.is_null()) {
                    let kind = receipt.get("mimeType").map(loose).unwrap_or_else(|| "submitted".to_owned());
                    writeln!(f, "  {:<LABEL$}{kind}", "receipt")?;
                }
                writeln!(f, "refunds")?;
                match p.refunds.as_deref().unwrap_or_default() {
                    [] => writeln!(f, "  (none)")?,
                    refunds => {
                        for r in refunds {
                            let at = r.at.as_ref().map(ToString::to_string).unwrap_or_default();
                            let amount = money(r.amount.as_deref(), p.currency.as_deref());
                            let ers = r.ers_reference.as_deref().unwrap_or("-");
                            let cashier = r.cashier_id.as_deref().map(|c| format!("  cashier {c}")).unwrap_or_default();
                            writeln!(f, "  {at}  {amount}  ersReference {ers}{cashier}")?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// `{"result": "paid", "invoice": {…}}`.
#[derive(Debug, Deserialize)]
struct Confirmed {
    result: String,
    invoice: InvoiceView,
}

impl fmt::Display for Confirmed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = &self.invoice;
        let (r, status, ver) = (&v.reference, &v.status, version(v.version));
        match self.result.as_str() {
            "paid" => writeln!(f, "paid: invoice {r} is now {status}{ver}")?,
            "reserved" => {
                let amount = money(v.reserved_amount.as_deref().or(v.total.as_deref()), v.currency.as_deref());
                let until = v.commit_deadline.as_ref().map(|t| format!("; commit by {t}")).unwrap_or_default();
                writeln!(f, "reserved: {amount} on invoice {r}, now {status}{ver}{until}")?;
            }
            "wrongPin" => {
                writeln!(f, "wrongPin: invoice {r} stays {status}, open in the app; confirm again with the right PIN")?
            }
            "insufficientFunds" => {
                writeln!(
                    f,
                    "insufficientFunds: the wallet cannot cover {}; invoice {r} is now {status}{ver}",
                    v.total()
                )?;
            }
            other => writeln!(f, "{other}: invoice {r} is now {status}{ver}")?,
        }
        if let Some(ers) = &v.ers_reference {
            writeln!(f, "  {:<LABEL$}{ers}", "ersReference")?;
        }
        if let Some(deadline) = &v.status_deadline {
            writeln!(f, "  the merchant must call getPaymentStatus by {deadline}, or the payment is reversed")?;
        }
        Ok(())
    }
}

/// An unattended scan: `{"kind": "unattended", "purchase": {"outcome", …}, "invoice"?}`.
/// The merchant, token, amount and invoice are read from `purchase` or beside it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UnattendedScan {
    purchase: Purchase,
    #[serde(flatten)]
    outer: PurchaseContext,
    #[serde(default)]
    invoice: Option<InvoiceView>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PurchaseContext {
    merchant_id: Option<String>,
    token: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
    msisdn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Purchase {
    outcome: String,
    #[serde(flatten)]
    context: PurchaseContext,
    #[serde(default)]
    invoice_reference: Option<String>,
    #[serde(default)]
    error_code: Option<Value>,
    #[serde(default)]
    violation: Option<Value>,
    #[serde(default)]
    invoices_issued_during_call: Option<Vec<String>>,
    #[serde(default)]
    invoice: Option<InvoiceView>,
}

impl fmt::Display for UnattendedScan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.purchase;
        let (inner, outer) = (&p.context, &self.outer);
        let pick = |a: &Option<String>, b: &Option<String>| a.clone().or_else(|| b.clone());
        let merchant = pick(&inner.merchant_id, &outer.merchant_id);
        let token = pick(&inner.token, &outer.token);
        let at = match (merchant, token) {
            (Some(m), Some(t)) => format!(" at merchant {m} (token {t})"),
            (Some(m), None) => format!(" at merchant {m}"),
            _ => String::new(),
        };
        let meaning = match p.outcome.as_str() {
            "accepted" => ": the reseller issued an invoice",
            "declined" => ": the reseller declined the purchase",
            "violation" => ": the reseller's createPurchase answer broke the protocol",
            _ => "",
        };
        writeln!(f, "unattended purchase{at}: {}{meaning}", p.outcome)?;
        if let Some(amount) = pick(&inner.amount, &outer.amount) {
            let currency = pick(&inner.currency, &outer.currency);
            writeln!(f, "  {:<LABEL$}{}", "amount", money(Some(&amount), currency.as_deref()))?;
        }
        if let Some(msisdn) = pick(&inner.msisdn, &outer.msisdn) {
            writeln!(f, "  {:<LABEL$}{msisdn}", "customer")?;
        }
        if let Some(reference) = &p.invoice_reference {
            writeln!(f, "  {:<LABEL$}{reference}", "invoiceRef")?;
        }
        if let Some(code) = p.error_code.as_ref().filter(|c| !c.is_null()) {
            writeln!(f, "  {:<LABEL$}{}", "errorCode", loose(code))?;
        }
        if let Some(violation) = p.violation.as_ref().filter(|v| !v.is_null()) {
            writeln!(f, "  {:<LABEL$}{}", "violation", loose(violation))?;
        }
        if let Some(issued) = p.invoices_issued_during_call.as_deref().filter(|i| !i.is_empty()) {
            writeln!(f, "  {:<LABEL$}{} (sendInvoice during the call)", "issued", issued.join(", "))?;
        }
        if let Some(invoice) = p.invoice.as_ref().or(self.invoice.as_ref()) {
            write!(f, "{}", Card(invoice))?;
            if invoice.status == "ISSUED" {
                writeln!(f, "next: mock-glase customer confirm {} [--pin PIN]", invoice.reference)?;
            }
        }
        Ok(())
    }
}

/// The invoices `GET /control/invoices` lists, as a table of those waiting for a customer.
fn pending_table(list: &[InvoiceView], terminal: Option<&str>) -> String {
    let at = terminal.map(|t| format!(" at terminal {t}")).unwrap_or_default();
    if list.is_empty() {
        return format!("no invoices waiting for a customer{at}\n");
    }
    let header = ["REFERENCE", "TERMINAL", "TOTAL", "MODE", "ISSUED", ""];
    let rows: Vec<[String; 6]> = list
        .iter()
        .map(|i| {
            [
                i.reference.clone(),
                i.terminal.clone().unwrap_or_default(),
                money(i.total.as_deref(), i.currency.as_deref()),
                i.payment_mode.clone().unwrap_or_default(),
                i.issued_at.as_ref().map(ToString::to_string).unwrap_or_default(),
                i.opened_by.as_deref().map(|m| format!("open by {m}")).unwrap_or_default(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let line = |text: &mut String, cells: [&str; 6]| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            // Amounts right-aligned so the decimal points line up.
            let _ = if i == 2 { write!(out, "{cell:>width$}  ") } else { write!(out, "{cell:<width$}  ") };
        }
        text.push_str(out.trim_end());
        text.push('\n');
    };
    line(&mut text, header);
    for row in &rows {
        line(&mut text, row.each_ref().map(String::as_str));
    }
    let count = if list.len() == 1 { "1 invoice".to_owned() } else { format!("{} invoices", list.len()) };
    let _ = writeln!(text, "{count} waiting for a customer{at}; pay one with: mock-glase customer confirm <REFERENCE>");
    text
}

/// `GET/PUT /control/customers/{msisdn}`.
#[derive(Debug, Deserialize)]
struct CustomerView {
    msisdn: String,
    #[serde(default)]
    balance: Option<String>,
}

impl fmt::Display for CustomerView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "customer {}  balance {}", self.msisdn, self.balance.as_deref().unwrap_or("-"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test inputs are literals

    use serde_json::json;

    use super::*;

    fn control(base: &str) -> Control {
        Control {
            http: mock_glase::outbound::http_client(REQUEST_TIMEOUT).unwrap(),
            base: parse_mock_url(base).unwrap(),
            token: None,
        }
    }

    fn render<T: DeserializeOwned>(value: Value, show: impl FnOnce(T) -> String) -> String {
        let answer = Answer { text: value.to_string(), value };
        Output { json: false }.render(&answer, show)
    }

    #[test]
    fn urls_keep_a_proxy_prefix_and_escape_references() {
        assert_eq!(control("http://127.0.0.1:7070").url(&["info"], &[]).as_str(), "http://127.0.0.1:7070/control/info");
        assert_eq!(
            control("https://mocks.example/glase/").url(&["invoices", "1/2 3"], &[]).as_str(),
            "https://mocks.example/glase/control/invoices/1%2F2%203"
        );
        assert_eq!(
            control("http://h:1").url(&["invoices"], &[("status", "ISSUED"), ("terminal", "a&b")]).as_str(),
            "http://h:1/control/invoices?status=ISSUED&terminal=a%26b"
        );
    }

    #[test]
    fn qr_codes_and_references_are_told_apart() {
        let body = |s| serde_json::to_value(ActionBody::new(s, None, None)).unwrap();
        assert_eq!(body("17954573997090001"), json!({"invoiceReference": "17954573997090001"}));
        assert_eq!(body("HTTP://SEQR.SE/R1"), json!({"qr": "HTTP://SEQR.SE/R1"}));
        assert_eq!(body("seqr://SEQR.SE/R1"), json!({"qr": "seqr://SEQR.SE/R1"}));
        assert_eq!(body("https://seqr.se/Qtill1"), json!({"qr": "https://seqr.se/Qtill1"}));
    }

    #[test]
    fn amounts_are_checked_and_sent_as_typed() {
        assert_eq!(parse_amount("20.00").unwrap().to_string(), "20.00");
        assert!(parse_amount("0").is_err());
        assert!(parse_amount("abc").is_err());
        assert_eq!(parse_balance("0").unwrap().to_string(), "0");
        assert!(parse_balance("-1").is_err());
        assert!(parse_mock_url("ftp://x").is_err());
    }

    fn invoice(status: &str) -> Value {
        json!({
            "reference": "42", "status": status, "version": 0, "total": "20.00", "currency": "EUR",
            "paymentMode": "RESERVATION_REQUIRED", "openedBy": "483344323423",
            "invoice": {"title": "Vending machine VM-0042", "invoiceRows": [
                {"itemDescription": "Cola", "itemQuantity": "2", "itemTotalAmount": {"currency": "EUR", "value": "20.00"}}
            ]},
        })
    }

    #[test]
    fn an_accepted_unattended_purchase_shows_its_invoice() {
        // The mock's shape: context inside `purchase`, the invoice beside it.
        let text = render(
            json!({"kind": "unattended",
                   "purchase": {"id": 1, "merchantId": "glase-demo", "token": "77", "amount": "20.00",
                                "currency": "EUR", "msisdn": "483344323423", "invoicesIssuedDuringCall": ["42"],
                                "outcome": "accepted", "invoiceReference": "42"},
                   "invoice": invoice("ISSUED")}),
            |v: UnattendedScan| v.to_string(),
        );
        assert!(text.starts_with("unattended purchase at merchant glase-demo (token 77): accepted"), "{text}");
        assert!(text.contains("amount        20.00 EUR\n"), "{text}");
        assert!(text.contains("invoice 42\n"), "{text}");
        assert!(text.contains("2 x Cola  = 20.00 EUR"), "{text}");
        assert!(text.contains("Vending machine VM-0042"), "{text}");
        assert!(text.contains("next: mock-glase customer confirm 42"), "{text}");
        // The brief's shape: everything inside `purchase`.
        let nested = render(
            json!({"kind": "unattended", "merchantId": "glase-demo", "token": "77",
                   "purchase": {"outcome": "accepted", "invoiceReference": "42", "invoice": invoice("ISSUED")}}),
            |v: UnattendedScan| v.to_string(),
        );
        assert!(nested.starts_with("unattended purchase at merchant glase-demo (token 77): accepted"), "{nested}");
        assert!(nested.contains("invoice 42\n"), "{nested}");
    }

    #[test]
    fn declined_and_violating_purchases_say_why() {
        let declined = render(
            json!({"kind": "unattended", "purchase": {"outcome": "declined", "errorCode": "40"}, "invoice": null}),
            |v: UnattendedScan| v.to_string(),
        );
        assert!(declined.contains("declined: the reseller declined"), "{declined}");
        assert!(declined.contains("errorCode     40"), "{declined}");
        assert!(!declined.contains("next:"), "{declined}");
        let violation = render(
            json!({"kind": "unattended", "purchase": {"outcome": "violation", "violation": "no invoiceReference"}}),
            |v: UnattendedScan| v.to_string(),
        );
        assert!(violation.contains("violation: the reseller's createPurchase"), "{violation}");
        assert!(violation.contains("no invoiceReference"), "{violation}");
    }

    #[test]
    fn an_answer_that_does_not_fit_is_printed_as_json() {
        let text = render(json!({"unexpected": true}), |v: InvoiceView| Card(&v).to_string());
        assert!(text.contains("\"unexpected\": true"), "{text}");
    }

    #[test]
    fn times_print_as_utc() {
        assert_eq!(Time::Millis(1_700_000_000_000).to_string(), "2023-11-14T22:13:20Z");
    }
}
