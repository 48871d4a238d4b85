//! The unattended flow (seed 000, spec 2.1): createPurchase, the reservation invoice,
//! unlocking, update and commit, releasing the machine.

use glase_protocol::{Decimal, InvoiceStatus, Operation};
use mock_glase::machine::ups::{ERROR_CODES, PurchaseOutcome};

use super::rule::{Meta, Method, Rule};
use super::support::{AnswerBody, Call, Purchase, View, invoice_rows_total, money};
use crate::results::{Finding, Level};

/// Applies to unattended machines only.
const UNATTENDED: &[&str] = &["unattended"];

/// Purchases answered with an invoiceReferenceId, with the sendInvoice calls made for them.
fn referenced<'v, 'a>(view: &'v View<'a>) -> impl Iterator<Item = (&'v Purchase, String, Vec<&'v Call<'a>>)> {
    view.purchases.iter().filter_map(|p| {
        let reference = p.answered_reference()?;
        Some((p, reference, view.purchase_invoices(p)))
    })
}

/// The invoice a purchase was accepted with (the UPS's verdict, else the answer).
fn accepted_invoice(purchase: &Purchase) -> Option<String> {
    match &purchase.ended {
        Some((_, PurchaseOutcome::Accepted { invoice_reference })) => Some(invoice_reference.clone()),
        Some(_) => None,
        None => purchase.answered_reference(),
    }
}

fn purchase_label(purchase: &Purchase) -> String {
    match &purchase.token {
        Some(token) => format!("createPurchase #{} (token {token})", purchase.id),
        None => format!("createPurchase #{}", purchase.id),
    }
}

/// Rules that check each sendInvoice made for a createPurchase answered with a reference.
fn check_purchase_invoices(
    meta: &'static Meta,
    view: &View<'_>,
    check: impl Fn(&Purchase, &Call<'_>) -> Option<(String, String)>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (purchase, _, sends) in referenced(view) {
        for send in sends {
            if let Some((expected, actual)) = check(purchase, send) {
                let mut evidence = purchase.evidence();
                evidence.extend(send.evidence());
                findings.push(meta.finding(expected, format!("{}: {actual}", send.label()), evidence, send.invoice()));
            }
        }
    }
    findings
}

// ---- createPurchase ----

#[derive(Debug)]
pub(crate) struct AnswerTimely;

static ANSWER_TIMELY: Meta = Meta {
    id: "UPS-ANSWER-TIMELY",
    level: Level::Must,
    summary: "createPurchase is answered, within the UPS timeout.",
    spec_section: "2.1, 5",
    source_text: "createPurchase answered within the UPS timeout",
    applies_to: UNATTENDED,
    method: Method::Journal,
    how: "Reads every createPurchase answer the mock's UPS journaled: a timeout (no answer within ups.timeout) or \
          a failed call (refused, reset, TLS error) is a finding.",
    fixes: "Answer createPurchase as soon as sendInvoice has answered; bound your own sendInvoice call well below \
            the UPS timeout and answer INVOICING_ERROR when it runs out.",
};

impl Rule for AnswerTimely {
    fn meta(&self) -> &'static Meta {
        &ANSWER_TIMELY
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        view.purchases
            .iter()
            .filter_map(|p| {
                let error = p.answer.as_ref()?.error.as_deref()?;
                Some(ANSWER_TIMELY.finding(
                    "an HTTP answer within the UPS timeout",
                    format!("{}: {error}", purchase_label(p)),
                    p.evidence(),
                    None,
                ))
            })
            .collect()
    }
}

#[derive(Debug)]
pub(crate) struct ValidAnswer;

static VALID_ANSWER: Meta = Meta {
    id: "UPS-VALID-ANSWER",
    level: Level::Must,
    summary: "createPurchase answers HTTP 200, application/json, with invoiceReferenceId or one of the five errorCodes.",
    spec_section: "2.1, 5",
    source_text: "Status Code: 200\nHeaders: \"Content-Type: application/json;charset=UTF-8\"",
    applies_to: UNATTENDED,
    method: Method::Journal,
    how: "Reads every createPurchase answer: HTTP status 200, Content-Type application/json, a JSON object with \
          exactly one of a string invoiceReferenceId or an errorCode among INSUFFICIENT_FUNDS, DEVICE_IN_USE, \
          DEVICE_UNAVAILABLE, INVOICING_ERROR, SYSTEM_ERROR.",
    fixes: "Always answer 200 with Content-Type application/json;charset=UTF-8 — errors too, as {\"errorCode\": …}; \
            catch every failure of your handler and map it to SYSTEM_ERROR.",
};

impl Rule for ValidAnswer {
    fn meta(&self) -> &'static Meta {
        &VALID_ANSWER
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let mut findings = Vec::new();
        for purchase in &view.purchases {
            let Some(answer) = &purchase.answer else { continue };
            let Some(status) = answer.http_status else { continue };
            let mut problems = Vec::new();
            if status != 200 {
                problems.push(format!("HTTP {status}"));
            }
            let media = answer.content_type.as_deref().and_then(|c| c.split(';').next()).map(str::trim);
            if !media.is_some_and(|m| m.eq_ignore_ascii_case("application/json")) {
                problems.push(format!("Content-Type {}", answer.content_type.as_deref().unwrap_or("(none)")));
            }
            match purchase.body() {
                Some(AnswerBody::Invalid(why)) => problems.push(format!("body: {why}")),
                Some(AnswerBody::ErrorCode(code)) if !ERROR_CODES.contains(&code.as_str()) => {
                    problems.push(format!("errorCode {code:?} is not a documented code"));
                }
                None => problems.push("no body".to_owned()),
                Some(_) => {}
            }
            if !problems.is_empty() {
                findings.push(VALID_ANSWER.finding(
                    "HTTP 200, application/json, {\"invoiceReferenceId\"} or a documented {\"errorCode\"}",
                    format!("{}: {}", purchase_label(purchase), problems.join("; ")),
                    purchase.evidence(),
                    None,
                ));
            }
        }
        findings
    }
}

#[derive(Debug)]
pub(crate) struct OneInvoicePerPurchase;

static ONE_INVOICE_PER_PURCHASE: Meta = Meta {
    id: "UPS-ONE-INVOICE-PER-PURCHASE",
    level: Level::Must,
    summary: "Exactly one sendInvoice (answered SUCCESS) per createPurchase answered with an invoice.",
    spec_section: "2.1 step 3, 5",
    source_text: "Reseller calls sendInvoice exposed by Glase and returns the invoice reference to Glase Unattended Payments service.",
    applies_to: UNATTENDED,
    method: Method::Journal,
    how: "Attributes each successful sendInvoice to the createPurchase call open while it was made (calls open at \
          the same time are told apart by the reference each answered) and counts them for every createPurchase \
          answered with an invoiceReferenceId: it must be exactly one.",
    fixes: "Call sendInvoice once per createPurchase; do not retry a sendInvoice that Glase answered SUCCESS, and \
            cancel an invoice you will not answer with.",
};

impl Rule for OneInvoicePerPurchase {
    fn meta(&self) -> &'static Meta {
        &ONE_INVOICE_PER_PURCHASE
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        referenced(view)
            .filter(|(_, _, sends)| sends.len() != 1)
            .map(|(purchase, reference, sends)| {
                let made: Vec<&str> = sends.iter().filter_map(|c| c.invoice()).collect();
                let mut evidence = purchase.evidence();
                evidence.extend(sends.iter().flat_map(|c| c.evidence()));
                ONE_INVOICE_PER_PURCHASE.finding(
                    "exactly one successful sendInvoice during the createPurchase call",
                    format!(
                        "{}: {} successful sendInvoice calls{} (answered {reference})",
                        purchase_label(purchase),
                        sends.len(),
                        if made.is_empty() { String::new() } else { format!(": {}", made.join(", ")) }
                    ),
                    evidence,
                    Some(reference.as_str()),
                )
            })
            .collect()
    }
}

#[derive(Debug)]
pub(crate) struct ReservationMode;

static RESERVATION_MODE: Meta = Meta {
    id: "UPS-RESERVATION-MODE",
    level: Level::Must,
    summary: "The unattended invoice uses a reservation paymentMode.",
    spec_section: "2.1 step 3, 3.3, 5",
    source_text: "Reseller calls SOAP `sendInvoice` (a reservation invoice, `totalAmount` ≤ `amount`, same\n   currency, with a `notificationUrl`)",
    applies_to: UNATTENDED,
    method: Method::Journal,
    how: "Reads paymentMode of the sendInvoice made for each createPurchase answered with a reference: it must be \
          RESERVATION_REQUIRED, RESERVATION_DESIRED or RESERVATION_REQUIRED_PRELIMINARY_AMOUNT.",
    fixes: "Send unattended invoices with paymentMode RESERVATION_REQUIRED: the final amount is only known after \
            the customer has chosen, and is committed then.",
};

impl Rule for ReservationMode {
    fn meta(&self) -> &'static Meta {
        &RESERVATION_MODE
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        check_purchase_invoices(&RESERVATION_MODE, view, |_, send| {
            let mode = send.sent_invoice().and_then(|i| i.payment_mode);
            (!mode.is_some_and(|m| m.reserves())).then(|| {
                (
                    "a reservation paymentMode (RESERVATION_REQUIRED)".to_owned(),
                    format!("paymentMode {}", mode.map_or("absent", |m| m.as_str())),
                )
            })
        })
    }
}

#[derive(Debug)]
pub(crate) struct TotalWithinAmount;

static TOTAL_WITHIN_AMOUNT: Meta = Meta {
    id: "UPS-TOTAL-WITHIN-AMOUNT",
    level: Level::Must,
    summary: "The unattended invoice's total is at most the amount createPurchase offered.",
    spec_section: "2.1 step 3, 5",
    source_text: "amount Max reservation amount for which invoice should be created by reseller.",
    applies_to: UNATTENDED,
    method: Method::Journal,
    how: "Compares totalAmount of the sendInvoice made for each createPurchase with the createPurchase amount \
          (decimal, either body dialect).",
    fixes: "Reserve at most the amount offered (usually exactly it); read it as decimal text, never as a float.",
};

impl Rule for TotalWithinAmount {
    fn meta(&self) -> &'static Meta {
        &TOTAL_WITHIN_AMOUNT
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        check_purchase_invoices(&TOTAL_WITHIN_AMOUNT, view, |purchase, send| {
            let offered = purchase.amount?;
            let total = send.sent_invoice()?.total_amount.as_ref()?.value?;
            (total > offered)
                .then(|| (format!("totalAmount at most {offered}"), format!("totalAmount {total}, offered {offered}")))
        })
    }
}

#[derive(Debug)]
pub(crate) struct SameCurrency;

static SAME_CURRENCY: Meta = Meta {
    id: "UPS-SAME-CURRENCY",
    level: Level::Must,
    summary: "The unattended invoice is in the currency createPurchase named.",
    spec_section: "2.1 step 3, 5",
    source_text: "currency Currency of reservation amount.",
    applies_to: UNATTENDED,
    method: Method::Journal,
    how: "Compares the totalAmount currency of the sendInvoice made for each createPurchase with the \
          createPurchase currency.",
    fixes: "Create the invoice in the currency of the createPurchase request (and answer SYSTEM_ERROR if your \
            machine cannot sell in it).",
};

impl Rule for SameCurrency {
    fn meta(&self) -> &'static Meta {
        &SAME_CURRENCY
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        check_purchase_invoices(&SAME_CURRENCY, view, |purchase, send| {
            let wanted = purchase.currency.as_deref()?;
            let total = send.sent_invoice()?.total_amount.as_ref();
            let currency = total.and_then(|a| a.currency.as_deref());
            (currency.map(str::trim) != Some(wanted)).then(|| {
                (
                    format!("totalAmount in {wanted}"),
                    format!("totalAmount {}", money(total.and_then(|a| a.value), currency)),
                )
            })
        })
    }
}

#[derive(Debug)]
pub(crate) struct ReferenceMatches;

static REFERENCE_MATCHES: Meta = Meta {
    id: "UPS-REFERENCE-MATCHES",
    level: Level::Must,
    summary: "createPurchase answers with the invoiceReference its own sendInvoice returned.",
    spec_section: "2.1 step 3, 5",
    source_text: "invoiceReferenceId invoiceReference from sendInvoice response see Glase Payment API.",
    applies_to: UNATTENDED,
    method: Method::Journal,
    how: "Compares each invoiceReferenceId answered with the references Glase returned to the sendInvoice calls \
          made during that createPurchase call.",
    fixes: "Answer with the invoiceReference from the sendInvoice response, as text, unchanged.",
};

impl Rule for ReferenceMatches {
    fn meta(&self) -> &'static Meta {
        &REFERENCE_MATCHES
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        referenced(view)
            .filter(|(_, reference, sends)| !sends.iter().any(|c| c.invoice() == Some(reference.as_str())))
            .map(|(purchase, reference, sends)| {
                let made: Vec<&str> = sends.iter().filter_map(|c| c.invoice()).collect();
                let expected = if made.is_empty() {
                    "the invoiceReference of a sendInvoice made during the call".to_owned()
                } else {
                    format!("invoiceReferenceId {}", made.join(" or "))
                };
                let actual = if made.is_empty() {
                    format!(
                        "{}: answered {reference}, but no sendInvoice succeeded during the call",
                        purchase_label(purchase)
                    )
                } else {
                    format!("{}: answered {reference}", purchase_label(purchase))
                };
                let mut evidence = purchase.evidence();
                evidence.extend(sends.iter().flat_map(|c| c.evidence()));
                REFERENCE_MATCHES.finding(expected, actual, evidence, made.first().copied())
            })
            .collect()
    }
}

#[derive(Debug)]
pub(crate) struct PurchaseNotificationUrl;

static PURCHASE_NOTIFICATION_URL: Meta = Meta {
    id: "UPS-NOTIFICATION-URL",
    level: Level::Must,
    summary: "The unattended invoice carries a notificationUrl.",
    spec_section: "2.1 step 3",
    source_text: "By calling this method reseller provides also notificationUrl to be used for callbacks.",
    applies_to: UNATTENDED,
    method: Method::Journal,
    how: "Reads notificationUrl of the sendInvoice made for each createPurchase answered with a reference: it \
          must be present.",
    fixes: "Give every reservation invoice a notificationUrl carrying an unguessable per-purchase token.",
};

impl Rule for PurchaseNotificationUrl {
    fn meta(&self) -> &'static Meta {
        &PURCHASE_NOTIFICATION_URL
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        check_purchase_invoices(&PURCHASE_NOTIFICATION_URL, view, |_, send| {
            let url = send.sent_invoice().and_then(|i| i.notification_url.as_deref());
            url.is_none_or(|u| u.trim().is_empty())
                .then(|| ("a notificationUrl".to_owned(), "no notificationUrl".to_owned()))
        })
    }
}

#[derive(Debug)]
pub(crate) struct InvoicingError;

static INVOICING_ERROR: Meta = Meta {
    id: "UPS-INVOICING-ERROR",
    level: Level::Must,
    summary: "When sendInvoice fails during createPurchase, the answer is errorCode INVOICING_ERROR.",
    spec_section: "2.1, 5",
    source_text: "INVOICING_ERROR Error occurred while calling sendInvoice exposed by Glase (Glase Payment API).",
    applies_to: UNATTENDED,
    method: Method::Journal,
    how: "For each createPurchase call during which the merchant's sendInvoice calls all failed (non-zero \
          resultCode, SOAP fault, HTTP error, or the answer dropped) and none succeeded, the answer must be \
          {\"errorCode\": \"INVOICING_ERROR\"}. Calls overlapping another createPurchase are skipped.",
    fixes: "Map every sendInvoice failure (result code, fault, timeout, lost connection) to INVOICING_ERROR and \
            release the machine.",
};

impl Rule for InvoicingError {
    fn meta(&self) -> &'static Meta {
        &INVOICING_ERROR
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let mut findings = Vec::new();
        for purchase in &view.purchases {
            let Some(body) = purchase.body() else { continue };
            let sends: Vec<&Call<'_>> = view
                .calls
                .iter()
                .filter(|c| c.is(Operation::SendInvoice) && purchase.contains(c.seq))
                .filter(|c| view.purchases.iter().filter(|p| p.contains(c.seq)).count() == 1)
                .collect();
            let seen_success =
                |c: &&Call<'_>| c.succeeded() && c.answer.as_ref().is_some_and(|a| !a.dropped && a.http_status == 200);
            if sends.is_empty()
                || sends.iter().any(seen_success)
                || body == AnswerBody::ErrorCode("INVOICING_ERROR".into())
            {
                continue;
            }
            let failed: Vec<String> = sends.iter().map(|c| c.label()).collect();
            let answered = match body {
                AnswerBody::Reference(r) => format!("invoiceReferenceId {r}"),
                AnswerBody::ErrorCode(code) => format!("errorCode {code}"),
                AnswerBody::Invalid(why) => format!("an invalid answer ({why})"),
            };
            let mut evidence = purchase.evidence();
            evidence.extend(sends.iter().flat_map(|c| c.evidence()));
            findings.push(INVOICING_ERROR.finding(
                "{\"errorCode\": \"INVOICING_ERROR\"}",
                format!(
                    "{}: sendInvoice failed ({}), answered {answered}",
                    purchase_label(purchase),
                    failed.join(", ")
                ),
                evidence,
                None,
            ));
        }
        findings
    }
}

#[derive(Debug)]
pub(crate) struct DeviceInUse;

static DEVICE_IN_USE: Meta = Meta {
    id: "UPS-DEVICE-IN-USE",
    level: Level::Must,
    summary: "A machine whose customer has a reservation and has not finished is not given to another customer.",
    spec_section: "2.1, 5",
    source_text: "DEVICE_IN_USE Device is already used by another customer. Someone else scanned qrCode, agreed for purchase but didn’t choose the product yet.",
    applies_to: UNATTENDED,
    method: Method::JournalAndScenario,
    how: "Over the journal: a createPurchase for a token accepted while the invoice of an earlier accepted \
          purchase of the same token was RESERVED (agreed, not yet committed or cancelled) is a finding. \
          Scenarios also check the DEVICE_IN_USE answer itself.",
    fixes: "Claim the machine atomically before calling sendInvoice (a conditional update idle → reserved) and \
            answer DEVICE_IN_USE while it is claimed.",
};

impl Rule for DeviceInUse {
    fn meta(&self) -> &'static Meta {
        &DEVICE_IN_USE
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let mut findings = Vec::new();
        for (i, later) in view.purchases.iter().enumerate() {
            let (Some(token), Some(second)) = (&later.token, accepted_invoice(later)) else { continue };
            let busy = view.purchases[..i].iter().filter(|p| p.token.as_ref() == Some(token)).find_map(|p| {
                let first = accepted_invoice(p)?;
                (view.state_before(&first, later.seq) == Some(InvoiceStatus::Reserved)).then_some((p, first))
            });
            if let Some((earlier, first)) = busy {
                let mut evidence = earlier.evidence();
                evidence.extend(later.evidence());
                evidence.extend(
                    view.transitions
                        .iter()
                        .filter(|t| t.invoice == first && t.to == InvoiceStatus::Reserved && t.seq < later.seq)
                        .map(|t| t.seq),
                );
                findings.push(DEVICE_IN_USE.finding(
                    format!("errorCode DEVICE_IN_USE: invoice {first} holds machine {token} (RESERVED)"),
                    format!("{} accepted with invoice {second}", purchase_label(later)),
                    evidence,
                    Some(&second),
                ));
            }
        }
        findings
    }
}

#[derive(Debug)]
pub(crate) struct ErrorCodeSituation;

static ERROR_CODE_SITUATION: Meta = Meta {
    id: "UPS-ERROR-CODE-SITUATION",
    level: Level::Must,
    summary: "Each createPurchase errorCode is answered in its situation (amount too low, machine out of service, …).",
    spec_section: "2.1, 5",
    source_text: "each error code returned in its situation (section 2.1)",
    applies_to: UNATTENDED,
    method: Method::Scenario,
    how: "Scenarios put the machine in each situation through the machine driver (an amount below the cheapest \
          product, out of service, an unknown token, a failing sendInvoice, a busy machine) and expect the \
          documented errorCode.",
    fixes: "INSUFFICIENT_FUNDS below the cheapest product; DEVICE_UNAVAILABLE out of service or unknown; \
            DEVICE_IN_USE while claimed; INVOICING_ERROR when sendInvoice fails; SYSTEM_ERROR otherwise.",
};

impl Rule for ErrorCodeSituation {
    fn meta(&self) -> &'static Meta {
        &ERROR_CODE_SITUATION
    }

    fn check(&self, _: &View<'_>) -> Vec<Finding> {
        Vec::new()
    }
}

// ---- the reservation ----

#[derive(Debug)]
pub(crate) struct UnlockOnlyAfterReserved;

static UNLOCK_ONLY_AFTER_RESERVED: Meta = Meta {
    id: "UNLOCK-ONLY-AFTER-RESERVED",
    level: Level::Must,
    summary: "The machine is unlocked only after getPaymentStatus answered RESERVED.",
    spec_section: "2.1 steps 7–8, 5",
    source_text: "Reseller calls getPaymentStatus and retrieves reservation status. If RESERVED merchants proceeds to next steps.",
    applies_to: UNATTENDED,
    method: Method::JournalAndScenario,
    how: "Over the journal (an approximation: the unlock itself is not visible there): an updateInvoice or \
          commitReservation of a reservation invoice before any getPaymentStatus about it answered RESERVED \
          means the merchant went on without the status. Scenarios with the machine driver watch the unlock \
          itself.",
    fixes: "Unlock only in the handler of a getPaymentStatus answer saying RESERVED; treat notifications as a \
            hint to ask.",
};

impl Rule for UnlockOnlyAfterReserved {
    fn meta(&self) -> &'static Meta {
        &UNLOCK_ONLY_AFTER_RESERVED
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for call in view.calls.iter().filter(|c| c.is(Operation::UpdateInvoice) || c.is(Operation::CommitReservation)) {
            let Some(invoice) = call.invoice() else { continue };
            if seen.contains(&invoice) || !view.reserves(invoice) || view.seen_reserved(invoice, call.seq) {
                continue;
            }
            seen.push(invoice);
            let told = view.known_state(invoice, call.seq);
            findings.push(UNLOCK_ONLY_AFTER_RESERVED.finding(
                "getPaymentStatus answering RESERVED before the machine is used (updateInvoice, commitReservation)",
                format!(
                    "{} while the last status the merchant had fetched was {}",
                    call.label(),
                    told.map_or("none", |s| s.as_str())
                ),
                call.evidence(),
                Some(invoice),
            ));
        }
        findings
    }
}

#[derive(Debug)]
pub(crate) struct ReleaseOnCancel;

static RELEASE_ON_CANCEL: Meta = Meta {
    id: "UPS-RELEASE-ON-CANCEL",
    level: Level::Must,
    summary: "The machine is released when the reservation ends CANCELED.",
    spec_section: "2.1, 5",
    source_text: "machine released after CANCELED",
    applies_to: UNATTENDED,
    method: Method::Scenario,
    how: "Scenarios cancel in the app and then expect the machine driver to show the machine idle, and a new \
          scan to be accepted.",
    fixes: "On getPaymentStatus CANCELED (or FAILED), end the purchase and set the machine idle in one \
            transaction.",
};

impl Rule for ReleaseOnCancel {
    fn meta(&self) -> &'static Meta {
        &RELEASE_ON_CANCEL
    }

    fn check(&self, _: &View<'_>) -> Vec<Finding> {
        Vec::new()
    }
}

/// Successful updateInvoice calls of the invoice after it was reserved and before `seq`.
fn updates_before<'v, 'a>(view: &'v View<'a>, invoice: &str, seq: u64) -> Vec<&'v Call<'a>> {
    let reserved = view.reserved_amount(invoice).map_or(0, |(s, _)| s);
    view.calls
        .iter()
        .filter(|c| c.is(Operation::UpdateInvoice) && c.invoice() == Some(invoice))
        .filter(|c| c.seq > reserved && c.seq < seq && c.succeeded())
        .collect()
}

fn commit_amount(call: &Call<'_>) -> Option<Decimal> {
    match call.request.as_ref()? {
        glase_protocol::Request::CommitReservation(r) => r.amount.as_ref()?.value,
        _ => None,
    }
}

#[derive(Debug)]
pub(crate) struct UpdateBeforeCommit;

static UPDATE_BEFORE_COMMIT: Meta = Meta {
    id: "UPS-UPDATE-BEFORE-COMMIT",
    level: Level::Must,
    summary: "A successful updateInvoice with the vended rows comes before commitReservation.",
    spec_section: "2.1 steps 10–11, 5",
    source_text: "Reseller calls updateInvoice exposed by Glase to change details of invoice that user will see in Glase app.",
    applies_to: UNATTENDED,
    method: Method::Journal,
    how: "For every commitReservation answered SUCCESS: an updateInvoice of the same invoice, answered SUCCESS, \
          after the reservation and before the commit, with rows that add up to its total.",
    fixes: "Store the vended rows, send them with updateInvoice (rows summing to the total), and only then \
            commit; retry a transient updateInvoice failure before committing.",
};

impl Rule for UpdateBeforeCommit {
    fn meta(&self) -> &'static Meta {
        &UPDATE_BEFORE_COMMIT
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let mut findings = Vec::new();
        for commit in view.calls_of(Operation::CommitReservation).filter(|c| c.succeeded()) {
            let Some(invoice) = commit.invoice() else { continue };
            let updates = updates_before(view, invoice, commit.seq);
            let good = updates.iter().any(|u| {
                u.sent_invoice().is_some_and(|i| {
                    let total = i.total_amount.as_ref().and_then(|a| a.value);
                    total.is_some() && invoice_rows_total(i) == total
                })
            });
            if good {
                continue;
            }
            let failed: Vec<String> = view
                .calls
                .iter()
                .filter(|c| c.is(Operation::UpdateInvoice) && c.invoice() == Some(invoice) && c.seq < commit.seq)
                .map(|c| c.label())
                .collect();
            let actual = if failed.is_empty() {
                format!("{} without any updateInvoice before it", commit.label())
            } else {
                format!(
                    "{} after {} (none successful with rows summing to the total)",
                    commit.label(),
                    failed.join(", ")
                )
            };
            let mut evidence = commit.evidence();
            evidence.extend(
                view.calls
                    .iter()
                    .filter(|c| c.is(Operation::UpdateInvoice) && c.invoice() == Some(invoice) && c.seq < commit.seq)
                    .flat_map(|c| c.evidence()),
            );
            findings.push(UPDATE_BEFORE_COMMIT.finding(
                "a successful updateInvoice with the final rows before commitReservation",
                actual,
                evidence,
                Some(invoice),
            ));
        }
        findings
    }
}

#[derive(Debug)]
pub(crate) struct CommitWithinReserved;

static COMMIT_WITHIN_RESERVED: Meta = Meta {
    id: "UPS-COMMIT-WITHIN-RESERVED",
    level: Level::Must,
    summary: "updateInvoice totals and the commit amount stay within the reserved amount.",
    spec_section: "2.1 step 11, 4, 5",
    source_text: "commit amount ≤ reserved and = the vended total",
    applies_to: UNATTENDED,
    method: Method::Journal,
    how: "Takes the reserved amount as the invoice's total when it became RESERVED, and compares every later \
          updateInvoice totalAmount and commitReservation amount with it.",
    fixes: "Refuse at the machine a choice that costs more than the reservation; commit the vended total, which \
            is then never above it.",
};

impl Rule for CommitWithinReserved {
    fn meta(&self) -> &'static Meta {
        &COMMIT_WITHIN_RESERVED
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let mut findings = Vec::new();
        for call in view.calls.iter().filter(|c| c.is(Operation::UpdateInvoice) || c.is(Operation::CommitReservation)) {
            let Some(invoice) = call.invoice() else { continue };
            let Some((reserved_seq, reserved)) = view.reserved_amount(invoice) else { continue };
            if call.seq < reserved_seq {
                continue;
            }
            let amount = if call.is(Operation::CommitReservation) {
                commit_amount(call)
            } else {
                call.sent_invoice().and_then(|i| i.total_amount.as_ref()?.value)
            };
            let Some(amount) = amount.filter(|a| *a > reserved) else { continue };
            let mut evidence = call.evidence();
            evidence.push(reserved_seq);
            findings.push(COMMIT_WITHIN_RESERVED.finding(
                format!("at most the reserved {reserved}"),
                format!("{}: {amount}", call.label()),
                evidence,
                Some(invoice),
            ));
        }
        findings
    }
}

#[derive(Debug)]
pub(crate) struct CommitEqualsUpdatedTotal;

static COMMIT_EQUALS_UPDATED_TOTAL: Meta = Meta {
    id: "UPS-COMMIT-EQUALS-UPDATED-TOTAL",
    level: Level::Must,
    summary: "commitReservation commits the vended total: the total of the updateInvoice before it.",
    spec_section: "2.1 step 11, 5",
    source_text: "Reseller calls commitReservation to commit transaction with final amount.",
    applies_to: UNATTENDED,
    method: Method::Journal,
    how: "For every commitReservation with an amount: the latest successful updateInvoice of the invoice before \
          it (after the reservation) must have exactly that totalAmount. A commit without an amount commits the \
          current total and passes.",
    fixes: "Commit the amount you sent as totalAmount in the final updateInvoice (or leave the amount out).",
};

impl Rule for CommitEqualsUpdatedTotal {
    fn meta(&self) -> &'static Meta {
        &COMMIT_EQUALS_UPDATED_TOTAL
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let mut findings = Vec::new();
        for commit in view.calls_of(Operation::CommitReservation) {
            let (Some(invoice), Some(amount)) = (commit.invoice(), commit_amount(commit)) else { continue };
            let Some(update) = updates_before(view, invoice, commit.seq).pop() else { continue };
            let Some(total) = update.sent_invoice().and_then(|i| i.total_amount.as_ref()?.value) else { continue };
            if total != amount {
                let mut evidence = commit.evidence();
                evidence.extend(update.evidence());
                findings.push(COMMIT_EQUALS_UPDATED_TOTAL.finding(
                    format!("commit amount {total}, the total of {}", update.label()),
                    format!("{}: amount {amount}", commit.label()),
                    evidence,
                    Some(invoice),
                ));
            }
        }
        findings
    }
}

#[derive(Debug)]
pub(crate) struct NoCommitAfterCancel;

static NO_COMMIT_AFTER_CANCEL: Meta = Meta {
    id: "UPS-NO-COMMIT-AFTER-CANCEL",
    level: Level::Must,
    summary: "No updateInvoice or commitReservation of an invoice the merchant knows is CANCELED (or FAILED).",
    spec_section: "2.1, 4, 5",
    source_text: "no commit of a CANCELED invoice",
    applies_to: UNATTENDED,
    method: Method::Journal,
    how: "An updateInvoice or commitReservation of an invoice after the merchant was told it is CANCELED or \
          FAILED (a getPaymentStatus answer, or its own successful cancelInvoice) is a finding; a commit racing \
          a cancellation the merchant had not been told of is not.",
    fixes: "On CANCELED/FAILED end the purchase for good: release the machine and never vend or commit on it.",
};

impl Rule for NoCommitAfterCancel {
    fn meta(&self) -> &'static Meta {
        &NO_COMMIT_AFTER_CANCEL
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let mut findings: Vec<Finding> = Vec::new();
        for call in view.calls.iter().filter(|c| c.is(Operation::UpdateInvoice) || c.is(Operation::CommitReservation)) {
            let Some(invoice) = call.invoice() else { continue };
            let Some(state) = view.known_state(invoice, call.seq) else { continue };
            if !matches!(state, InvoiceStatus::Canceled | InvoiceStatus::Failed) {
                continue;
            }
            if let Some(existing) = findings.iter_mut().find(|f| f.invoice.as_deref() == Some(invoice)) {
                existing.evidence.extend(call.evidence());
                existing.actual.push_str(&format!(", then {}", call.label()));
                continue;
            }
            let told = view
                .calls_about(invoice)
                .rfind(|c| c.seq < call.seq && (c.is(Operation::GetPaymentStatus) || c.is(Operation::CancelInvoice)));
            let mut evidence = call.evidence();
            evidence.extend(told.map(|c| c.seq));
            findings.push(NO_COMMIT_AFTER_CANCEL.finding(
                format!("no update or commit: the merchant knew the invoice was {state}"),
                format!(
                    "{}{}",
                    told.map(|t| format!("{} told {state}; then ", t.label())).unwrap_or_default(),
                    call.label()
                ),
                evidence,
                Some(invoice),
            ));
        }
        for finding in &mut findings {
            finding.evidence.sort_unstable();
            finding.evidence.dedup();
        }
        findings
    }
}

#[derive(Debug)]
pub(crate) struct IdleRelease;

static IDLE_RELEASE: Meta = Meta {
    id: "UPS-IDLE-RELEASE",
    level: Level::Must,
    summary: "A reservation the customer does not use (walked away, or chose nothing) is cancelled (cancelInvoice) and the machine released.",
    spec_section: "2.1, 5",
    source_text: "idle reservation released (cancelInvoice) when the customer walks away.",
    applies_to: UNATTENDED,
    method: Method::Scenario,
    how: "Scenarios confirm a reservation (or leave it unconfirmed), have the customer walk away, wait for the \
          merchant's idle timeout (as declared with --idle-timeout) and expect a cancelInvoice in the journal and \
          the machine idle; or have the customer take nothing at the machine and expect the same at once.",
    fixes: "Arm an idle timer when the machine unlocks (and when the purchase starts); when it fires, \
            cancelInvoice and release the machine. Re-arm it after a restart.",
};

impl Rule for IdleRelease {
    fn meta(&self) -> &'static Meta {
        &IDLE_RELEASE
    }

    fn check(&self, _: &View<'_>) -> Vec<Finding> {
        Vec::new()
    }
}

pub(crate) static PURCHASE_STARTS: Meta = Meta {
    id: "UPS-PURCHASE-STARTS",
    level: Level::Must,
    summary: "A scan of a free machine in service, offering enough money, starts a purchase: sendInvoice, and createPurchase answered with its invoiceReference.",
    spec_section: "2.1 steps 2-3",
    source_text: "Reseller calls sendInvoice exposed by Glase and returns the invoice reference to Glase Unattended Payments service.",
    applies_to: UNATTENDED,
    method: Method::Scenario,
    how: "Scenarios scan a machine that is idle and in service with an amount above its cheapest product, and \
          expect the purchase accepted, one invoice ISSUED at Glase, and the machine held for the customer \
          (the machine driver's `reserved`).",
    fixes: "Answer createPurchase with the invoiceReference of the sendInvoice you made for it; keep error codes \
            for their situations only (seed 000's table).",
};

pub(crate) static UNLOCK_AFTER_RESERVED: Meta = Meta {
    id: "UNLOCK-AFTER-RESERVED",
    level: Level::Must,
    summary: "Once getPaymentStatus says RESERVED, the machine is unlocked for the customer to choose.",
    spec_section: "2.1 steps 7-8",
    source_text: "Reseller unlocks self-service machine allowing user to choose the products.",
    applies_to: UNATTENDED,
    method: Method::Scenario,
    how: "Scenarios confirm the reservation in the app and expect the machine driver to show the machine \
          `unlocked` within the status deadline (the reseller must fetch the status by then) and a moment more.",
    fixes: "On the notification, call getPaymentStatus; on RESERVED, unlock the machine and start the idle timer. \
            Poll too, so a lost notification does not keep the customer waiting.",
};

pub(crate) static COMMIT_EQUALS_VENDED: Meta = Meta {
    id: "UPS-COMMIT-EQUALS-VENDED",
    level: Level::Must,
    summary: "What the machine vended is charged, exactly: the purchase ends PAID for the vended total.",
    spec_section: "2.1 steps 9-11, 5",
    source_text: "commit amount ≤ reserved and = the vended total",
    applies_to: UNATTENDED,
    method: Method::Scenario,
    how: "Scenarios vend products through the machine driver and expect the vend answered `paid`, the invoice PAID \
          at Glase and Glase's payment equal to the products' total.",
    fixes: "Store the vended rows and total first, then updateInvoice with them and commitReservation for exactly \
            that total; retry transient Glase errors, and ask getPaymentStatus when an answer is lost.",
};

pub(crate) static RELEASE_AFTER_PURCHASE: Meta = Meta {
    id: "UPS-RELEASE-AFTER-PURCHASE",
    level: Level::Must,
    summary: "When a purchase has ended (paid, refused by Glase, or declined), the machine is free for the next customer.",
    spec_section: "2.1",
    source_text: "Device is already used by another customer. Someone else scanned qrCode, agreed for purchase but didn’t choose the product yet.",
    applies_to: UNATTENDED,
    method: Method::Scenario,
    how: "Scenarios end a purchase (a vend, a sendInvoice Glase refused) and expect the machine driver to show the \
          machine idle and a new scan to be accepted. After every scenario the suite also checks that the \
          machines it used are free again, and blames the scenario that left one held (later scenarios on \
          that machine are then reported blocked, not failed).",
    fixes: "End the purchase and set the machine idle in the same transaction as the commit (or the error answer).",
};

#[derive(Debug)]
pub(crate) struct CommitOnce;

static COMMIT_ONCE: Meta = Meta {
    id: "UPS-COMMIT-ONCE",
    level: Level::Should,
    summary: "A reservation is committed once: after a commit whose answer was lost, getPaymentStatus tells whether it went through.",
    spec_section: "3.5, 4",
    source_text: "commitReservation on an invoice that is not RESERVED",
    applies_to: UNATTENDED,
    method: Method::JournalAndScenario,
    how: "Over the journal: a commitReservation of an invoice Glase had already committed (an earlier commit it \
          processed, even if its answer was lost on the way back) is a finding; Glase refuses it with 96. A \
          SHOULD: nothing is charged twice, but a reseller that takes the 96 for a failure may undo a sale that \
          went through. Scenarios drop a commit's answer and expect one commit.",
    fixes: "When a commit's answer is lost or times out, call getPaymentStatus: PAID means done, RESERVED means \
            commit again.",
};

impl Rule for CommitOnce {
    fn meta(&self) -> &'static Meta {
        &COMMIT_ONCE
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut reported: Vec<&str> = Vec::new();
        for again in view.calls_of(Operation::CommitReservation) {
            let Some(invoice) = again.invoice() else { continue };
            if reported.contains(&invoice) {
                continue;
            }
            let first = view
                .calls_of(Operation::CommitReservation)
                .find(|c| c.seq < again.seq && c.invoice() == Some(invoice) && c.succeeded());
            if let Some(first) = first {
                reported.push(invoice);
                let lost = if first.answer.as_ref().is_some_and(|a| a.dropped) { " (its answer was lost)" } else { "" };
                let mut evidence = first.evidence();
                evidence.extend(again.evidence());
                findings.push(COMMIT_ONCE.finding(
                    "one commitReservation; after a lost answer, getPaymentStatus",
                    format!("{} after {}, which Glase had committed{lost}", again.label(), first.label()),
                    evidence,
                    Some(invoice),
                ));
            }
        }
        findings
    }
}

#[cfg(test)]
mod tests {
    use glase_protocol::{Amount, PaymentMode};

    use super::*;
    use crate::rules::support::testing::{Journal, d, ids, invoice};

    fn reservation(total: &str) -> glase_protocol::Invoice {
        invoice(PaymentMode::ReservationRequired, &[total])
    }

    #[test]
    fn a_correct_vend_passes_every_unattended_rule() {
        let mut journal = Journal::new();
        journal.correct_vend("R1");
        assert_eq!(journal.check_all(), vec![]);
    }

    #[test]
    fn committing_again_what_glase_committed_is_a_warning() {
        let mut journal = Journal::new();
        journal.correct_vend("R1");
        assert_eq!(journal.check(&CommitOnce), vec![]);
        journal.commit("R1", Some("6.20"), 96);
        let findings = journal.check(&CommitOnce);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].level, Level::Should);
        assert!(findings[0].actual.contains("commitReservation (result 96) after #"), "{findings:?}");
    }

    #[test]
    fn timeouts_and_invalid_answers() {
        let mut journal = Journal::new();
        journal.purchase_request(1, "m", "20.00", "EUR");
        journal.push(
            None,
            mock_glase::journal::Record::CreatePurchaseResponse {
                purchase: 1,
                http_status: None,
                content_type: None,
                body: None,
                error: Some("timed out".into()),
            },
        );
        journal.purchase_request(2, "m", "20.00", "EUR");
        journal.purchase_answer(2, 500, "text/html", "oops");
        journal.purchase_request(3, "m", "20.00", "EUR");
        journal.purchase_answer(3, 200, "application/json", r#"{"errorCode":"OUT_OF_COLA"}"#);
        journal.purchase_request(4, "m", "20.00", "EUR");
        journal.purchase_answer(4, 200, "application/json", r#"{"errorCode":"DEVICE_IN_USE"}"#);
        let timely = journal.check(&AnswerTimely);
        assert_eq!((timely.len(), timely[0].evidence.clone()), (1, vec![2, 3]));
        let invalid = journal.check(&ValidAnswer);
        assert_eq!(invalid.len(), 2, "{invalid:?}");
        assert!(invalid[0].actual.contains("HTTP 500; Content-Type text/html; body: not a JSON object"));
        assert!(invalid[1].actual.contains("OUT_OF_COLA"));
    }

    #[test]
    fn the_answer_must_name_the_one_invoice_sent_during_the_call() {
        let mut journal = Journal::new();
        journal.purchase_request(1, "m", "20.00", "EUR");
        journal.send_invoice("111", reservation("20.00"));
        journal.purchase_answer(1, 200, "application/json", r#"{"invoiceReferenceId":"112"}"#);
        let findings = journal.check(&ReferenceMatches);
        assert_eq!(findings.len(), 1);
        assert_eq!(
            (findings[0].expected.as_str(), findings[0].invoice.as_deref()),
            ("invoiceReferenceId 111", Some("111"))
        );
        assert_eq!(journal.check(&OneInvoicePerPurchase), vec![]);

        let mut two = Journal::new();
        two.purchase_request(1, "m", "20.00", "EUR");
        two.send_invoice("111", reservation("20.00"));
        two.send_invoice("112", reservation("20.00"));
        two.purchase_answer(1, 200, "application/json", r#"{"invoiceReferenceId":"112"}"#);
        assert!(two.check(&OneInvoicePerPurchase)[0].actual.contains("2 successful sendInvoice calls: 111, 112"));
    }

    #[test]
    fn the_purchase_invoice_reserves_within_the_amount_in_its_currency_with_a_notification_url() {
        let mut wrong = invoice(PaymentMode::ImmediateDebit, &["25.00"]);
        wrong.total_amount = Some(Amount::new(d("25.00"), "SEK"));
        wrong.notification_url = None;
        let mut journal = Journal::new();
        journal.purchase_request(1, "m", "20.00", "EUR");
        journal.send_invoice("111", wrong);
        journal.purchase_answer(1, 200, "application/json", r#"{"invoiceReferenceId":"111"}"#);
        assert!(journal.check(&ReservationMode)[0].actual.contains("paymentMode IMMEDIATE_DEBIT"));
        assert!(journal.check(&TotalWithinAmount)[0].actual.contains("totalAmount 25.00, offered 20.00"));
        assert!(journal.check(&SameCurrency)[0].actual.contains("25.00 SEK"));
        assert_eq!(journal.check(&PurchaseNotificationUrl).len(), 1);
    }

    #[test]
    fn a_failed_send_invoice_must_be_answered_invoicing_error() {
        let mut journal = Journal::new();
        journal.purchase_request(1, "m", "20.00", "EUR");
        let request = glase_protocol::Request::SendInvoice(glase_protocol::request::SendInvoice {
            context: Some(crate::rules::support::testing::context()),
            invoice: Some(reservation("20.00")),
            tokens: vec![],
        });
        let refused = glase_protocol::Response::result(Operation::SendInvoice, glase_protocol::ResultCode(94));
        journal.soap(None, &request, &refused);
        journal.purchase_answer(1, 200, "application/json", r#"{"errorCode":"SYSTEM_ERROR"}"#);
        let findings = journal.check(&InvoicingError);
        assert!(findings[0].actual.contains("answered errorCode SYSTEM_ERROR"), "{findings:?}");
        journal.purchase_request(2, "m", "20.00", "EUR");
        journal.soap(None, &request, &refused);
        journal.purchase_answer(2, 200, "application/json", r#"{"errorCode":"INVOICING_ERROR"}"#);
        assert_eq!(journal.check(&InvoicingError).len(), 1, "the second purchase is right");
    }

    #[test]
    fn a_reserved_machine_is_not_given_to_a_second_customer() {
        let mut journal = Journal::new();
        journal.accepted_purchase(1, "machine-1", "111", reservation("20.00"));
        journal.accepted_purchase(2, "machine-1", "112", reservation("20.00"));
        assert_eq!(journal.check(&DeviceInUse), vec![], "the first customer has not agreed yet");
        journal.transition("111", InvoiceStatus::Issued, InvoiceStatus::Reserved, "confirmed");
        journal.accepted_purchase(3, "machine-1", "113", reservation("20.00"));
        journal.accepted_purchase(4, "machine-2", "114", reservation("20.00"));
        let findings = journal.check(&DeviceInUse);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].invoice.as_deref(), Some("113"));
    }

    #[test]
    fn update_and_commit_need_a_reserved_status_first() {
        let mut journal = Journal::new();
        journal.accepted_purchase(1, "machine-1", "111", reservation("20.00"));
        journal.status("111", Some(0), InvoiceStatus::Issued, 0);
        journal.update_invoice("111", reservation("2.50"), 0);
        journal.commit("111", Some("2.50"), 96);
        let findings = journal.check(&UnlockOnlyAfterReserved);
        assert_eq!(findings.len(), 1, "one finding per invoice");
        assert!(findings[0].actual.contains("last status the merchant had fetched was ISSUED"), "{findings:?}");
    }

    #[test]
    fn commit_needs_a_successful_update_with_the_committed_total() {
        let mut journal = Journal::new();
        journal.accepted_purchase(1, "machine-1", "111", reservation("20.00"));
        journal.transition("111", InvoiceStatus::Issued, InvoiceStatus::Reserved, "confirmed");
        journal.status("111", Some(0), InvoiceStatus::Reserved, 1);
        journal.commit("111", Some("2.50"), 0);
        assert!(journal.check(&UpdateBeforeCommit)[0].actual.contains("without any updateInvoice"));

        let mut refused = Journal::new();
        refused.accepted_purchase(1, "machine-1", "111", reservation("20.00"));
        refused.transition("111", InvoiceStatus::Issued, InvoiceStatus::Reserved, "confirmed");
        refused.update_invoice("111", reservation("2.50"), 49);
        refused.commit("111", Some("2.50"), 0);
        assert!(refused.check(&UpdateBeforeCommit)[0].actual.contains("(result 49)"));
        assert_eq!(refused.check(&CommitEqualsUpdatedTotal), vec![], "no successful update to compare with");
    }

    #[test]
    fn commit_within_the_reservation_and_equal_to_the_update() {
        let mut journal = Journal::new();
        journal.accepted_purchase(1, "machine-1", "111", reservation("20.00"));
        journal.transition("111", InvoiceStatus::Issued, InvoiceStatus::Reserved, "confirmed");
        journal.status("111", Some(0), InvoiceStatus::Reserved, 1);
        journal.update_invoice("111", reservation("2.50"), 0);
        journal.commit("111", Some("21.00"), 11);
        let over = journal.check(&CommitWithinReserved);
        assert!(over[0].expected.contains("20.00") && over[0].actual.contains("21.00"), "{over:?}");
        assert!(journal.check(&CommitEqualsUpdatedTotal)[0].expected.contains("commit amount 2.50"));
        journal.commit("111", None, 0);
        assert_eq!(journal.check(&CommitEqualsUpdatedTotal).len(), 1, "no amount: the current total");
    }

    #[test]
    fn nothing_is_committed_after_the_merchant_learned_it_was_cancelled() {
        let mut journal = Journal::new();
        journal.accepted_purchase(1, "machine-1", "111", reservation("20.00"));
        journal.transition("111", InvoiceStatus::Issued, InvoiceStatus::Canceled, "customer cancelled");
        // A commit racing the cancellation is not the merchant's fault…
        journal.commit("111", Some("2.50"), 96);
        assert_eq!(journal.check(&NoCommitAfterCancel), vec![]);
        // …but once getPaymentStatus said CANCELED, it is.
        journal.status("111", Some(0), InvoiceStatus::Canceled, 1);
        journal.update_invoice("111", reservation("2.50"), 95);
        journal.commit("111", Some("2.50"), 96);
        let findings = journal.check(&NoCommitAfterCancel);
        assert_eq!(findings.len(), 1);
        assert!(findings[0].actual.contains("told CANCELED"), "{findings:?}");
        assert_eq!(ids(&journal.check_all()), ["UNLOCK-ONLY-AFTER-RESERVED", "UPS-NO-COMMIT-AFTER-CANCEL"]);
    }
}
