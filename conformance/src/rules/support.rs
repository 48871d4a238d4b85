//! The journal as the rules read it: SOAP requests paired with their answers and
//! decoded, createPurchase calls with their answers, notification attempts, state
//! transitions, and what the merchant knew when. Built once per scenario.

use std::collections::HashMap;

use glase_protocol::purchase::PurchaseRequest;
use glase_protocol::request::rows_total;
use glase_protocol::{
    ClientContext, Decimal, Invoice, InvoiceStatus, Operation, PaymentMode, Reply, Request, Response, ResponseDetail,
    decode_reply, decode_request,
};
use mock_glase::journal::{Entry, Record};
use mock_glase::machine::Event;
use mock_glase::machine::ups::PurchaseOutcome;

use super::check::CheckContext;

/// A SOAP request and, when it was journaled, its answer.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub seq: u64,
    pub at: u64,
    /// The invoice the journal filed the request under.
    pub tag_invoice: Option<&'a str>,
    /// `None`: the body did not decode (a SOAP fault was the answer).
    pub request: Option<Request>,
    pub answer: Option<Answer>,
}

/// A SOAP answer as journaled.
#[derive(Debug)]
pub(crate) struct Answer {
    pub seq: u64,
    pub http_status: u16,
    pub result_code: Option<i32>,
    pub dropped: bool,
    /// Decoded `return` (absent for faults, bare 5xx and undecodable bodies).
    pub response: Option<Response>,
}

impl Call<'_> {
    pub fn op(&self) -> Option<Operation> {
        self.request.as_ref().map(Request::operation)
    }

    pub fn is(&self, op: Operation) -> bool {
        self.op() == Some(op)
    }

    pub fn context(&self) -> Option<&ClientContext> {
        self.request.as_ref().and_then(Request::context)
    }

    /// The invoice the call is about: named in the request, filed by the journal, or
    /// (sendInvoice) returned in the answer.
    pub fn invoice(&self) -> Option<&str> {
        self.request.as_ref().and_then(Request::invoice_reference).or(self.tag_invoice).or_else(|| {
            match self.answer.as_ref()?.response.as_ref()?.detail {
                ResponseDetail::SendInvoice { ref invoice_reference, .. } => invoice_reference.as_deref(),
                _ => None,
            }
        })
    }

    /// Glase processed it with SUCCESS (an answer dropped or delayed on the way back
    /// still counts: Glase's state changed).
    pub fn succeeded(&self) -> bool {
        self.answer.as_ref().is_some_and(|a| a.result_code == Some(0))
    }

    pub fn result_code(&self) -> Option<i32> {
        self.answer.as_ref().and_then(|a| a.result_code)
    }

    /// The invoice a sendInvoice/updateInvoice carried.
    pub fn sent_invoice(&self) -> Option<&Invoice> {
        match self.request.as_ref()? {
            Request::SendInvoice(r) => r.invoice.as_ref(),
            Request::UpdateInvoice(r) => r.invoice.as_ref(),
            _ => None,
        }
    }

    /// The status and version a successful getPaymentStatus told the merchant. An answer
    /// dropped on the way back told it nothing, so it does not count.
    pub fn status(&self) -> Option<(InvoiceStatus, i32)> {
        if !self.succeeded() || self.answer.as_ref().is_some_and(|a| a.dropped) {
            return None;
        }
        match self.answer.as_ref()?.response.as_ref()?.detail {
            ResponseDetail::PaymentStatus { status: Some(status), version, .. } => Some((status, version)),
            _ => None,
        }
    }

    /// The ersReference Glase returned (getPaymentStatus of a PAID invoice, commit).
    pub fn returned_ers_reference(&self) -> Option<&str> {
        self.answer.as_ref()?.response.as_ref()?.ers_reference.as_deref()
    }

    /// Evidence: the request and its answer.
    pub fn evidence(&self) -> Vec<u64> {
        let mut seqs = vec![self.seq];
        seqs.extend(self.answer.as_ref().map(|a| a.seq));
        seqs
    }

    pub fn label(&self) -> String {
        let op = self.op().map_or("(undecodable)", Operation::name);
        match self.result_code() {
            Some(code) => format!("#{} {op} (result {code})", self.seq),
            None => format!("#{} {op}", self.seq),
        }
    }
}

/// One createPurchase call of the UPS.
#[derive(Debug)]
pub(crate) struct Purchase {
    pub id: u64,
    pub seq: u64,
    pub token: Option<String>,
    pub amount: Option<Decimal>,
    pub currency: Option<String>,
    pub answer: Option<PurchaseAnswer>,
    /// The PurchaseEnded event: (seq, outcome).
    pub ended: Option<(u64, PurchaseOutcome)>,
}

impl Purchase {
    /// Purchase `id`, whose createPurchase `body` was journaled at `seq`. The UPS's own
    /// PurchaseStarted event carries the amount too; the body is what the merchant was
    /// told (nothing of it when it cannot be read).
    fn asked(id: u64, seq: u64, body: &str) -> Self {
        let request = PurchaseRequest::read(body.as_bytes()).ok();
        let (token, amount, currency) = match request {
            Some(r) => (Some(r.token), Some(r.amount), Some(r.currency)),
            None => (None, None, None),
        };
        Self { id, seq, token, amount, currency, answer: None, ended: None }
    }
}

/// The merchant's createPurchase answer as journaled.
#[derive(Debug)]
pub(crate) struct PurchaseAnswer {
    pub seq: u64,
    pub http_status: Option<u16>,
    pub content_type: Option<String>,
    pub body: Option<String>,
    pub error: Option<String>,
}

/// What an answer body says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AnswerBody {
    Reference(String),
    ErrorCode(String),
    /// Not a JSON object with exactly one string `invoiceReferenceId` or `errorCode`.
    Invalid(String),
}

impl Purchase {
    /// Journal positions between which the merchant's sendInvoice belongs to this call.
    pub fn window(&self) -> (u64, u64) {
        (self.seq, self.answer.as_ref().map_or(u64::MAX, |a| a.seq))
    }

    pub fn contains(&self, seq: u64) -> bool {
        let (from, to) = self.window();
        seq > from && seq < to
    }

    /// What the answer body says, when an HTTP answer came.
    pub fn body(&self) -> Option<AnswerBody> {
        let body = self.answer.as_ref()?.body.as_deref()?;
        let Ok(serde_json::Value::Object(object)) = serde_json::from_str::<serde_json::Value>(body) else {
            return Some(AnswerBody::Invalid("not a JSON object".to_owned()));
        };
        Some(match (object.get("invoiceReferenceId"), object.get("errorCode")) {
            (Some(_), Some(_)) => AnswerBody::Invalid("both invoiceReferenceId and errorCode".to_owned()),
            (None, None) => AnswerBody::Invalid("neither invoiceReferenceId nor errorCode".to_owned()),
            (Some(serde_json::Value::String(r)), None) => AnswerBody::Reference(r.clone()),
            (Some(other), None) => AnswerBody::Invalid(format!("invoiceReferenceId {other} is not a string")),
            (None, Some(serde_json::Value::String(code))) => AnswerBody::ErrorCode(code.clone()),
            (None, Some(other)) => AnswerBody::Invalid(format!("errorCode {other} is not a string")),
        })
    }

    /// The invoiceReferenceId the merchant answered, if any.
    pub fn answered_reference(&self) -> Option<String> {
        match self.body()? {
            AnswerBody::Reference(r) => Some(r),
            _ => None,
        }
    }

    pub fn evidence(&self) -> Vec<u64> {
        let mut seqs = vec![self.seq];
        seqs.extend(self.answer.as_ref().map(|a| a.seq));
        seqs
    }
}

/// One notification attempt.
#[derive(Debug)]
pub(crate) struct Notice<'a> {
    pub seq: u64,
    /// When its answer came (the entry's time).
    pub at: u64,
    /// When the POST went out: a getPaymentStatus before it was not its answer.
    pub sent_at: u64,
    pub invoice: Option<&'a str>,
    pub url: &'a str,
    pub reason: &'a str,
    pub outcome: &'a str,
    pub http_status: Option<u16>,
}

impl Notice<'_> {
    /// Answered 2xx: the merchant got it.
    pub fn delivered(&self) -> bool {
        self.http_status.is_some_and(|s| (200..300).contains(&s))
    }

    /// The mock did not even try (an injected drop, no runtime): nothing to judge.
    pub fn not_sent(&self) -> bool {
        self.outcome.starts_with("not sent")
    }
}

/// A state change of an invoice.
#[derive(Debug)]
pub(crate) struct Transition<'a> {
    pub seq: u64,
    pub at: u64,
    pub invoice: &'a str,
    pub to: InvoiceStatus,
    pub reason: &'a str,
}

/// Something that makes Glase notify: the machine's NotificationDue, or an extra
/// notification a test sent through the control API.
#[derive(Debug)]
pub(crate) struct Trigger<'a> {
    pub seq: u64,
    pub invoice: &'a str,
}

/// An invoice's total as Glase recorded it (issued or updated).
#[derive(Debug)]
pub(crate) struct AmountChange<'a> {
    pub seq: u64,
    pub invoice: &'a str,
    pub amount: Decimal,
}

/// The parsed journal of one scenario.
#[derive(Debug)]
pub(crate) struct View<'a> {
    pub status_deadline_ms: u64,
    /// The declared company (`--company`), whose name is certification's clientId.
    pub company: Option<&'a str>,
    pub calls: Vec<Call<'a>>,
    pub purchases: Vec<Purchase>,
    pub notices: Vec<Notice<'a>>,
    pub transitions: Vec<Transition<'a>>,
    pub triggers: Vec<Trigger<'a>>,
    pub amounts: Vec<AmountChange<'a>>,
    /// Invoice → (seq of InvoiceIssued, payment mode, currency).
    pub issued: HashMap<&'a str, (u64, PaymentMode, &'a str)>,
    /// How far the journal reaches (ms): its last entry, or when it was cut.
    pub end_at: u64,
}

impl<'a> View<'a> {
    pub fn new(ctx: &CheckContext<'a>) -> Self {
        let mut view = View {
            status_deadline_ms: u64::try_from(ctx.status_deadline.as_millis()).unwrap_or(u64::MAX),
            company: ctx.company,
            calls: Vec::new(),
            purchases: Vec::new(),
            notices: Vec::new(),
            transitions: Vec::new(),
            triggers: Vec::new(),
            amounts: Vec::new(),
            issued: HashMap::new(),
            end_at: 0,
        };
        let mut purchase_index: HashMap<u64, usize> = HashMap::new();
        let mut started: HashMap<u64, (String, Decimal)> = HashMap::new();
        for entry in ctx.journal {
            view.absorb(entry, &mut purchase_index, &mut started);
        }
        view.end_at = view.end_at.max(ctx.cut_at_ms.unwrap_or(0));
        for purchase in &mut view.purchases {
            if let Some((token, amount)) = started.remove(&purchase.id) {
                purchase.token = Some(token);
                purchase.amount = Some(amount);
            }
        }
        view
    }

    fn absorb(
        &mut self,
        entry: &'a Entry,
        purchase_index: &mut HashMap<u64, usize>,
        started: &mut HashMap<u64, (String, Decimal)>,
    ) {
        let (seq, at) = (entry.seq, entry.at.0);
        self.end_at = self.end_at.max(at);
        match &entry.record {
            Record::SoapRequest { body, .. } => self.calls.push(Call {
                seq,
                at,
                tag_invoice: entry.invoice.as_deref(),
                request: decode_request(body.as_bytes()).ok(),
                answer: None,
            }),
            Record::SoapResponse { http_status, result_code, body, dropped, .. } => {
                // The mock journals an answer right after its request (under one lock):
                // it belongs to the latest call still waiting for one.
                if let Some(call) = self.calls.iter_mut().rev().find(|c| c.answer.is_none()) {
                    let response = match decode_reply(body.as_bytes()) {
                        Ok(Reply::Response(response)) => Some(response),
                        _ => None,
                    };
                    call.answer = Some(Answer {
                        seq,
                        http_status: *http_status,
                        result_code: *result_code,
                        dropped: *dropped,
                        response,
                    });
                }
            }
            Record::CreatePurchaseRequest { purchase, body, .. } => {
                purchase_index.insert(*purchase, self.purchases.len());
                self.purchases.push(Purchase::asked(*purchase, seq, body));
            }
            Record::CreatePurchaseResponse { purchase, http_status, content_type, body, error } => {
                if let Some(p) = purchase_index.get(purchase).and_then(|i| self.purchases.get_mut(*i)) {
                    p.answer = Some(PurchaseAnswer {
                        seq,
                        http_status: *http_status,
                        content_type: content_type.clone(),
                        body: body.clone(),
                        error: error.clone(),
                    });
                }
            }
            Record::NotificationSent { url, reason, outcome, http_status, sent_at_ms, .. } => {
                self.notices.push(Notice {
                    seq,
                    at,
                    sent_at: sent_at_ms.unwrap_or(at).min(at),
                    invoice: entry.invoice.as_deref(),
                    url,
                    reason,
                    outcome,
                    http_status: *http_status,
                })
            }
            Record::Control { action, .. } if action == "sendNotification" => {
                if let Some(invoice) = entry.invoice.as_deref() {
                    self.triggers.push(Trigger { seq, invoice });
                }
            }
            Record::Control { .. } | Record::WireDeviation { .. } => {}
            Record::Machine { event } => self.absorb_event(seq, at, event, purchase_index, started),
        }
    }

    fn absorb_event(
        &mut self,
        seq: u64,
        at: u64,
        event: &'a Event,
        purchase_index: &HashMap<u64, usize>,
        started: &mut HashMap<u64, (String, Decimal)>,
    ) {
        match event {
            Event::Transition { invoice, to, reason, .. } => {
                self.transitions.push(Transition { seq, at, invoice, to: *to, reason });
            }
            Event::InvoiceIssued { invoice, amount, currency, payment_mode, .. } => {
                self.issued.insert(invoice, (seq, *payment_mode, currency));
                self.amounts.push(AmountChange { seq, invoice, amount: *amount });
            }
            Event::InvoiceUpdated { invoice, amount } => {
                self.amounts.push(AmountChange { seq, invoice, amount: *amount });
            }
            Event::NotificationDue { invoice, .. } => self.triggers.push(Trigger { seq, invoice }),
            Event::PurchaseStarted { purchase, token, amount, .. } => {
                started.insert(*purchase, (token.clone(), *amount));
            }
            Event::PurchaseEnded { purchase, outcome, .. } => {
                if let Some(p) = purchase_index.get(purchase).and_then(|p| self.purchases.get_mut(*p)) {
                    p.ended = Some((seq, outcome.clone()));
                }
            }
            _ => {}
        }
    }

    // ---- questions the rules ask ----

    /// Calls of one operation, in journal order.
    pub fn calls_of(&self, op: Operation) -> impl DoubleEndedIterator<Item = &Call<'a>> {
        self.calls.iter().filter(move |c| c.is(op))
    }

    /// Calls about one invoice, in journal order.
    pub fn calls_about<'v>(&'v self, invoice: &'v str) -> impl DoubleEndedIterator<Item = &'v Call<'a>> {
        self.calls.iter().filter(move |c| c.invoice() == Some(invoice))
    }

    /// The invoice's state at Glase just before `seq`: its latest transition, else
    /// ISSUED once issued, else unknown.
    pub fn state_before(&self, invoice: &str, seq: u64) -> Option<InvoiceStatus> {
        self.transitions
            .iter()
            .rfind(|t| t.invoice == invoice && t.seq < seq)
            .map(|t| t.to)
            .or_else(|| self.issued.get(invoice).filter(|(s, _, _)| *s < seq).map(|_| InvoiceStatus::Issued))
    }

    /// The invoice's payment mode: from Glase's record, else from the sendInvoice.
    pub fn payment_mode(&self, invoice: &str) -> Option<PaymentMode> {
        self.issued.get(invoice).map(|(_, mode, _)| *mode).or_else(|| {
            self.calls_of(Operation::SendInvoice)
                .find(|c| c.invoice() == Some(invoice))
                .and_then(|c| c.sent_invoice()?.payment_mode)
        })
    }

    pub fn reserves(&self, invoice: &str) -> bool {
        self.payment_mode(invoice).is_some_and(PaymentMode::reserves)
    }

    /// What the merchant had been told about the invoice's state before `seq`: the
    /// latest getPaymentStatus answer, or the outcome of its own successful commit
    /// (PAID) or cancel (CANCELED).
    pub fn known_state(&self, invoice: &str, seq: u64) -> Option<InvoiceStatus> {
        self.calls_about(invoice).filter(|c| c.seq < seq).filter_map(Self::told).next_back()
    }

    /// What the merchant knew about the invoice when a notification's POST went out:
    /// everything before the notification's cause, and what calls answered after the
    /// cause but before the POST told it (a poll that read CANCELED there already knows
    /// the invoice is over).
    pub fn known_state_when_sent(
        &self,
        invoice: &str,
        trigger: &Trigger<'_>,
        notice: &Notice<'_>,
    ) -> Option<InvoiceStatus> {
        self.calls_about(invoice)
            .filter(|c| c.seq < trigger.seq || (c.seq < notice.seq && c.at < notice.sent_at))
            .filter_map(Self::told)
            .next_back()
    }

    fn told(call: &Call<'_>) -> Option<InvoiceStatus> {
        match call.op()? {
            Operation::GetPaymentStatus => call.status().map(|(s, _)| s),
            Operation::CommitReservation if call.succeeded() => Some(InvoiceStatus::Paid),
            Operation::CancelInvoice if call.succeeded() => Some(InvoiceStatus::Canceled),
            Operation::CancelInvoice if call.result_code() == Some(95) => Some(InvoiceStatus::Canceled),
            Operation::CancelInvoice if call.result_code() == Some(50) => Some(InvoiceStatus::Paid),
            _ => None,
        }
    }

    /// Whether a getPaymentStatus answer said RESERVED before `seq`.
    pub fn seen_reserved(&self, invoice: &str, seq: u64) -> bool {
        self.calls_about(invoice)
            .filter(|c| c.seq < seq && c.is(Operation::GetPaymentStatus))
            .any(|c| c.status().is_some_and(|(s, _)| s == InvoiceStatus::Reserved))
    }

    /// The amount Glase reserved: the invoice's total when it became RESERVED.
    pub fn reserved_amount(&self, invoice: &str) -> Option<(u64, Decimal)> {
        let reserved = self.transitions.iter().find(|t| t.invoice == invoice && t.to == InvoiceStatus::Reserved)?.seq;
        let amount = self.amounts.iter().rfind(|a| a.invoice == invoice && a.seq < reserved)?.amount;
        Some((reserved, amount))
    }

    /// The latest trigger of a notification for the invoice before `seq`.
    pub fn trigger_before(&self, invoice: &str, seq: u64) -> Option<&Trigger<'a>> {
        self.triggers.iter().rfind(|t| t.invoice == invoice && t.seq < seq)
    }

    /// The notificationUrls the merchant gave for the invoice.
    /// Whether the merchant could know the invoice's reference: false when its
    /// sendInvoice (in this journal) was processed but the answer never reached the
    /// merchant (dropped, or a fault instead), so it cannot ask about it.
    pub fn reference_known(&self, invoice: &str) -> bool {
        let sent = self.calls_of(Operation::SendInvoice).find(|c| c.invoice() == Some(invoice));
        sent.is_none_or(|call| call.answer.as_ref().is_some_and(|a| !a.dropped && a.result_code == Some(0)))
    }

    pub fn notification_urls<'v>(&'v self, invoice: &'v str) -> Vec<&'v str> {
        self.calls_about(invoice).filter_map(|c| c.sent_invoice()?.notification_url.as_deref()).collect()
    }

    /// Successful sendInvoice calls attributed to a purchase: made during its call,
    /// and unambiguous (no other call open then), or named by its answer.
    pub fn purchase_invoices(&self, purchase: &Purchase) -> Vec<&Call<'a>> {
        let named = purchase.answered_reference();
        self.calls_of(Operation::SendInvoice)
            .filter(|c| c.succeeded() && purchase.contains(c.seq))
            .filter(|c| {
                let open = self.purchases.iter().filter(|p| p.contains(c.seq)).count();
                open == 1 || (named.is_some() && c.invoice() == named.as_deref())
            })
            .collect()
    }
}

/// The sum of the invoice's rows, when every row has an amount.
pub(crate) fn invoice_rows_total(invoice: &Invoice) -> Option<Decimal> {
    invoice.invoice_rows.as_deref().filter(|rows| !rows.is_empty()).and_then(rows_total)
}

/// `#12 sendInvoice: 30; #15 getPaymentStatus: 30; … (and 3 more)`.
pub(crate) fn list(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = items.iter().take(SHOWN).cloned().collect::<Vec<_>>().join("; ");
    if items.len() > SHOWN {
        text.push_str(&format!("; … and {} more", items.len() - SHOWN));
    }
    text
}

/// The one invoice all offending calls share, if they do.
pub(crate) fn common_invoice<'c>(calls: impl IntoIterator<Item = Option<&'c str>>) -> Option<&'c str> {
    let mut iter = calls.into_iter();
    let first = iter.next()??;
    iter.all(|i| i == Some(first)).then_some(first)
}

/// `12.50 EUR` or what is there of it.
pub(crate) fn money(value: Option<Decimal>, currency: Option<&str>) -> String {
    match (value, currency) {
        (Some(v), Some(c)) => format!("{v} {c}"),
        (Some(v), None) => format!("{v} (no currency)"),
        (None, Some(c)) => format!("(no value) {c}"),
        (None, None) => "(none)".to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Hand-built journals for the rules' unit tests.
    use std::time::Duration;

    use glase_protocol::request::{CommitReservation, GetPaymentStatus, SendInvoice, UpdateInvoice};
    use glase_protocol::{
        AcknowledgmentMode, Amount, ClientContext, Decimal, Invoice, InvoiceRow, InvoiceStatus, Operation, PaymentMode,
        PrincipalId, Request, Response, ResponseDetail, ResultCode, encode_request, encode_response,
    };
    use mock_glase::Timestamp;
    use mock_glase::journal::{Entry, Record};
    use mock_glase::machine::Event;
    use mock_glase::machine::ups::PurchaseOutcome;

    use crate::results::Finding;
    use crate::rules::{CheckContext, RULES, Rule, support::View};

    pub const DEADLINE: Duration = Duration::from_secs(20);

    pub fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    /// A context as the reference reseller sends it.
    pub fn context() -> ClientContext {
        ClientContext {
            channel: Some("WS".into()),
            client_comment: None,
            client_id: Some("Test AB".into()),
            client_reference: Some("test-1".into()),
            client_request_timeout: Some(0),
            initiator_principal_id: Some(PrincipalId {
                id: Some("demo-terminal".into()),
                kind: Some("TERMINALID".into()),
                user_id: None,
            }),
            password: Some("demo1234".into()),
        }
    }

    pub fn row(total: &str) -> InvoiceRow {
        InvoiceRow {
            item_description: Some("Cola".into()),
            item_quantity: Some(Decimal::ONE),
            item_total_amount: Some(Amount::new(d(total), "EUR")),
            ..InvoiceRow::default()
        }
    }

    /// A complete invoice: one row per amount, total their sum.
    pub fn invoice(mode: PaymentMode, rows: &[&str]) -> Invoice {
        let total = rows.iter().map(|r| d(r)).sum();
        Invoice {
            payment_mode: Some(mode),
            acknowledgment_mode: Some(AcknowledgmentMode::NoAcknowledgment),
            issue_date: Some("2026-11-23T18:14:51Z".into()),
            title: Some("Lobby".into()),
            client_invoice_id: Some("p-1".into()),
            invoice_rows: Some(rows.iter().map(|r| row(r)).collect()),
            total_amount: Some(Amount::new(total, "EUR")),
            cashier_id: Some("machine-1".into()),
            notification_url: Some("https://shop.example/notify/abc".into()),
            ..Invoice::default()
        }
    }

    /// Builds a journal entry by entry, numbering and timing them.
    #[derive(Debug, Default)]
    pub struct Journal {
        pub entries: Vec<Entry>,
        pub now: u64,
        /// When the latest notification was due: its POST goes out then.
        pub due_at: u64,
    }

    impl Journal {
        pub fn new() -> Self {
            Self { entries: Vec::new(), now: 1_000_000, due_at: 1_000_000 }
        }

        pub fn advance(&mut self, ms: u64) -> &mut Self {
            self.now += ms;
            self
        }

        pub fn push(&mut self, invoice: Option<&str>, record: Record) -> u64 {
            let seq = self.entries.len() as u64 + 1;
            self.entries.push(Entry {
                seq,
                at: Timestamp(self.now),
                time: String::new(),
                terminal: Some("demo-terminal".into()),
                invoice: invoice.map(str::to_owned),
                merchant: Some("glase-demo".into()),
                record,
            });
            seq
        }

        pub fn event(&mut self, event: Event) -> u64 {
            let invoice = event.invoice().map(str::to_owned);
            self.push(invoice.as_deref(), Record::Machine { event })
        }

        /// A request and its answer; returns the request's seq.
        pub fn soap(&mut self, invoice: Option<&str>, request: &Request, response: &Response) -> u64 {
            let mut body = Vec::new();
            encode_request(request, &mut body);
            let op = request.operation().name().to_owned();
            let seq = self.push(
                invoice,
                Record::SoapRequest {
                    path: "/extclientproxy/service/v2".into(),
                    operation: Some(op.clone()),
                    body: String::from_utf8(body).unwrap(),
                },
            );
            let mut out = Vec::new();
            encode_response(response, &mut out);
            self.push(
                invoice,
                Record::SoapResponse {
                    operation: Some(op),
                    http_status: 200,
                    result_code: Some(response.result_code.0),
                    fault: None,
                    body: String::from_utf8(out).unwrap(),
                    dropped: false,
                    delayed_ms: None,
                },
            );
            seq
        }

        pub fn send_invoice(&mut self, reference: &str, invoice: Invoice) -> u64 {
            self.send_invoice_with(reference, invoice, context())
        }

        pub fn send_invoice_with(&mut self, reference: &str, invoice: Invoice, context: ClientContext) -> u64 {
            let amount = invoice.total_amount.as_ref().and_then(|a| a.value).unwrap_or_default();
            let mode = invoice.payment_mode.unwrap_or(PaymentMode::ImmediateDebit);
            let request =
                Request::SendInvoice(SendInvoice { context: Some(context), invoice: Some(invoice), tokens: vec![] });
            let response = Response::success(
                Operation::SendInvoice,
                ResponseDetail::SendInvoice {
                    invoice_qr_code: Some(format!("HTTP://SEQR.SE/R{reference}")),
                    invoice_reference: Some(reference.into()),
                },
            );
            let seq = self.soap(Some(reference), &request, &response);
            self.event(Event::InvoiceIssued {
                invoice: reference.into(),
                terminal: "demo-terminal".into(),
                amount,
                currency: "EUR".into(),
                payment_mode: mode,
            });
            seq
        }

        pub fn update_invoice(&mut self, reference: &str, invoice: Invoice, code: i32) -> u64 {
            let amount = invoice.total_amount.as_ref().and_then(|a| a.value).unwrap_or_default();
            let request = Request::UpdateInvoice(UpdateInvoice {
                context: Some(context()),
                invoice_reference: Some(reference.into()),
                invoice: Some(invoice),
                tokens: vec![],
            });
            let seq =
                self.soap(Some(reference), &request, &Response::result(Operation::UpdateInvoice, ResultCode(code)));
            if code == 0 {
                self.event(Event::InvoiceUpdated { invoice: reference.into(), amount });
            }
            seq
        }

        pub fn status(
            &mut self,
            reference: &str,
            sent_version: Option<i32>,
            status: InvoiceStatus,
            version: i32,
        ) -> u64 {
            let request = Request::GetPaymentStatus(GetPaymentStatus {
                context: Some(context()),
                invoice_reference: Some(reference.into()),
                invoice_version: sent_version,
            });
            let response = Response::success(
                Operation::GetPaymentStatus,
                ResponseDetail::PaymentStatus { status: Some(status), receipt: None, customer_tokens: None, version },
            );
            self.soap(Some(reference), &request, &response)
        }

        pub fn commit(&mut self, reference: &str, amount: Option<&str>, code: i32) -> u64 {
            let request = Request::CommitReservation(CommitReservation {
                context: Some(context()),
                invoice_reference: Some(reference.into()),
                amount: amount.map(|a| Amount::new(d(a), "EUR")),
            });
            let mut response = Response::result(Operation::CommitReservation, ResultCode(code));
            if code == 0 {
                response = response.with_ers_reference("2015102910184861801032678");
            }
            self.soap(Some(reference), &request, &response)
        }

        pub fn transition(&mut self, reference: &str, from: InvoiceStatus, to: InvoiceStatus, reason: &str) -> u64 {
            self.event(Event::Transition { invoice: reference.into(), from, to, reason: reason.into() })
        }

        /// The machine's NotificationDue and the attempt's journal entry.
        pub fn notify(&mut self, reference: &str, http_status: Option<u16>) -> u64 {
            self.due(reference);
            self.notice(reference, http_status)
        }

        /// The machine's NotificationDue (comes with the transition that causes it).
        pub fn due(&mut self, reference: &str) -> u64 {
            self.due_at = self.now;
            self.event(Event::NotificationDue {
                invoice: reference.into(),
                url: "https://shop.example/notify/abc".into(),
                reason: "confirmed".into(),
            })
        }

        pub fn notice(&mut self, reference: &str, http_status: Option<u16>) -> u64 {
            self.push(
                Some(reference),
                Record::NotificationSent {
                    url: "https://shop.example/notify/abc".into(),
                    reason: "confirmed".into(),
                    attempt: 1,
                    outcome: http_status.map_or("failed: connection refused".into(), |s| format!("HTTP {s}")),
                    http_status,
                    last_attempt: true,
                    sent_at_ms: Some(self.due_at),
                },
            )
        }

        /// A createPurchase request (seed dialect) with its PurchaseStarted event.
        pub fn purchase_request(&mut self, id: u64, token: &str, amount: &str, currency: &str) -> u64 {
            self.event(Event::PurchaseStarted {
                purchase: id,
                merchant_id: "glase-demo".into(),
                token: token.into(),
                amount: d(amount),
                msisdn: "483344323423".into(),
            });
            let body = format!(r#"{{"token":"{token}","amount":{amount},"currency":"{currency}","msisdn":"1"}}"#);
            self.push(
                None,
                Record::CreatePurchaseRequest { purchase: id, url: "https://r/createPurchase".into(), body },
            )
        }

        pub fn purchase_answer(&mut self, id: u64, status: u16, content_type: &str, body: &str) -> u64 {
            self.push(
                None,
                Record::CreatePurchaseResponse {
                    purchase: id,
                    http_status: Some(status),
                    content_type: Some(content_type.into()),
                    body: Some(body.into()),
                    error: None,
                },
            )
        }

        pub fn purchase_ended(&mut self, id: u64, outcome: PurchaseOutcome) -> u64 {
            self.event(Event::PurchaseEnded { purchase: id, merchant_id: "glase-demo".into(), outcome })
        }

        /// A whole accepted purchase: request, sendInvoice, answer, ended.
        pub fn accepted_purchase(&mut self, id: u64, token: &str, reference: &str, invoice: Invoice) {
            let amount = invoice.total_amount.as_ref().and_then(|a| a.value).unwrap_or_default().to_string();
            self.purchase_request(id, token, &amount, "EUR");
            self.send_invoice(reference, invoice);
            let body = format!(r#"{{"invoiceReferenceId":"{reference}"}}"#);
            self.purchase_answer(id, 200, "application/json;charset=UTF-8", &body);
            self.purchase_ended(id, PurchaseOutcome::Accepted { invoice_reference: reference.into() });
        }

        /// A correct vend from scan to commit: reserved 20.00, vended 6.20.
        pub fn correct_vend(&mut self, reference: &str) {
            self.accepted_purchase(1, "machine-1", reference, invoice(PaymentMode::ReservationRequired, &["20.00"]));
            self.advance(1000);
            self.transition(
                reference,
                InvoiceStatus::Issued,
                InvoiceStatus::Reserved,
                "customer confirmed reservation",
            );
            self.due(reference);
            self.advance(50);
            self.status(reference, Some(0), InvoiceStatus::Reserved, 1);
            self.notice(reference, Some(200));
            self.advance(2000);
            self.update_invoice(reference, invoice(PaymentMode::ReservationRequired, &["5.00", "1.20"]), 0);
            self.commit(reference, Some("6.20"), 0);
            self.transition(reference, InvoiceStatus::Reserved, InvoiceStatus::Paid, "reservation committed");
        }

        /// A correct webshop payment: polled, paid, fetched, refunded once.
        pub fn correct_payment(&mut self, reference: &str) {
            self.send_invoice(reference, invoice(PaymentMode::ImmediateDebit, &["149.99"]));
            for _ in 0..3 {
                self.advance(1000);
                self.status(reference, Some(0), InvoiceStatus::Issued, 0);
            }
            self.advance(400);
            self.transition(reference, InvoiceStatus::Issued, InvoiceStatus::Paid, "customer confirmed payment");
            self.due(reference);
            self.advance(30);
            self.status(reference, Some(0), InvoiceStatus::Paid, 1);
            self.notice(reference, Some(200));
        }

        /// The journal as the rules see it: every profile, the 20 s deadline, nothing declared.
        fn context(&self) -> CheckContext<'_> {
            CheckContext {
                journal: &self.entries,
                status_deadline: DEADLINE,
                profile: "all",
                cut_at_ms: None,
                company: None,
            }
        }

        pub fn check(&self, rule: &dyn Rule) -> Vec<Finding> {
            rule.check(&View::new(&self.context()))
        }

        /// Every journal rule's findings.
        pub fn check_all(&self) -> Vec<Finding> {
            crate::rules::check_all(&self.context())
        }
    }

    /// The ids of the rules that found something.
    pub fn ids(findings: &[Finding]) -> Vec<&str> {
        let mut ids: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    #[test]
    fn odd_journals_do_not_panic() {
        let mut journal = Journal::new();
        // Answers without requests, a purchase answer for no request, time going back,
        // notifications and transitions about invoices nobody issued, garbage bodies.
        journal.push(
            Some("9"),
            Record::SoapResponse {
                operation: Some("commitReservation".into()),
                http_status: 200,
                result_code: Some(0),
                fault: None,
                body: "<not xml".into(),
                dropped: true,
                delayed_ms: Some(5),
            },
        );
        journal.purchase_answer(7, 200, "application/json", "[]");
        journal.push(None, Record::CreatePurchaseRequest { purchase: 8, url: String::new(), body: "{".into() });
        journal.purchase_answer(8, 200, "application/json", r#"{"invoiceReferenceId":"1"}"#);
        journal.now = 5;
        journal.transition("1", InvoiceStatus::Issued, InvoiceStatus::Paid, "confirmed");
        journal.notify("1", Some(200));
        journal.transition("1", InvoiceStatus::Paid, InvoiceStatus::Canceled, "reversed: status not fetched");
        journal.commit("1", Some("-1"), 96);
        journal.push(
            None,
            Record::NotificationSent {
                url: String::new(),
                reason: String::new(),
                attempt: 0,
                outcome: String::new(),
                http_status: None,
                last_attempt: true,
                sent_at_ms: None,
            },
        );
        journal.now = 1;
        journal.status("1", None, InvoiceStatus::Paid, 3);
        let findings = journal.check_all();
        assert!(findings.iter().any(|f| f.rule == "STATUS-BEFORE-DEADLINE"), "{findings:?}");
        let empty = CheckContext {
            journal: &[],
            status_deadline: Duration::ZERO,
            profile: "nonsense",
            cut_at_ms: None,
            company: None,
        };
        assert_eq!(crate::rules::check_all(&empty), vec![]);
    }

    #[test]
    fn a_correct_vend_and_a_correct_payment_break_no_rule() {
        let mut journal = Journal::new();
        journal.correct_vend("100001");
        journal.correct_payment("100002");
        journal.advance(30_000).push(None, Record::Control { action: "test".into(), detail: "end".into() });
        assert_eq!(journal.check_all(), vec![]);
        assert!(RULES.len() > 30);
    }
}
