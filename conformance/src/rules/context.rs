//! Every request's `clientContext` (spec 3.2 and section 5, "Every request").

use glase_protocol::{ClientContext, PrincipalType as Wire};
use mock_glase::machine::auth::allowed_types;

use super::rule::{Meta, Method, Rule};
use super::support::{Call, View, common_invoice, list};
use crate::results::{Finding, Level};

const EVERY_REQUEST: &str = "Every request: `clientRequestTimeout` = 0; `clientReference` present and ≤ 32; `clientId` present; `channel` ≤ 40; authenticates as the right principal type for the operation.";

/// One finding for all requests whose context breaks the rule: `problem` says what is
/// wrong with a context, or `None` when it is fine.
fn check_contexts(
    meta: &'static Meta,
    view: &View<'_>,
    expected: &str,
    problem: impl Fn(&Call<'_>, Option<&ClientContext>) -> Option<String>,
) -> Vec<Finding> {
    let decoded: Vec<&Call<'_>> = view.calls.iter().filter(|c| c.request.is_some()).collect();
    let offending: Vec<(&Call<'_>, String)> =
        decoded.iter().filter_map(|c| problem(c, c.context()).map(|p| (*c, p))).collect();
    if offending.is_empty() {
        return Vec::new();
    }
    let items: Vec<String> = offending.iter().map(|(c, p)| format!("{}: {p}", c.label())).collect();
    let actual = format!("{} of {} requests: {}", offending.len(), decoded.len(), list(&items));
    let invoice = common_invoice(offending.iter().map(|(c, _)| c.invoice()));
    vec![meta.finding(expected, actual, offending.iter().map(|(c, _)| c.seq).collect(), invoice)]
}

#[derive(Debug)]
pub(crate) struct RequestTimeoutZero;

static REQUEST_TIMEOUT_ZERO: Meta = Meta {
    id: "CTX-REQUEST-TIMEOUT-ZERO",
    level: Level::Must,
    summary: "Every request sends clientRequestTimeout 0.",
    spec_section: "3.2, 5",
    source_text: "`clientRequestTimeout` (must be `0`)",
    applies_to: &["all"],
    method: Method::Journal,
    how: "Decodes every SOAP request in the journal and reads context/clientRequestTimeout: it must be present \
          (the WSDL requires it) and 0. Requests that do not decode are skipped.",
    fixes: "Set clientRequestTimeout to 0 in the client context your SOAP client builds for every call; use your \
            HTTP client's own timeout for giving up on Glase.",
};

impl Rule for RequestTimeoutZero {
    fn meta(&self) -> &'static Meta {
        &REQUEST_TIMEOUT_ZERO
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        check_contexts(&REQUEST_TIMEOUT_ZERO, view, "clientRequestTimeout 0 in every request", |_, ctx| {
            match ctx.map(|c| c.client_request_timeout) {
                None => Some("no context".to_owned()),
                Some(None) => Some("clientRequestTimeout absent".to_owned()),
                Some(Some(0)) => None,
                Some(Some(other)) => Some(format!("clientRequestTimeout {other}")),
            }
        })
    }
}

#[derive(Debug)]
pub(crate) struct ClientReference;

static CLIENT_REFERENCE: Meta = Meta {
    id: "CTX-CLIENT-REFERENCE",
    level: Level::Must,
    summary: "Every request carries a clientReference of at most 32 characters.",
    spec_section: "3.2, 5, 7",
    source_text: "`clientReference` (≤ 32, should be unique per clientId; Glase does not check it, certification requires it)",
    applies_to: &["all"],
    method: Method::Journal,
    how: "Decodes every SOAP request and reads context/clientReference: it must be present, not blank, and at most \
          32 characters. Uniqueness is not checked (section 7 asks for the system name and version there).",
    fixes: "Fill clientReference in every call (e.g. system name, version and a counter), cut to 32 characters.",
};

impl Rule for ClientReference {
    fn meta(&self) -> &'static Meta {
        &CLIENT_REFERENCE
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let expected = "clientReference present and at most 32 characters in every request";
        check_contexts(&CLIENT_REFERENCE, view, expected, |_, ctx| {
            let Some(ctx) = ctx else { return Some("no context".to_owned()) };
            match ctx.client_reference.as_deref().map(str::trim) {
                None => Some("clientReference absent".to_owned()),
                Some("") => Some("clientReference empty".to_owned()),
                Some(r) if r.chars().count() > 32 => {
                    Some(format!("clientReference of {} characters", r.chars().count()))
                }
                Some(_) => None,
            }
        })
    }
}

#[derive(Debug)]
pub(crate) struct ClientId;

static CLIENT_ID: Meta = Meta {
    id: "CTX-CLIENT-ID",
    level: Level::Must,
    summary: "Every request carries a clientId (the software's or company's name); the declared company's, when one is declared.",
    spec_section: "3.2, 5, 7",
    source_text: "Every request: `clientRequestTimeout` = 0; `clientReference` present and ≤ 32; `clientId` present; `channel` ≤ 40; authenticates as the right principal type for the operation.\n…\nPrerequisite: `clientId` = company name",
    applies_to: &["all"],
    method: Method::Journal,
    how: "Decodes every SOAP request and reads context/clientId: it must be present and not blank, and when \
          `--company` declares the company, equal to it (ignoring case and surrounding spaces).",
    fixes: "Send clientId in every call: your company name (certification) or software name and version.",
};

impl Rule for ClientId {
    fn meta(&self) -> &'static Meta {
        &CLIENT_ID
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let expected = match view.company {
            Some(company) => format!("clientId {company:?} (the company --company declares) in every request"),
            None => "clientId present in every request".to_owned(),
        };
        check_contexts(&CLIENT_ID, view, &expected, |_, ctx| {
            let Some(ctx) = ctx else { return Some("no context".to_owned()) };
            match (ctx.client_id.as_deref().map(str::trim), view.company.map(str::trim)) {
                (None, _) => Some("clientId absent".to_owned()),
                (Some(""), _) => Some("clientId empty".to_owned()),
                (Some(sent), Some(company)) if !sent.eq_ignore_ascii_case(company) => {
                    Some(format!("clientId {sent:?}"))
                }
                (Some(_), _) => None,
            }
        })
    }
}

#[derive(Debug)]
pub(crate) struct ChannelLength;

static CHANNEL_LENGTH: Meta = Meta {
    id: "CTX-CHANNEL-LENGTH",
    level: Level::Must,
    summary: "A channel, when sent, is at most 40 characters.",
    spec_section: "3.2, 5",
    source_text: "`channel` (≤ 40 chars, \"WS\"/\"ClientWS\"/\"extWS\")",
    applies_to: &["all"],
    method: Method::Journal,
    how: "Decodes every SOAP request and reads context/channel: absent is fine (lax clients omit it), present \
          must be at most 40 characters.",
    fixes: "Send a short channel such as \"WS\", or none.",
};

impl Rule for ChannelLength {
    fn meta(&self) -> &'static Meta {
        &CHANNEL_LENGTH
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        check_contexts(&CHANNEL_LENGTH, view, "channel at most 40 characters", |_, ctx| {
            let length = ctx?.channel.as_deref()?.chars().count();
            (length > 40).then(|| format!("channel of {length} characters"))
        })
    }
}

#[derive(Debug)]
pub(crate) struct PrincipalType;

static PRINCIPAL_TYPE: Meta = Meta {
    id: "CTX-PRINCIPAL-TYPE",
    level: Level::Must,
    summary: "Every request authenticates as the principal type its operation takes.",
    spec_section: "3.2, 5",
    source_text: EVERY_REQUEST,
    applies_to: &["all"],
    method: Method::Journal,
    how: "Decodes every SOAP request and reads context/initiatorPrincipalId/type: registerTerminal takes \
          RESELLERUSER, markTransactionPeriod and executeReport either, every other operation TERMINALID.",
    fixes: "Call payment operations as the terminal (TERMINALID with the terminal's id and password); use the \
            RESELLERUSER principal only to register terminals and for reports.",
};

impl Rule for PrincipalType {
    fn meta(&self) -> &'static Meta {
        &PRINCIPAL_TYPE
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let expected =
            "the principal type the operation takes (TERMINALID for payments, RESELLERUSER for registerTerminal)";
        check_contexts(&PRINCIPAL_TYPE, view, expected, |call, ctx| {
            let op = call.op()?;
            let allowed = allowed_types(op);
            let names = || allowed.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" or ");
            let Some(principal) = ctx.and_then(|c| c.initiator_principal_id.as_ref()) else {
                return Some("no initiatorPrincipalId".to_owned());
            };
            match principal.kind.as_deref().map(str::trim) {
                None => Some(format!("no principal type; {} takes {}", op.name(), names())),
                Some(kind) => match Wire::parse(kind) {
                    Some(t) if allowed.contains(&t) => None,
                    _ => Some(format!("{kind}; {} takes {}", op.name(), names())),
                },
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use glase_protocol::{PaymentMode, PrincipalId};

    use super::*;
    use crate::rules::support::testing::{Journal, context, invoice};

    fn with(change: impl FnOnce(&mut ClientContext)) -> Journal {
        let mut ctx = context();
        change(&mut ctx);
        let mut journal = Journal::new();
        journal.send_invoice_with("1", invoice(PaymentMode::ImmediateDebit, &["1.00"]), ctx);
        journal.send_invoice("2", invoice(PaymentMode::ImmediateDebit, &["1.00"]));
        journal
    }

    #[test]
    fn a_correct_context_passes_every_context_rule() {
        let journal = with(|_| {});
        for rule in [&RequestTimeoutZero as &dyn Rule, &ClientReference, &ClientId, &ChannelLength, &PrincipalType] {
            assert_eq!(journal.check(rule), vec![], "{}", rule.meta().id);
        }
    }

    #[test]
    fn a_non_zero_or_missing_timeout_is_found_with_its_request() {
        let findings = with(|c| c.client_request_timeout = Some(30)).check(&RequestTimeoutZero);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].evidence, vec![1]);
        assert_eq!(findings[0].invoice.as_deref(), Some("1"));
        assert!(findings[0].actual.contains("1 of 2 requests") && findings[0].actual.contains("30"), "{findings:?}");
        let missing = with(|c| c.client_request_timeout = None).check(&RequestTimeoutZero);
        assert!(missing[0].actual.contains("absent"));
    }

    #[test]
    fn client_reference_must_be_present_and_short() {
        assert_eq!(with(|c| c.client_reference = None).check(&ClientReference).len(), 1);
        assert_eq!(with(|c| c.client_reference = Some("  ".into())).check(&ClientReference).len(), 1);
        assert_eq!(with(|c| c.client_reference = Some("x".repeat(33))).check(&ClientReference).len(), 1);
        assert_eq!(with(|c| c.client_reference = Some("x".repeat(32))).check(&ClientReference), vec![]);
    }

    #[test]
    fn client_id_channel_and_principal() {
        assert_eq!(with(|c| c.client_id = None).check(&ClientId).len(), 1);
        assert_eq!(with(|c| c.channel = None).check(&ChannelLength), vec![], "absent is fine");
        assert_eq!(with(|c| c.channel = Some("c".repeat(41))).check(&ChannelLength).len(), 1);
        let reseller = with(|c| {
            c.initiator_principal_id =
                Some(PrincipalId { id: Some("glase-demo".into()), kind: Some("RESELLERUSER".into()), user_id: None })
        });
        let findings = reseller.check(&PrincipalType);
        assert!(findings[0].actual.contains("sendInvoice takes TERMINALID"), "{findings:?}");
        assert_eq!(with(|c| c.initiator_principal_id = None).check(&PrincipalType).len(), 1);
    }

    #[test]
    fn undecodable_requests_are_skipped() {
        let mut journal = Journal::new();
        journal.push(
            None,
            mock_glase::journal::Record::SoapRequest { path: "/x".into(), operation: None, body: "<nope".into() },
        );
        assert_eq!(journal.check_all(), vec![]);
    }
}

#[cfg(test)]
mod declared_company {
    use glase_protocol::PaymentMode;

    use super::*;
    use crate::rules::CheckContext;
    use crate::rules::support::testing::{DEADLINE, Journal, context, invoice};

    fn findings(sent: &str, company: Option<&str>) -> Vec<Finding> {
        let mut ctx = context();
        ctx.client_id = Some(sent.to_owned());
        let mut journal = Journal::new();
        journal.send_invoice_with("1", invoice(PaymentMode::ImmediateDebit, &["1.00"]), ctx);
        let check = CheckContext {
            journal: &journal.entries,
            status_deadline: DEADLINE,
            profile: "pos",
            cut_at_ms: None,
            company,
        };
        ClientId.check(&View::new(&check))
    }

    #[test]
    fn a_declared_company_must_be_the_client_id_of_every_call() {
        assert_eq!(findings("Other Corp", None), vec![], "undeclared: any clientId will do");
        assert_eq!(findings(" acme ab ", Some("Acme AB")), vec![], "case and spaces aside");
        let wrong = findings("Other Corp", Some("Acme AB"));
        assert_eq!(wrong.len(), 1, "{wrong:?}");
        assert!(wrong[0].expected.contains("\"Acme AB\"") && wrong[0].actual.contains("\"Other Corp\""), "{wrong:?}");
    }
}
