//! The point-of-sale obligations of the provider's till procedure (spec 2.3, 7) that the
//! webshop rules do not already cover: the till's sticker is assigned, every payment
//! gets its receipt, the terminal is unregistered when the till leaves service. (Status
//! polling, versions, refunds and cancels of a till are the `SHOP-…` rules, which apply
//! to both.)

use glase_protocol::{InvoiceStatus, Operation, Request};

use super::rule::{Meta, Method, Rule};
use super::support::{Call, View};
use crate::results::{Finding, Level};

const POS: &[&str] = &["pos"];

pub(crate) static SEQR_ID_ASSIGNED: Meta = Meta {
    id: "POS-SEQR-ID-ASSIGNED",
    level: Level::Must,
    summary: "The till assigns its static QR sticker (assignSeqrId), so a customer who scans it gets the till's current sale.",
    spec_section: "2.3, 7 step 2",
    source_text: "`assignSeqrId` (the static QR sticker of the till)",
    applies_to: POS,
    method: Method::Scenario,
    how: "Scenarios read the till's sticker (the point-of-sale driver's qrCode), scan it as the customer and \
          expect Glase to open the sale the till just started: a sticker that names no seqrId of this terminal, \
          or opens another invoice, is this finding.",
    fixes: "After registerTerminal, call assignSeqrId with the sticker's seqrId (again after every \
            re-registration), and show that same code at the till.",
};

pub(crate) static UNREGISTER: Meta = Meta {
    id: "POS-UNREGISTER",
    level: Level::Must,
    summary: "A till taken out of service unregisters its terminal (unregisterTerminal).",
    spec_section: "2.3, 7 step 9",
    source_text: "9 unregisterTerminal",
    applies_to: POS,
    method: Method::Scenario,
    how: "Scenarios ask the point-of-sale driver to unregister the till and expect one unregisterTerminal \
          call from it.",
    fixes: "Call unregisterTerminal with the terminal's own credentials when the till is decommissioned or \
            shut down, and forget the terminal's password afterwards.",
};

#[derive(Debug)]
pub(crate) struct ReceiptAfterPaid;

static RECEIPT_AFTER_PAID: Meta = Meta {
    id: "POS-RECEIPT-AFTER-PAID",
    level: Level::Must,
    summary: "Every payment a till learns of gets its receipt: submitPaymentReceipt with the payment's ersReference.",
    spec_section: "2.3, 7 step 5",
    source_text: "5 submitPaymentReceipt after PAID (empty or base64 HTML/XML receipt)",
    applies_to: POS,
    method: Method::Journal,
    how: "For every getPaymentStatus that told the till PAID with an ersReference, a submitPaymentReceipt \
          naming that ersReference must follow within the status deadline (20 s, scaled). A receipt whose \
          call failed still counts as submitted (what Glase answered is its own rule's business).",
    fixes: "Submit the receipt (even an empty one) right after recording the payment, and retry it after a \
            restart if it was not sent.",
};

impl ReceiptAfterPaid {
    /// Each PAID the till was told, with its ersReference and the receipt for it, if any.
    fn payments<'v, 'a>(view: &'v View<'a>) -> Vec<(&'v Call<'a>, &'v str, Option<&'v Call<'a>>)> {
        let mut seen: Vec<&str> = Vec::new();
        let mut payments = Vec::new();
        for fetch in view.calls_of(Operation::GetPaymentStatus) {
            let (Some((InvoiceStatus::Paid, _)), Some(ers)) = (fetch.status(), fetch.returned_ers_reference()) else {
                continue;
            };
            if seen.contains(&ers) {
                continue;
            }
            seen.push(ers);
            let receipt = view.calls_of(Operation::SubmitPaymentReceipt).find(|c| {
                c.seq > fetch.seq
                    && matches!(&c.request, Some(Request::SubmitPaymentReceipt(r)) if r.ers_reference.as_deref().map(str::trim) == Some(ers))
            });
            payments.push((fetch, ers, receipt));
        }
        payments
    }
}

impl Rule for ReceiptAfterPaid {
    fn meta(&self) -> &'static Meta {
        &RECEIPT_AFTER_PAID
    }

    fn undecided_until(&self, view: &View<'_>) -> Option<u64> {
        Self::payments(view)
            .into_iter()
            .filter(|(_, _, receipt)| receipt.is_none())
            .map(|(fetch, _, _)| fetch.at.saturating_add(view.status_deadline_ms))
            .filter(|bound| view.end_at < *bound)
            .max()
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let within = view.status_deadline_ms;
        let mut findings = Vec::new();
        for (fetch, ers, receipt) in Self::payments(view) {
            let bound = fetch.at.saturating_add(within);
            let actual = match receipt {
                Some(receipt) if receipt.at <= bound => continue,
                Some(receipt) => {
                    format!(
                        "submitPaymentReceipt #{} {} ms after PAID",
                        receipt.seq,
                        receipt.at.saturating_sub(fetch.at)
                    )
                }
                None if view.end_at < bound => continue,
                None => format!("no submitPaymentReceipt for ersReference {ers}"),
            };
            let mut evidence = fetch.evidence();
            evidence.extend(receipt.map(|r| r.seq));
            findings.push(RECEIPT_AFTER_PAID.finding(
                format!("submitPaymentReceipt for ersReference {ers} within {within} ms of the PAID status"),
                actual,
                evidence,
                fetch.invoice(),
            ));
        }
        findings
    }
}

#[cfg(test)]
mod tests {
    use glase_protocol::request::{GetPaymentStatus, SubmitPaymentReceipt};
    use glase_protocol::{ReceiptDocument, Response, ResponseDetail};

    use super::*;
    use crate::rules::support::testing::{Journal, context};

    const ERS: &str = "2015102910184861801032678";

    /// A till's sale: fetched PAID with its ersReference; the receipt `receipt_after` ms
    /// later (or never); the journal ending `end_after` ms after the fetch.
    fn sale(receipt_after: Option<u64>, end_after: u64) -> Journal {
        let mut journal = Journal::new();
        let request = Request::GetPaymentStatus(GetPaymentStatus {
            context: Some(context()),
            invoice_reference: Some("1".into()),
            invoice_version: Some(0),
        });
        let paid = ResponseDetail::PaymentStatus {
            status: Some(InvoiceStatus::Paid),
            receipt: None,
            customer_tokens: None,
            version: 1,
        };
        let response = Response::success(Operation::GetPaymentStatus, paid).with_ers_reference(ERS);
        journal.soap(Some("1"), &request, &response);
        if let Some(after) = receipt_after {
            journal.advance(after);
            let receipt = Request::SubmitPaymentReceipt(SubmitPaymentReceipt {
                context: Some(context()),
                ers_reference: Some(ERS.into()),
                receipt_document: Some(ReceiptDocument::default()),
            });
            journal.soap(None, &receipt, &Response::success(Operation::SubmitPaymentReceipt, ResponseDetail::None));
        }
        let so_far = receipt_after.unwrap_or(0);
        journal.advance(end_after.saturating_sub(so_far));
        journal.status("1", Some(1), InvoiceStatus::Paid, 1);
        journal
    }

    #[test]
    fn a_receipt_soon_after_the_payment_passes_and_a_late_or_missing_one_is_found() {
        assert_eq!(sale(Some(300), 25_000).check(&ReceiptAfterPaid), vec![], "at once");
        let late = sale(Some(21_000), 25_000).check(&ReceiptAfterPaid);
        assert!(late.len() == 1 && late[0].actual.contains("21000 ms after PAID"), "{late:?}");
        let missing = sale(None, 25_000).check(&ReceiptAfterPaid);
        assert!(missing.len() == 1 && missing[0].actual.contains(ERS), "{missing:?}");
    }

    #[test]
    fn a_missing_receipt_is_undecided_until_the_deadline_has_passed() {
        let early = sale(None, 5_000);
        assert_eq!(early.check(&ReceiptAfterPaid), vec![], "the till may still send it");
        let ctx = crate::rules::CheckContext {
            journal: &early.entries,
            status_deadline: crate::rules::support::testing::DEADLINE,
            profile: "pos",
            cut_at_ms: None,
            company: None,
        };
        let view = View::new(&ctx);
        assert_eq!(ReceiptAfterPaid.undecided_until(&view), Some(early.now - 5_000 + 20_000));
    }
}
