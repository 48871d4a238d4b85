//! The point-of-sale driver's own steps: registering the till and taking it out of
//! service, and the customer scanning the till's static QR sticker. (Sales at the till
//! are the shop steps, through [`Counter::Till`].)

use super::*;

impl ScenarioRun<'_> {
    pub(super) async fn till_registration(&mut self, register: bool, expect: Option<DriverOutcome>) -> StepResult {
        let what = if register { "register the till" } else { "unregister the till" };
        let answer = self.drive(what.to_owned(), self.till_driver()?.set_registered(register)).await?;
        let action = if register { "register" } else { "unregister" };
        let expect = expect.unwrap_or(DriverOutcome::Ok);
        check_driver(&answer, expect, action)?;
        // A 2xx answers the till document: it must say what the till now is.
        if answer.ok() && answer.body.get("registered") != Some(&Value::Bool(register)) {
            return Err(fail(
                format!("{action}: 2xx with the till document, registered {register}"),
                answer.to_string(),
            ));
        }
        Ok(())
    }

    /// Reads the sticker's text from the till driver (`qrCode`) and scans it as the
    /// customer: Glase shows the till's newest unpaid invoice, which must be the sale the
    /// till just started (the current invoice), so a till whose sticker leads nowhere or
    /// to another invoice fails here.
    pub(super) async fn scan_till(&mut self, alias: Option<&str>) -> StepResult {
        let answer = self.drive("read the till's QR sticker".to_owned(), self.till_driver()?.till()).await?;
        let Some(qr) = answer.field("qrCode").filter(|qr| !qr.trim().is_empty()).map(str::to_owned) else {
            return Err(fail("the till: 200 with its qrCode (a string)", answer.to_string()));
        };
        let msisdn = self.msisdn.clone();
        let view = self
            .mock
            .scan(&qr, Some(&msisdn))
            .map_err(|e| fail(format!("the till's sticker {qr} to open the sale's invoice"), e.to_string()))?;
        let opened = view.record.reference.to_string();
        if let Some(current) = &self.current
            && *current != opened
        {
            return Err(fail(
                format!("the till's sticker {qr} to open the current sale's invoice {current}"),
                format!("it opened invoice {opened}"),
            ));
        }
        self.adopt(&opened, alias, &msisdn);
        Ok(())
    }
}
