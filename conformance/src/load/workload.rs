//! One customer's flow, step by step, each step timed from the customer's (or the
//! machine's) side. Unattended: the customer scans the machine (the mock's UPS calls
//! the reseller's createPurchase, which sends the reservation invoice), then confirms,
//! cancels, enters a wrong PIN first, walks away, or cannot pay; the reseller fetches
//! the status and unlocks; the machine (the driver) vends, which makes the reseller
//! send updateInvoice and commitReservation. Webshop: a checkout through the shop
//! driver, paid in the app, until the shop says paid.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mock_glase::machine::customer::Confirmation;
use mock_glase::machine::ups::PurchaseOutcome;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::glase::Glase;
use super::invariants::Vend;
use super::options::FlowKind;
use super::stats::{Side, Stats};
use super::target::{CustomerInfo, MachineInfo, WRONG_PIN};
use crate::drivers::{Answer, Counter, DriverClient as Driver, Unreachable};
use crate::rng::Rng;

/// What every flow shares.
#[derive(Debug)]
pub struct World {
    pub glase: Glase,
    pub machine_driver: Option<Driver>,
    pub shop_driver: Option<Driver>,
    pub stats: Arc<Stats>,
    /// Every vend the driver answered `paid` (the machine dispensed).
    pub vends: Mutex<Vec<Vend>>,
    /// The invoices the reseller handed to customers (for the invariants).
    pub handed: Handed,
    /// The reservation amount the app offers at a scan.
    pub amount: Decimal,
    /// What a webshop checkout buys: (sku, quantity).
    pub shop_items: Vec<(String, u32)>,
    /// Longest wait for the reseller to unlock a machine, release it or mark an order
    /// paid after the customer acted.
    pub patience: Duration,
}

/// What the reseller handed to customers, for `INVOICE-ENDS` and
/// `NO-CHARGE-WITHOUT-DISPENSE`; and whether its machine driver takes vend ids.
#[derive(Debug, Default)]
pub struct Handed {
    /// Invoices a scan was answered with (the app shows them to the customer).
    pub machine_invoices: Mutex<HashSet<String>>,
    /// Invoices a shop checkout was answered with (the customer gets the QR code).
    pub shop_invoices: Mutex<HashSet<String>>,
    /// The machine driver refused a `vendId`: vends go without one (and a lost vend
    /// answer cannot be followed up).
    no_vend_ids: AtomicBool,
}

impl Handed {
    fn add(set: &Mutex<HashSet<String>>, reference: &str) {
        set.lock().unwrap_or_else(|p| p.into_inner()).insert(reference.to_owned());
    }

    /// (invoices a scan was answered with, invoices a checkout was answered with).
    pub fn sets(&self) -> (HashSet<String>, HashSet<String>) {
        let copy = |set: &Mutex<HashSet<String>>| set.lock().unwrap_or_else(|p| p.into_inner()).clone();
        (copy(&self.machine_invoices), copy(&self.shop_invoices))
    }

    /// Every invoice handed to a customer so far.
    pub fn all(&self) -> Vec<String> {
        let (machine, shop) = self.sets();
        machine.into_iter().chain(shop).collect()
    }
}

/// How a flow left its machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachineAfter {
    /// Seen idle (or the vend released it): free for the next customer.
    Idle,
    /// Not known to be idle yet (walked away from, or a step failed): wait for the
    /// reseller to release it before anyone else uses it.
    Pending,
}

/// A step failed: `(what, why)` becomes the error class `what: why`.
fn fail(step: &str, why: impl std::fmt::Display) -> String {
    format!("{step}: {why}")
}

impl World {
    fn record(&self, operation: &str, since: Instant) {
        self.stats.record(Side::Generator, operation, since.elapsed());
    }

    fn machines(&self) -> Result<&Driver, String> {
        self.machine_driver.as_ref().ok_or_else(|| "no machine driver".to_owned())
    }

    /// An unattended flow on `machine`. `Ok` when it ended as its kind should.
    pub async fn unattended(
        &self,
        kind: FlowKind,
        customer: &CustomerInfo,
        machine: &MachineInfo,
        rng: &mut Rng,
    ) -> (Result<(), String>, MachineAfter) {
        let started = Instant::now();
        let msisdn = if kind == FlowKind::Error { &customer.broke_msisdn } else { &customer.msisdn };
        let reference = match self.scan(msisdn, &machine.token).await {
            Ok(reference) => reference,
            // Declined: the reseller released the machine (or never claimed it).
            Err(error) => return (Err(error), MachineAfter::Pending),
        };
        let result = match kind {
            FlowKind::Success | FlowKind::WrongPin => {
                self.purchase(kind, msisdn, &reference, machine, rng, started).await.map(|()| MachineAfter::Idle)
            }
            FlowKind::Cancel => self.cancel(msisdn, &reference, machine).await.map(|()| MachineAfter::Idle),
            FlowKind::Error => self.cannot_pay(msisdn, &reference, machine).await.map(|()| MachineAfter::Idle),
            FlowKind::WalkAway => {
                let at = Instant::now();
                match self.glase.walk_away(&reference).await {
                    Ok(_) => {
                        self.record("customer: walk away", at);
                        Ok(MachineAfter::Pending)
                    }
                    Err(error) => Err(fail("walk away", error)),
                }
            }
            FlowKind::Webshop => Err("a webshop flow on a machine".to_owned()),
        };
        match result {
            Ok(after) => (Ok(()), after),
            Err(error) => (Err(error), MachineAfter::Pending),
        }
    }

    /// Scans the machine's QR: the UPS calls createPurchase and judges the answer.
    async fn scan(&self, msisdn: &str, token: &str) -> Result<String, String> {
        let at = Instant::now();
        let outcome = self.glase.scan(token, msisdn, self.amount).await.map_err(|e| fail("scan", e))?;
        self.record("scan (UPS → createPurchase)", at);
        match outcome {
            PurchaseOutcome::Accepted { invoice_reference } => {
                Handed::add(&self.handed.machine_invoices, &invoice_reference);
                Ok(invoice_reference)
            }
            PurchaseOutcome::Declined { error_code } => {
                Err(fail("scan", format!("createPurchase answered {error_code}")))
            }
            PurchaseOutcome::Violation { violation } => {
                Err(fail("scan", format!("createPurchase broke the protocol: {}", first_words(&violation))))
            }
        }
    }

    /// Confirm (after a wrong PIN for `WrongPin`), wait for the unlock, vend, commit.
    async fn purchase(
        &self,
        kind: FlowKind,
        msisdn: &str,
        reference: &str,
        machine: &MachineInfo,
        rng: &mut Rng,
        started: Instant,
    ) -> Result<(), String> {
        if kind == FlowKind::WrongPin {
            let at = Instant::now();
            let confirmation =
                self.glase.confirm(reference, msisdn, Some(WRONG_PIN)).await.map_err(|e| fail("wrong PIN", e))?;
            if confirmation != Confirmation::WrongPin {
                return Err(fail("wrong PIN", format!("Glase answered {confirmation:?}")));
            }
            self.record("customer: wrong PIN", at);
        }
        let at = Instant::now();
        let confirmation = self.glase.confirm(reference, msisdn, None).await.map_err(|e| fail("confirm", e))?;
        if confirmation != Confirmation::Reserved {
            return Err(fail("confirm", format!("Glase answered {confirmation:?}, not Reserved")));
        }
        self.record("customer: confirm", at);
        let at = Instant::now();
        self.wait_acknowledged(reference).await.map_err(|e| fail("status fetch", e))?;
        self.wait_machine(&machine.token, "unlocked", &["idle"], Duration::from_millis(20))
            .await
            .map_err(|e| fail("unlock", e))?;
        self.record("reseller: unlock after confirm", at);
        let items = choose(&machine.products, self.amount, rng);
        let at = Instant::now();
        let items: Vec<Value> = items.iter().map(|(sku, _)| json!({"sku": sku, "quantity": 1})).collect();
        // One vend per purchase here, so the invoice makes the vend id unique.
        let vend_id = format!("{}-{reference}", machine.token);
        let (status, answer) = self.vend(&machine.token, &vend_id, items).await.map_err(|e| fail("vend", e))?;
        if status != 200 || answer.get("outcome").and_then(Value::as_str) != Some("paid") {
            return Err(fail("vend", format!("HTTP {status} {}", error_of(&answer))));
        }
        self.record("machine: vend (update + commit)", at);
        let text = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_owned);
        let total = text("total").and_then(|t| t.parse::<Decimal>().ok()).unwrap_or(Decimal::ZERO);
        let vend = Vend {
            machine: machine.token.clone(),
            purchase: text("purchaseId").unwrap_or_default(),
            invoice: text("invoiceReference"),
            total,
        };
        self.vends.lock().unwrap_or_else(|p| p.into_inner()).push(vend);
        self.record("purchase (scan → dispensed)", started);
        Ok(())
    }

    /// The machine's vend: POST it with its vend id and, while the answer is lost or
    /// not final (no answer, 500/503, 502 with `state` `pending`), the same request
    /// again until it is, as the machine driver contract asks: a machine that gives up
    /// may leave its customer charged for nothing, which `NO-CHARGE-WITHOUT-DISPENSE`
    /// counts. A driver that answers the first request with a vend id 400 is asked
    /// without one, then and for the rest of the run.
    async fn vend(&self, token: &str, vend_id: &str, items: Vec<Value>) -> Result<(u16, Value), String> {
        let driver = self.machines()?;
        let plain = json!({ "items": items });
        if self.handed.no_vend_ids.load(Ordering::Relaxed) {
            return pair(driver.vend(token, &plain).await);
        }
        let body = json!({ "vendId": vend_id, "items": plain["items"] });
        let deadline = Instant::now() + self.patience;
        let mut pause = Duration::from_millis(20);
        let mut first = true;
        loop {
            let answer = pair(driver.vend(token, &body).await);
            let settled = match &answer {
                Ok((400, _)) if first => {
                    let retried = pair(driver.vend(token, &plain).await);
                    if !matches!(retried, Ok((400, _))) {
                        self.handed.no_vend_ids.store(true, Ordering::Relaxed);
                    }
                    return retried;
                }
                Ok((500 | 503, _)) | Err(_) => false,
                Ok((502, body)) => body.get("state").and_then(Value::as_str) != Some("pending"),
                Ok(_) => true,
            };
            if settled || Instant::now() >= deadline {
                return answer;
            }
            first = false;
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    async fn cancel(&self, msisdn: &str, reference: &str, machine: &MachineInfo) -> Result<(), String> {
        let at = Instant::now();
        self.glase.cancel(reference, msisdn).await.map_err(|e| fail("cancel", e))?;
        self.record("customer: cancel", at);
        let at = Instant::now();
        self.wait_machine(&machine.token, "idle", &[], Duration::from_millis(20))
            .await
            .map_err(|e| fail("release", e))?;
        self.record("reseller: release after cancel", at);
        Ok(())
    }

    async fn cannot_pay(&self, msisdn: &str, reference: &str, machine: &MachineInfo) -> Result<(), String> {
        let confirmation = self.glase.confirm(reference, msisdn, None).await.map_err(|e| fail("confirm", e))?;
        if confirmation != Confirmation::InsufficientFunds {
            return Err(fail("confirm", format!("Glase answered {confirmation:?}, not InsufficientFunds")));
        }
        let at = Instant::now();
        self.wait_machine(&machine.token, "idle", &[], Duration::from_millis(20))
            .await
            .map_err(|e| fail("release", e))?;
        self.record("reseller: release after failed payment", at);
        Ok(())
    }

    /// Waits until the reseller has fetched the invoice's RESERVED or PAID status from
    /// Glase, watching the mock: the unlock (or the shop's "paid") follows right after,
    /// so the driver is asked only then. Polling the driver instead costs the reseller an
    /// HTTP request and two queries every few milliseconds per flow, which under load is
    /// a large share of all its work.
    async fn wait_acknowledged(&self, reference: &str) -> Result<(), String> {
        let deadline = Instant::now() + self.patience;
        let mut pause = Duration::from_micros(250);
        loop {
            if self.glase.acknowledged(reference).await? {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("not fetched after {}", humantime::format_duration(self.patience)));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(2));
        }
    }

    /// Polls the machine driver until the machine is `want` (or, failing, one of
    /// `bad`), backing off from 1 ms to `slowest`.
    pub async fn wait_machine(&self, token: &str, want: &str, bad: &[&str], slowest: Duration) -> Result<(), String> {
        let driver = self.machines()?;
        let deadline = Instant::now() + self.patience;
        let mut pause = Duration::from_millis(1);
        loop {
            let (status, body) = pair(driver.machine(token).await)?;
            let state = body.get("state").and_then(Value::as_str).unwrap_or("?");
            if status == 200 && state == want {
                return Ok(());
            }
            if status == 200 && bad.contains(&state) {
                return Err(format!("machine became {state}, not {want}"));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "still {state} after {} (waiting for {want})",
                    humantime::format_duration(self.patience)
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(slowest);
        }
    }

    /// A webshop checkout, paid in the app, until the shop says paid.
    pub async fn webshop(&self, customer: &CustomerInfo) -> Result<(), String> {
        let driver = self.shop_driver.as_ref().ok_or("no shop driver")?;
        let started = Instant::now();
        let items: Vec<Value> = self.shop_items.iter().map(|(sku, q)| json!({"sku": sku, "quantity": q})).collect();
        let (status, order) =
            pair(driver.checkout(Counter::Shop, &json!({ "items": items })).await).map_err(|e| fail("checkout", e))?;
        let text = |name: &str| order.get(name).and_then(Value::as_str).map(str::to_owned);
        let (Some(id), Some(reference)) = (text("orderId"), text("invoiceReference")) else {
            return Err(fail("checkout", format!("HTTP {status} {}", error_of(&order))));
        };
        Handed::add(&self.handed.shop_invoices, &reference);
        self.record("shop: checkout (sendInvoice)", started);
        let at = Instant::now();
        let confirmation = self.glase.confirm(&reference, &customer.msisdn, None).await.map_err(|e| fail("pay", e))?;
        if confirmation != Confirmation::Paid {
            return Err(fail("pay", format!("Glase answered {confirmation:?}, not Paid")));
        }
        self.record("customer: pay", at);
        let at = Instant::now();
        self.wait_acknowledged(&reference).await.map_err(|e| fail("status fetch", e))?;
        let deadline = Instant::now() + self.patience;
        let mut pause = Duration::from_millis(1);
        loop {
            let (_, order) = pair(driver.order(Counter::Shop, &id).await).map_err(|e| fail("order", e))?;
            match order.get("state").and_then(Value::as_str) {
                Some("paid") => break,
                Some("pending") | None => {}
                Some(other) => return Err(fail("order", format!("became {other}, not paid"))),
            }
            if Instant::now() >= deadline {
                return Err(fail("order", "not paid in time"));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(20));
        }
        self.record("shop: paid after payment", at);
        self.record("webshop checkout (checkout → paid)", started);
        Ok(())
    }
}

/// One to three different products whose prices fit in `budget`.
fn choose(products: &[(String, Decimal)], budget: Decimal, rng: &mut Rng) -> Vec<(String, Decimal)> {
    let wanted = 1 + rng.below(3);
    let mut chosen: Vec<(String, Decimal)> = Vec::new();
    let mut total = Decimal::ZERO;
    for _ in 0..wanted {
        let (sku, price) = &products[rng.below(products.len())];
        if chosen.iter().all(|(s, _)| s != sku) && total + *price <= budget {
            total += *price;
            chosen.push((sku.clone(), *price));
        }
    }
    if chosen.is_empty()
        && let Some(cheapest) = products.iter().min_by_key(|(_, p)| *p)
    {
        chosen.push(cheapest.clone());
    }
    chosen
}

fn error_of(body: &Value) -> String {
    body.get("error").and_then(Value::as_str).map_or_else(|| first_words(&body.to_string()), first_words)
}

/// The start of a message: failures are counted by their text, so keep the varying
/// tail (references, amounts) out where it is long.
fn first_words(text: &str) -> String {
    let cut: String = text.chars().take(80).collect();
    if cut.len() < text.len() { format!("{cut}…") } else { cut }
}

/// A driver's answer as the load counts it: status and body, or the short reason it
/// could not be had (failures are counted by that text).
fn pair(result: Result<Answer, Unreachable>) -> Result<(u16, Value), String> {
    result.map(|answer| (answer.status, answer.body)).map_err(|error| error.short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_fits_the_budget_and_is_never_empty() {
        let products = vec![("a".to_owned(), Decimal::new(250, 2)), ("b".to_owned(), Decimal::new(120, 2))];
        let mut rng = Rng::new(3);
        for _ in 0..200 {
            let chosen = choose(&products, Decimal::new(300, 2), &mut rng);
            let total: Decimal = chosen.iter().map(|(_, p)| *p).sum();
            assert!(!chosen.is_empty() && total <= Decimal::new(300, 2), "{chosen:?}");
        }
    }
}
