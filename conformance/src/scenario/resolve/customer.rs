//! Resolving the customer's steps: scans, confirmation, the wallet, races.

use super::*;

impl Resolver<'_> {
    pub(super) fn scan_step(&mut self, cx: &StepCx, args: Value, names: &mut HashSet<String>) -> Option<Step> {
        let a: raw::ScanArgs = self.args(cx, args)?;
        let amount = a.amount.as_ref().and_then(|m| self.money(cx, "amount", m));
        if let Some(currency) = &a.currency
            && (currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()))
        {
            self.step_problem(cx, "currency", format!("{currency:?} is not an ISO 4217 code like SEK"));
        }
        let alias = self.define(cx, a.alias, names);
        Some(Step::Scan { machine: a.machine, amount, notify_early: a.notify_early, currency: a.currency, alias })
    }

    pub(super) fn scan_invoice_step(&mut self, cx: &StepCx, args: Value, names: &HashSet<String>) -> Option<Step> {
        let a: raw::InvoiceArgs = self.args(cx, args)?;
        Some(Step::ScanInvoice { invoice: self.invoice(cx, a.invoice, names) })
    }

    pub(super) fn confirm_step(&mut self, cx: &StepCx, args: Value, names: &HashSet<String>) -> Option<Step> {
        let a: raw::ConfirmArgs = self.args(cx, args)?;
        let outcome = a.outcome.as_deref().and_then(|o| {
            self.choice(
                cx,
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
        Some(Step::Confirm { invoice: self.invoice(cx, a.invoice, names), pin: a.pin.map(|p| p.text()), outcome })
    }

    pub(super) fn set_wallet_step(&mut self, cx: &StepCx, args: Value) -> Option<Step> {
        let a: raw::WalletArgs = self.args(cx, args)?;
        Some(Step::SetWallet { balance: self.money(cx, "balance", &a.balance)? })
    }

    pub(super) fn race_step(&mut self, cx: &StepCx, args: Value, names: &mut HashSet<String>) -> Option<Step> {
        let a: raw::RaceArgs = self.args(cx, args)?;
        let amount = a.scan.amount.as_ref().and_then(|m| self.money(cx, "scan.amount", m));
        if a.scan.customers < 2 {
            self.step_problem(cx, "scan.customers", "a race needs at least 2 customers");
        }
        let alias = self.define(cx, a.scan.alias, names);
        Some(Step::Race { machine: a.scan.machine, amount, customers: a.scan.customers, alias })
    }
}
