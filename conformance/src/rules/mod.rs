//! The conformance rules: every obligation of spec section 5 as a rule with a stable id,
//! a level (MUST/SHOULD), the spec section it comes from and the seed's (or the spec's)
//! sentence, verbatim.
//!
//! Most rules are continuous checks over the mock's journal ([`check_all`]); a few need
//! the machine or shop driver and are checked by scenarios, which cite their ids
//! ([`rule`]). Every rule is a small named struct behind the `Rule` trait, registered
//! in one list (`RULES`), like wiremock's matchers: the checks read one parsed view of
//! the journal (`support::View`) and say what they expected next to what happened,
//! with the journal sequence numbers that show it.
//!
//! # Layout
//! - `support`: the parsed journal (calls paired with their answers, purchases,
//!   notifications, transitions) and finding helpers.
//! - `context`: every request's client context (`CTX-…`).
//! - `invoice`: the invoice a merchant sends (`INV-…`).
//! - `unattended`: createPurchase and the reservation flow (`UPS-…`, `UNLOCK-…`).
//! - `status`: notifications and the status deadline (`NOTIFY-…`, `STATUS-…`,
//!   `NOTIFICATION-NOT-TRUSTED`).
//! - `webshop`: polling, versions, refunds, cancellation, certification (`SHOP-…`,
//!   `CERT-…`).
//! - `pos`: the till's own obligations (`POS-…`): its sticker, receipts, unregistering.
//! - `driver`: the kit's own test-build contract (`DRIVER-CONTRACT`), not a protocol
//!   rule but named like one so every finding can be looked up.
//!
//! Checks never panic: a body that does not decode is skipped, and a conclusion that
//! needs journal entries the scenario did not record (a deadline that had not passed
//! yet when the journal ends) is not drawn.

mod check;
mod context;
mod driver;
mod invoice;
mod pos;
mod rule;
mod status;
mod support;
mod unattended;
mod webshop;

use std::fmt::Write as _;

pub use check::CheckContext;
use rule::{Method, Rule, ScenarioChecked};

use crate::results::{Finding, Level, RuleInfo};

/// Every rule, in one list.
pub(crate) static RULES: &[&dyn Rule] = &[
    &context::RequestTimeoutZero,
    &context::ClientReference,
    &context::ClientId,
    &context::ChannelLength,
    &context::PrincipalType,
    &invoice::RowsPresent,
    &invoice::RowsSum,
    &invoice::CurrencyConsistent,
    &invoice::DocumentedFields,
    &invoice::NotificationUrlValid,
    &invoice::NotificationUrlHttps,
    &unattended::AnswerTimely,
    &unattended::ValidAnswer,
    &unattended::OneInvoicePerPurchase,
    &unattended::ReservationMode,
    &unattended::TotalWithinAmount,
    &unattended::SameCurrency,
    &unattended::ReferenceMatches,
    &unattended::PurchaseNotificationUrl,
    &unattended::InvoicingError,
    &unattended::DeviceInUse,
    &unattended::ErrorCodeSituation,
    &unattended::UnlockOnlyAfterReserved,
    &unattended::ReleaseOnCancel,
    &unattended::UpdateBeforeCommit,
    &unattended::CommitWithinReserved,
    &unattended::CommitEqualsUpdatedTotal,
    &unattended::NoCommitAfterCancel,
    &unattended::IdleRelease,
    &ScenarioChecked(&unattended::PURCHASE_STARTS),
    &ScenarioChecked(&unattended::UNLOCK_AFTER_RESERVED),
    &ScenarioChecked(&unattended::COMMIT_EQUALS_VENDED),
    &ScenarioChecked(&unattended::RELEASE_AFTER_PURCHASE),
    &unattended::CommitOnce,
    &status::NotifyAnswered200,
    &status::StatusAfterNotification,
    &status::StatusBeforeDeadline,
    &status::NotificationNotTrusted,
    &webshop::PollCadence,
    &webshop::InvoiceVersionEcho,
    &webshop::ErsReferenceKept,
    &webshop::RefundWithinPayment,
    &webshop::CancelUnpaid,
    &webshop::CertificationProcedure,
    &webshop::PollNotTooOften,
    &webshop::NoCancelPaid,
    &ScenarioChecked(&webshop::SHOWS_STATUS),
    &ScenarioChecked(&webshop::REFUND_PAYMENT),
    &ScenarioChecked(&webshop::REFUND_ONLY_PAID),
    &ScenarioChecked(&webshop::ONE_INVOICE_PER_ORDER),
    &ScenarioChecked(&webshop::CANCEL_CHECKED),
    &pos::ReceiptAfterPaid,
    &ScenarioChecked(&pos::SEQR_ID_ASSIGNED),
    &ScenarioChecked(&pos::UNREGISTER),
    &ScenarioChecked(&driver::DRIVER_CONTRACT),
];

/// Every rule, sorted by id.
pub fn catalog() -> Vec<RuleInfo> {
    let mut rules: Vec<RuleInfo> = RULES.iter().map(|r| r.meta().info()).collect();
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    rules
}

/// One rule by id, in any case (`ups-idle-release` is `UPS-IDLE-RELEASE`).
pub fn rule(id: &str) -> Option<RuleInfo> {
    find(id).map(|r| r.meta().info())
}

fn find(id: &str) -> Option<&'static dyn Rule> {
    let id = id.trim();
    RULES.iter().copied().find(|r| r.meta().id.eq_ignore_ascii_case(id))
}

/// The rule ids an unknown id most likely meant: a near spelling, else the ids that
/// share most of its words (`UPS-STATUS-BEFORE-UNLOCK` → `STATUS-BEFORE-DEADLINE`, …).
pub fn suggest(id: &str) -> Vec<&'static str> {
    let upper = id.trim().to_ascii_uppercase();
    let ids: Vec<&'static str> = RULES.iter().map(|r| r.meta().id).collect();
    if let Some(near) = crate::spelling::closest(&upper, &ids) {
        return vec![near];
    }
    let words: Vec<&str> = upper.split('-').filter(|w| !w.is_empty()).collect();
    let shared = |candidate: &str| candidate.split('-').filter(|w| words.contains(w)).count();
    let best = ids.iter().map(|c| shared(c)).max().unwrap_or(0);
    if best < 2 && best * 2 <= words.len() {
        return Vec::new();
    }
    let mut near: Vec<&'static str> = ids.into_iter().filter(|c| shared(c) == best).collect();
    near.sort_unstable();
    near.truncate(3);
    near
}

/// Runs every journal rule that applies to the profile over one scenario's journal.
/// Findings come in journal order (first evidence), then by rule id.
pub fn check_all(ctx: &CheckContext<'_>) -> Vec<Finding> {
    let view = support::View::new(ctx);
    let mut findings: Vec<Finding> = RULES
        .iter()
        .filter(|r| r.meta().method != Method::Scenario && r.meta().applies(ctx.profile))
        .flat_map(|r| r.check(&view))
        .collect();
    findings.sort_by(|a, b| (a.evidence.first(), &a.rule, &a.invoice).cmp(&(b.evidence.first(), &b.rule, &b.invoice)));
    findings
}

/// Until when (the mock's clock, ms) some rule that applies cannot judge this journal
/// yet; `None` when every one can.
pub fn undecided_until(ctx: &CheckContext<'_>) -> Option<u64> {
    let view = support::View::new(ctx);
    RULES
        .iter()
        .filter(|r| r.meta().method != Method::Scenario && r.meta().applies(ctx.profile))
        .filter_map(|r| r.undecided_until(&view))
        .max()
}

/// The text of `glase-conformance explain RULE`: id, level, summary, spec section,
/// source text, how it is checked and typical fixes. `None` for an unknown id.
pub fn explain(id: &str) -> Option<String> {
    let meta = find(id)?.meta();
    let level = match meta.level {
        Level::Must => "MUST (a finding fails the run)",
        Level::Should => "SHOULD (a finding fails the run only under --strict)",
    };
    let method = match meta.method {
        Method::Journal => "continuously, over the mock's journal after every scenario",
        Method::Scenario => "by scenarios that drive the machine or shop and cite this rule",
        Method::JournalAndScenario => {
            "over the mock's journal (an approximation), and fully by scenarios with a machine or shop driver"
        }
    };
    let mut text = String::new();
    let _ = writeln!(text, "{}: {}", meta.id, meta.summary);
    let _ = writeln!(text);
    let _ = writeln!(text, "Level:       {level}");
    let _ = writeln!(text, "Spec:        section {}", meta.spec_section);
    let _ = writeln!(text, "Applies to:  {}", meta.applies_to.join(", "));
    let _ = writeln!(text, "Checked:     {method}");
    let _ = writeln!(text);
    let _ = writeln!(text, "Source (verbatim):");
    for line in meta.source_text.lines() {
        let _ = writeln!(text, "  > {line}");
    }
    let _ = writeln!(text);
    let _ = writeln!(text, "How it is checked:");
    let _ = writeln!(text, "  {}", meta.how);
    let _ = writeln!(text);
    let _ = writeln!(text, "Typical fixes:");
    let _ = write!(text, "  {}", meta.fixes);
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_stable_and_the_catalog_is_sorted() {
        let catalog = catalog();
        let ids: Vec<&str> = catalog.iter().map(|r| r.id.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(ids, sorted, "sorted and unique");
        for id in &ids {
            assert!(id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'), "{id}");
            assert_eq!(rule(id).map(|r| r.id), Some((*id).to_owned()));
            assert!(explain(id).is_some_and(|t| t.starts_with(id) && t.contains("Typical fixes")));
        }
        assert!(rule("NO-SUCH-RULE").is_none() && explain("NO-SUCH-RULE").is_none());
        assert_eq!(rule("ups-idle-release").map(|r| r.id).as_deref(), Some("UPS-IDLE-RELEASE"), "any case");
        assert!(explain(" Ups-Idle-Release ").is_some_and(|t| t.starts_with("UPS-IDLE-RELEASE")));
        for required in [
            "CTX-REQUEST-TIMEOUT-ZERO",
            "CTX-CLIENT-REFERENCE",
            "CTX-CLIENT-ID",
            "CTX-CHANNEL-LENGTH",
            "CTX-PRINCIPAL-TYPE",
            "INV-ROWS-PRESENT",
            "INV-ROWS-SUM",
            "INV-CURRENCY-CONSISTENT",
            "INV-DOCUMENTED-FIELDS",
            "INV-NOTIFICATION-URL-HTTPS",
            "UPS-ANSWER-TIMELY",
            "UPS-ONE-INVOICE-PER-PURCHASE",
            "UPS-RESERVATION-MODE",
            "UPS-TOTAL-WITHIN-AMOUNT",
            "UPS-SAME-CURRENCY",
            "UPS-REFERENCE-MATCHES",
            "UPS-VALID-ANSWER",
            "NOTIFY-ANSWERED-200",
            "STATUS-AFTER-NOTIFICATION",
            "STATUS-BEFORE-DEADLINE",
            "UPS-UPDATE-BEFORE-COMMIT",
            "UPS-COMMIT-WITHIN-RESERVED",
            "UPS-COMMIT-EQUALS-UPDATED-TOTAL",
            "UPS-NO-COMMIT-AFTER-CANCEL",
            "UPS-IDLE-RELEASE",
            "SHOP-POLL-CADENCE",
            "SHOP-INVOICE-VERSION-ECHO",
            "SHOP-REFUND-WITHIN-PAYMENT",
            "SHOP-CANCEL-UNPAID",
            "UNLOCK-ONLY-AFTER-RESERVED",
            "NOTIFICATION-NOT-TRUSTED",
        ] {
            assert!(ids.contains(&required), "{required} missing");
        }
    }

    /// Whitespace-insensitive: the seeds wrap lines where the rules do not.
    fn squash(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn every_source_text_is_quoted_verbatim_from_a_seed_or_the_spec() {
        let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut corpus = String::new();
        for file in ["seeds/000_3572e2fb59353c09.txt", "seeds/002_f83797d35f3a8d44.txt", "spec/GLASE-PROTOCOL.md"] {
            // Without ../shared beside the checkout: one skip line (a failure with
            // GLASE_REQUIRE_SHARED=1, as in CI).
            let Some(path) = glase_devkit::shared::dir(&workspace, file, "every_source_text_is_quoted_verbatim") else {
                return;
            };
            corpus.push_str(&std::fs::read_to_string(&path).expect("a file of ../shared is readable"));
            corpus.push('\n');
        }
        let corpus = squash(&corpus);
        for rule in RULES {
            let meta = rule.meta();
            // Quotes from two places are joined by a line holding only `…`.
            for quote in meta.source_text.split("\n…\n") {
                assert!(corpus.contains(&squash(quote)), "{}: not verbatim: {quote:?}", meta.id);
            }
        }
    }

    #[test]
    fn unknown_ids_get_the_ids_they_most_likely_meant() {
        assert_eq!(suggest("UPS-IDLE-RELASE"), ["UPS-IDLE-RELEASE"]);
        assert!(suggest("UPS-STATUS-BEFORE-UNLOCK").contains(&"STATUS-BEFORE-DEADLINE"));
        assert!(suggest("nonsense").is_empty());
    }

    #[test]
    fn every_rule_names_a_level_section_and_profile() {
        for rule in RULES {
            let meta = rule.meta();
            assert!(!meta.summary.is_empty() && !meta.spec_section.is_empty(), "{}", meta.id);
            assert!(!meta.how.is_empty() && !meta.fixes.is_empty(), "{}", meta.id);
            assert!(meta.applies_to.iter().all(|p| ["unattended", "webshop", "pos", "all"].contains(p)), "{}", meta.id);
        }
    }
}
