//! What the mock holds, for the control API, the suite and tests: invoices, the
//! journal, merchants, terminals, deadlines. Each query takes the lock once and runs
//! nothing of the caller's under it.

use super::*;

impl Mock {
    pub fn invoice(&self, reference: &str) -> Option<InvoiceView> {
        view(&self.lock().machine, reference)
    }

    /// Whether the merchant has fetched the invoice's RESERVED or PAID status (or no
    /// fetch is due); `None` for an invoice the mock does not have. Copies nothing: for
    /// callers that poll it, as the load generator does for every flow.
    pub fn status_acknowledged(&self, reference: &str) -> Option<bool> {
        let core = self.lock();
        let record = core.machine.invoice(reference)?;
        Some(record.acknowledged_at.is_some() || record.status_deadline.is_none())
    }

    /// Every invoice, newest first, optionally of one terminal.
    pub fn invoices(&self, terminal: Option<&str>) -> Vec<InvoiceRecord> {
        self.newest_invoices(terminal, None, usize::MAX)
    }

    /// At most `limit` invoices, newest first, of one terminal and status if named. Only
    /// those are copied: the console asks for the newest 50 of a mock holding many.
    pub fn newest_invoices(&self, terminal: Option<&str>, status: Option<&str>, limit: usize) -> Vec<InvoiceRecord> {
        let core = self.lock();
        let mut list: Vec<&InvoiceRecord> = core
            .machine
            .invoices()
            .filter(|r| terminal.is_none_or(|t| r.terminal == t))
            .filter(|r| status.is_none_or(|s| r.status.as_str().eq_ignore_ascii_case(s)))
            .collect();
        list.sort_by(|a, b| b.issued_at.cmp(&a.issued_at).then(b.reference.cmp(&a.reference)));
        list.into_iter().take(limit).cloned().collect()
    }

    /// Journal entries matching `filter`, as owned copies (for tests and library users;
    /// they copy every entry they return, under the lock).
    pub fn journal(&self, filter: &Filter) -> Vec<Entry> {
        self.lock().journal.query(filter)
    }

    /// A page of shared journal entries (see [`Journal::page`]): cheap under the lock,
    /// serialized by the caller after it.
    pub fn journal_page(&self, filter: &Filter, until: Option<u64>, budget: usize) -> Page {
        self.lock().journal.page(filter, until, budget)
    }

    /// (entries kept, entries dropped, last sequence number).
    pub fn journal_stats(&self) -> (usize, u64, u64) {
        let core = self.lock();
        (core.journal.len(), core.journal.dropped(), core.journal.last_seq())
    }

    /// Estimated bytes the journal holds (bounded by `journal_max_bytes`).
    pub fn journal_bytes(&self) -> usize {
        self.lock().journal.bytes()
    }

    /// Follows the journal: the receiver sees each new last sequence number.
    pub fn journal_updates(&self) -> tokio::sync::watch::Receiver<u64> {
        self.lock().journal.subscribe()
    }

    /// Whether Glase knows (still keeps) the invoice: cheaper than [`Self::invoice`],
    /// which copies it.
    pub fn has_invoice(&self, reference: &str) -> bool {
        self.lock().machine.invoice(reference).is_some()
    }

    /// How many invoices are not final yet (ISSUED or RESERVED).
    pub fn open_invoices(&self) -> usize {
        self.lock().machine.invoices().filter(|r| !r.is_final()).count()
    }

    /// Each invoice of `reseller` Glase keeps: its status, and what was paid for it.
    pub fn invoice_outcomes(&self, reseller: &str) -> Vec<InvoiceOutcome> {
        let core = self.lock();
        let machine = &core.machine;
        machine
            .invoices()
            .filter(|r| r.reseller == reseller)
            .map(|r| InvoiceOutcome {
                reference: r.reference.to_string(),
                status: r.status,
                paid: r.ers_reference.as_deref().and_then(|ers| machine.payment(ers)).map(|p| p.amount),
            })
            .collect()
    }

    /// The reseller whose merchantId this is.
    pub fn merchant(&self, merchant_id: &str) -> Option<Reseller> {
        self.lock().machine.merchant(merchant_id).cloned()
    }

    /// Every reseller (merchant), configured or added at run time, by merchantId.
    pub fn merchants(&self) -> Vec<Reseller> {
        let mut merchants: Vec<Reseller> = self.lock().machine.resellers().cloned().collect();
        merchants.sort_by(|a, b| a.merchant_id.cmp(&b.merchant_id));
        merchants
    }

    /// Every terminal, configured or registered.
    pub fn terminals(&self) -> Vec<Terminal> {
        self.lock().machine.terminals().cloned().collect()
    }

    /// The msisdn of the customer who scans when a scan names none.
    pub fn default_customer(&self) -> String {
        self.lock().machine.default_customer().to_owned()
    }

    /// The deadlines in force (the configured ones times the deadline scale).
    pub fn deadlines(&self) -> Deadlines {
        self.lock().machine.deadlines()
    }

    pub fn deadline_scale(&self) -> f64 {
        self.lock().machine.deadline_scale()
    }
}
