//! The simulated customer: scanning QR codes (an unattended machine's makes the UPS
//! call the merchant's createPurchase), confirming, cancelling, walking away, wallets.

use super::bodies::{journal_text, text_of};
use super::*;

impl Mock {
    /// Scans any QR code: an invoice's or a till's opens the invoice; an unattended
    /// machine's makes the UPS call the merchant's createPurchase and waits for it.
    pub async fn scan_qr(
        &self,
        qr: &str,
        msisdn: Option<&str>,
        options: &ScanOptions,
    ) -> Result<ScanResult, CustomerError> {
        match parse_qr(qr)? {
            QrTarget::Unattended { merchant_id, token } => {
                let (purchase, invoice) = self.unattended_purchase(&merchant_id, &token, msisdn, options).await?;
                Ok(ScanResult::Unattended { purchase, invoice })
            }
            _ => self.scan(qr, msisdn).map(ScanResult::Invoice),
        }
    }

    /// Scans an invoice QR code (or a till's sticker) and opens the invoice.
    pub fn scan(&self, qr: &str, msisdn: Option<&str>) -> Result<InvoiceView, CustomerError> {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let (reference, fx) = self.customer_action(&mut core, now, "scan", |m| m.scan(qr, msisdn, now))?;
        let view = view(&core.machine, &reference);
        self.finish(core, fx, now);
        view.ok_or(CustomerError::UnknownInvoice(reference))
    }

    /// The Unattended Payments Service at work: createPurchase, then judge the answer.
    pub async fn unattended_purchase(
        &self,
        merchant_id: &str,
        token: &str,
        msisdn: Option<&str>,
        options: &ScanOptions,
    ) -> Result<(PurchaseReport, Option<InvoiceView>), CustomerError> {
        let call = {
            let mut core = self.lock();
            let now = self.inner.clock.now();
            let (call, fx) = self.customer_action(&mut core, now, "createPurchase", |m| {
                m.begin_purchase(merchant_id, token, msisdn, options, now)
            })?;
            core.push_effects(now, None, None, &fx);
            if call.url.to_ascii_lowercase().starts_with("http://") {
                let detail = format!("createPurchase URL {} is plain http; production requires https", call.url);
                core.push_merchant(now, merchant_id, Record::Control { action: "warning".to_owned(), detail });
            }
            let record =
                Record::CreatePurchaseRequest { purchase: call.id, url: call.url.clone(), body: call.body.clone() };
            core.push_merchant(now, merchant_id, record);
            drop(core);
            self.deliver(fx.notifications);
            call
        };
        let answer = self.call_create_purchase(&call).await;
        let mut core = self.lock();
        let now = self.inner.clock.now();
        core.push_merchant(now, merchant_id, response_of(&call, &answer));
        let (report, fx) =
            self.customer_action(&mut core, now, "createPurchase", |m| m.finish_purchase(call.id, &answer, now))?;
        let invoice = match &report.outcome {
            crate::machine::ups::PurchaseOutcome::Accepted { invoice_reference } => {
                view(&core.machine, invoice_reference)
            }
            _ => None,
        };
        // Events of other merchants may come along (deadlines that fell due meanwhile):
        // each is filed under its own invoice's or purchase's merchant.
        core.push_effects(now, None, None, &fx);
        drop(core);
        self.deliver(fx.notifications);
        Ok((report, invoice))
    }

    /// POSTs createPurchase with the documented headers, honouring injected faults.
    pub(super) async fn call_create_purchase(&self, call: &PurchaseCall) -> PurchaseAnswer {
        let fault = {
            let mut core = self.lock();
            let now = self.inner.clock.now();
            let mut fx = Effects::default();
            let scope = CallScope { merchant: Some(&call.merchant_id), ..CallScope::default() };
            let fault = core.machine.fire_fault(FaultTarget::CreatePurchase, scope, &mut fx);
            core.push_effects(now, Some(&call.merchant_id), None, &fx);
            fault
        };
        match fault {
            Some(FaultAction::DropConnection) => {
                return PurchaseAnswer::Failed("not called: dropped by an injected fault".to_owned());
            }
            Some(FaultAction::Delay(delay)) => tokio::time::sleep(delay).await,
            _ => {}
        }
        let request = self
            .inner
            .http
            .post(&call.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, "application/json;charset=UTF-8")
            .timeout(self.inner.config.ups.timeout)
            .body(call.body.clone());
        match request.send().await {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let content_type = response
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                // The UPS timeout set above bounds the whole read, the cap its size.
                match read_capped(&mut response, self.inner.config.outbound.max_answer_bytes).await {
                    Ok(body) => PurchaseAnswer::Http { status, content_type, body: text_of(&body) },
                    Err(ReadError::TooLarge(limit)) => PurchaseAnswer::TooLarge { status, content_type, limit },
                    Err(ReadError::Read(error)) if error.is_timeout() => PurchaseAnswer::Timeout,
                    Err(error) => PurchaseAnswer::Failed(error_chain(&error)),
                }
            }
            Err(error) if error.is_timeout() => PurchaseAnswer::Timeout,
            Err(error) => PurchaseAnswer::Failed(error_chain(&error)),
        }
    }

    /// Enters a PIN (`None`: the customer's right PIN).
    pub fn confirm(
        &self,
        reference: &str,
        msisdn: Option<&str>,
        pin: Option<&str>,
    ) -> Result<(Confirmation, InvoiceView), CustomerError> {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let (confirmation, fx) =
            self.customer_action(&mut core, now, "confirm", |m| m.confirm(reference, msisdn, pin, now))?;
        let view = view(&core.machine, reference);
        self.finish(core, fx, now);
        Ok((confirmation, view.ok_or_else(|| CustomerError::UnknownInvoice(reference.to_owned()))?))
    }

    /// Cancels in the app.
    pub fn cancel(&self, reference: &str, msisdn: Option<&str>) -> Result<InvoiceView, CustomerError> {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let ((), fx) =
            self.customer_action(&mut core, now, "cancel", |m| Ok(((), m.customer_cancel(reference, msisdn, now)?)))?;
        let view = view(&core.machine, reference);
        self.finish(core, fx, now);
        view.ok_or_else(|| CustomerError::UnknownInvoice(reference.to_owned()))
    }

    /// Closes the app without answering.
    pub fn walk_away(&self, reference: &str) -> Result<InvoiceView, CustomerError> {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let ((), fx) = self.customer_action(&mut core, now, "walkAway", |m| Ok(((), m.walk_away(reference, now)?)))?;
        let view = view(&core.machine, reference);
        self.finish(core, fx, now);
        view.ok_or_else(|| CustomerError::UnknownInvoice(reference.to_owned()))
    }

    /// Creates or changes a simulated customer.
    pub fn set_customer(&self, msisdn: &str, pin: Option<&str>, balance: Option<Decimal>) -> Customer {
        let customer = self.lock().machine.set_customer(msisdn, pin, balance).clone();
        self.note("setCustomer", format!("{msisdn}: balance {}", customer.balance), None);
        customer
    }

    pub fn customer(&self, msisdn: &str) -> Option<Customer> {
        self.lock().machine.customer(msisdn).cloned()
    }

    /// Resolves an invoice reference from a QR code.
    pub fn resolve_qr(&self, qr: &str) -> Result<String, CustomerError> {
        self.lock().machine.resolve_qr(qr)
    }
}

fn response_of(call: &PurchaseCall, answer: &PurchaseAnswer) -> Record {
    let (http_status, content_type, body, error) = match answer {
        PurchaseAnswer::Http { status, content_type, body } => {
            (Some(*status), content_type.clone(), Some(journal_text(body.as_bytes())), None)
        }
        PurchaseAnswer::TooLarge { status, content_type, limit } => (
            Some(*status),
            content_type.clone(),
            None,
            Some(format!("answer larger than {limit} bytes: stopped reading and closed the connection")),
        ),
        PurchaseAnswer::Timeout => (None, None, None, Some("timed out".to_owned())),
        PurchaseAnswer::Failed(error) => (None, None, None, Some(error.clone())),
    };
    Record::CreatePurchaseResponse { purchase: call.id, http_status, content_type, body, error }
}
