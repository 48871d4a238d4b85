//! The shop driver's steps: checkout, refund, the staff's cancel and the period's close —
//! at the webshop, or at the till when the scenario drives a point of sale ([`Counter`]).

use super::*;

impl ScenarioRun<'_> {
    pub(super) async fn checkout(&mut self, chosen: &[Item], alias: Option<&str>, expect: DriverOutcome) -> StepResult {
        let body = json!({ "items": items(chosen) });
        let what = format!("checkout: {}", describe_items(chosen));
        let (driver, counter) = self.counter()?;
        let answer = self.drive(what, driver.checkout(counter, &body)).await?;
        if expect == DriverOutcome::Failed {
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
        self.order = Some(order);
        self.adopt(&reference, alias, &self.msisdn.clone());
        Ok(())
    }

    pub(super) async fn refund(&mut self, amount: Option<Decimal>, expect: Option<DriverOutcome>) -> StepResult {
        let order = self.order()?;
        let body = match amount {
            Some(amount) => json!({ "amount": format!("{amount:.2}") }),
            None => json!({}),
        };
        let (driver, counter) = self.counter()?;
        let noun = counter.order_noun();
        let what = match amount {
            Some(amount) => format!("refund {amount:.2} of {noun} {order}"),
            None => format!("refund what is left of {noun} {order}"),
        };
        let answer = self.drive(what, driver.refund(counter, &order, &body)).await?;
        self.last_refund = Some(answer.clone());
        match expect {
            Some(expect) => check_driver(&answer, expect, "refund"),
            None => Ok(()),
        }
    }

    pub(super) async fn shop_cancel(&mut self, expect: Option<DriverOutcome>) -> StepResult {
        let order = self.order()?;
        let (driver, counter) = self.counter()?;
        let what = format!("staff cancel {} {order}", counter.order_noun());
        let answer = self.drive(what, driver.cancel(counter, &order)).await?;
        check_driver(&answer, expect.unwrap_or(DriverOutcome::Ok), "cancel")
    }

    pub(super) async fn shop_close(&mut self) -> StepResult {
        let (driver, counter) = self.counter()?;
        let answer = self.drive("close the period".to_owned(), driver.close(counter)).await?;
        check_driver(&answer, DriverOutcome::Ok, "close")
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
