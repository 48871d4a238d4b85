//! The webshop and point-of-sale obligations (seed 002, spec 2.2, 2.3, 7): prompt status
//! fetching, invoice versions, the ersReference, refunds, cancellation, certification.

use glase_protocol::{InvoiceStatus, Operation, PaymentMode, Request};

use super::support::{Call, View, list};
use super::{Meta, Method, Rule};
use crate::model::{Finding, Level};

const SHOP: &[&str] = &["webshop", "pos"];

#[derive(Debug)]
pub(crate) struct PollCadence;

static POLL_CADENCE: Meta = Meta {
    id: "SHOP-POLL-CADENCE",
    level: Level::Must,
    summary: "A payment is fetched within a second: by polling getPaymentStatus each second, or at once on the notification.",
    spec_section: "2.2 step 3, 2.3, 5",
    source_text: "Note! The web server must check the status each second, to verify that payment is completed. Otherwise Glase server does not receive any notification that transaction is finalized and the payment will then be reversed (canceled)!",
    applies_to: SHOP,
    method: Method::Journal,
    how: "For every IMMEDIATE_DEBIT invoice that became PAID: the first getPaymentStatus after the payment must \
          come within the poll interval of the payment (a polling shop) or of the delivered notification (a shop \
          that fetches on notification), whichever is later. The interval is 1 s at the 20 s status deadline and \
          scales with it (deadline / 20), plus 50% and 50 ms for timer jitter and latency. Gaps between polls \
          while nothing happens are not judged: the seed lets polling stop when the customer leaves the page.",
    fixes: "Poll pending orders from the server once a second and call getPaymentStatus immediately from the \
            notification handler; never leave it to the browser alone.",
};

impl Rule for PollCadence {
    fn meta(&self) -> &'static Meta {
        &POLL_CADENCE
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let interval = view.status_deadline_ms / 20;
        let allowed = interval + interval / 2 + 50;
        let mut findings = Vec::new();
        for paid in view.transitions.iter().filter(|t| t.to == InvoiceStatus::Paid) {
            if view.payment_mode(paid.invoice) != Some(PaymentMode::ImmediateDebit) {
                continue;
            }
            let notice =
                view.notices.iter().find(|n| n.invoice == Some(paid.invoice) && n.seq > paid.seq && n.delivered());
            let bound = paid.at.saturating_add(allowed).max(notice.map_or(0, |n| n.at.saturating_add(allowed)));
            let fetch = view.calls_about(paid.invoice).find(|c| c.is(Operation::GetPaymentStatus) && c.seq > paid.seq);
            let actual = match fetch {
                Some(fetch) if fetch.at <= bound => continue,
                Some(fetch) => {
                    format!(
                        "first getPaymentStatus #{} {} ms after the payment",
                        fetch.seq,
                        fetch.at.saturating_sub(paid.at)
                    )
                }
                None if view.end_at < bound => continue,
                None => "no getPaymentStatus after the payment".to_owned(),
            };
            let actual = match notice {
                Some(n) => format!(
                    "{actual} ({} ms after notification #{})",
                    fetch.map_or(0, |f| f.at.saturating_sub(n.at)),
                    n.seq
                ),
                None => format!("{actual} (no notification was delivered)"),
            };
            let mut evidence = vec![paid.seq];
            evidence.extend(notice.map(|n| n.seq));
            evidence.extend(fetch.map(|f| f.seq));
            findings.push(POLL_CADENCE.finding(
                format!("getPaymentStatus within {allowed} ms of the payment or of its notification"),
                actual,
                evidence,
                Some(paid.invoice),
            ));
        }
        findings
    }
}

#[derive(Debug)]
pub(crate) struct InvoiceVersionEcho;

static INVOICE_VERSION_ECHO: Meta = Meta {
    id: "SHOP-INVOICE-VERSION-ECHO",
    level: Level::Should,
    summary: "getPaymentStatus sends as invoiceVersion the latest version Glase returned for the invoice.",
    spec_section: "3.1, 4, 5",
    source_text: "`invoiceVersion` echoes the latest `version`",
    applies_to: &["all"],
    method: Method::Journal,
    how: "Follows each invoice's getPaymentStatus calls in order: each must send invoiceVersion equal to the \
          version the previous successful getPaymentStatus about it returned (0 before the first). A SHOULD: \
          Glase answers the current state either way.",
    fixes: "Store the version from each getPaymentStatus answer with the order and send it in the next call.",
};

impl Rule for InvoiceVersionEcho {
    fn meta(&self) -> &'static Meta {
        &INVOICE_VERSION_ECHO
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let mut latest: Vec<(&str, i32)> = Vec::new();
        let mut offending: Vec<(&str, &Call<'_>, String)> = Vec::new();
        for call in view.calls_of(Operation::GetPaymentStatus) {
            let (Some(invoice), Some(Request::GetPaymentStatus(request))) = (call.invoice(), call.request.as_ref())
            else {
                continue;
            };
            let position = latest.iter().position(|(i, _)| *i == invoice);
            let expected = position.map_or(0, |p| latest[p].1);
            if request.invoice_version != Some(expected) {
                let sent = request.invoice_version.map_or("absent".to_owned(), |v| v.to_string());
                offending.push((invoice, call, format!("#{} sent {sent}, latest was {expected}", call.seq)));
            }
            if let Some((_, version)) = call.status() {
                match position {
                    Some(p) => latest[p].1 = version,
                    None => latest.push((invoice, version)),
                }
            }
        }
        let mut findings: Vec<Finding> = Vec::new();
        let mut invoices: Vec<&str> = offending.iter().map(|(i, _, _)| *i).collect();
        invoices.dedup();
        invoices.sort_unstable();
        invoices.dedup();
        for invoice in invoices {
            let mine: Vec<&(&str, &Call<'_>, String)> = offending.iter().filter(|(i, _, _)| *i == invoice).collect();
            let details: Vec<String> = mine.iter().map(|(_, _, d)| d.clone()).collect();
            findings.push(INVOICE_VERSION_ECHO.finding(
                "invoiceVersion = the latest version returned",
                list(&details),
                mine.iter().flat_map(|(_, c, _)| c.evidence()).collect(),
                Some(invoice),
            ));
        }
        findings
    }
}

/// ersReferences Glase returned to the merchant (status of a PAID invoice, commits, refunds).
fn returned_ers_references<'v>(view: &'v View<'_>) -> Vec<&'v str> {
    view.calls.iter().filter_map(Call::returned_ers_reference).collect()
}

fn named_ers_reference<'c>(call: &'c Call<'_>) -> Option<&'c str> {
    call.request.as_ref()?.ers_reference()
}

#[derive(Debug)]
pub(crate) struct ErsReferenceKept;

static ERS_REFERENCE_KEPT: Meta = Meta {
    id: "SHOP-ERS-REFERENCE-KEPT",
    level: Level::Must,
    summary: "The ersReference of a payment is stored and used unchanged for receipts and refunds.",
    spec_section: "2.2 step 6, 5",
    source_text: "If the invoice was successfully paid, a reference number (ersReference) is obtained from Glase. Save the reference number for follow-ups and for print on the Glase user’s online confirmation receipt.",
    applies_to: SHOP,
    method: Method::Journal,
    how: "A refundPayment or submitPaymentReceipt answered 23 INVALID_ERS_REFERENCE that names an ersReference \
          Glase never returned in this journal is a finding.",
    fixes: "Store the ersReference from the getPaymentStatus answer that says PAID, with the order, and use it \
            as is for submitPaymentReceipt and refundPayment.",
};

impl Rule for ErsReferenceKept {
    fn meta(&self) -> &'static Meta {
        &ERS_REFERENCE_KEPT
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let returned = returned_ers_references(view);
        view.calls
            .iter()
            .filter(|c| c.is(Operation::RefundPayment) || c.is(Operation::SubmitPaymentReceipt))
            .filter(|c| c.result_code() == Some(23))
            .filter_map(|c| {
                let named = named_ers_reference(c).unwrap_or("");
                (!returned.contains(&named)).then(|| {
                    ERS_REFERENCE_KEPT.finding(
                        format!(
                            "an ersReference Glase returned ({})",
                            if returned.is_empty() { "none yet".to_owned() } else { returned.join(", ") }
                        ),
                        format!("{} named {:?}", c.label(), named),
                        c.evidence(),
                        c.invoice(),
                    )
                })
            })
            .collect()
    }
}

#[derive(Debug)]
pub(crate) struct RefundWithinPayment;

static REFUND_WITHIN_PAYMENT: Meta = Meta {
    id: "SHOP-REFUND-WITHIN-PAYMENT",
    level: Level::Must,
    summary: "Refunds of a payment never add up to more than the payment.",
    spec_section: "2.2 step 6, 5",
    source_text: "Refunds a previous payment, partly or the whole sum",
    applies_to: SHOP,
    method: Method::Journal,
    how: "A refundPayment answered 98 SUM_OF_REFUNDS_CAN_NOT_BE_MORE_THAN_ORIGINAL_TRANSACTION is a finding: \
          the merchant asked for more than was left of the payment.",
    fixes: "Keep the refunded sum per payment and refuse, before calling Glase, a refund above what is left.",
};

impl Rule for RefundWithinPayment {
    fn meta(&self) -> &'static Meta {
        &REFUND_WITHIN_PAYMENT
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        view.calls_of(Operation::RefundPayment)
            .filter(|c| c.result_code() == Some(98))
            .map(|c| {
                let asked = match c.request.as_ref() {
                    Some(Request::RefundPayment(r)) => r.invoice.as_ref().and_then(|i| i.total_amount.as_ref()?.value),
                    _ => None,
                };
                let ers = named_ers_reference(c).unwrap_or("?");
                let earlier: Vec<String> = view
                    .calls_of(Operation::RefundPayment)
                    .filter(|r| r.seq < c.seq && r.succeeded() && named_ers_reference(r) == Some(ers))
                    .map(|r| r.label())
                    .collect();
                REFUND_WITHIN_PAYMENT.finding(
                    "refunds within what is left of the payment",
                    format!(
                        "{}: refund of {} on {ers}{}",
                        c.label(),
                        asked.map_or("(no amount)".to_owned(), |a| a.to_string()),
                        if earlier.is_empty() { String::new() } else { format!(" after {}", earlier.join(", ")) }
                    ),
                    c.evidence(),
                    c.invoice(),
                )
            })
            .collect()
    }
}

#[derive(Debug)]
pub(crate) struct CancelUnpaid;

static CANCEL_UNPAID: Meta = Meta {
    id: "SHOP-CANCEL-UNPAID",
    level: Level::Should,
    summary: "Unpaid invoices are cancelled (cancelInvoice) after the shop's own timeout; paid ones are not.",
    spec_section: "2.2 step 6, 5",
    source_text: "Cancels an unpaid invoice. Can be triggered after defined timeout",
    applies_to: SHOP,
    method: Method::JournalAndScenario,
    how: "Over the journal: a cancelInvoice of an invoice the merchant had already been told is PAID is a \
          finding. Scenarios leave an order unpaid past the shop's timeout and expect a cancelInvoice.",
    fixes: "Cancel pending orders after your timeout; check the stored state (and getPaymentStatus) first, and \
            never cancel a paid order — refund it.",
};

impl Rule for CancelUnpaid {
    fn meta(&self) -> &'static Meta {
        &CANCEL_UNPAID
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        view.calls_of(Operation::CancelInvoice)
            .filter_map(|c| {
                let invoice = c.invoice()?;
                (view.known_state(invoice, c.seq) == Some(InvoiceStatus::Paid)).then(|| {
                    CANCEL_UNPAID.finding(
                        "cancelInvoice only for unpaid invoices",
                        format!("{} of an invoice getPaymentStatus had reported PAID", c.label()),
                        c.evidence(),
                        Some(invoice),
                    )
                })
            })
            .collect()
    }
}

#[derive(Debug)]
pub(crate) struct CertificationProcedure;

static CERTIFICATION_PROCEDURE: Meta = Meta {
    id: "CERT-PROCEDURE",
    level: Level::Must,
    summary: "The pre-certification procedure of spec section 7 can be performed end to end.",
    spec_section: "5, 7",
    source_text: "POS/certification: the procedure of section 7 can be performed end to end.",
    applies_to: SHOP,
    method: Method::Scenario,
    how: "Certification scenarios drive the shop (or till) through every step of section 7 — send, status \
          before and after the scan, a repeated sendInvoice, the 30 s wait, receipt, cancel, refund, period \
          marking — and expect each step's result.",
    fixes: "Implement every operation the procedure names for your integration, including \
            submitPaymentReceipt, cancelInvoice, refundPayment and markTransactionPeriod.",
};

impl Rule for CertificationProcedure {
    fn meta(&self) -> &'static Meta {
        &CERTIFICATION_PROCEDURE
    }

    fn check(&self, _: &View<'_>) -> Vec<Finding> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use glase_protocol::request::{CancelInvoice, RefundPayment};
    use glase_protocol::{Amount, Invoice, Response, ResultCode};

    use super::*;
    use crate::rules::support::testing::{Journal, context, d, invoice};

    #[test]
    fn a_correct_payment_passes_every_shop_rule() {
        let mut journal = Journal::new();
        journal.correct_payment("1");
        journal.advance(60_000);
        journal.status("1", Some(1), InvoiceStatus::Paid, 1);
        assert_eq!(journal.check_all(), vec![]);
    }

    #[test]
    fn the_payment_is_fetched_within_a_second_by_poll_or_notification() {
        let paid = |fetch_after: u64, notified_after: Option<u64>| {
            let mut journal = Journal::new();
            journal.send_invoice("1", invoice(PaymentMode::ImmediateDebit, &["10.00"]));
            journal.transition("1", InvoiceStatus::Issued, InvoiceStatus::Paid, "confirmed");
            let start = journal.now;
            if let Some(after) = notified_after {
                journal.advance(after).notify("1", Some(200));
            }
            journal.now = start + fetch_after;
            journal.status("1", Some(0), InvoiceStatus::Paid, 1);
            journal.check(&PollCadence)
        };
        assert_eq!(paid(900, None), vec![], "a poll within the second");
        assert_eq!(paid(4_200, Some(4_000)), vec![], "at once on a late notification");
        let late = paid(3_000, None);
        assert!(late[0].actual.contains("3000 ms after the payment"), "{late:?}");
        assert_eq!(late[0].expected, "getPaymentStatus within 1550 ms of the payment or of its notification");
        assert_eq!(paid(9_000, Some(2_000)).len(), 1);
    }

    #[test]
    fn versions_are_echoed() {
        let mut journal = Journal::new();
        journal.send_invoice("1", invoice(PaymentMode::ImmediateDebit, &["10.00"]));
        journal.status("1", Some(0), InvoiceStatus::Issued, 0);
        journal.status("1", Some(0), InvoiceStatus::Paid, 1);
        assert_eq!(journal.check(&InvoiceVersionEcho), vec![]);
        journal.status("1", Some(0), InvoiceStatus::Paid, 1);
        journal.status("1", None, InvoiceStatus::Paid, 1);
        let findings = journal.check(&InvoiceVersionEcho);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].level, Level::Should);
        assert!(findings[0].actual.contains("sent 0, latest was 1; #") && findings[0].actual.contains("sent absent"));
    }

    fn refund(journal: &mut Journal, ers: &str, amount: &str, code: i32) {
        let request = Request::RefundPayment(RefundPayment {
            context: Some(context()),
            ers_reference: Some(ers.into()),
            invoice: Some(Invoice { total_amount: Some(Amount::new(d(amount), "EUR")), ..Invoice::default() }),
        });
        let response = Response::result(Operation::RefundPayment, ResultCode(code));
        journal.soap(Some("1"), &request, &response);
    }

    #[test]
    fn refunds_within_the_payment_with_the_kept_ers_reference() {
        let mut journal = Journal::new();
        journal.correct_payment("1");
        refund(&mut journal, "2015102910184861801032678", "100.00", 0);
        refund(&mut journal, "2015102910184861801032678", "60.00", 98);
        let findings = journal.check(&RefundWithinPayment);
        assert!(
            findings[0].actual.contains("refund of 60.00") && findings[0].actual.contains("after #"),
            "{findings:?}"
        );
        refund(&mut journal, "999", "1.00", 23);
        assert!(journal.check(&ErsReferenceKept)[0].actual.contains("\"999\""));
    }

    #[test]
    fn a_paid_invoice_is_not_cancelled() {
        let mut journal = Journal::new();
        journal.correct_payment("1");
        let request =
            Request::CancelInvoice(CancelInvoice { context: Some(context()), invoice_reference: Some("1".into()) });
        journal.soap(Some("1"), &request, &Response::result(Operation::CancelInvoice, ResultCode(50)));
        assert_eq!(journal.check(&CancelUnpaid).len(), 1);
    }
}
