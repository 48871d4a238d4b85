//! A sequence diagram of the messages a scenario actually exchanged, as inline SVG.
//!
//! Four lifelines: Customer (app), Glase (mock), Reseller (SUT), Machine / Shop (driver).
//! Each journal entry is one row, numbered by its `seq`:
//!
//! | entry | drawn as |
//! | --- | --- |
//! | `createPurchaseRequest` | arrow Glase → Reseller, `createPurchase token=… amount=…` |
//! | `createPurchaseResponse` | dashed arrow Reseller → Glase, the invoiceReferenceId or errorCode |
//! | `soapRequest` | arrow Reseller → Glase, the operation |
//! | `soapResponse` | dashed arrow Glase → Reseller, resultCode (and name) or the fault |
//! | `notificationSent` | arrow Glase → Reseller, `notification (reason) → outcome` |
//! | machine `customerScanned`, `customerWrongPin`, `customerWalkedAway`, `purchaseStarted`, and a `transition` a customer caused | arrow Customer → Glase |
//! | other machine events (`transition`, `invoiceIssued`, `paymentCreated`, …) | a note on the Glase lifeline |
//! | `control` whose action starts with `driver`, `machine` or `shop` (the suite at the machine or shop) | arrow Machine / Shop → Reseller |
//! | `control` `driver-answer` (what the driver answered or showed) | dashed arrow Reseller → Machine / Shop |
//! | other `control` entries (`warning`, `addFault`, …) | a note on the Glase lifeline |
//!
//! Every arrow carries `class="arrow"` and `data-seq`. `notificationDue` events are left out
//! (the `notificationSent` arrow shows the same) unless highlighted. Highlighted entries
//! are red on a pale red band. A long journal is cut to [`MAX_ROWS`] rows — highlighted
//! entries and three rows either side are always kept — and each cut shows as "… N more messages". No `id`s and no
//! `<defs>`, so many diagrams can sit in one HTML page.

use std::fmt::Write as _;

use mock_glase::journal::{Entry, Record};
use mock_glase::machine::Event;
use mock_glase::machine::ups::PurchaseOutcome;

use super::common::escape;
use crate::results::ScenarioResult;

/// At most this many rows are drawn.
pub const MAX_ROWS: usize = 120;

/// Rows kept on each side of a highlighted row when the journal is cut.
const CONTEXT: usize = 3;

const WIDTH: f64 = 980.0;
const ROW: f64 = 26.0;
const TOP: f64 = 64.0;
const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
const RED: &str = "#dc2626";
const AMBER: &str = "#b45309";
const INK: &str = "#1f2937";
const MUTED: &str = "#6b7280";

/// Who sends or receives a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Actor {
    Customer,
    Glase,
    Reseller,
    Driver,
}

impl Actor {
    const ALL: [Self; 4] = [Self::Customer, Self::Glase, Self::Reseller, Self::Driver];

    fn x(self) -> f64 {
        match self {
            Self::Customer => 78.0,
            Self::Glase => 318.0,
            Self::Reseller => 720.0,
            Self::Driver => 900.0,
        }
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::Customer => ("Customer", "app"),
            Self::Glase => ("Glase", "mock"),
            Self::Reseller => ("Reseller", "system under test"),
            Self::Driver => ("Machine / Shop", "driver"),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        self.names().0
    }
}

/// How an entry is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    Arrow { from: Actor, to: Actor, reply: bool },
    Note,
}

/// One entry, described for people.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub shape: Shape,
    pub label: String,
    /// Something went wrong on the wire or in the flow (a fault, a non-zero resultCode,
    /// an errorCode, a failed delivery, a warning).
    pub bad: bool,
    /// Left out of the diagram unless highlighted.
    pub quiet: bool,
}

impl Step {
    fn arrow(from: Actor, to: Actor, label: String) -> Self {
        Self { shape: Shape::Arrow { from, to, reply: false }, label, bad: false, quiet: false }
    }

    fn reply(from: Actor, to: Actor, label: String) -> Self {
        Self { shape: Shape::Arrow { from, to, reply: true }, label, bad: false, quiet: false }
    }

    fn note(label: String) -> Self {
        Self { shape: Shape::Note, label, bad: false, quiet: false }
    }

    fn bad(mut self, bad: bool) -> Self {
        self.bad = bad;
        self
    }

    /// `Glase → Reseller`, or `note` for notes.
    pub(crate) fn direction(&self) -> String {
        match &self.shape {
            Shape::Arrow { from, to, .. } => format!("{} → {}", from.name(), to.name()),
            Shape::Note => "note".to_owned(),
        }
    }
}

/// The text of the first element named `name` (any namespace prefix) in an XML body.
pub(crate) fn xml_text<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = body;
    while let Some(i) = rest.find(name) {
        let before = rest[..i].chars().next_back();
        let after = &rest[i + name.len()..];
        if matches!(before, Some('<' | ':')) && after.starts_with('>') {
            let text = &after[1..];
            let end = text.find('<').unwrap_or(text.len());
            return Some(text[..end].trim());
        }
        rest = after;
    }
    None
}

/// The raw text of a top-level JSON field (`20.00` as written, not re-formatted as `20.0`),
/// without quotes for strings.
fn json_field<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let quoted = format!("\"{key}\"");
    let at = body.find(&quoted)? + quoted.len();
    let rest = body[at..].trim_start().strip_prefix(':')?.trim_start();
    if let Some(string) = rest.strip_prefix('"') {
        return string.find('"').map(|end| &string[..end]);
    }
    let end = rest.find([',', '}', '\n']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

fn result_text(code: i32) -> String {
    match glase_protocol::ResultCode(code).name() {
        Some(name) => format!("{code} {name}"),
        None => code.to_string(),
    }
}

/// Describes one journal entry: who talks to whom, and a short label.
pub(crate) fn describe(entry: &Entry) -> Step {
    match &entry.record {
        Record::SoapRequest { operation, .. } => Step::arrow(
            Actor::Reseller,
            Actor::Glase,
            operation.clone().unwrap_or_else(|| "undecodable SOAP request".to_owned()),
        ),
        Record::SoapResponse { operation, http_status, result_code, fault, body, dropped, delayed_ms } => {
            let mut label = operation.clone().map(|op| format!("{op}: ")).unwrap_or_default();
            label.push_str(&soap_answer_text(*dropped, fault.as_deref(), *result_code, body));
            if *http_status != 200 && !*dropped {
                let _ = write!(label, " (HTTP {http_status})");
            }
            if let Some(ms) = delayed_ms {
                let _ = write!(label, " (held {ms} ms)");
            }
            let bad = *dropped || fault.is_some() || result_code.is_some_and(|c| c != 0) || *http_status >= 400;
            Step::reply(Actor::Glase, Actor::Reseller, label).bad(bad)
        }
        Record::NotificationSent { reason, attempt, outcome, http_status, .. } => {
            let mut label = format!("notification ({reason})");
            if *attempt > 1 {
                let _ = write!(label, " attempt {attempt}");
            }
            let _ = write!(label, " → {outcome}");
            let bad = http_status.is_none_or(|s| !(200..300).contains(&s));
            Step::arrow(Actor::Glase, Actor::Reseller, label).bad(bad)
        }
        Record::CreatePurchaseRequest { body, .. } => describe_create_purchase(body),
        Record::CreatePurchaseResponse { http_status, body, error, .. } => {
            describe_create_purchase_answer(*http_status, body.as_deref(), error.as_deref())
        }
        Record::Machine { event } => describe_event(event),
        Record::WireDeviation { rule, path, .. } => Step::note(format!("⚠ {rule} at {path}")).bad(true),
        Record::Control { action, detail } => describe_control(action, detail),
    }
}

/// What a SOAP answer said: no answer, a fault, or the resultCode (with the status, if
/// the body has one).
fn soap_answer_text(dropped: bool, fault: Option<&str>, result_code: Option<i32>, body: &str) -> String {
    if dropped {
        "connection dropped, no answer".to_owned()
    } else if let Some(fault) = fault {
        format!("fault {fault}")
    } else if let Some(code) = result_code {
        let mut text = result_text(code);
        if let Some(status) = xml_text(body, "status") {
            let _ = write!(text, ", {status}");
        }
        text
    } else {
        "no resultCode".to_owned()
    }
}

/// `createPurchase token=… amount=… EUR`, in either body dialect.
fn describe_create_purchase(body: &str) -> Step {
    let mut label = "createPurchase".to_owned();
    if let Some(token) = json_field(body, "token").or_else(|| json_field(body, "reservationToken")) {
        let _ = write!(label, " token={token}");
    }
    if let Some(amount) = json_field(body, "amount").or_else(|| json_field(body, "reservationAmount")) {
        let _ = write!(label, " amount={amount}");
        if let Some(currency) = json_field(body, "currency") {
            let _ = write!(label, " {currency}");
        }
    }
    Step::arrow(Actor::Glase, Actor::Reseller, label)
}

/// The reseller's createPurchase answer: the invoice reference, or what was wrong with it.
fn describe_create_purchase_answer(http_status: Option<u16>, body: Option<&str>, error: Option<&str>) -> Step {
    let field = |name: &str| body.and_then(|b| json_field(b, name));
    let (label, bad) = if let Some(error) = error {
        (format!("no answer: {error}"), true)
    } else if let Some(code) = field("errorCode") {
        (format!("errorCode {code}"), true)
    } else if let Some(reference) = field("invoiceReferenceId") {
        (format!("invoiceReferenceId {reference}"), false)
    } else {
        let status = http_status.map_or_else(|| "no status".to_owned(), |s| format!("HTTP {s}"));
        (format!("{status}, unexpected body"), true)
    };
    let label = match http_status {
        Some(s) if s != 200 && error.is_none() => format!("{label} (HTTP {s})"),
        _ => label,
    };
    Step::reply(Actor::Reseller, Actor::Glase, label).bad(bad)
}

/// A control entry: the suite acting at the machine or shop (and what the driver
/// answered) is an arrow; anything else a note on the Glase lifeline.
fn describe_control(action: &str, detail: &str) -> Step {
    let lower = action.to_ascii_lowercase();
    if lower == "driver-answer" {
        Step::reply(Actor::Reseller, Actor::Driver, detail.to_owned())
    } else if ["driver", "machine", "shop"].iter().any(|p| lower.starts_with(p)) {
        let label = if detail.is_empty() { action.to_owned() } else { detail.to_owned() };
        Step::arrow(Actor::Driver, Actor::Reseller, label)
    } else if action == "warning" {
        Step::note(format!("⚠ {detail}")).bad(true)
    } else if detail.is_empty() {
        Step::note(action.to_owned())
    } else {
        Step::note(format!("{action}: {detail}"))
    }
}

fn describe_event(event: &Event) -> Step {
    let customer = |label: String| Step::arrow(Actor::Customer, Actor::Glase, label);
    match event {
        Event::InvoiceIssued { invoice, amount, currency, payment_mode, .. } => {
            Step::note(format!("invoice {invoice} ISSUED: {amount} {currency}, {}", payment_mode.as_str()))
        }
        Event::InvoiceUpdated { invoice, amount } => Step::note(format!("invoice {invoice} updated: {amount}")),
        Event::Transition { from, to, reason, .. } => match reason.strip_prefix("customer ") {
            Some(action) => customer(format!("{action} → {}", to.as_str())),
            None => Step::note(format!("{} → {} ({reason})", from.as_str(), to.as_str())),
        },
        Event::CustomerScanned { invoice, .. } => customer(format!("scans invoice {invoice}")),
        Event::CustomerWrongPin { .. } => customer("enters a wrong PIN".to_owned()),
        Event::CustomerWalkedAway { .. } => customer("walks away".to_owned()),
        Event::StatusAcknowledged { after_ms, .. } => Step::note(format!("status fetched {after_ms} ms after payment")),
        Event::PaymentCreated { ers_reference, amount, .. } => Step::note(format!("payment {ers_reference}: {amount}")),
        Event::RefundCreated { refund, amount, .. } => Step::note(format!("refund {refund}: {amount}")),
        Event::ReceiptSubmitted { bytes, mime_type, .. } => Step::note(format!(
            "receipt submitted ({bytes} bytes{})",
            mime_type.as_deref().map(|m| format!(", {m}")).unwrap_or_default()
        )),
        Event::TerminalRegistered { terminal, .. } => Step::note(format!("terminal {terminal} registered")),
        Event::TerminalUnregistered { terminal } => Step::note(format!("terminal {terminal} unregistered")),
        Event::SeqrIdAssigned { terminal, seqr_id } => Step::note(format!("seqrId {seqr_id} assigned to {terminal}")),
        Event::PeriodMarked { period, .. } => Step::note(format!("transaction period {period} marked")),
        Event::FaultInjected { target, fault, .. } => Step::note(format!("⚡ fault on {target}: {fault}")).bad(true),
        Event::PurchaseStarted { token, amount, .. } => customer(format!("scans machine QR t={token} ({amount})")),
        Event::PurchaseEnded { outcome, .. } => match outcome {
            PurchaseOutcome::Accepted { invoice_reference } => {
                Step::note(format!("purchase accepted: invoice {invoice_reference}"))
            }
            PurchaseOutcome::Declined { error_code } => Step::note(format!("purchase declined: {error_code}")),
            PurchaseOutcome::Violation { violation } => {
                Step::note(format!("purchase violation: {violation}")).bad(true)
            }
        },
        Event::NotificationDue { reason, .. } => {
            Step { quiet: true, ..Step::note(format!("notification due ({reason})")) }
        }
        Event::WalletOverflow { invoice, credit, .. } => {
            Step::note(format!("wallet overflow: crediting {credit} refused, invoice {invoice} unchanged")).bad(true)
        }
    }
}

/// Average width of a label character at 12 px, and of a note's at 11 px (system-ui).
const LABEL_CHAR: f64 = 6.4;
const NOTE_CHAR: f64 = 6.9;

/// Where an arrow's label goes, as SVG attributes, so that it is never cut: centred over
/// the arrow when it fits; else ending at the arrow's right end and reaching left; else,
/// longer than the diagram is wide, squeezed into its width (`textLength`). The whole
/// label is also in the row's `<title>`.
fn label_placement(label: &str, x1: f64, x2: f64) -> String {
    let natural = label.chars().count() as f64 * LABEL_CHAR;
    let (left, right) = (x1.min(x2), x1.max(x2));
    if natural <= right - left - 16.0 {
        format!(r#"x="{}" text-anchor="middle""#, (left + right) / 2.0)
    } else if natural <= right - 46.0 {
        format!(r#"x="{}" text-anchor="end""#, right - 8.0)
    } else {
        format!(r#"x="40" text-anchor="start"{}"#, squeeze(natural, WIDTH - 50.0))
    }
}

/// ` textLength="…" lengthAdjust="spacingAndGlyphs"` when text `natural` wide must fit
/// `room`; nothing when it fits.
fn squeeze(natural: f64, room: f64) -> String {
    if natural <= room { String::new() } else { format!(r#" textLength="{room:.0}" lengthAdjust="spacingAndGlyphs""#) }
}

/// What one row of the diagram shows.
enum Row<'a> {
    Entry(&'a Entry, Step, bool),
    /// This many entries left out here.
    Gap(usize),
}

/// Picks the rows: every entry that is not quiet (or is highlighted), cut to [`MAX_ROWS`].
fn rows<'a>(journal: &'a [Entry], highlight: &[u64]) -> Vec<Row<'a>> {
    let shown: Vec<(&Entry, Step, bool)> = journal
        .iter()
        .map(|e| (e, describe(e), highlight.contains(&e.seq)))
        .filter(|(_, step, hot)| *hot || !step.quiet)
        .collect();
    // Highlighted rows and their neighbours always show; the others fill what is left,
    // oldest first.
    let near: Vec<bool> = (0..shown.len())
        .map(|i| {
            let lo = i.saturating_sub(CONTEXT);
            let hi = (i + CONTEXT + 1).min(shown.len());
            shown[lo..hi].iter().any(|(_, _, hot)| *hot)
        })
        .collect();
    let mut budget =
        if shown.len() <= MAX_ROWS { usize::MAX } else { MAX_ROWS.saturating_sub(near.iter().filter(|n| **n).count()) };
    let mut rows = Vec::new();
    let mut skipped = 0;
    for ((entry, step, hot), near) in shown.into_iter().zip(near) {
        if near || budget > 0 {
            if !near {
                budget -= 1;
            }
            if skipped > 0 {
                rows.push(Row::Gap(skipped));
                skipped = 0;
            }
            rows.push(Row::Entry(entry, step, hot));
        } else {
            skipped += 1;
        }
    }
    if skipped > 0 {
        rows.push(Row::Gap(skipped));
    }
    rows
}

/// Draws the journal as an SVG sequence diagram, highlighting the entries in `highlight`
/// (journal sequence numbers).
pub fn sequence_svg(journal: &[Entry], highlight: &[u64]) -> String {
    let rows = rows(journal, highlight);
    let arrows = rows.iter().filter(|r| matches!(r, Row::Entry(_, Step { shape: Shape::Arrow { .. }, .. }, _))).count();
    let body_height = ROW * rows.len().max(1) as f64;
    let height = TOP + body_height + 16.0 + 44.0;
    let mut svg = String::with_capacity(600 + rows.len() * 420);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="sequence" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="Sequence diagram: {arrows} messages" font-family="{FONT}" font-size="12">"#
    );
    let _ = write!(svg, "<title>Sequence diagram: {arrows} messages</title>");
    let _ = write!(svg, r##"<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>"##);

    // Highlight bands first, beneath everything.
    for (i, row) in rows.iter().enumerate() {
        if let Row::Entry(_, _, true) = row {
            let y = TOP + ROW * i as f64;
            let _ = write!(svg, r##"<rect x="0" y="{y}" width="{WIDTH}" height="{ROW}" fill="#fee2e2"/>"##);
        }
    }

    // Lifelines and actor boxes (top and bottom).
    let bottom = TOP + body_height + 16.0;
    for actor in Actor::ALL {
        let x = actor.x();
        let _ = write!(
            svg,
            r##"<line x1="{x}" y1="48" x2="{x}" y2="{bottom}" stroke="#9ca3af" stroke-width="1" stroke-dasharray="4 3"/>"##
        );
        for y in [6.0, bottom] {
            actor_box(&mut svg, actor, x, y);
        }
    }

    if rows.is_empty() {
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle" fill="{MUTED}" font-style="italic">no messages recorded</text>"#,
            WIDTH / 2.0,
            TOP + ROW * 0.65
        );
    }

    for (i, row) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        match row {
            Row::Gap(n) => {
                let noun = if *n == 1 { "message" } else { "messages" };
                let _ = write!(
                    svg,
                    r#"<text class="gap" x="{}" y="{}" text-anchor="middle" fill="{MUTED}" font-style="italic">… {n} more {noun}</text>"#,
                    WIDTH / 2.0,
                    y + ROW * 0.65
                );
            }
            Row::Entry(entry, step, hot) => draw_entry(&mut svg, entry, step, *hot, y),
        }
    }
    svg.push_str("</svg>");
    svg
}

fn actor_box(svg: &mut String, actor: Actor, x: f64, y: f64) {
    let (name, role) = actor.names();
    let (w, h) = (150.0, 38.0);
    let _ = write!(
        svg,
        r##"<rect x="{}" y="{y}" width="{w}" height="{h}" rx="6" fill="#eef2ff" stroke="#6366f1"/><text x="{x}" y="{}" text-anchor="middle" font-weight="600" fill="{INK}">{}</text><text x="{x}" y="{}" text-anchor="middle" font-size="10" fill="{MUTED}">{}</text>"##,
        x - w / 2.0,
        y + 16.0,
        escape(name),
        y + 30.0,
        escape(role),
    );
}

/// How one row is drawn: its step, how high, and the ink its parts share (red and bold
/// when highlighted, amber when something went wrong).
struct Pen<'a> {
    step: &'a Step,
    hot: bool,
    y: f64,
    colour: &'static str,
    weight: &'static str,
}

impl<'a> Pen<'a> {
    fn new(step: &'a Step, hot: bool, y: f64) -> Self {
        let colour = if hot {
            RED
        } else if step.bad {
            AMBER
        } else {
            INK
        };
        Self { step, hot, y, colour, weight: if hot { "700" } else { "400" } }
    }

    /// The baseline of the row's text, and the height of its arrow.
    fn mid(&self) -> f64 {
        self.y + ROW / 2.0 + 4.0
    }
}

/// One entry's row: a group with its full description as the tooltip, its `#seq`, and
/// the arrow or the note.
fn draw_entry(svg: &mut String, entry: &Entry, step: &Step, hot: bool, y: f64) {
    let pen = Pen::new(step, hot, y);
    let seq = entry.seq;
    let title = format!("#{seq} {} — {}: {}", entry.time, step.direction(), step.label);
    let class = match step.shape {
        Shape::Arrow { .. } => "arrow",
        Shape::Note => "note",
    };
    let _ = write!(
        svg,
        r#"<g class="{class}{}" data-seq="{seq}"><title>{}</title>"#,
        if hot { " hot" } else { "" },
        escape(&title)
    );
    let _ = write!(
        svg,
        r#"<text x="6" y="{}" font-size="10" fill="{}" font-weight="{}">#{seq}</text>"#,
        pen.mid(),
        if hot { RED } else { MUTED },
        pen.weight
    );
    match step.shape {
        Shape::Arrow { from, to, reply } => draw_arrow(svg, &pen, from, to, reply),
        Shape::Note => draw_note(svg, &pen),
    }
    svg.push_str("</g>");
}

/// A message from `from` to `to` (dashed for a reply), its label above it.
fn draw_arrow(svg: &mut String, pen: &Pen<'_>, from: Actor, to: Actor, reply: bool) {
    let Pen { step, colour, weight, .. } = *pen;
    let mid = pen.mid();
    let (x1, x2) = (from.x(), to.x());
    let dir = if x2 > x1 { 1.0 } else { -1.0 };
    let dash = if reply { r#" stroke-dasharray="6 4""# } else { "" };
    let width = if pen.hot { 2.0 } else { 1.3 };
    let _ = write!(
        svg,
        r#"<line x1="{x1}" y1="{mid}" x2="{}" y2="{mid}" stroke="{colour}" stroke-width="{width}"{dash}/>"#,
        x2 - dir * 2.0
    );
    let _ = write!(
        svg,
        r#"<path d="M{x2},{mid} L{},{} L{},{} Z" fill="{colour}"/>"#,
        x2 - dir * 9.0,
        mid - 4.5,
        x2 - dir * 9.0,
        mid + 4.5
    );
    let _ = write!(
        svg,
        r#"<text {} y="{}" fill="{colour}" font-weight="{weight}">{}</text>"#,
        label_placement(&step.label, x1, x2),
        mid - 5.0,
        escape(&step.label)
    );
}

/// A note on the Glase lifeline, as wide as its text (squeezed if the diagram is not).
fn draw_note(svg: &mut String, pen: &Pen<'_>) {
    let Pen { step, hot, y, colour, weight } = *pen;
    let label = &step.label;
    let natural = label.chars().count() as f64 * NOTE_CHAR;
    let w = (natural + 20.0).min(WIDTH - 70.0);
    let x = (Actor::Glase.x() - 40.0).min(WIDTH - 10.0 - w);
    let (fill, stroke) = if hot {
        ("#fecaca", RED)
    } else if step.bad {
        ("#fef3c7", "#f59e0b")
    } else {
        ("#fffbeb", "#e5d3a1")
    };
    let _ = write!(
        svg,
        r#"<rect x="{x}" y="{}" width="{w}" height="{}" rx="3" fill="{fill}" stroke="{stroke}"/><text x="{}" y="{}" fill="{colour}" font-size="11" font-weight="{weight}"{}>{}</text>"#,
        y + 4.0,
        ROW - 8.0,
        x + 10.0,
        pen.mid() - 0.5,
        squeeze(natural, w - 20.0),
        escape(label)
    );
}

/// The scenario's journal as numbered lines (`▶ #12    2026-…  Reseller → Glase  sendInvoice`),
/// each with whether it is evidence of a finding; at most `max` entries, starting a little
/// before the first evidence when the journal is longer.
pub(crate) fn journal_lines(result: &ScenarioResult, max: usize) -> Vec<(bool, String)> {
    let evidence: Vec<u64> = result.findings.iter().flat_map(|f| f.evidence.iter().copied()).collect();
    let journal = &result.journal;
    let first_hot = journal.iter().position(|e| evidence.contains(&e.seq)).unwrap_or(0);
    let start = if journal.len() <= max { 0 } else { first_hot.saturating_sub(max / 4).min(journal.len() - max) };
    let end = (start + max).min(journal.len());
    let mut lines = Vec::with_capacity(end - start + 2);
    if start > 0 {
        lines.push((false, format!("  … {start} earlier")));
    }
    for entry in &journal[start..end] {
        let step = describe(entry);
        let hot = evidence.contains(&entry.seq);
        let mark = if hot { "▶" } else { " " };
        let time = entry.time.split_once('T').map_or(entry.time.as_str(), |(_, t)| t);
        lines.push((hot, format!("{mark} #{:<5} {time}  {:<28} {}", entry.seq, step.direction(), step.label)));
    }
    if end < journal.len() {
        lines.push((false, format!("  … {} more", journal.len() - end)));
    }
    lines
}

#[cfg(test)]
mod tests {
    use mock_glase::clock::Timestamp;
    use mock_glase::journal::{Filter, Journal, Tags};

    use super::*;
    use crate::report::fixtures;

    fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    #[test]
    fn one_arrow_per_message_and_notes_for_the_rest() {
        let journal = fixtures::journal(0);
        let svg = sequence_svg(&journal, &[]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(count(&svg, r#"class="arrow"#), fixtures::ARROWS);
        assert_eq!(count(&svg, r#"class="note"#), journal.len() - fixtures::ARROWS);
        for entry in &journal {
            assert!(svg.contains(&format!(r#"data-seq="{}""#, entry.seq)), "#{} missing", entry.seq);
        }
        assert!(svg.contains("createPurchase token=machine-1 amount=20.00 EUR"), "{svg}");
        assert!(svg.contains("commitReservation: 11 REJECTED_AMOUNT"));
        assert!(svg.contains("invoiceReferenceId 1795"));
        assert!(!svg.contains(" id="), "no ids: many diagrams share one page");
    }

    #[test]
    fn the_svg_is_well_formed_xml_with_escaped_labels() {
        let mut journal = Journal::new(10);
        let op = Some("send<Invoice>&\"x\"".to_owned());
        journal.push(
            Timestamp(1),
            Tags::default(),
            Record::SoapRequest { path: "/".into(), operation: op, body: String::new() },
        );
        let svg = sequence_svg(&journal.query(&Filter::default()), &[1]);
        assert!(svg.contains("send&lt;Invoice&gt;&amp;&quot;x&quot;"));
        let mut reader = quick_xml::Reader::from_str(&svg);
        let mut depth = 0_i32;
        loop {
            match reader.read_event().expect("well-formed XML") {
                quick_xml::events::Event::Start(_) => depth += 1,
                quick_xml::events::Event::End(_) => depth -= 1,
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(depth, 0);
    }

    #[test]
    fn labels_are_never_cut_and_the_machine_lane_shows_what_the_driver_did() {
        let mut journal = Journal::new(10);
        let control = |action: &str, detail: &str| Record::Control { action: action.into(), detail: detail.into() };
        let vend = "machine-1: the customer takes 2 × cola, water, 3 × crisps, chocolate";
        let answer = "200 paid 11.45 EUR";
        let long_note = "note ".repeat(60);
        for record in [control("driver", vend), control("driver-answer", answer), control("remark", &long_note)] {
            journal.push(Timestamp(1), Tags::default(), record);
        }
        let svg = sequence_svg(&journal.query(&Filter::default()), &[]);
        assert!(svg.contains(&format!(">{}</text>", escape(vend))), "the whole vend label: {svg}");
        assert!(svg.contains(&format!(">{answer}</text>")));
        assert!(svg.contains(&format!(">{}</text>", escape(&format!("remark: {long_note}")))));
        assert!(svg.contains(r#"lengthAdjust="spacingAndGlyphs""#), "a label wider than the diagram is squeezed");
        assert!(!svg.contains('…'), "nothing cut");
        assert!(svg.contains(r#"stroke-dasharray="6 4""#), "the driver's answer is drawn as a reply");
    }

    #[test]
    fn highlighted_messages_are_red() {
        let journal = fixtures::journal(0);
        let commit = journal[7].seq;
        let svg = sequence_svg(&journal, &[commit]);
        assert_eq!(count(&svg, " hot\""), 1);
        assert!(svg.contains(&format!(r#"class="arrow hot" data-seq="{commit}""#)));
        assert!(svg.contains(RED));
    }

    #[test]
    fn long_journals_are_cut_but_keep_the_evidence() {
        let mut journal = Journal::new(1000);
        for i in 0..300 {
            let record = Record::SoapRequest {
                path: "/".into(),
                operation: Some("getPaymentStatus".into()),
                body: String::new(),
            };
            journal.push(Timestamp(i), Tags::default(), record);
        }
        let entries = journal.query(&Filter::default());
        let svg = sequence_svg(&entries, &[250]);
        assert_eq!(count(&svg, r#"class="arrow"#), MAX_ROWS);
        assert!(svg.contains(r#"data-seq="250""#));
        let gaps: Vec<&str> = svg.match_indices("more messages").map(|(i, _)| &svg[i.saturating_sub(12)..i]).collect();
        assert_eq!(gaps.len(), 2, "a gap before and after the evidence: {gaps:?}");
        // 113 from the start, then #247–#253 around the evidence.
        assert!(svg.contains("… 133 more messages") && svg.contains("… 47 more messages"), "{gaps:?}");
        assert!(svg.contains(r#"data-seq="247""#) && svg.contains(r#"data-seq="253""#));
    }

    #[test]
    fn an_empty_journal_says_so() {
        let svg = sequence_svg(&[], &[]);
        assert!(svg.contains("no messages recorded"));
    }

    #[test]
    fn reads_raw_json_fields() {
        let body = r#"{"token": "m-1", "amount":20.00 ,"currency":"EUR"}"#;
        assert_eq!(json_field(body, "token"), Some("m-1"));
        assert_eq!(json_field(body, "amount"), Some("20.00"));
        assert_eq!(json_field(body, "currency"), Some("EUR"));
        assert_eq!(json_field(body, "msisdn"), None);
    }

    #[test]
    fn reads_xml_text_with_any_prefix() {
        assert_eq!(xml_text("<ns2:status>PAID</ns2:status>", "status"), Some("PAID"));
        assert_eq!(xml_text("<invoiceStatus>X</invoiceStatus><status>RESERVED</status>", "status"), Some("RESERVED"));
        assert_eq!(xml_text("<statusCode>1</statusCode>", "status"), None);
    }
}
