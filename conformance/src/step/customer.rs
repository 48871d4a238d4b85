//! The customer's steps, played through the mock: scans (of a machine's UPS code, of an
//! invoice), PIN entry, cancelling, walking away, the wallet, several customers racing
//! for one machine.

use std::fmt;
use std::marker::PhantomData;

use mock_glase::Mock;
use mock_glase::machine::customer::Confirmation;
use mock_glase::machine::ups::{PurchaseOutcome as MockOutcome, ScanOptions};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::kind::Kind;
use super::values::{ConfirmOutcome, InvoiceRef};
use crate::runner::claims::Claim;
use crate::runner::exec::{PIN, ScenarioRun, StepResult, WALLET, WRONG_PIN, fail};
use crate::runner::harness::MERCHANT;
use crate::scenario::arguments::StepCx;
use crate::scenario::fixtures::FixtureKind;
use crate::scenario::raw::{InvoiceArgs, Scalar};

/// `scan`: the customer scans a machine's UPS QR, and the mock calls the system's
/// createPurchase.
#[derive(Debug, Clone)]
pub struct Scan {
    pub machine: String,
    pub amount: Option<Decimal>,
    pub notify_early: bool,
    /// Scan as a merchant in another currency (same createPurchase URL).
    pub currency: Option<String>,
    pub alias: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanArgs {
    machine: String,
    amount: Option<Scalar>,
    #[serde(default)]
    notify_early: bool,
    currency: Option<String>,
    #[serde(rename = "as")]
    alias: Option<String>,
}

impl Kind for Scan {
    const KEY: &'static str = "scan";
    type Args = ScanArgs;
    const MAKES_INVOICES: bool = true;

    fn resolve(cx: &mut StepCx<'_>, a: ScanArgs) -> Option<Self> {
        let amount = a.amount.as_ref().and_then(|m| cx.money("amount", m));
        if let Some(currency) = &a.currency
            && (currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()))
        {
            cx.problem("currency", format!("{currency:?} is not an ISO 4217 code like SEK"));
        }
        let alias = cx.define(a.alias);
        Some(Self { machine: a.machine, amount, notify_early: a.notify_early, currency: a.currency, alias })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let merchant = match &self.currency {
            Some(currency) => {
                let url = run.target.create_purchase_url.as_deref().unwrap_or_default();
                let id = run
                    .harness
                    .merchant_in(currency, url)
                    .map_err(|e| fail("a merchant in that currency", e.to_string()))?;
                if !run.merchants.contains(&id) {
                    run.merchants.push(id.clone());
                }
                id
            }
            None => MERCHANT.to_owned(),
        };
        let options = ScanOptions { amount: self.amount, notify_early: self.notify_early };
        let (report, _) = run
            .mock
            .unattended_purchase(&merchant, &self.machine, Some(&run.msisdn), &options)
            .await
            .map_err(|e| fail("the UPS to call createPurchase", e.to_string()))?;
        if let MockOutcome::Accepted { invoice_reference } = &report.outcome {
            let msisdn = run.msisdn.clone();
            run.adopt(invoice_reference, self.alias.as_deref(), &msisdn);
        }
        run.last_machine = Some(self.machine.clone());
        run.last_purchase = Some(report);
        Ok(())
    }

    fn claim(&self, claim: &mut Claim) {
        claim.machines.insert(self.machine.clone());
    }

    fn fixtures(&mut self) -> Vec<(FixtureKind, &mut String)> {
        vec![(FixtureKind::Machine, &mut self.machine)]
    }
}

/// `confirm`: the customer enters the PIN (the right one unless `pin:` says otherwise).
#[derive(Debug, Clone)]
pub struct Confirm {
    pub invoice: InvoiceRef,
    pub pin: Option<String>,
    pub outcome: Option<ConfirmOutcome>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmArgs {
    invoice: Option<String>,
    pin: Option<Scalar>,
    outcome: Option<String>,
}

impl Kind for Confirm {
    const KEY: &'static str = "confirm";
    type Args = ConfirmArgs;

    fn resolve(cx: &mut StepCx<'_>, a: ConfirmArgs) -> Option<Self> {
        let outcome = a.outcome.as_deref().and_then(|o| {
            cx.choice(
                "outcome",
                o,
                &[
                    ("paid", ConfirmOutcome::Paid),
                    ("reserved", ConfirmOutcome::Reserved),
                    ("wrong_pin", ConfirmOutcome::WrongPin),
                    ("insufficient_funds", ConfirmOutcome::InsufficientFunds),
                ],
            )
        });
        Some(Self { invoice: cx.invoice(a.invoice), pin: a.pin.map(|p| p.text()), outcome })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let reference = run.invoice(&self.invoice)?;
        let msisdn = run.owner(&reference);
        let (confirmation, view) = run
            .mock
            .confirm(&reference, Some(&msisdn), self.pin.as_deref())
            .map_err(|e| fail("the customer to confirm", e.to_string()))?;
        let got = confirmation_name(confirmation);
        match self.outcome {
            Some(expected) if expected.as_str() != got => Err(fail(
                format!("confirmation: {}", expected.as_str()),
                format!("{got} (invoice {})", view.record.status),
            )),
            None if matches!(confirmation, Confirmation::WrongPin | Confirmation::InsufficientFunds) => {
                Err(fail("confirmation: paid or reserved", format!("{got} (invoice {})", view.record.status)))
            }
            _ => Ok(()),
        }
    }
}

/// `scan_invoice`: the customer scans an invoice's QR (opens the PIN dialog without
/// confirming).
pub type ScanInvoice = OnInvoice<OpenIt>;
/// `wrong_pin`: the customer enters a wrong PIN, which must be refused.
pub type WrongPin = OnInvoice<EnterWrongPin>;
/// `cancel`: the customer cancels in the app.
pub type Cancel = OnInvoice<CancelIt>;
/// `walk_away`: the customer leaves the invoice open on the phone and goes.
pub type WalkAway = OnInvoice<LeaveIt>;

/// A customer step that does one thing to one invoice, as the customer who has it.
#[derive(Debug, Clone)]
pub struct OnInvoice<A> {
    pub invoice: InvoiceRef,
    action: PhantomData<A>,
}

/// What the customer does to the invoice (`reference`) they have (`msisdn`).
pub(crate) trait InvoiceAction: fmt::Debug + Clone {
    const KEY: &'static str;
    fn act(mock: &Mock, reference: &str, msisdn: &str) -> StepResult;
}

impl<A: InvoiceAction> Kind for OnInvoice<A> {
    const KEY: &'static str = A::KEY;
    type Args = InvoiceArgs;

    fn resolve(cx: &mut StepCx<'_>, a: InvoiceArgs) -> Option<Self> {
        Some(Self { invoice: cx.invoice(a.invoice), action: PhantomData })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let reference = run.invoice(&self.invoice)?;
        A::act(run.mock, &reference, &run.owner(&reference))
    }
}

#[derive(Debug, Clone)]
pub struct OpenIt;

impl InvoiceAction for OpenIt {
    const KEY: &'static str = "scan_invoice";

    fn act(mock: &Mock, reference: &str, msisdn: &str) -> StepResult {
        let qr = mock_glase::Machine::invoice_qr(reference);
        mock.scan(&qr, Some(msisdn)).map_err(|e| fail("the customer to open the invoice", e.to_string()))?;
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct EnterWrongPin;

impl InvoiceAction for EnterWrongPin {
    const KEY: &'static str = "wrong_pin";

    fn act(mock: &Mock, reference: &str, msisdn: &str) -> StepResult {
        let (confirmation, _) = mock
            .confirm(reference, Some(msisdn), Some(WRONG_PIN))
            .map_err(|e| fail("the customer to enter a PIN", e.to_string()))?;
        if confirmation == Confirmation::WrongPin {
            Ok(())
        } else {
            Err(fail("wrong PIN", confirmation_name(confirmation)))
        }
    }
}

#[derive(Debug, Clone)]
pub struct CancelIt;

impl InvoiceAction for CancelIt {
    const KEY: &'static str = "cancel";

    fn act(mock: &Mock, reference: &str, msisdn: &str) -> StepResult {
        mock.cancel(reference, Some(msisdn)).map_err(|e| fail("the customer to cancel", e.to_string()))?;
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct LeaveIt;

impl InvoiceAction for LeaveIt {
    /// Walking away needs no customer: the invoice stays open on the phone.
    const KEY: &'static str = "walk_away";

    fn act(mock: &Mock, reference: &str, _msisdn: &str) -> StepResult {
        mock.walk_away(reference).map_err(|e| fail("the customer to walk away", e.to_string()))?;
        Ok(())
    }
}

/// `set_wallet`: the scenario customer's balance from now on.
#[derive(Debug, Clone)]
pub struct SetWallet {
    pub balance: Decimal,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletArgs {
    balance: Scalar,
}

impl Kind for SetWallet {
    const KEY: &'static str = "set_wallet";
    type Args = WalletArgs;

    fn resolve(cx: &mut StepCx<'_>, a: WalletArgs) -> Option<Self> {
        Some(Self { balance: cx.money("balance", &a.balance)? })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        run.mock.set_customer(&run.msisdn, None, Some(self.balance));
        Ok(())
    }
}

/// `race`: several customers scan one machine at the same moment.
#[derive(Debug, Clone)]
pub struct Race {
    pub machine: String,
    pub amount: Option<Decimal>,
    pub customers: u32,
    pub alias: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaceArgs {
    scan: RaceScanArgs,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RaceScanArgs {
    machine: String,
    amount: Option<Scalar>,
    #[serde(default = "two")]
    customers: u32,
    #[serde(rename = "as")]
    alias: Option<String>,
}

fn two() -> u32 {
    2
}

impl Kind for Race {
    const KEY: &'static str = "race";
    type Args = RaceArgs;
    const MAKES_INVOICES: bool = true;

    fn resolve(cx: &mut StepCx<'_>, a: RaceArgs) -> Option<Self> {
        let amount = a.scan.amount.as_ref().and_then(|m| cx.money("scan.amount", m));
        if a.scan.customers < 2 {
            cx.problem("scan.customers", "a race needs at least 2 customers");
        }
        let alias = cx.define(a.scan.alias);
        Some(Self { machine: a.scan.machine, amount, customers: a.scan.customers, alias })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let mut tasks = Vec::new();
        for n in 0..self.customers {
            let msisdn = format!("4680{:05}{n:02}", run.index + 1);
            run.mock.set_customer(&msisdn, Some(PIN), Some(WALLET));
            let mock = run.mock.clone();
            let machine = self.machine.clone();
            let options = ScanOptions { amount: self.amount, notify_early: false };
            tasks.push(tokio::spawn(async move {
                let result = mock.unattended_purchase(MERCHANT, &machine, Some(&msisdn), &options).await;
                (msisdn, result)
            }));
        }
        run.race.clear();
        for task in tasks {
            let (msisdn, result) = task.await.map_err(|e| fail("the race's scans to finish", e.to_string()))?;
            let (report, _) = result.map_err(|e| fail("the UPS to call createPurchase", e.to_string()))?;
            if let MockOutcome::Accepted { invoice_reference } = &report.outcome {
                run.adopt(invoice_reference, self.alias.as_deref(), &msisdn);
            }
            run.race.push(report);
        }
        run.last_machine = Some(self.machine.clone());
        run.last_purchase = run.race.first().cloned();
        Ok(())
    }

    fn claim(&self, claim: &mut Claim) {
        claim.machines.insert(self.machine.clone());
    }

    fn fixtures(&mut self) -> Vec<(FixtureKind, &mut String)> {
        vec![(FixtureKind::Machine, &mut self.machine)]
    }
}

fn confirmation_name(confirmation: Confirmation) -> &'static str {
    match confirmation {
        Confirmation::Paid => ConfirmOutcome::Paid.as_str(),
        Confirmation::Reserved => ConfirmOutcome::Reserved.as_str(),
        Confirmation::WrongPin => ConfirmOutcome::WrongPin.as_str(),
        Confirmation::InsufficientFunds => ConfirmOutcome::InsufficientFunds.as_str(),
    }
}
