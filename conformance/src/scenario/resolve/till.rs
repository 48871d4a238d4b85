//! Resolving the point-of-sale driver's own steps: registering the till, taking it out of
//! service, the customer scanning its sticker. (Sales at the till are the shop steps.)

use super::*;

impl Resolver<'_> {
    pub(super) fn till_registration_step(&mut self, cx: &StepCx, args: Value, kind: &str) -> Option<Step> {
        let a: raw::ExpectOnlyArgs = self.args(cx, args)?;
        let expect = self.driver_outcome(cx, a.expect.as_deref(), &["ok", "refused", "failed"]);
        Some(Step::TillRegistration { register: kind == "till_register", expect })
    }

    pub(super) fn scan_till_step(&mut self, cx: &StepCx, args: Value, names: &mut HashSet<String>) -> Option<Step> {
        let a: raw::AliasOnlyArgs = self.args(cx, args)?;
        Some(Step::ScanTill { alias: self.define(cx, a.alias, names) })
    }
}
