//! The shop driver's steps: checkout, refund, the staff's cancel and the period's close.

use super::*;

impl ScenarioRun<'_> {
    pub(super) async fn checkout(&mut self, chosen: &[Item], alias: Option<&str>, expect: DriverOutcome) -> StepResult {
        let body = json!({ "items": items(chosen) });
        let what = format!("checkout: {}", describe_items(chosen));
        let answer = self.drive(what, self.shop_driver()?.checkout(&body)).await?;
        if expect == DriverOutcome::Failed {
            return if answer.ok() {
                Err(fail("checkout: failed (not 2xx: the shop could not create the invoice)", answer.to_string()))
            } else {
                Ok(())
            };
        }
        let (order, reference) = created_order(&answer).map_err(|problem| {
            fail(
                "checkout: 201 with orderId (a string) and invoiceReference (a string)",
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
        let what = match amount {
            Some(amount) => format!("refund {amount:.2} of order {order}"),
            None => format!("refund what is left of order {order}"),
        };
        let answer = self.drive(what, self.shop_driver()?.refund(&order, &body)).await?;
        self.last_refund = Some(answer.clone());
        match expect {
            Some(expect) => check_driver(&answer, expect, "refund"),
            None => Ok(()),
        }
    }

    pub(super) async fn shop_cancel(&mut self, expect: Option<DriverOutcome>) -> StepResult {
        let order = self.order()?;
        let answer = self.drive(format!("staff cancel order {order}"), self.shop_driver()?.cancel(&order)).await?;
        check_driver(&answer, expect.unwrap_or(DriverOutcome::Ok), "cancel")
    }

    pub(super) async fn shop_close(&mut self) -> StepResult {
        let answer = self.drive("close the period".to_owned(), self.shop_driver()?.close()).await?;
        check_driver(&answer, DriverOutcome::Ok, "close")
    }
}

/// The order a checkout created: `orderId` (a string; a number is taken as its
/// digits) and `invoiceReference` (a string), or which field is wrong.
fn created_order(answer: &Answer) -> Result<(String, String), String> {
    if !answer.ok() {
        return Err(format!("the checkout was refused with HTTP {}", answer.status));
    }
    let field = |name: &str| match answer.body.get(name) {
        None => Err(format!("`{name}` is missing")),
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.clone()),
        Some(Value::String(_)) => Err(format!("`{name}` is empty")),
        Some(Value::Number(number)) if name == "orderId" => Ok(number.to_string()),
        Some(other) => Err(format!("`{name}` is {other}, not a string")),
    };
    Ok((field("orderId")?, field("invoiceReference")?))
}
