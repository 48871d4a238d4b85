//! What a scenario needs of the shared world while it runs: the machines it scans or
//! drives, the till, and whether it needs the embedded Glase to itself. A pure function of the
//! scenario, so `--jobs` can decide what may run at the same time before anything runs.
//!
//! A scenario may share the mock with others when everything it does is scoped to its
//! own customer, invoices and machines. It must run alone when it changes something
//! every scenario sees (Glase's clock, the deadline scale, faults, which are injected for
//! the whole demo merchant) or when the messages it expects name no invoice, so the
//! journal cannot tell its messages from another scenario's (markTransactionPeriod and
//! the terminal operations).

use std::collections::BTreeSet;

use crate::scenario::{Driver, Scenario};

/// Why a scenario must run alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alone {
    /// `setup.deadline_scale`: the scale is the mock's, not the scenario's.
    DeadlineScale,
    /// `fault`, `clear_faults` or `setup.faults`: faults apply to every call of the
    /// demo merchant, whoever made it.
    Faults,
    /// `advance_clock`: every open invoice's deadlines move.
    Clock,
    /// `shop_close` or a count of an operation that names no invoice: whose call it was
    /// cannot be told from the journal.
    Unattributable,
}

impl Alone {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeadlineScale => "sets the deadline scale",
            Self::Faults => "injects faults",
            Self::Clock => "moves the clock",
            Self::Unattributable => "expects calls that name no invoice",
        }
    }
}

/// What a scenario holds while it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Claim {
    /// Machine tokens it scans, races, vends at, or drives.
    pub machines: BTreeSet<String>,
    /// It drives the point-of-sale driver. The system has one till, whose sticker opens
    /// its newest invoice and whose registration every sale there depends on: two such
    /// scenarios never run at the same time (beside others they may).
    pub till: bool,
    /// `Some`: nothing else may run at the same time.
    pub alone: Option<Alone>,
}

impl Claim {
    /// A claim on nothing (a skipped scenario).
    pub fn none() -> Self {
        Self::default()
    }

    /// A claim that runs alone whatever the scenario does (`--jobs 1`).
    pub fn everything() -> Self {
        Self { machines: BTreeSet::new(), till: false, alone: Some(Alone::Unattributable) }
    }

    /// Nothing else may run at the same time; the first reason given is the one reported.
    pub fn must_run_alone(&mut self, reason: Alone) {
        self.alone.get_or_insert(reason);
    }

    /// Whether two claims may run at the same time.
    pub fn compatible(&self, other: &Self) -> bool {
        self.alone.is_none()
            && other.alone.is_none()
            && self.machines.is_disjoint(&other.machines)
            && !(self.till && other.till)
    }
}

/// What `scenario` needs while it runs: what its setup and each of its steps need
/// (each step kind says what it claims, see `crate::step`).
pub(crate) fn claim(scenario: &Scenario) -> Claim {
    let mut claim = Claim::none();
    if scenario.setup.deadline_scale.is_some() {
        claim.must_run_alone(Alone::DeadlineScale);
    }
    if !scenario.setup.faults.is_empty() {
        claim.must_run_alone(Alone::Faults);
    }
    claim.till = scenario.requires.contains(&Driver::Pos);
    for step in &scenario.steps {
        step.value.claim(&mut claim);
    }
    claim
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules;
    use crate::scenario::load_str;

    fn claim_of(steps: &str) -> Claim {
        let text =
            format!("id: a/b\ntitle: t\nprofiles: [unattended]\nrequires: [machine-driver, shop-driver]\n{steps}");
        claim(&load_str("t.yaml", &text, &|id| rules::rule(id).is_some()).expect("valid scenario"))
    }

    #[test]
    fn scenarios_at_the_till_take_turns_and_share_with_the_others() {
        let text = "id: pos/a\ntitle: t\nprofiles: [pos]\nrequires: [pos-driver]\nsteps:\n  - checkout: {items: [{sku: coffee}]}\n";
        let scenario = load_str("t.yaml", text, &|id| rules::rule(id).is_some()).expect("valid scenario");
        let till = claim(&scenario);
        assert!(till.till && till.alone.is_none(), "{till:?}");
        assert!(!till.compatible(&till.clone()), "one till: one scenario at a time");
        assert!(till.compatible(&claim_of("steps:\n  - scan: {machine: machine-1}\n")), "beside a machine's scenario");
    }

    fn machines(claim: &Claim) -> Vec<&str> {
        claim.machines.iter().map(String::as_str).collect()
    }

    #[test]
    fn the_machines_it_scans_races_and_drives_are_claimed() {
        let c = claim_of(
            "steps:\n  - scan: {machine: machine-1}\n  - race: {scan: {machine: m3, customers: 2}}\n  \
             - out_of_service: {machine: machine-2}\n  - vend: {machine: m4, items: []}\n  \
             - expect_machine: {machine: m5, state: idle}\n  - vend: {items: []}\n",
        );
        assert_eq!(machines(&c), ["m3", "m4", "m5", "machine-1", "machine-2"]);
        assert_eq!(c.alone, None);
    }

    #[test]
    fn customer_steps_notifications_and_invoice_counts_share_the_mock() {
        let c = claim_of(
            "steps:\n  - scan: {machine: m, notify_early: true, currency: SEK}\n  - confirm: {}\n  \
             - notify: {kind: forged}\n  - wait: 1ms\n  - expect_call: {operation: sendInvoice, invoice: any}\n  \
             - expect_no_call: {operation: commitReservation}\n",
        );
        assert_eq!(c.alone, None);
        let shop = claim_of("steps:\n  - checkout: {items: [{sku: a}]}\n  - refund: {}\n  - shop_cancel: {}\n");
        assert_eq!(shop, Claim::none(), "orders are told apart by their invoices");
    }

    #[test]
    fn global_changes_run_alone() {
        let scale = claim_of("setup: {deadline_scale: 0.02}\nsteps: [wait: 1ms]\n");
        assert_eq!(scale.alone, Some(Alone::DeadlineScale));
        let setup_fault =
            claim_of("setup:\n  faults: [{operation: sendInvoice, result_code: 90}]\nsteps: [wait: 1ms]\n");
        assert_eq!(setup_fault.alone, Some(Alone::Faults));
        assert_eq!(claim_of("steps:\n  - fault: {operation: '*', http_status: 503}\n").alone, Some(Alone::Faults));
        assert_eq!(claim_of("steps: [clear_faults]\n").alone, Some(Alone::Faults));
        assert_eq!(claim_of("steps:\n  - advance_clock: {by: 25s}\n").alone, Some(Alone::Clock));
    }

    #[test]
    fn faults_narrowed_to_the_scenarios_own_calls_share_the_mock() {
        for operation in ["getPaymentStatus", "updateInvoice", "commitReservation", "cancelInvoice", "notification"] {
            let step = format!("steps:\n  - fault: {{operation: {operation}, drop_connection: true, times: 1}}\n");
            assert_eq!(claim_of(&step).alone, None, "{operation}");
        }
        for operation in ["sendInvoice", "createPurchase", "registerTerminal", "markTransactionPeriod"] {
            let step = format!("steps:\n  - fault: {{operation: {operation}, drop_connection: true}}\n");
            assert_eq!(claim_of(&step).alone, Some(Alone::Faults), "{operation}");
        }
    }

    #[test]
    fn calls_that_name_no_invoice_run_alone() {
        assert_eq!(claim_of("steps: [shop_close]\n").alone, Some(Alone::Unattributable));
        let period = claim_of("steps:\n  - expect_call: {operation: markTransactionPeriod}\n");
        assert_eq!(period.alone, Some(Alone::Unattributable));
        let register = claim_of("steps:\n  - expect_no_call: {operation: registerTerminal}\n");
        assert_eq!(register.alone, Some(Alone::Unattributable));
    }

    #[test]
    fn claims_are_compatible_without_a_common_machine_and_when_neither_runs_alone() {
        let one = claim_of("steps:\n  - scan: {machine: machine-1}\n");
        let two = claim_of("steps:\n  - scan: {machine: machine-2}\n");
        let also_one = claim_of("steps:\n  - vend: {machine: machine-1, items: []}\n");
        assert!(one.compatible(&two) && two.compatible(&one));
        assert!(!one.compatible(&also_one));
        assert!(one.compatible(&Claim::none()));
        assert!(!Claim::none().compatible(&Claim::everything()));
        let clock = claim_of("steps:\n  - advance_clock: {by: 1s}\n");
        assert!(!clock.compatible(&Claim::none()));
    }
}
