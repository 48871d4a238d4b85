//! Notifications and the status deadline (seeds 000 and 002, spec 2.1 steps 6–7, 2.2
//! step 5): answer the notification, then ask getPaymentStatus — in time, and without
//! trusting the notification itself.

use glase_protocol::{InvoiceStatus, Operation};

use super::rule::{Meta, Method, Rule};
use super::support::{Notice, View};
use crate::results::{Finding, Level};

/// Groups findings by invoice: one per invoice, its evidence and details joined.
fn per_invoice(
    meta: &'static Meta,
    items: Vec<(Option<&str>, Vec<u64>, String)>,
    expected: impl Fn(Option<&str>) -> String,
) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    let mut details: Vec<Vec<String>> = Vec::new();
    for (invoice, evidence, detail) in items {
        match findings.iter().position(|f| f.invoice.as_deref() == invoice) {
            Some(i) => {
                findings[i].evidence.extend(evidence);
                details[i].push(detail);
            }
            None => {
                findings.push(meta.finding(expected(invoice), String::new(), evidence, invoice));
                details.push(vec![detail]);
            }
        }
    }
    for (finding, details) in findings.iter_mut().zip(details) {
        finding.actual = super::support::list(&details);
        finding.evidence.sort_unstable();
        finding.evidence.dedup();
    }
    findings
}

/// How long after a status deadline the mock's deadline timer may take to reverse.
const REVERSAL_SLACK_MS: u64 = 500;

fn is_final(state: InvoiceStatus) -> bool {
    matches!(state, InvoiceStatus::Paid | InvoiceStatus::Canceled | InvoiceStatus::Failed)
}

#[derive(Debug)]
pub(crate) struct NotifyAnswered200;

static NOTIFY_ANSWERED_200: Meta = Meta {
    id: "NOTIFY-ANSWERED-200",
    level: Level::Must,
    summary: "Glase's notification POST is answered HTTP 200.",
    spec_section: "2.1 step 6, 5",
    source_text: "notificationUrl will be called (empty HTTPS POST responded with HTTP 200 OK code) by Glase once customer confirmed or cancelled payment.",
    applies_to: &["all"],
    method: Method::Journal,
    how: "Reads every notification attempt the mock journaled to a notificationUrl the merchant gave: an answer \
          other than HTTP 200, or no answer (refused, timed out), is a finding. Attempts the mock did not make \
          (an injected drop) and test notifications sent to other URLs are skipped.",
    fixes: "Answer the notification 200 at once, with an empty body, before doing any work; do the \
            getPaymentStatus afterwards (or in the background). Keep the endpoint reachable across restarts.",
};

impl Rule for NotifyAnswered200 {
    fn meta(&self) -> &'static Meta {
        &NOTIFY_ANSWERED_200
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let items = view
            .notices
            .iter()
            .filter(|n| !n.not_sent() && n.http_status != Some(200))
            .filter(|n| {
                let known = n.invoice.map(|i| view.notification_urls(i)).unwrap_or_default();
                known.is_empty() || known.contains(&n.url)
            })
            .map(|n| (n.invoice, vec![n.seq], format!("#{} ({}): {}", n.seq, n.reason, n.outcome)))
            .collect();
        per_invoice(&NOTIFY_ANSWERED_200, items, |_| "HTTP 200 to every notification".to_owned())
    }
}

#[derive(Debug)]
pub(crate) struct StatusAfterNotification;

static STATUS_AFTER_NOTIFICATION: Meta = Meta {
    id: "STATUS-AFTER-NOTIFICATION",
    level: Level::Must,
    summary: "getPaymentStatus follows every delivered notification, within the status deadline.",
    spec_section: "2.1 step 7, 2.2 step 3, 5",
    source_text: "Payment status must be called immediately when the notificationUrl is called. Failing to call payment status will cause the payment to be cancelled, resulting in an SMS being sent to the customer.",
    applies_to: &["all"],
    method: Method::Journal,
    how: "For every notification answered 2xx: a getPaymentStatus about the invoice must follow what caused the \
          notification, within the status deadline of the delivery. Skipped when the merchant already knew a \
          final state when the notification went out (PAID/CANCELED/FAILED from an earlier status, its own commit \
          or cancel, or a poll answered between the notification's cause and its POST), or never learned \
          the invoice's reference (sendInvoice's answer was lost on the way back). A scenario that \
          ends before the deadline waits for it (or for the call) before it is judged.",
    fixes: "In the notification handler, answer 200 and then call getPaymentStatus for the invoice the URL's \
            token names (not for a state the notification seems to say: it carries none).",
};

/// A delivered notification the merchant had to answer with getPaymentStatus.
struct Owed<'v, 'a> {
    notice: &'v Notice<'a>,
    invoice: &'a str,
    trigger_seq: u64,
    deadline: u64,
    fetch: Option<&'v super::support::Call<'a>>,
}

impl StatusAfterNotification {
    /// Every delivered notification about an invoice whose final state the merchant did
    /// not know yet, with the getPaymentStatus that followed it (if any).
    fn owed<'v, 'a>(view: &'v View<'a>) -> Vec<Owed<'v, 'a>> {
        let mut owed = Vec::new();
        for notice in view.notices.iter().filter(|n| n.delivered()) {
            let Some(invoice) = notice.invoice else { continue };
            let Some(trigger) = view.trigger_before(invoice, notice.seq) else { continue };
            // A final state it knew when the POST went out (from before the cause, or
            // from a poll between the cause and the POST), or an invoice it never learned
            // the reference of (sendInvoice's answer was lost): nothing to ask about.
            if view.known_state_when_sent(invoice, trigger, notice).is_some_and(is_final)
                || !view.reference_known(invoice)
            {
                continue;
            }
            let deadline = notice.at.saturating_add(view.status_deadline_ms);
            // A poll that happened to fall between what caused the notification and its
            // POST was not the merchant's answer to it.
            let fetch = view
                .calls_about(invoice)
                .find(|c| c.is(Operation::GetPaymentStatus) && c.seq > trigger.seq && c.at >= notice.sent_at);
            owed.push(Owed { notice, invoice, trigger_seq: trigger.seq, deadline, fetch });
        }
        owed
    }
}

impl Rule for StatusAfterNotification {
    fn meta(&self) -> &'static Meta {
        &STATUS_AFTER_NOTIFICATION
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let mut items = Vec::new();
        for Owed { notice, invoice, trigger_seq, deadline, fetch } in Self::owed(view) {
            let detail = match fetch {
                Some(fetch) if fetch.at <= deadline => continue,
                Some(fetch) => format!(
                    "notification #{} ({}) delivered; getPaymentStatus #{} {} ms later",
                    notice.seq,
                    notice.reason,
                    fetch.seq,
                    fetch.at.saturating_sub(notice.at)
                ),
                None if view.end_at < deadline => continue,
                None => {
                    format!("notification #{} ({}) delivered; no getPaymentStatus followed", notice.seq, notice.reason)
                }
            };
            let mut evidence = vec![trigger_seq, notice.seq];
            evidence.extend(fetch.map(|f| f.seq));
            items.push((Some(invoice), evidence, detail));
        }
        let deadline = view.status_deadline_ms;
        per_invoice(&STATUS_AFTER_NOTIFICATION, items, |_| {
            format!("getPaymentStatus within {deadline} ms of each notification")
        })
    }

    fn undecided_until(&self, view: &View<'_>) -> Option<u64> {
        Self::owed(view).into_iter().filter(|o| o.fetch.is_none() && view.end_at < o.deadline).map(|o| o.deadline).max()
    }
}

#[derive(Debug)]
pub(crate) struct StatusBeforeDeadline;

static STATUS_BEFORE_DEADLINE: Meta = Meta {
    id: "STATUS-BEFORE-DEADLINE",
    level: Level::Must,
    summary: "getPaymentStatus is called within the status deadline of every payment or reservation, so Glase never reverses it.",
    spec_section: "2.2 step 5, 4, 5",
    source_text: "If `getPaymentStatus` is not called within **20 s** of the payment, Glase assumes the shop was\n   not told and **reverses** the payment (status becomes `CANCELED`, customer gets an SMS).\n…\n\
                  status acknowledgement: after PAID/RESERVED the merchant must call getPaymentStatus within the\n\
                  *status deadline* (20 s default, configurable); otherwise the mock reverses: → CANCELED,\n\
                  reservation released, journal entry \"reversed: status not fetched\".",
    applies_to: &["all"],
    method: Method::Journal,
    how: "Looks for the mock's reversals (a transition to CANCELED with the reason \"reversed: status not \
          fetched\"): each is a payment or reservation the merchant did not fetch within the deadline.",
    fixes: "Fetch the status on every notification and also poll pending invoices (each second for a webshop, \
            every few seconds for machines), so a lost notification cannot cost the customer a reversal.",
};

impl Rule for StatusBeforeDeadline {
    fn meta(&self) -> &'static Meta {
        &STATUS_BEFORE_DEADLINE
    }

    fn undecided_until(&self, view: &View<'_>) -> Option<u64> {
        // A payment or reservation nobody has fetched yet: Glase reverses it at its
        // deadline (its timer may take a moment), unless the fetch comes first.
        view.transitions
            .iter()
            .filter(|t| matches!(t.to, InvoiceStatus::Paid | InvoiceStatus::Reserved))
            // The customer's confirmation arms the deadline; the merchant's own commit
            // does not (its answer told the merchant).
            .filter(|t| {
                !view
                    .calls_about(t.invoice)
                    .any(|c| c.is(Operation::CommitReservation) && c.seq < t.seq && c.succeeded())
            })
            .filter(|t| {
                let fetched = view
                    .calls_about(t.invoice)
                    .any(|c| c.is(Operation::GetPaymentStatus) && c.seq > t.seq && c.succeeded());
                let ended = view.transitions.iter().any(|later| later.invoice == t.invoice && later.seq > t.seq);
                !fetched && !ended
            })
            .map(|t| t.at.saturating_add(view.status_deadline_ms).saturating_add(REVERSAL_SLACK_MS))
            .filter(|due| view.end_at < *due)
            .max()
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        view.transitions
            .iter()
            .filter(|t| t.reason.contains("status not fetched"))
            .map(|reversal| {
                let paid = view.transitions.iter().rfind(|t| {
                    t.invoice == reversal.invoice
                        && t.seq < reversal.seq
                        && matches!(t.to, InvoiceStatus::Paid | InvoiceStatus::Reserved)
                });
                let mut evidence = vec![reversal.seq];
                evidence.extend(paid.map(|p| p.seq));
                let since = paid.map(|p| format!(" {} ms after it became {}", reversal.at.saturating_sub(p.at), p.to));
                STATUS_BEFORE_DEADLINE.finding(
                    format!("getPaymentStatus within {} ms of the payment", view.status_deadline_ms),
                    format!("Glase reversed the invoice{} (\"{}\")", since.unwrap_or_default(), reversal.reason),
                    evidence,
                    Some(reversal.invoice),
                )
            })
            .collect()
    }
}

#[derive(Debug)]
pub(crate) struct NotificationNotTrusted;

static NOTIFICATION_NOT_TRUSTED: Meta = Meta {
    id: "NOTIFICATION-NOT-TRUSTED",
    level: Level::Must,
    summary: "A notification is only a hint to ask getPaymentStatus; nothing is unlocked, vended or marked paid on it.",
    spec_section: "2.1 steps 6–8, 5",
    source_text: "machine unlocked only after RESERVED (never on a forged/early notification: notifications carry no data and must not be trusted)",
    applies_to: &["all"],
    method: Method::JournalAndScenario,
    how: "Over the journal (an approximation): after a notification delivered while the invoice was still \
          ISSUED at Glase (forged, duplicate or early), the merchant (a) updated or committed the reservation \
          without a getPaymentStatus answering RESERVED, or (b) had been polling the invoice and stopped asking \
          although it stayed ISSUED for at least the status deadline — as if the notification had settled it. \
          Scenarios with a driver check the machine and the order directly.",
    fixes: "Treat the notification as \"something changed, ask\": look up the purchase by the URL's token, call \
            getPaymentStatus and act only on its answer, under a per-purchase lock with conditional updates.",
};

impl NotificationNotTrusted {
    /// What the merchant did after a notification about an ISSUED invoice, if wrong.
    fn acted_on(view: &View<'_>, notice: &Notice<'_>, invoice: &str, trigger: u64) -> Option<(Vec<u64>, String)> {
        let later = |op: Operation| view.calls_about(invoice).filter(move |c| c.seq > trigger && c.is(op));
        // (a) used a reservation nobody said was RESERVED.
        if view.reserves(invoice) {
            let used = later(Operation::UpdateInvoice)
                .chain(later(Operation::CommitReservation))
                .filter(|c| !view.seen_reserved(invoice, c.seq))
                .min_by_key(|c| c.seq);
            if let Some(used) = used {
                let mut evidence = vec![trigger, notice.seq];
                evidence.extend(used.evidence());
                return Some((
                    evidence,
                    format!(
                        "notification #{} while ISSUED, then {} without a RESERVED status",
                        notice.seq,
                        used.label()
                    ),
                ));
            }
        }
        // (b) stopped asking about an invoice that stayed ISSUED.
        let polled_before = view.calls_about(invoice).any(|c| c.seq < trigger && c.is(Operation::GetPaymentStatus));
        // Asked after the POST went out (a poll already on its way does not count).
        let asked_after = later(Operation::GetPaymentStatus).any(|c| c.at >= notice.sent_at);
        let moved = view.transitions.iter().any(|t| t.invoice == invoice && t.seq > trigger);
        let long_enough = view.end_at >= notice.at.saturating_add(view.status_deadline_ms);
        (polled_before && !asked_after && !moved && long_enough).then(|| {
            (
                vec![trigger, notice.seq],
                format!(
                    "polled getPaymentStatus before notification #{} ({}), never after, while the invoice stayed ISSUED",
                    notice.seq, notice.reason
                ),
            )
        })
    }
}

impl Rule for NotificationNotTrusted {
    fn meta(&self) -> &'static Meta {
        &NOTIFICATION_NOT_TRUSTED
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let mut items = Vec::new();
        let mut done: Vec<&str> = Vec::new();
        for notice in view.notices.iter().filter(|n| n.delivered()) {
            let Some(invoice) = notice.invoice else { continue };
            let Some(trigger) = view.trigger_before(invoice, notice.seq) else { continue };
            if done.contains(&invoice) || view.state_before(invoice, trigger.seq) != Some(InvoiceStatus::Issued) {
                continue;
            }
            if let Some((evidence, detail)) = Self::acted_on(view, notice, invoice, trigger.seq) {
                done.push(invoice);
                items.push((Some(invoice), evidence, detail));
            }
        }
        per_invoice(&NOTIFICATION_NOT_TRUSTED, items, |_| {
            "getPaymentStatus after the notification, and action only on its answer".to_owned()
        })
    }
}

#[cfg(test)]
mod tests {
    use glase_protocol::PaymentMode;
    use mock_glase::journal::Record;

    use super::*;
    use crate::rules::support::testing::{Journal, invoice};

    fn end(journal: &mut Journal, after_ms: u64) {
        journal.advance(after_ms).push(None, Record::Control { action: "test".into(), detail: "end".into() });
    }

    #[test]
    fn notifications_must_be_answered_200() {
        let mut journal = Journal::new();
        journal.send_invoice("1", invoice(PaymentMode::ImmediateDebit, &["1.00"]));
        journal.notify("1", Some(500));
        journal.notice("1", None);
        journal.notice("1", Some(200));
        let findings = journal.check(&NotifyAnswered200);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].evidence, vec![5, 6]);
        assert!(findings[0].actual.contains("HTTP 500") && findings[0].actual.contains("connection refused"));
        // A test notification to some other URL is not the merchant's endpoint.
        let mut other = Journal::new();
        other.send_invoice("1", invoice(PaymentMode::ImmediateDebit, &["1.00"]));
        other.push(
            Some("1"),
            Record::NotificationSent {
                url: "http://127.0.0.1:1/elsewhere".into(),
                reason: "forged".into(),
                attempt: 1,
                outcome: "HTTP 404 Not Found".into(),
                http_status: Some(404),
                last_attempt: true,
                sent_at_ms: None,
            },
        );
        assert_eq!(other.check(&NotifyAnswered200), vec![]);
    }

    #[test]
    fn a_status_fetch_must_follow_each_notification_in_time() {
        let mut journal = Journal::new();
        journal.send_invoice("1", invoice(PaymentMode::ImmediateDebit, &["1.00"]));
        journal.transition("1", InvoiceStatus::Issued, InvoiceStatus::Paid, "confirmed");
        journal.notify("1", Some(200));
        end(&mut journal, 5_000);
        assert_eq!(journal.check(&StatusAfterNotification), vec![], "the deadline has not passed yet");
        end(&mut journal, 16_000);
        let findings = journal.check(&StatusAfterNotification);
        assert!(findings[0].actual.contains("no getPaymentStatus followed"), "{findings:?}");
        journal.status("1", Some(0), InvoiceStatus::Paid, 1);
        assert!(journal.check(&StatusAfterNotification)[0].actual.contains("ms later"));

        // The status fetched before the notification's entry (but after its cause) counts.
        let mut quick = Journal::new();
        quick.send_invoice("1", invoice(PaymentMode::ImmediateDebit, &["1.00"]));
        quick.transition("1", InvoiceStatus::Issued, InvoiceStatus::Paid, "confirmed");
        quick.event(mock_glase::machine::Event::NotificationDue {
            invoice: "1".into(),
            url: "https://shop.example/notify/abc".into(),
            reason: "confirmed".into(),
        });
        quick.status("1", Some(0), InvoiceStatus::Paid, 1);
        quick.notice("1", Some(200));
        // A duplicate about a payment the merchant already fetched needs no second fetch.
        quick.notify("1", Some(200));
        end(&mut quick, 60_000);
        assert_eq!(quick.check(&StatusAfterNotification), vec![]);
    }

    #[test]
    fn a_final_state_polled_before_the_notification_went_out_needs_no_second_fetch() {
        // The customer cancels; the merchant's fallback poll lands between the cancel and
        // the notification's POST and reads CANCELED. A merchant that then ignores the
        // notification (it knows the invoice is over) is correct.
        let mut journal = Journal::new();
        journal.send_invoice("1", invoice(PaymentMode::ReservationRequired, &["20.00"]));
        journal.status("1", Some(0), InvoiceStatus::Issued, 0);
        journal.transition("1", InvoiceStatus::Issued, InvoiceStatus::Canceled, "customer canceled");
        journal.due("1");
        journal.advance(5);
        journal.status("1", Some(0), InvoiceStatus::Canceled, 1);
        journal.advance(5);
        journal.due_at = journal.now;
        journal.notice("1", Some(200));
        end(&mut journal, 60_000);
        assert_eq!(journal.check(&StatusAfterNotification), vec![]);

        // A poll that read a state still open (before the cancel) does not excuse it.
        let mut open = Journal::new();
        open.send_invoice("1", invoice(PaymentMode::ReservationRequired, &["20.00"]));
        open.status("1", Some(0), InvoiceStatus::Issued, 0);
        open.transition("1", InvoiceStatus::Issued, InvoiceStatus::Reserved, "customer confirmed reservation");
        open.due("1");
        open.advance(5);
        open.status("1", Some(0), InvoiceStatus::Issued, 0);
        open.advance(5);
        open.due_at = open.now;
        open.notice("1", Some(200));
        end(&mut open, 60_000);
        let findings = open.check(&StatusAfterNotification);
        assert!(findings[0].actual.contains("no getPaymentStatus followed"), "{findings:?}");
    }

    #[test]
    fn a_reversal_is_a_missed_deadline() {
        let mut journal = Journal::new();
        journal.send_invoice("1", invoice(PaymentMode::ImmediateDebit, &["1.00"]));
        journal.transition("1", InvoiceStatus::Issued, InvoiceStatus::Paid, "confirmed");
        journal.advance(20_000);
        journal.transition("1", InvoiceStatus::Paid, InvoiceStatus::Canceled, "reversed: status not fetched");
        let findings = journal.check(&StatusBeforeDeadline);
        assert_eq!(findings[0].evidence, vec![4, 5]);
        assert!(findings[0].actual.contains("20000 ms after it became PAID"), "{findings:?}");
    }

    #[test]
    fn acting_on_a_notification_about_an_issued_invoice() {
        // (b) A shop that polled, got a forged notification, and stopped asking.
        let mut shop = Journal::new();
        shop.send_invoice("1", invoice(PaymentMode::ImmediateDebit, &["1.00"]));
        shop.status("1", Some(0), InvoiceStatus::Issued, 0);
        shop.push(Some("1"), Record::Control { action: "sendNotification".into(), detail: "forged".into() });
        shop.notice("1", Some(200));
        end(&mut shop, 30_000);
        let findings = shop.check(&NotificationNotTrusted);
        assert!(findings[0].actual.contains("never after"), "{findings:?}");

        // (a) A machine that went on to vend on it.
        let mut machine = Journal::new();
        machine.send_invoice("2", invoice(PaymentMode::ReservationRequired, &["20.00"]));
        machine.notify("2", Some(200));
        machine.status("2", Some(0), InvoiceStatus::Issued, 0);
        machine.update_invoice("2", invoice(PaymentMode::ReservationRequired, &["2.50"]), 0);
        let findings = machine.check(&NotificationNotTrusted);
        assert!(findings[0].actual.contains("updateInvoice") && findings[0].actual.contains("without a RESERVED"));

        // A correct merchant asks and waits.
        let mut correct = Journal::new();
        correct.send_invoice("3", invoice(PaymentMode::ReservationRequired, &["20.00"]));
        correct.notify("3", Some(200));
        correct.status("3", Some(0), InvoiceStatus::Issued, 0);
        end(&mut correct, 30_000);
        assert_eq!(correct.check(&NotificationNotTrusted), vec![]);
    }

    #[test]
    fn a_deadline_not_yet_passed_leaves_the_rules_undecided_until_it_has() {
        let mut journal = Journal::new();
        journal.correct_vend("R1");
        let mut pending = Journal::new();
        pending.send_invoice("R2", invoice(PaymentMode::ReservationRequired, &["20.00"]));
        let reserved_at = pending.now;
        pending.transition("R2", InvoiceStatus::Issued, InvoiceStatus::Reserved, "customer confirmed reservation");
        let view = |j: &Journal, cut: Option<u64>| {
            let ctx = crate::rules::CheckContext {
                journal: &j.entries,
                status_deadline: std::time::Duration::from_secs(20),
                profile: "all",
                cut_at_ms: cut,
                company: None,
            };
            crate::rules::undecided_until(&ctx)
        };
        assert_eq!(view(&journal, None), None, "everything fetched: decided");
        let due = view(&pending, Some(reserved_at + 1_000)).expect("a reservation nobody fetched yet");
        assert!(due >= reserved_at + 20_000, "{due}");
        assert_eq!(view(&pending, Some(due + 1)), None, "once the deadline passed, the rules judge");
    }

    #[test]
    fn a_notification_about_an_invoice_whose_reference_never_arrived_is_owed_nothing() {
        let mut journal = Journal::new();
        // sendInvoice processed, its answer lost: the merchant cannot name the invoice.
        let sent = journal.send_invoice("R9", invoice(PaymentMode::ReservationRequired, &["20.00"]));
        if let Some(mock_glase::journal::Record::SoapResponse { dropped, .. }) =
            journal.entries.iter_mut().find(|e| e.seq == sent + 1).map(|e| &mut e.record)
        {
            *dropped = true;
        }
        journal.transition("R9", InvoiceStatus::Issued, InvoiceStatus::Canceled, "customer cancelled");
        journal.due("R9");
        journal.notice("R9", Some(200));
        journal.advance(60_000);
        end(&mut journal, 1);
        assert_eq!(journal.check(&StatusAfterNotification), vec![]);
    }

    /// The cause of an old flaky test: a poll that happened to fall between what caused
    /// a notification and its POST is not the merchant's answer to it.
    #[test]
    fn a_poll_already_on_its_way_is_not_the_answer_to_the_notification() {
        let mut journal = Journal::new();
        journal.send_invoice("W1", invoice(PaymentMode::ImmediateDebit, &["10.00"]));
        journal.advance(200).status("W1", Some(0), InvoiceStatus::Issued, 0);
        // A forged notification: its cause is journaled, a poll lands, then the POST goes out.
        journal
            .advance(100)
            .push(Some("W1"), Record::Control { action: "sendNotification".into(), detail: "forged".into() });
        journal.advance(2).status("W1", Some(0), InvoiceStatus::Issued, 0);
        journal.advance(3);
        journal.due_at = journal.now;
        journal.notice("W1", Some(200));
        journal.advance(60_000);
        end(&mut journal, 1);
        let after = journal.check(&StatusAfterNotification);
        assert_eq!(after.len(), 1, "the poll before the POST does not count: {after:?}");
        let trusted = journal.check(&NotificationNotTrusted);
        assert_eq!(trusted.len(), 1, "it stopped asking once notified: {trusted:?}");
    }
}
