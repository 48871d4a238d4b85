//! Resolving the shop driver's steps: checkout, refund, the staff's cancel, the period's close.

use super::*;

impl Resolver<'_> {
    pub(super) fn checkout_step(&mut self, cx: &StepCx, args: Value, names: &mut HashSet<String>) -> Option<Step> {
        let a: raw::CheckoutArgs = self.args(cx, args)?;
        if a.items.is_empty() {
            self.step_problem(cx, "items", "a checkout needs at least one item");
        }
        let expect = self.driver_outcome(cx, a.expect.as_deref(), &["ok", "failed"]).unwrap_or(DriverOutcome::Ok);
        // A failed checkout makes no order and no invoice to name.
        let alias = if expect == DriverOutcome::Failed && a.alias.is_some() {
            self.step_problem(cx, "as", "a checkout expected to fail makes no invoice to name");
            None
        } else {
            self.define(cx, a.alias, names)
        };
        Some(Step::Checkout { items: items(a.items), alias, expect })
    }

    pub(super) fn refund_step(&mut self, cx: &StepCx, args: Value) -> Option<Step> {
        let a: raw::RefundArgs = self.args(cx, args)?;
        let amount = a.amount.as_ref().and_then(|m| self.money(cx, "amount", m));
        let expect = self.driver_outcome(cx, a.expect.as_deref(), &["ok", "refused"]);
        Some(Step::Refund { amount, expect })
    }

    pub(super) fn shop_cancel_step(&mut self, cx: &StepCx, args: Value) -> Option<Step> {
        let a: raw::ExpectOnlyArgs = self.args(cx, args)?;
        Some(Step::ShopCancel { expect: self.driver_outcome(cx, a.expect.as_deref(), &["ok", "canceled", "refused"]) })
    }

    pub(super) fn shop_close_step(&mut self, cx: &StepCx, args: Value) -> Option<Step> {
        let _: raw::ExpectOnlyArgs = self.args(cx, args)?;
        Some(Step::ShopClose)
    }
}
