//! The SOAP pipeline: decode a request, apply it to the machine under the lock, journal
//! both bodies, encode the answer, and act on injected transport faults.

use super::bodies::{journal_request_text, text_of};
use super::*;

impl Mock {
    /// Runs one SOAP request through the mock: decode, apply, journal, encode, and any
    /// injected delay. Never fails: bad input becomes a SOAP fault.
    pub async fn handle_soap(&self, path: &str, body: &[u8]) -> SoapAnswer {
        self.handle_soap_with(path, None, body).await
    }

    /// [`Self::handle_soap`] for a request with an HTTP `Content-Type`: its charset, if
    /// any, must agree with the message's own encoding labels (see
    /// [`glase_protocol::charset`]).
    pub async fn handle_soap_with(&self, path: &str, content_type: Option<&str>, body: &[u8]) -> SoapAnswer {
        let (answer, delay, notifications) = self.apply_soap(path, content_type.and_then(charset_of), body);
        if notifications.is_empty() && delay.is_none() {
            return answer;
        }
        // Early notifications go out before the merchant gets its answer: one
        // attempt, bounded by the notification timeout, so a slow endpoint cannot hold
        // the sendInvoice answer past the UPS timeout.
        let (early, later): (Vec<_>, Vec<_>) =
            notifications.into_iter().partition(|n| n.reason == NotificationReason::Early);
        for notification in &early {
            self.inner.notifier.deliver_once(self, notification).await;
        }
        self.deliver(later);
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        answer
    }

    /// Decodes, applies and journals; returns the answer as it will go on the wire (an
    /// injected transport fault already applied) and any delay to wait before sending.
    ///
    /// Only what must be atomic happens under the lock: applying the request and
    /// journaling it with its events and answer (so the journal's order is the machine's).
    /// Decoding and copying the request body for the journal happen before it.
    pub(super) fn apply_soap(
        &self,
        path: &str,
        charset: Option<&str>,
        body: &[u8],
    ) -> (SoapAnswer, Option<Duration>, Vec<Notification>) {
        let options = DecodeOptions { charset, lax: self.inner.config.wire.lax };
        let decoded = decode_request_with(body, &options);
        let request_text = journal_request_text(body, charset);
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let decoded = match decoded {
            Ok(decoded) => decoded,
            Err(error) => return (answer_undecodable(&mut core, now, path, request_text, &error), None, Vec::new()),
        };
        let request = &decoded.request;
        let op = request.operation().name();
        // Receipts and refunds name a payment; file them under its invoice too.
        let invoice = request
            .invoice_reference()
            .or_else(|| request.ers_reference().and_then(|ers| core.machine.invoice_of_ers(ers)))
            .map(str::to_owned);
        let claimed = crate::machine::auth::claimed_terminal(request.context());
        let outcome = self.apply_guarded(&mut core, now, &decoded, invoice.as_deref());
        let terminal = outcome.terminal.map(String::from).or(claimed);
        let merchant = outcome.merchant.as_deref();
        // A sendInvoice names its invoice only in the answer; file the request under it too.
        let invoice = invoice.or_else(|| issued_invoice(&outcome.effects));
        let record = Record::SoapRequest { path: path.to_owned(), operation: Some(op.to_owned()), body: request_text };
        core.push_for(now, merchant, terminal.as_deref(), invoice.as_deref(), record);
        let Effects { events, notifications, deviations } = outcome.effects;
        // What the codec tolerated, then what the machine did (and tolerated).
        let deviations = decoded.deviations.iter().cloned().chain(deviations);
        core.push_deviations(now, merchant, terminal.as_deref(), invoice.as_deref(), op, deviations);
        core.push_events(now, merchant, terminal.as_deref(), events);
        let (mut answer, fault, code) = encode_reply(&outcome.reply);
        let delay = apply_transport_fault(&mut answer, outcome.transport_fault);
        let record = response_record(Some(op.to_owned()), &answer, fault, code, delay);
        core.push_for(now, merchant, terminal.as_deref(), invoice.as_deref(), record);
        (answer, delay, notifications)
    }

    /// Applies a decoded request to the machine. Deadlines that fell due are fired first
    /// and their effects come first, as when `apply` fires them itself.
    pub(super) fn apply_guarded(
        &self,
        core: &mut Core,
        now: Timestamp,
        decoded: &Decoded,
        invoice: Option<&str>,
    ) -> Outcome {
        let request = &decoded.request;
        let op = request.operation().name();
        let (expired, applied) =
            self.guarded_action(core, now, op, invoice, |machine| machine.apply_decoded(decoded, now));
        let mut outcome = match applied {
            Ok(outcome) => outcome,
            // A bug (journaled by `guarded_action`): the request is refused as Glase
            // refuses what it cannot do **[decision]**.
            Err(_) => Outcome {
                reply: Reply::Response(Response::result(request.operation(), ResultCode::SYSTEM_ERROR)),
                terminal: None,
                effects: Effects::default(),
                transport_fault: None,
                merchant: core.machine.claimed_merchant(request.context()).map(SmolStr::from),
            },
        };
        outcome.effects = {
            let mut effects = expired;
            effects.append(outcome.effects);
            effects
        };
        outcome
    }
}

/// The invoice a sendInvoice issued, if any.
fn issued_invoice(fx: &Effects) -> Option<String> {
    fx.events.iter().find_map(|event| match event {
        crate::machine::Event::InvoiceIssued { invoice, .. } => Some(invoice.to_string()),
        _ => None,
    })
}

/// Journals a request that could not be decoded, and the SOAP fault that answers it.
fn answer_undecodable(
    core: &mut Core,
    now: Timestamp,
    path: &str,
    request_text: String,
    error: &CodecError,
) -> SoapAnswer {
    let fault = SoapFault::from_decode_error(error);
    let record = Record::SoapRequest { path: path.to_owned(), operation: None, body: request_text };
    core.push(now, None, None, record);
    let answer = fault_answer(&fault);
    core.push(now, None, None, response_record(None, &answer, Some(&fault), None, None));
    answer
}

/// The machine's reply as it goes on the wire, with the fault or the result code the
/// journal records of it.
fn encode_reply(reply: &Reply) -> (SoapAnswer, Option<&SoapFault>, Option<i32>) {
    match reply {
        Reply::Response(response) => {
            let mut out = Vec::with_capacity(512);
            encode_response(response, &mut out);
            (SoapAnswer { status: 200, body: out, drop_connection: false }, None, Some(response.result_code.0))
        }
        Reply::Fault(fault) => (fault_answer(fault), Some(fault), None),
    }
}

/// Carries out an injected transport fault on the answer; returns the delay to wait
/// before sending it, if that is the fault.
fn apply_transport_fault(answer: &mut SoapAnswer, fault: Option<TransportFault>) -> Option<Duration> {
    match fault {
        Some(TransportFault::Delay(delay)) => return Some(delay),
        Some(TransportFault::Drop) => answer.drop_connection = true,
        // A bare status without a body, like a failing proxy in front of Glase.
        Some(TransportFault::HttpStatus(status)) => {
            *answer = SoapAnswer { status, body: Vec::new(), drop_connection: false };
        }
        None => {}
    }
    None
}

fn fault_answer(fault: &SoapFault) -> SoapAnswer {
    let mut out = Vec::with_capacity(256);
    encode_fault(fault, &mut out);
    SoapAnswer { status: 500, body: out, drop_connection: false }
}

fn response_record(
    operation: Option<String>,
    answer: &SoapAnswer,
    fault: Option<&SoapFault>,
    code: Option<i32>,
    delay: Option<Duration>,
) -> Record {
    Record::SoapResponse {
        operation,
        http_status: answer.status,
        result_code: code,
        fault: fault.map(|f| f.string.clone()),
        body: text_of(&answer.body),
        dropped: answer.drop_connection,
        delayed_ms: delay.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    }
}
