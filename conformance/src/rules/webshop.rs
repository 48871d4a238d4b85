//! The webshop and point-of-sale obligations (seed 002, spec 2.2, 2.3, 7): prompt status
//! fetching, invoice versions, the ersReference, refunds, cancellation, certification.

use glase_protocol::{InvoiceStatus, Operation, PaymentMode, Request};

use super::rule::{Meta, Method, Rule};
use super::support::{Call, View, list};
use crate::results::{Finding, Level};

const SHOP: &[&str] = &["webshop", "pos"];

#[derive(Debug)]
pub(crate) struct PollCadence;

static POLL_CADENCE: Meta = Meta {
    id: "SHOP-POLL-CADENCE",
    level: Level::Must,
    summary: "A webshop or till payment is fetched within a second: at once when its notification arrives, or — a shop without a notificationUrl, and every till — by polling each second.",
    spec_section: "2.2 step 3, 2.3, 5",
    source_text: "Note! The web server must check the status each second, to verify that payment is completed. Otherwise Glase server does not receive any notification that transaction is finalized and the payment will then be reversed (canceled)!\n…\nPOS polls `getPaymentStatus` once a second for up to 30 s",
    applies_to: SHOP,
    method: Method::Journal,
    how: "For every IMMEDIATE_DEBIT invoice that became PAID: when its notification was delivered, the first \
          getPaymentStatus must follow the notification within the poll interval (seed 002: \"must be called \
          immediately when the notificationUrl is called\"); when the shop gave no notificationUrl, it must \
          follow the payment within the poll interval (\"must check the status each second\"). A shop that gave \
          a notificationUrl whose notification was lost is judged by STATUS-BEFORE-DEADLINE only: its fallback \
          poll may be slower (spec 2.2 step 3: \"polls each second or calls it immediately when the \
          notificationUrl is hit\"). The interval is 1 s at the 20 s status deadline and scales with it \
          (deadline / 20), plus 50% and 50 ms for timer jitter and latency. Gaps between polls while nothing \
          happens are not judged: the seed lets polling stop when the customer leaves the page.",
    fixes: "Poll pending orders from the server once a second and call getPaymentStatus immediately from the \
            notification handler; never leave it to the browser alone.",
};

/// A webshop payment and how soon its status had to be fetched.
struct Payment<'v, 'a> {
    paid: &'v super::support::Transition<'a>,
    /// The delivered notification about it, if any.
    notice: Option<&'v super::support::Notice<'a>>,
    /// The fetch must come by then (ms).
    bound: u64,
    fetch: Option<&'v Call<'a>>,
}

impl PollCadence {
    /// The poll interval (1 s at the 20 s deadline, scaled with it), plus 50% and 50 ms
    /// for timer jitter and latency.
    fn allowed(view: &View<'_>) -> u64 {
        let interval = view.status_deadline_ms / 20;
        interval + interval / 2 + 50
    }

    fn payments<'v, 'a>(view: &'v View<'a>) -> Vec<Payment<'v, 'a>> {
        let allowed = Self::allowed(view);
        let mut payments = Vec::new();
        for paid in view.transitions.iter().filter(|t| t.to == InvoiceStatus::Paid) {
            if view.payment_mode(paid.invoice) != Some(PaymentMode::ImmediateDebit) {
                continue;
            }
            let notice =
                view.notices.iter().find(|n| n.invoice == Some(paid.invoice) && n.seq > paid.seq && n.delivered());
            let bound = match notice {
                // "Payment status must be called immediately when the notificationUrl is called."
                Some(notice) => notice.at.saturating_add(allowed).max(paid.at.saturating_add(allowed)),
                // A shop without a notificationUrl learns only by polling: "each second".
                None if view.notification_urls(paid.invoice).is_empty() => paid.at.saturating_add(allowed),
                // A shop with one whose notification was lost: its fallback poll may be
                // slower; STATUS-BEFORE-DEADLINE bounds it (spec 2.2 step 3: "polls each
                // second or calls it immediately when the notificationUrl is hit").
                None => continue,
            };
            let fetch = view.calls_about(paid.invoice).find(|c| c.is(Operation::GetPaymentStatus) && c.seq > paid.seq);
            payments.push(Payment { paid, notice, bound, fetch });
        }
        payments
    }
}

impl Rule for PollCadence {
    fn meta(&self) -> &'static Meta {
        &POLL_CADENCE
    }

    fn undecided_until(&self, view: &View<'_>) -> Option<u64> {
        Self::payments(view).into_iter().filter(|p| p.fetch.is_none() && view.end_at < p.bound).map(|p| p.bound).max()
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let allowed = Self::allowed(view);
        let mut findings = Vec::new();
        for Payment { paid, notice, bound, fetch } in Self::payments(view) {
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
    summary: "Unpaid invoices are cancelled (cancelInvoice) after the shop's own timeout.",
    spec_section: "2.2 step 6, 5",
    source_text: "Cancels an unpaid invoice. Can be triggered after defined timeout",
    applies_to: SHOP,
    method: Method::Scenario,
    how: "Scenarios leave an order unpaid past the shop's timeout (as declared with --unpaid-timeout) and expect \
          the order canceled, a cancelInvoice in the journal and the invoice CANCELED at Glase. A SHOULD: the seed \
          says the cancel \"can\" be triggered after a timeout. (Cancelling a paid invoice is SHOP-NO-CANCEL-PAID.)",
    fixes: "Cancel pending orders after your timeout; check the stored state (and getPaymentStatus) first.",
};

impl Rule for CancelUnpaid {
    fn meta(&self) -> &'static Meta {
        &CANCEL_UNPAID
    }

    fn check(&self, _: &View<'_>) -> Vec<Finding> {
        Vec::new()
    }
}

#[derive(Debug)]
pub(crate) struct NoCancelPaid;

static NO_CANCEL_PAID: Meta = Meta {
    id: "SHOP-NO-CANCEL-PAID",
    level: Level::Must,
    summary: "cancelInvoice is never sent for an invoice Glase has reported PAID: a paid order is refunded, not cancelled.",
    spec_section: "2.2 step 6, 3.5",
    source_text: "Cancels an unpaid invoice.",
    applies_to: SHOP,
    method: Method::JournalAndScenario,
    how: "Over the journal: a cancelInvoice of an invoice the merchant had already been told is PAID (by \
          getPaymentStatus) is a finding; Glase answers 50 CANNOT_CANCEL_PAID_INVOICE. A MUST: the shop's own \
          state says paid, and a shop that cancels it shows it knows nothing of its own orders. Scenarios ask the \
          shop to cancel a paid order and expect it refused (409) without Glase being asked.",
    fixes: "Check the order's stored state before calling Glase: a paid order is refused (or refunded), never \
            cancelled.",
};

impl Rule for NoCancelPaid {
    fn meta(&self) -> &'static Meta {
        &NO_CANCEL_PAID
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        view.calls_of(Operation::CancelInvoice)
            .filter_map(|c| {
                let invoice = c.invoice()?;
                (view.known_state(invoice, c.seq) == Some(InvoiceStatus::Paid)).then(|| {
                    NO_CANCEL_PAID.finding(
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

pub(crate) static SHOWS_STATUS: Meta = Meta {
    id: "SHOP-SHOWS-STATUS",
    level: Level::Must,
    summary: "The order shows what Glase says: pending while the invoice waits, then paid, canceled or failed as getPaymentStatus reports.",
    spec_section: "2.2 steps 3-6",
    source_text: "The customer’s session must be updated with the payment status from step 30.",
    applies_to: SHOP,
    method: Method::Scenario,
    how: "Scenarios pay, cancel or fail the invoice in the app and expect the shop driver to show the order in \
          that state within the status deadline (the shop must fetch the status by then), and pending while \
          nothing has happened.",
    fixes: "Update the order from every getPaymentStatus answer (PAID, CANCELED, FAILED), under a per-order lock, \
            and only from those answers.",
};

pub(crate) static REFUND_PAYMENT: Meta = Meta {
    id: "SHOP-REFUND-PAYMENT",
    level: Level::Must,
    summary: "A paid order can be refunded, in part or in full, with refundPayment naming its payment's ersReference.",
    spec_section: "2.2 step 6",
    source_text: "Refunds a previous payment, partly or the whole sum",
    applies_to: SHOP,
    method: Method::Scenario,
    how: "Scenarios refund paid orders through the shop driver (part, the rest, all) and expect each accepted and \
          Glase's payment refunded by that much.",
    fixes: "Call refundPayment with the stored ersReference and the amount; record the refund with the order.",
};

pub(crate) static REFUND_ONLY_PAID: Meta = Meta {
    id: "SHOP-REFUND-ONLY-PAID",
    level: Level::Must,
    summary: "Only a paid order is refunded: an order that was canceled or never paid is refused without asking Glase.",
    spec_section: "2.2 step 6",
    source_text: "Refunds a previous payment, partly or the whole sum",
    applies_to: SHOP,
    method: Method::Scenario,
    how: "Scenarios ask the shop driver to refund an order the customer cancelled, and expect it refused (409) \
          with no refundPayment sent.",
    fixes: "Check the order's state before calling Glase: refund only what was paid (and is not refunded yet).",
};

pub(crate) static ONE_INVOICE_PER_ORDER: Meta = Meta {
    id: "SHOP-ONE-INVOICE-PER-ORDER",
    level: Level::Should,
    summary: "One checkout, one invoice: when sendInvoice fails or its answer is lost, the checkout fails; the shop does not quietly send another invoice for the same order.",
    spec_section: "2.2 step 1",
    source_text: "Start by creating an invoice and sending it to the Glase server using sendInvoice.",
    applies_to: SHOP,
    method: Method::Scenario,
    how: "Scenarios drop sendInvoice's answer (Glase made the invoice; the shop cannot know its reference) and \
          expect the checkout to fail and one sendInvoice in the journal. A SHOULD, decided by this kit: a second \
          invoice leaves the first one open at Glase, where nobody can cancel it, and makes two payable invoices \
          for one order; the customer can always start a new checkout.",
    fixes: "Report the checkout failed when sendInvoice does not answer; let the customer try again as a new \
            checkout.",
};

pub(crate) static CANCEL_CHECKED: Meta = Meta {
    id: "SHOP-CANCEL-CHECKED",
    level: Level::Must,
    summary: "An order is shown canceled only when cancelInvoice succeeded; refused (50 paid, 51 while the customer confirms), it stays as Glase has it.",
    spec_section: "2.2 step 6, 4",
    source_text: "`cancelInvoice`: ISSUED/RESERVED → CANCELED; PAID → 50; CANCELED → 95; confirming → 51.",
    applies_to: SHOP,
    method: Method::Scenario,
    how: "Scenarios ask the shop to cancel an unpaid order (expect it canceled, cancelInvoice sent, the invoice \
          CANCELED) and one whose customer has the PIN dialog open (expect it refused with 409 and the order still \
          pending, then paid when the customer confirms).",
    fixes: "Read cancelInvoice's resultCode: 0 cancels the order; 51 keeps it pending (the customer is paying); \
            50 means it is paid — fetch the status.",
};

#[derive(Debug)]
pub(crate) struct PollNotTooOften;

static POLL_NOT_TOO_OFTEN: Meta = Meta {
    id: "SHOP-POLL-NOT-TOO-OFTEN",
    level: Level::Should,
    summary: "getPaymentStatus is asked about once a second per invoice, not many times a second.",
    spec_section: "2.2 step 3",
    source_text: "The web server must check the status each second, to verify that payment is completed.",
    applies_to: SHOP,
    method: Method::Journal,
    how: "For every invoice: 10 getPaymentStatus calls within 2 poll intervals (2 s at the 20 s status deadline, \
          scaled with it) — five times the cadence the seed asks for, sustained — is a finding. A SHOULD: \
          nothing breaks for this customer, but every waiting order costs Glase many calls a second.",
    fixes: "Poll each pending order once a second (and at once on its notification); back off on errors.",
};

impl PollNotTooOften {
    /// Calls in a burst that is too fast.
    const BURST: usize = 10;
}

impl Rule for PollNotTooOften {
    fn meta(&self) -> &'static Meta {
        &POLL_NOT_TOO_OFTEN
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        // Two poll intervals: the 1 s interval scales with the status deadline (1/20).
        let span = view.status_deadline_ms / 10;
        let mut findings = Vec::new();
        let mut invoices: Vec<&str> = view.calls_of(Operation::GetPaymentStatus).filter_map(Call::invoice).collect();
        invoices.sort_unstable();
        invoices.dedup();
        for invoice in invoices {
            let polls: Vec<&Call<'_>> =
                view.calls_about(invoice).filter(|c| c.is(Operation::GetPaymentStatus)).collect();
            let burst = polls.windows(Self::BURST).find(|w| w[Self::BURST - 1].at.saturating_sub(w[0].at) < span);
            if let Some(burst) = burst {
                let (first, last) = (burst[0], burst[Self::BURST - 1]);
                findings.push(POLL_NOT_TOO_OFTEN.finding(
                    format!("at most {} getPaymentStatus per {span} ms", Self::BURST - 1),
                    format!(
                        "{} calls from #{} to #{} in {} ms ({} calls about this invoice in all)",
                        Self::BURST,
                        first.seq,
                        last.seq,
                        last.at.saturating_sub(first.at),
                        polls.len()
                    ),
                    vec![first.seq, last.seq],
                    Some(invoice),
                ));
            }
        }
        findings
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
            let mut sent = invoice(PaymentMode::ImmediateDebit, &["10.00"]);
            if notified_after.is_none() {
                // A polling shop: it gave Glase no notificationUrl.
                sent.notification_url = None;
            }
            journal.send_invoice("1", sent);
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
    fn a_notified_shop_whose_notification_was_lost_may_poll_slower() {
        let mut journal = Journal::new();
        journal.send_invoice("1", invoice(PaymentMode::ImmediateDebit, &["10.00"]));
        journal.transition("1", InvoiceStatus::Issued, InvoiceStatus::Paid, "confirmed");
        journal.advance(2_500);
        journal.status("1", Some(0), InvoiceStatus::Paid, 1);
        assert_eq!(journal.check(&PollCadence), vec![], "its fallback poll is bounded by the deadline only");
    }

    #[test]
    fn polling_many_times_a_second_warns() {
        let poll = |every: u64| {
            let mut journal = Journal::new();
            journal.send_invoice("1", invoice(PaymentMode::ImmediateDebit, &["10.00"]));
            for _ in 0..12 {
                journal.advance(every);
                journal.status("1", Some(0), InvoiceStatus::Issued, 0);
            }
            journal.check(&PollNotTooOften)
        };
        assert_eq!(poll(1_000), vec![], "each second");
        assert_eq!(poll(250), vec![], "four times a second is still within bounds");
        let fast = poll(50);
        assert_eq!(fast.len(), 1, "{fast:?}");
        assert_eq!(fast[0].level, Level::Should);
        assert!(fast[0].actual.contains("10 calls from #"), "{fast:?}");
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
        assert_eq!(journal.check(&NoCancelPaid).len(), 1);
        assert_eq!(journal.check(&CancelUnpaid), vec![], "checked by scenarios only");
    }
}
