//! The point-of-sale driver's own steps: registering the till and taking it out of
//! service, and the customer scanning the till's static QR sticker. (Sales at the till
//! are the shop steps, through `Counter::Till`.)

use serde::Deserialize;
use serde_json::Value;

use super::kind::Kind;
use super::values::{Driver, DriverOutcome};
use crate::runner::exec::{ScenarioRun, StepResult, check_driver, fail};
use crate::scenario::arguments::StepCx;
use crate::scenario::raw::ExpectOnlyArgs;

/// `till_register`: the till registers its terminal (registerTerminal, assignSeqrId).
pub type TillRegister = TillRegistration<true>;
/// `till_unregister`: the till takes its terminal out of service (unregisterTerminal).
pub type TillUnregister = TillRegistration<false>;

/// Registers the till (`REGISTER` true) or unregisters it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TillRegistration<const REGISTER: bool> {
    pub expect: Option<DriverOutcome>,
}

impl<const REGISTER: bool> Kind for TillRegistration<REGISTER> {
    const KEY: &'static str = if REGISTER { "till_register" } else { "till_unregister" };
    type Args = ExpectOnlyArgs;
    const JUDGES: bool = true;
    const DRIVER: Option<Driver> = Some(Driver::Pos);
    const MAKES_INVOICES: bool = true;

    fn resolve(cx: &mut StepCx<'_>, a: ExpectOnlyArgs) -> Option<Self> {
        Some(Self { expect: cx.driver_outcome(a.expect.as_deref(), &["ok", "refused", "failed"]) })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let what = if REGISTER { "register the till" } else { "unregister the till" };
        let answer = run.drive(what.to_owned(), run.till_driver()?.set_registered(REGISTER)).await?;
        let action = if REGISTER { "register" } else { "unregister" };
        check_driver(&answer, self.expect.unwrap_or(DriverOutcome::Ok), action)?;
        // A 2xx answers the till document: it must say what the till now is.
        if answer.ok() && answer.body.get("registered") != Some(&Value::Bool(REGISTER)) {
            return Err(fail(
                format!("{action}: 2xx with the till document, registered {REGISTER}"),
                answer.to_string(),
            ));
        }
        Ok(())
    }
}

/// `scan_till`: the customer scans the till's static QR sticker (the till driver's
/// `qrCode`): Glase opens the till's newest invoice, which must be the current sale's.
#[derive(Debug, Clone)]
pub struct ScanTill {
    pub alias: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasOnlyArgs {
    #[serde(rename = "as")]
    alias: Option<String>,
}

impl Kind for ScanTill {
    const KEY: &'static str = "scan_till";
    type Args = AliasOnlyArgs;
    const JUDGES: bool = true;
    const DRIVER: Option<Driver> = Some(Driver::Pos);

    fn resolve(cx: &mut StepCx<'_>, a: AliasOnlyArgs) -> Option<Self> {
        Some(Self { alias: cx.define(a.alias) })
    }

    /// Reads the sticker's text from the till driver (`qrCode`) and scans it as the
    /// customer: Glase shows the till's newest unpaid invoice, which must be the sale the
    /// till just started (the current invoice), so a till whose sticker leads nowhere or
    /// to another invoice fails here.
    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let answer = run.drive("read the till's QR sticker".to_owned(), run.till_driver()?.till()).await?;
        let Some(qr) = answer.field("qrCode").filter(|qr| !qr.trim().is_empty()).map(str::to_owned) else {
            return Err(fail("the till: 200 with its qrCode (a string)", answer.to_string()));
        };
        let msisdn = run.msisdn.clone();
        let view = run
            .mock
            .scan(&qr, Some(&msisdn))
            .map_err(|e| fail(format!("the till's sticker {qr} to open the sale's invoice"), e.to_string()))?;
        let opened = view.record.reference.to_string();
        if let Some(current) = &run.current
            && *current != opened
        {
            return Err(fail(
                format!("the till's sticker {qr} to open the current sale's invoice {current}"),
                format!("it opened invoice {opened}"),
            ));
        }
        run.adopt(&opened, self.alias.as_deref(), &msisdn);
        Ok(())
    }
}
