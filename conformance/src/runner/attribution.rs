//! Whose journal entry is it, when scenarios share the embedded Glase (`--jobs N`).
//!
//! Every scenario of a run calls Glase as the same demo merchant through the same
//! terminal, so the journal's merchant and terminal tags cannot tell scenarios apart.
//! Invoices can: each entry about an invoice belongs to the scenario that made the
//! invoice. The runner makes that knowable: the steps that make the system under test
//! issue invoices (`scan`, `race`, `checkout`) take turns, one scenario at a time, and
//! each turn is recorded as a [`Window`] of journal positions. An invoice issued inside a
//! window is its owner's, and so is every entry about it, whenever it comes (receipts and
//! refunds are about the invoice of the payment they name); an entry that names no
//! invoice (a createPurchase call, a sendInvoice Glase refused) belongs to the window it
//! falls in.
//!
//! A scenario that runs alone (every scenario with `--jobs 1`) has a single window, its
//! whole run: what names no invoice (markTransactionPeriod, registerTerminal, injected
//! faults, createPurchase) is its own, and so is what is about an invoice issued
//! meanwhile, but not what is about an invoice issued before it started, though it
//! arrives now (a notification retry, a reversal, a late getPaymentStatus): that is
//! [`Owner::Earlier`], and dropped (see `run_one`).
//!
//! What cannot be attributed is not guessed away: an entry outside every window that
//! names no invoice, or names an invoice issued outside every window or unknown to Glase,
//! is shown to every scenario running when it was journaled. A correct system never
//! produces one (it issues invoices only when asked to), so the rules see exactly their
//! scenario's messages; a wrong one is reported in each scenario that could have caused it
//! rather than in none.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use mock_glase::journal::{Entry, Record};
use mock_glase::machine::Event;

/// A stretch of the journal in which only one scenario was making invoices:
/// the entries with `after < seq <= until` (`until` is `None` while it lasts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// The scenario's index in the run.
    pub owner: usize,
    pub after: u64,
    pub until: Option<u64>,
}

impl Window {
    fn contains(&self, seq: u64) -> bool {
        seq > self.after && self.until.is_none_or(|until| seq <= until)
    }
}

/// The turns of one run: who may make invoices now, and the windows so far.
#[derive(Debug, Default)]
pub(crate) struct Invoicing {
    turn: tokio::sync::Mutex<()>,
    windows: Mutex<Vec<Window>>,
}

/// A scenario's turn to make invoices; [`Invoicing::close`] ends it.
#[derive(Debug)]
pub(crate) struct Turn<'a> {
    _guard: tokio::sync::MutexGuard<'a, ()>,
    window: usize,
}

impl Invoicing {
    /// Waits for the turn, then opens a window for `owner` after journal position `now()`
    /// (read once the turn is ours, so no other scenario's invoice falls inside).
    pub async fn open(&self, owner: usize, now: impl FnOnce() -> u64) -> Turn<'_> {
        let guard = self.turn.lock().await;
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        windows.push(Window { owner, after: now(), until: None });
        Turn { _guard: guard, window: windows.len() - 1 }
    }

    /// Ends a turn at journal position `until`.
    pub fn close(&self, turn: Turn<'_>, until: u64) {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        windows[turn.window].until = Some(until);
    }

    /// The windows so far (the open one included).
    pub fn windows(&self) -> Vec<Window> {
        self.windows.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// Who an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    Scenario(usize),
    /// About an invoice issued before the scenario asking began: not its.
    Earlier,
    /// Cannot be told: every scenario running at the time.
    Anyone,
}

/// Attributes the entries of one scenario's stretch of the journal (every entry after
/// its start, in order).
#[derive(Debug)]
pub(crate) struct Attributor {
    windows: Vec<Window>,
    /// Invoice → the position of its InvoiceIssued entry, for invoices issued in the
    /// stretch seen so far.
    issued: HashMap<String, u64>,
    /// Payment (ersReference) → its invoice, for payments made in the stretch.
    payments: HashMap<String, String>,
}

impl Attributor {
    pub fn new(windows: Vec<Window>) -> Self {
        Self { windows, issued: HashMap::new(), payments: HashMap::new() }
    }

    /// Notes the invoices issued in `entries` (call with every entry before asking
    /// about them; more may follow).
    pub fn learn(&mut self, entries: &[Entry]) {
        for entry in entries {
            match &entry.record {
                Record::Machine { event: Event::InvoiceIssued { invoice, .. } } => {
                    self.issued.entry(invoice.to_string()).or_insert(entry.seq);
                }
                Record::Machine { event: Event::PaymentCreated { invoice, ers_reference, .. } } => {
                    self.payments.insert(ers_reference.to_string(), invoice.to_string());
                }
                _ => {}
            }
        }
    }

    /// Who `entry` belongs to. `known` says whether Glase knows an invoice reference
    /// (one it knows but that was not issued in this stretch was issued earlier).
    pub fn owner(&self, entry: &Entry, known: &dyn Fn(&str) -> bool) -> Owner {
        // The journal files receipt and refund events under no invoice: their payment's.
        let paid = match &entry.record {
            Record::Machine { event: Event::ReceiptSubmitted { ers_reference: payment, .. } }
            | Record::Machine { event: Event::RefundCreated { payment, .. } } => {
                match self.payments.get(payment.as_str()) {
                    Some(invoice) => Some(invoice.as_str()),
                    None => return Owner::Earlier,
                }
            }
            _ => None,
        };
        let seq = match entry.invoice.as_deref().or(paid) {
            None => entry.seq,
            Some(invoice) => match self.issued.get(invoice) {
                Some(&issued) => issued,
                None if known(invoice) => return Owner::Earlier,
                None => entry.seq,
            },
        };
        self.windows.iter().find(|w| w.contains(seq)).map_or(Owner::Anyone, |w| Owner::Scenario(w.owner))
    }

    /// Whether scenario `me` must see `entry`.
    pub fn is_for(&self, me: usize, entry: &Entry, known: &dyn Fn(&str) -> bool) -> bool {
        match self.owner(entry, known) {
            Owner::Scenario(owner) => owner == me,
            Owner::Anyone => true,
            Owner::Earlier => false,
        }
    }

    /// The invoices issued in `me`'s windows among those learnt.
    pub fn invoices_of(&self, me: usize) -> Vec<String> {
        let mut invoices: Vec<(u64, String)> = self
            .issued
            .iter()
            .filter(|&(_, &seq)| self.windows.iter().any(|w| w.owner == me && w.contains(seq)))
            .map(|(invoice, &seq)| (seq, invoice.clone()))
            .collect();
        invoices.sort_unstable();
        invoices.into_iter().map(|(_, invoice)| invoice).collect()
    }
}

/// The entries of `stretch` (a scenario's entries after its start) that scenario `me`
/// must see.
pub(crate) fn select(me: usize, windows: Vec<Window>, stretch: Vec<Entry>, known: &dyn Fn(&str) -> bool) -> Vec<Entry> {
    let mut attributor = Attributor::new(windows);
    attributor.learn(&stretch);
    stretch.into_iter().filter(|e| attributor.is_for(me, e, known)).collect()
}

#[cfg(test)]
mod tests {
    use glase_protocol::{InvoiceStatus, PaymentMode};
    use mock_glase::Timestamp;
    use rust_decimal::Decimal;

    use super::*;

    fn entry(seq: u64, invoice: Option<&str>, record: Record) -> Entry {
        Entry {
            seq,
            at: Timestamp(seq),
            time: String::new(),
            terminal: Some("demo-terminal".into()),
            invoice: invoice.map(str::to_owned),
            merchant: Some("glase-demo".into()),
            record,
        }
    }

    fn soap(seq: u64, invoice: Option<&str>, operation: &str) -> Entry {
        let record = Record::SoapRequest { path: "/".into(), operation: Some(operation.into()), body: String::new() };
        entry(seq, invoice, record)
    }

    fn issued(seq: u64, invoice: &str) -> Entry {
        let event = Event::InvoiceIssued {
            invoice: invoice.into(),
            terminal: "demo-terminal".into(),
            amount: Decimal::ONE,
            currency: "EUR".into(),
            payment_mode: PaymentMode::ReservationRequired,
        };
        entry(seq, Some(invoice), Record::Machine { event })
    }

    fn transition(seq: u64, invoice: &str) -> Entry {
        let event = Event::Transition {
            invoice: invoice.into(),
            from: InvoiceStatus::Issued,
            to: InvoiceStatus::Paid,
            reason: "test".into(),
        };
        entry(seq, Some(invoice), Record::Machine { event })
    }

    fn purchase(seq: u64, id: u64) -> Entry {
        entry(seq, None, Record::CreatePurchaseRequest { purchase: id, url: String::new(), body: String::new() })
    }

    fn seqs(entries: &[Entry]) -> Vec<u64> {
        entries.iter().map(|e| e.seq).collect()
    }

    /// Scenario 0 scans (window 10..=14, invoice A), scenario 1 checks out (window
    /// 14..=17, invoice B); afterwards their calls interleave.
    fn interleaved() -> (Vec<Window>, Vec<Entry>) {
        let windows =
            vec![Window { owner: 0, after: 10, until: Some(14) }, Window { owner: 1, after: 14, until: Some(17) }];
        let journal = vec![
            purchase(11, 1),
            soap(12, Some("A"), "sendInvoice"),
            issued(13, "A"),
            entry(
                14,
                None,
                Record::CreatePurchaseResponse {
                    purchase: 1,
                    http_status: Some(200),
                    content_type: None,
                    body: None,
                    error: None,
                },
            ),
            soap(15, Some("B"), "sendInvoice"),
            issued(16, "B"),
            soap(17, Some("A"), "getPaymentStatus"),
            soap(18, Some("B"), "getPaymentStatus"),
            transition(19, "A"),
            soap(20, Some("B"), "cancelInvoice"),
        ];
        (windows, journal)
    }

    #[test]
    fn entries_follow_their_invoice_to_the_scenario_that_issued_it() {
        let (windows, journal) = interleaved();
        let none = |_: &str| false;
        // Entry 17 falls in scenario 1's window but is about scenario 0's invoice.
        assert_eq!(seqs(&select(0, windows.clone(), journal.clone(), &none)), [11, 12, 13, 14, 17, 19]);
        assert_eq!(seqs(&select(1, windows, journal, &none)), [15, 16, 18, 20]);
    }

    #[test]
    fn entries_naming_no_invoice_belong_to_the_window_they_fall_in_or_to_anyone() {
        let windows = vec![Window { owner: 0, after: 0, until: Some(2) }, Window { owner: 1, after: 2, until: None }];
        let journal = vec![purchase(1, 1), soap(2, None, "sendInvoice"), purchase(3, 2), soap(9, None, "x")];
        let attributor = {
            let mut a = Attributor::new(windows);
            a.learn(&journal);
            a
        };
        let owners: Vec<Owner> = journal.iter().map(|e| attributor.owner(e, &|_| false)).collect();
        // The open window (scenario 1's) reaches to the end of the journal.
        assert_eq!(owners, [Owner::Scenario(0), Owner::Scenario(0), Owner::Scenario(1), Owner::Scenario(1)]);
        let after = vec![Window { owner: 0, after: 0, until: Some(2) }];
        assert_eq!(select(0, after.clone(), vec![soap(5, None, "x")], &|_| false).len(), 1);
        assert_eq!(select(3, after, vec![soap(5, None, "x")], &|_| false).len(), 1, "shown to anyone running");
    }

    #[test]
    fn receipts_and_refunds_follow_the_invoice_of_their_payment() {
        let windows = vec![Window { owner: 0, after: 0, until: Some(2) }];
        let payment = Event::PaymentCreated { invoice: "A".into(), ers_reference: "E1".into(), amount: Decimal::ONE };
        let receipt = Event::ReceiptSubmitted { ers_reference: "E1".into(), mime_type: None, bytes: 1 };
        let refund = Event::RefundCreated { payment: "E1".into(), refund: "R1".into(), amount: Decimal::ONE };
        let earlier = Event::RefundCreated { payment: "E0".into(), refund: "R0".into(), amount: Decimal::ONE };
        let stretch = vec![
            issued(1, "A"),
            entry(5, Some("A"), Record::Machine { event: payment }),
            entry(6, None, Record::Machine { event: receipt }),
            entry(7, None, Record::Machine { event: refund }),
            entry(8, None, Record::Machine { event: earlier }),
        ];
        assert_eq!(seqs(&select(0, windows.clone(), stretch.clone(), &|_| true)), [1, 5, 6, 7]);
        assert!(select(1, windows, stretch, &|_| true).is_empty(), "another scenario's, or an earlier payment's");
    }

    #[test]
    fn invoices_issued_before_the_stretch_are_someone_elses_and_unknown_ones_anyones() {
        let windows = vec![Window { owner: 0, after: 10, until: Some(12) }];
        let stretch = vec![soap(20, Some("OLD"), "getPaymentStatus"), soap(21, Some("BOGUS"), "getPaymentStatus")];
        let known = |invoice: &str| invoice == "OLD";
        assert_eq!(seqs(&select(5, windows, stretch, &known)), [21]);
    }

    #[test]
    fn an_invoice_issued_outside_every_window_is_shown_to_anyone_running() {
        let windows = vec![Window { owner: 0, after: 0, until: Some(2) }];
        let stretch = vec![issued(5, "STRAY"), soap(6, Some("STRAY"), "getPaymentStatus")];
        assert_eq!(select(7, windows.clone(), stretch.clone(), &|_| true).len(), 2);
        assert_eq!(select(0, windows, stretch, &|_| true).len(), 2);
    }

    /// Scenario 1 issued OLD in its turn (window 1..=5) and has been judged; scenario 2
    /// now runs alone, its whole run one window (from 10, still open).
    fn alone_after_an_earlier_scenario() -> (Vec<Window>, Vec<Entry>) {
        let windows = vec![Window { owner: 1, after: 1, until: Some(5) }, Window { owner: 2, after: 10, until: None }];
        let payment = Event::PaymentCreated { invoice: "NEW".into(), ers_reference: "E1".into(), amount: Decimal::ONE };
        let reversal = Event::Transition {
            invoice: "OLD".into(),
            from: InvoiceStatus::Paid,
            to: InvoiceStatus::Canceled,
            reason: "status deadline passed".into(),
        };
        let retry = Record::NotificationSent {
            url: String::new(),
            reason: "status".into(),
            attempt: 2,
            outcome: "delivered".into(),
            http_status: Some(200),
            last_attempt: true,
            sent_at_ms: None,
        };
        let refund = Event::RefundCreated { payment: "E1".into(), refund: "R1".into(), amount: Decimal::ONE };
        // A refund of OLD's payment (made before the stretch).
        let old_refund = Event::RefundCreated { payment: "E0".into(), refund: "R0".into(), amount: Decimal::ONE };
        let fault = Record::Control { action: "addFault".into(), detail: "sendInvoice → 90".into() };
        // The stretch of scenario 2: from its start.
        let stretch = vec![
            soap(11, None, "markTransactionPeriod"),
            entry(12, Some("OLD"), Record::Machine { event: reversal }),
            entry(13, Some("OLD"), retry),
            soap(14, Some("OLD"), "getPaymentStatus"),
            entry(15, None, fault),
            purchase(16, 7),
            soap(17, Some("NEW"), "sendInvoice"),
            issued(18, "NEW"),
            entry(19, Some("NEW"), Record::Machine { event: payment }),
            entry(20, None, Record::Machine { event: refund }),
            soap(21, None, "registerTerminal"),
            soap(22, Some("BOGUS"), "getPaymentStatus"),
            entry(23, None, Record::Machine { event: old_refund }),
        ];
        (windows, stretch)
    }

    #[test]
    fn a_scenario_running_alone_is_not_shown_late_entries_about_an_earlier_invoice() {
        let (windows, stretch) = alone_after_an_earlier_scenario();
        let known = |invoice: &str| invoice != "BOGUS";
        let mine = seqs(&select(2, windows.clone(), stretch.clone(), &known));
        let late = [12, 13, 14, 23];
        assert!(!mine.iter().any(|seq| late.contains(seq)), "OLD's reversal, retry, poll and refund: {mine:?}");
        let attributor = {
            let mut a = Attributor::new(windows);
            a.learn(&stretch);
            a
        };
        for seq in late {
            let late = stretch.iter().find(|e| e.seq == seq).expect("in the stretch");
            assert_eq!(attributor.owner(late, &known), Owner::Earlier, "#{seq}");
        }
    }

    #[test]
    fn a_scenario_running_alone_owns_what_names_no_invoice_and_its_own_invoices() {
        let (windows, stretch) = alone_after_an_earlier_scenario();
        let known = |invoice: &str| invoice != "BOGUS";
        // markTransactionPeriod, the fault, createPurchase, registerTerminal name no
        // invoice; NEW is its own (the refund through its payment); BOGUS is unknown.
        assert_eq!(seqs(&select(2, windows, stretch, &known)), [11, 15, 16, 17, 18, 19, 20, 21, 22]);
    }

    #[test]
    fn a_scenario_knows_which_invoices_it_issued() {
        let (windows, journal) = interleaved();
        let mut attributor = Attributor::new(windows);
        attributor.learn(&journal);
        assert_eq!(attributor.invoices_of(0), ["A"]);
        assert_eq!(attributor.invoices_of(1), ["B"]);
        assert!(attributor.invoices_of(2).is_empty());
    }

    #[tokio::test]
    async fn turns_are_taken_one_at_a_time_and_recorded_as_windows() {
        let invoicing = std::sync::Arc::new(Invoicing::default());
        let first = invoicing.open(0, || 10).await;
        let waiting = {
            let invoicing = std::sync::Arc::clone(&invoicing);
            tokio::spawn(async move {
                let turn = invoicing.open(1, || 15).await;
                invoicing.close(turn, 20);
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(invoicing.windows(), [Window { owner: 0, after: 10, until: None }], "the second waits its turn");
        invoicing.close(first, 15);
        waiting.await.expect("the second turn");
        assert_eq!(
            invoicing.windows(),
            [Window { owner: 0, after: 10, until: Some(15) }, Window { owner: 1, after: 15, until: Some(20) }]
        );
    }
}
