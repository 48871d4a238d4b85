//! Resolving the expectation steps, each checked against what it may name and follow.

use super::*;

impl Resolver<'_> {
    pub(super) fn expect_purchase_step(&mut self, cx: &StepCx, args: Value) -> Option<Step> {
        let a: raw::ExpectPurchaseArgs = self.args(cx, args)?;
        let outcome = self.choice(
            cx,
            "outcome",
            &a.outcome,
            &[
                ("accepted", PurchaseOutcome::Accepted),
                ("declined", PurchaseOutcome::Declined),
                ("violation", PurchaseOutcome::Violation),
            ],
        )?;
        if let Some(code) = &a.error_code {
            self.error_code(cx, code);
            if outcome != PurchaseOutcome::Declined {
                self.step_problem(cx, "error_code", "an error_code goes with outcome: declined");
            }
        }
        Some(Step::ExpectPurchase { outcome, error_code: a.error_code })
    }

    pub(super) fn expect_race_step(&mut self, cx: &StepCx, args: Value, seen: &HashSet<String>) -> Option<Step> {
        let a: raw::ExpectRaceArgs = self.args(cx, args)?;
        if let Some(code) = &a.error_code {
            self.error_code(cx, code);
        }
        self.after_step(cx, "race", seen);
        Some(Step::ExpectRace { accepted: a.accepted, error_code: a.error_code })
    }

    pub(super) fn expect_status_step(&mut self, cx: &StepCx, args: Value, names: &HashSet<String>) -> Option<Step> {
        let a: raw::ExpectStatusArgs = self.args(cx, args)?;
        let status = InvoiceStatus::parse(a.status.trim());
        if status.is_none() {
            let all: Vec<&str> = InvoiceStatus::ALL.iter().map(|s| s.as_str()).collect();
            self.step_problem(
                cx,
                "status",
                format!("unknown status {:?}; expected one of {}", a.status, all.join(", ")),
            );
        }
        let timing = self.timing(cx, a.within.as_ref(), a.during.as_ref());
        Some(Step::ExpectStatus { invoice: self.invoice(cx, a.invoice, names), status: status?, timing: timing? })
    }

    pub(super) fn expect_call_step(
        &mut self,
        cx: &StepCx,
        args: Value,
        names: &HashSet<String>,
        seen: &HashSet<String>,
    ) -> Option<Step> {
        let a: raw::ExpectCallArgs = self.args(cx, args)?;
        let operation = self.operation(cx, &a.operation);
        let within = match &a.within {
            Some(w) => self.wait(cx, "within", w),
            None => Some(Wait::fixed(DEFAULT_WITHIN)),
        };
        let (min, max) = match &a.count {
            Some(count) => (count.min.unwrap_or(1), count.max),
            None => (1, None),
        };
        if max.is_some_and(|max| max < min) {
            self.step_problem(cx, "count", "max is below min");
        }
        let after = self.mark(cx, a.after.as_deref(), seen);
        let scope = self.scope(cx, a.invoice, names);
        Some(Step::ExpectCall { operation: operation?, within: within?, min, max, after: after?, scope })
    }

    pub(super) fn expect_no_call_step(
        &mut self,
        cx: &StepCx,
        args: Value,
        names: &HashSet<String>,
        seen: &HashSet<String>,
    ) -> Option<Step> {
        let a: raw::ExpectNoCallArgs = self.args(cx, args)?;
        let operation = self.operation(cx, &a.operation);
        let during = match &a.during {
            Some(d) => self.duration(cx, "during", d),
            None => Some(DEFAULT_DURING),
        };
        let after = self.mark(cx, a.after.as_deref(), seen);
        let scope = self.scope(cx, a.invoice, names);
        Some(Step::ExpectNoCall { operation: operation?, during: during?, after: after?, scope })
    }

    pub(super) fn expect_machine_step(&mut self, cx: &StepCx, args: Value) -> Option<Step> {
        let a: raw::ExpectMachineArgs = self.args(cx, args)?;
        if !MACHINE_STATES.contains(&a.state.as_str()) {
            self.step_problem(
                cx,
                "state",
                format!("unknown machine state {:?}; expected one of {}", a.state, MACHINE_STATES.join(", ")),
            );
        }
        let timing = self.timing(cx, a.within.as_ref(), a.during.as_ref())?;
        Some(Step::ExpectMachine { machine: a.machine, state: a.state, timing })
    }

    pub(super) fn expect_order_step(&mut self, cx: &StepCx, args: Value, seen: &HashSet<String>) -> Option<Step> {
        let a: raw::ExpectOrderArgs = self.args(cx, args)?;
        if !ORDER_STATES.contains(&a.state.as_str()) {
            self.step_problem(
                cx,
                "state",
                format!("unknown order state {:?}; expected one of {}", a.state, ORDER_STATES.join(", ")),
            );
        }
        let timing = self.timing(cx, a.within.as_ref(), a.during.as_ref())?;
        self.after_step(cx, "checkout", seen);
        Some(Step::ExpectOrder { state: a.state, timing })
    }

    pub(super) fn expect_refund_step(&mut self, cx: &StepCx, args: Value, seen: &HashSet<String>) -> Option<Step> {
        let a: raw::ExpectRefundArgs = self.args(cx, args)?;
        let outcome = self.driver_outcome(cx, Some(&a.outcome), &["ok", "refused"])?;
        self.after_step(cx, "refund", seen);
        Some(Step::ExpectRefund { outcome })
    }

    pub(super) fn expect_payment_step(&mut self, cx: &StepCx, args: Value, names: &HashSet<String>) -> Option<Step> {
        let a: raw::ExpectPaymentArgs = self.args(cx, args)?;
        let amount = a.amount.as_ref().and_then(|m| self.money(cx, "amount", m));
        let refunded = a.refunded.as_ref().and_then(|m| self.money(cx, "refunded", m));
        Some(Step::ExpectPayment { invoice: self.invoice(cx, a.invoice, names), amount, refunded })
    }

    pub(super) fn expect_findings_step(&mut self, cx: &StepCx, args: Value) -> Option<Step> {
        let ids: Vec<String> = self.args(cx, args)?;
        for id in &ids {
            if !(self.known_rule)(id) {
                self.step_problem(cx, "", unknown_rule(id));
            }
        }
        Some(Step::ExpectFindings(ids.iter().map(|id| id.trim().to_ascii_uppercase()).collect()))
    }
}
