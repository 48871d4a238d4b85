//! markTransactionPeriod and executeReport: transaction periods and the four
//! reconciliation reports of spec section 9.
//!
//! Every payment and refund is recorded as a [`Transaction`]. A period is the time
//! between two marks of the same scope (a reseller, or one terminal); a report selects
//! the period's transactions, optionally narrowed to one terminal.
//!
//! Transactions are kept compact (their names and references are the payment's
//! [`SmolStr`]s: short ones inline, long ones shared, never copied per payment) and,
//! like finished invoices, bounded by the retention
//! **[decision]**: with a limit of N the newest N transactions are kept, so a report
//! over a period older than that lists only what is left of it.

use std::fmt::Write as _;

use glase_protocol::request::{ExecuteReport, MarkTransactionPeriod};
use glase_protocol::{Operation, Report, Response, ResponseDetail, ResultCode};
use rust_decimal::Decimal;

use super::auth::Principal;
use super::periods::{Kind, Period, Transaction};
use super::{Effects, Event, Machine};
use crate::clock::Timestamp;

/// The report ids executeReport knows.
pub const REPORT_IDS: &[&str] = &[
    "Reconciliation/Shop.xml",
    "Reconciliation/STD_RECON_003.xml",
    "Reconciliation/STD_RECON_006.xml",
    "Reconciliation/STD_RECON_007.xml",
];

impl Machine {
    pub(crate) fn mark_transaction_period(
        &mut self,
        principal: &Principal,
        request: &MarkTransactionPeriod,
        now: Timestamp,
        fx: &mut Effects,
    ) -> Response {
        let op = Operation::MarkTransactionPeriod;
        let terminal =
            match self.report_terminal(principal, request.parameters.as_ref().and_then(|p| p.get("TERMINALID"))) {
                Ok(terminal) => terminal,
                Err(code) => return Response::result(op, code),
            };
        let reseller = self.reseller_of(principal).to_owned();
        let scope = (reseller.clone(), terminal.clone());
        let start = self.periods.last_mark.insert(scope, now).unwrap_or(Timestamp(0));
        let id = self.ids.period_id();
        self.periods.periods.insert(
            id.to_string(),
            Period {
                reseller: reseller.clone(),
                terminal: terminal.clone(),
                start,
                end: now,
                ready_at: now.plus(self.deadlines.report_ready_delay),
            },
        );
        fx.event(Event::PeriodMarked { period: id.to_string(), reseller, terminal });
        Response::success(op, ResponseDetail::MarkTransactionPeriod { transaction_period_id: Some(id.to_string()) })
    }

    /// The terminal a report or period is narrowed to: the `TERMINALID` parameter (which
    /// must be the reseller's, else 29), or the calling terminal itself — a terminal
    /// only ever sees its own transactions **[decision]**.
    fn report_terminal(&self, principal: &Principal, parameter: Option<&str>) -> Result<Option<String>, ResultCode> {
        let parameter = parameter.map(str::trim).filter(|p| !p.is_empty());
        match (principal.terminal(), parameter) {
            (Some(own), Some(other)) if own != other => Err(ResultCode::ACCESS_DENIED),
            (Some(own), _) => Ok(Some(own.to_owned())),
            (None, Some(id)) => match self.terminals.get(id) {
                Some(t) if t.reseller == self.reseller_of(principal) => Ok(Some(id.to_owned())),
                _ => Err(ResultCode::INVALID_INITIATOR_PRINCIPAL_ID),
            },
            (None, None) => Ok(None),
        }
    }

    /// Runs a reconciliation report. Unknown report ids answer 91; a missing or unknown
    /// `transactionPeriodId` answers 49 **[decision]**; a period younger than the
    /// configured delay answers 2 REPORT_NOT_READY.
    pub(crate) fn execute_report(&self, principal: &Principal, request: &ExecuteReport, now: Timestamp) -> Response {
        let op = Operation::ExecuteReport;
        let report_id = request.report_id.as_deref().map(str::trim).unwrap_or_default();
        if !REPORT_IDS.contains(&report_id) {
            return Response::result(op, ResultCode::UNSUPPORTED_OPERATION);
        }
        let parameters = request.parameters.clone().unwrap_or_default();
        let terminal = match self.report_terminal(principal, parameters.get("TERMINALID")) {
            Ok(terminal) => terminal,
            Err(code) => return Response::result(op, code),
        };
        let period_id = parameters.get("transactionPeriodId").map(str::trim).unwrap_or_default();
        let Some(period) = self.periods.periods.get(period_id).filter(|p| p.reseller == self.reseller_of(principal))
        else {
            return Response::result(op, ResultCode::INVALID_INVOICE_DATA);
        };
        if now < period.ready_at {
            return Response::result(op, ResultCode::REPORT_NOT_READY);
        }
        let terminal = terminal.or_else(|| period.terminal.clone());
        let rows: Vec<&Transaction> = self
            .periods
            .transactions
            .iter()
            .filter(|t| *t.reseller == *period.reseller && t.at >= period.start && t.at < period.end)
            .filter(|t| terminal.as_deref().is_none_or(|id| *t.terminal == *id))
            .collect();
        // A sum beyond `Decimal::MAX` cannot be reported: Glase failed, not the caller.
        let Some(content) = render(report_id, period_id, period, terminal.as_deref(), &rows) else {
            return Response::result(op, ResultCode::SYSTEM_ERROR);
        };
        Response::success(
            op,
            ResponseDetail::ExecuteReport {
                report: Some(Report {
                    title: Some(title(report_id).to_owned()),
                    mime_type: Some("text/xml".to_owned()),
                    content: Some(content.clone().into_bytes()),
                    content_string: Some(content),
                }),
            },
        )
    }
}

fn title(report_id: &str) -> &'static str {
    match report_id {
        "Reconciliation/Shop.xml" => "Shop summary",
        "Reconciliation/STD_RECON_003.xml" => "Shop details",
        "Reconciliation/STD_RECON_006.xml" => "Terminal summary",
        _ => "Terminal details",
    }
}

/// Renders `<TransactionDetails><Meta>…</Meta><Row>…</Row>…</TransactionDetails>`;
/// `None` when a summary's sum does not fit a `Decimal`.
fn render(
    report_id: &str,
    period_id: &str,
    period: &Period,
    terminal: Option<&str>,
    rows: &[&Transaction],
) -> Option<String> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><TransactionDetails><Meta>");
    field(&mut out, "ReportId", report_id);
    field(&mut out, "Title", title(report_id));
    field(&mut out, "TransactionPeriodId", period_id);
    field(&mut out, "Reseller", &period.reseller);
    if let Some(terminal) = terminal {
        field(&mut out, "TerminalId", terminal);
    }
    field(&mut out, "From", &period.start.to_rfc3339());
    field(&mut out, "To", &period.end.to_rfc3339());
    out.push_str("</Meta>");
    match report_id {
        "Reconciliation/Shop.xml" => summary_row(&mut out, None, rows.iter().copied())?,
        "Reconciliation/STD_RECON_006.xml" => {
            let mut terminals: Vec<&str> = rows.iter().map(|t| &*t.terminal).collect();
            terminals.sort_unstable();
            terminals.dedup();
            for id in terminals {
                summary_row(&mut out, Some(id), rows.iter().copied().filter(|t| *t.terminal == *id))?;
            }
        }
        _ => {
            let mut sorted = rows.to_vec();
            if report_id.ends_with("007.xml") {
                sorted.sort_by(|a, b| a.terminal.cmp(&b.terminal).then(a.at.cmp(&b.at)));
            }
            for t in sorted {
                out.push_str("<Row>");
                field(&mut out, "TerminalId", &t.terminal);
                field(&mut out, "CashierId", t.cashier.as_deref().unwrap_or_default());
                field(&mut out, "Type", if t.kind == Kind::Purchase { "PURCHASE" } else { "REFUND" });
                field(&mut out, "Amount", &t.amount.to_string());
                field(&mut out, "Currency", &t.currency);
                field(&mut out, "ErsReference", &t.ers_reference);
                field(&mut out, "InvoiceReference", &t.invoice);
                field(&mut out, "Time", &t.at.to_rfc3339());
                out.push_str("</Row>");
            }
        }
    }
    out.push_str("</TransactionDetails>");
    Some(out)
}

/// One summary row; `None` when a sum does not fit a `Decimal`.
fn summary_row<'a>(
    out: &mut String,
    terminal: Option<&str>,
    rows: impl Iterator<Item = &'a Transaction>,
) -> Option<()> {
    let (mut purchases, mut purchased, mut refunds, mut refunded) = (0u64, Decimal::ZERO, 0u64, Decimal::ZERO);
    for t in rows {
        match t.kind {
            Kind::Purchase => (purchases, purchased) = (purchases + 1, purchased.checked_add(t.amount)?),
            Kind::Refund => (refunds, refunded) = (refunds + 1, refunded.checked_add(t.amount)?),
        }
    }
    // Both sums are non-negative, so the difference fits.
    let net = purchased.checked_sub(refunded)?;
    out.push_str("<Row>");
    if let Some(terminal) = terminal {
        field(out, "TerminalId", terminal);
    }
    field(out, "PurchaseCount", &purchases.to_string());
    field(out, "PurchaseAmount", &purchased.to_string());
    field(out, "RefundCount", &refunds.to_string());
    field(out, "RefundAmount", &refunded.to_string());
    field(out, "NetAmount", &net.to_string());
    out.push_str("</Row>");
    Some(())
}

/// `<name>value</name>`, escaped as the codec escapes: ids and names that came in through
/// the control API or the configuration may hold characters XML cannot carry, which are
/// replaced, so the report is well-formed whatever they hold.
fn field(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, "<{name}>");
    glase_protocol::escape_text(value, out);
    let _ = write!(out, "</{name}>");
}
