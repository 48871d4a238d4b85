//! The shop driver's steps: checkout, refund, the staff's cancel and the period's close —
//! at the webshop, or at the till when the scenario drives a point of sale
//! (`crate::drivers::Counter`).

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::kind::Kind;
use super::values::{Driver, DriverOutcome, Item};
use crate::drivers::Answer;
use crate::runner::claims::{Alone, Claim};
use crate::runner::exec::{ScenarioRun, StepResult, check_driver, describe_items, fail, items_json};
use crate::scenario::arguments::StepCx;
use crate::scenario::fixtures::FixtureKind;
use crate::scenario::raw::{ExpectOnlyArgs, ItemArgs, Scalar, items};

/// `checkout`: the customer checks these products out; the shop makes an order and
/// its invoice.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub items: Vec<Item>,
    pub alias: Option<String>,
    /// `ok` (the default: 201 with the order) or `failed`.
    pub expect: DriverOutcome,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutArgs {
    items: Vec<ItemArgs>,
    #[serde(rename = "as")]
    alias: Option<String>,
    expect: Option<String>,
}

impl Kind for Checkout {
    const KEY: &'static str = "checkout";
    type Args = CheckoutArgs;
    const JUDGES: bool = true;
    const DRIVER: Option<Driver> = Some(Driver::Shop);
    const MAKES_INVOICES: bool = true;

    fn resolve(cx: &mut StepCx<'_>, a: CheckoutArgs) -> Option<Self> {
        if a.items.is_empty() {
            cx.problem("items", "a checkout needs at least one item");
        }
        let expect = cx.driver_outcome(a.expect.as_deref(), &["ok", "failed"]).unwrap_or(DriverOutcome::Ok);
        // A failed checkout makes no order and no invoice to name.
        let alias = if expect == DriverOutcome::Failed && a.alias.is_some() {
            cx.problem("as", "a checkout expected to fail makes no invoice to name");
            None
        } else {
            cx.define(a.alias)
        };
        Some(Self { items: items(a.items), alias, expect })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let body = json!({ "items": items_json(&self.items) });
        let what = format!("checkout: {}", describe_items(&self.items));
        let (driver, counter) = run.counter()?;
        let answer = run.drive(what, driver.checkout(counter, &body)).await?;
        if self.expect == DriverOutcome::Failed {
            return if answer.ok() {
                Err(fail("checkout: failed (not 2xx: the shop could not create the invoice)", answer.to_string()))
            } else {
                Ok(())
            };
        }
        let (order, reference) = created_order(&answer, counter.id_field()).map_err(|problem| {
            fail(
                format!("checkout: 201 with {} (a string) and invoiceReference (a string)", counter.id_field()),
                format!("{problem}: {answer}"),
            )
        })?;
        run.order = Some(order);
        let msisdn = run.msisdn.clone();
        run.adopt(&reference, self.alias.as_deref(), &msisdn);
        Ok(())
    }

    fn fixtures(&mut self) -> Vec<(FixtureKind, &mut String)> {
        self.items.iter_mut().map(|i| (FixtureKind::ShopItem, &mut i.sku)).collect()
    }
}

/// `refund`: the staff refund the order, all that is left of it or `amount`.
#[derive(Debug, Clone)]
pub struct Refund {
    pub amount: Option<Decimal>,
    pub expect: Option<DriverOutcome>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundArgs {
    amount: Option<Scalar>,
    expect: Option<String>,
}

impl Kind for Refund {
    const KEY: &'static str = "refund";
    type Args = RefundArgs;
    const DRIVER: Option<Driver> = Some(Driver::Shop);
    const MAKES_INVOICES: bool = true;

    fn resolve(cx: &mut StepCx<'_>, a: RefundArgs) -> Option<Self> {
        let amount = a.amount.as_ref().and_then(|m| cx.money("amount", m));
        let expect = cx.driver_outcome(a.expect.as_deref(), &["ok", "refused"]);
        Some(Self { amount, expect })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let order = run.order()?;
        let body = match self.amount {
            Some(amount) => json!({ "amount": format!("{amount:.2}") }),
            None => json!({}),
        };
        let (driver, counter) = run.counter()?;
        let noun = counter.order_noun();
        let what = match self.amount {
            Some(amount) => format!("refund {amount:.2} of {noun} {order}"),
            None => format!("refund what is left of {noun} {order}"),
        };
        let answer = run.drive(what, driver.refund(counter, &order, &body)).await?;
        run.last_refund = Some(answer.clone());
        match self.expect {
            Some(expect) => check_driver(&answer, expect, "refund"),
            None => Ok(()),
        }
    }

    /// Without `expect:` the answer is judged later, by `expect_refund`.
    fn is_expectation(&self) -> bool {
        self.expect.is_some()
    }
}

/// `shop_cancel`: the staff cancel the order.
#[derive(Debug, Clone)]
pub struct ShopCancel {
    pub expect: Option<DriverOutcome>,
}

impl Kind for ShopCancel {
    const KEY: &'static str = "shop_cancel";
    type Args = ExpectOnlyArgs;
    const JUDGES: bool = true;
    const DRIVER: Option<Driver> = Some(Driver::Shop);
    const MAKES_INVOICES: bool = true;

    fn resolve(cx: &mut StepCx<'_>, a: ExpectOnlyArgs) -> Option<Self> {
        Some(Self { expect: cx.driver_outcome(a.expect.as_deref(), &["ok", "canceled", "refused"]) })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let order = run.order()?;
        let (driver, counter) = run.counter()?;
        let what = format!("staff cancel {} {order}", counter.order_noun());
        let answer = run.drive(what, driver.cancel(counter, &order)).await?;
        check_driver(&answer, self.expect.unwrap_or(DriverOutcome::Ok), "cancel")
    }
}

/// `shop_close`: the staff close the transaction period (markTransactionPeriod).
#[derive(Debug, Clone)]
pub struct ShopClose;

impl Kind for ShopClose {
    const KEY: &'static str = "shop_close";
    type Args = ExpectOnlyArgs;
    const JUDGES: bool = true;
    const DRIVER: Option<Driver> = Some(Driver::Shop);
    const MAKES_INVOICES: bool = true;

    fn resolve(_cx: &mut StepCx<'_>, _args: ExpectOnlyArgs) -> Option<Self> {
        Some(Self)
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let (driver, counter) = run.counter()?;
        let answer = run.drive("close the period".to_owned(), driver.close(counter)).await?;
        check_driver(&answer, DriverOutcome::Ok, "close")
    }

    /// markTransactionPeriod names no invoice: whose call it was cannot be told.
    fn claim(&self, claim: &mut Claim) {
        claim.must_run_alone(Alone::Unattributable);
    }
}

/// The order a checkout created: its id (`orderId` or `saleId`, a string; a number is
/// taken as its digits) and `invoiceReference` (a string), or which field is wrong.
fn created_order(answer: &Answer, id_field: &str) -> Result<(String, String), String> {
    if !answer.ok() {
        return Err(format!("the checkout was refused with HTTP {}", answer.status));
    }
    let field = |name: &str| match answer.body.get(name) {
        None => Err(format!("`{name}` is missing")),
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.clone()),
        Some(Value::String(_)) => Err(format!("`{name}` is empty")),
        Some(Value::Number(number)) if name == id_field => Ok(number.to_string()),
        Some(other) => Err(format!("`{name}` is {other}, not a string")),
    };
    Ok((field(id_field)?, field("invoiceReference")?))
}
