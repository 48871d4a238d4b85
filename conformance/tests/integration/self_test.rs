//! The suite tests itself: the whole library passes against the reference reseller,
//! and each of the reference reseller's deliberate faults makes the run fail with a
//! finding of the rule that fault breaks.
//!
//! Every run gets its own mock and reseller on loopback ports, and runs its scenarios
//! `--jobs` at a time as the command line does by default (the clean run once more one
//! after another). The clean runs go first alone (their timing rules are tight at the
//! demo's deadline scale); the fault runs go a few at a time, each with only the
//! scenarios that show its fault.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use glase_conformance::builtin::DEMO_DEADLINE_SCALE;
use glase_conformance::demo::{InProcessSettings, ReferenceReseller};
use glase_conformance::results::{RunReport, Verdict};
use glase_conformance::runner::{self, Harness, RunOptions};
use glase_conformance::scenario::{self, Profile, Scenario, Source};
use glase_conformance::{Level, rules};
use reference_reseller::Fault;

/// Runs at once in the fault phase (2 cores; the runs mostly wait).
const PARALLEL_FAULT_RUNS: usize = 5;
/// Fault runs need not wait for long timers: what they expect fails or holds quickly.
const FAULT_PATIENCE: Duration = Duration::from_secs(6);

fn library() -> Vec<Scenario> {
    scenario::load(&scenario::embedded(), &|id| rules::rule(id).is_some()).expect("the built-in library loads")
}

fn pick(library: &[Scenario], ids: &[&str]) -> Vec<Scenario> {
    let picked: Vec<Scenario> = library.iter().filter(|s| ids.contains(&s.id.as_str())).cloned().collect();
    assert_eq!(picked.len(), ids.len(), "every scenario named in the fault table exists: {ids:?}");
    picked
}

/// A fresh mock and reference reseller (with `faults`), and the suite run against it,
/// `jobs` scenarios at a time.
async fn run_against(
    faults: &[Fault],
    scenarios: &[Scenario],
    strict: bool,
    patience: Option<Duration>,
    jobs: usize,
) -> RunReport {
    let settings = InProcessSettings {
        purpose: "self-test",
        faults: faults.to_vec(),
        machines: 2,
        idle_timeout: Duration::from_secs(2),
        tweak: InProcessSettings::as_is,
    };
    run_variant(&settings, scenarios, None, strict, patience, jobs).await
}

/// A fresh mock and reference reseller as `settings` say, and the suite run against it
/// (in `profile`, all by default), `jobs` scenarios at a time.
async fn run_variant(
    settings: &InProcessSettings,
    scenarios: &[Scenario],
    profile: Option<Profile>,
    strict: bool,
    patience: Option<Duration>,
    jobs: usize,
) -> RunReport {
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let harness = Harness::start(listen, DEMO_DEADLINE_SCALE, 42).await.expect("the mock starts");
    let reseller = ReferenceReseller::start_on(&harness, settings).await.expect("the reference reseller starts");
    let http = runner::http_client().expect("an HTTP client");
    let options =
        RunOptions { target: reseller.target(), profile, strict, seed: 42, patience, timers: reseller.timers() };
    runner::preflight(&options.target, &http).await.expect("the reference reseller answers");
    let report = runner::run_with_jobs(&harness, scenarios, &options, jobs, &http, &mut |_| {}).await;
    drop(reseller);
    harness.shutdown().await;
    report
}

/// One line per scenario that did not pass, with why.
fn problems(report: &RunReport) -> String {
    let mut lines = Vec::new();
    for result in &report.results {
        if matches!(result.verdict, Verdict::Passed | Verdict::Skipped) {
            continue;
        }
        lines.push(format!("{} {:?}", result.id, result.verdict));
        for failure in &result.failures {
            lines.push(format!(
                "  step {} {}: expected {}; actual {}",
                failure.step, failure.description, failure.expected, failure.actual
            ));
        }
        for finding in &result.findings {
            lines.push(format!(
                "  {} {:?}: expected {}; actual {}",
                finding.rule, finding.level, finding.expected, finding.actual
            ));
        }
    }
    lines.join("\n")
}

/// Which scenarios show each deliberate fault, and the rules whose findings prove it was
/// caught (any one of them must appear). Rule ids from `conformance/src/rules`.
/// `strict` where the broken rule is a SHOULD (the run then fails only under --strict).
struct Case {
    fault: Fault,
    scenarios: &'static [&'static str],
    rules: &'static [&'static str],
    strict: bool,
}

const CASES: &[Case] = &[
    Case {
        fault: Fault::SkipStatusFetch,
        scenarios: &["unattended/happy-path", "webshop/happy-path"],
        rules: &["STATUS-BEFORE-DEADLINE", "STATUS-AFTER-NOTIFICATION"],
        strict: false,
    },
    Case {
        fault: Fault::TrustNotification,
        scenarios: &["unattended/forged-notification", "webshop/forged-notification"],
        rules: &["NOTIFICATION-NOT-TRUSTED", "UNLOCK-ONLY-AFTER-RESERVED"],
        strict: false,
    },
    Case {
        fault: Fault::CommitMoreThanReserved,
        scenarios: &["unattended/happy-path"],
        rules: &["UPS-COMMIT-WITHIN-RESERVED", "UPS-COMMIT-EQUALS-UPDATED-TOTAL"],
        strict: false,
    },
    Case {
        fault: Fault::IgnoreDeviceInUse,
        scenarios: &["unattended/error-device-in-use", "unattended/concurrent-scans"],
        rules: &["UPS-DEVICE-IN-USE"],
        strict: false,
    },
    Case {
        fault: Fault::NoReleaseOnCancel,
        scenarios: &["unattended/customer-cancel"],
        rules: &["UPS-RELEASE-ON-CANCEL"],
        strict: false,
    },
    Case {
        fault: Fault::WrongInvoiceReference,
        scenarios: &["unattended/happy-path"],
        rules: &["UPS-REFERENCE-MATCHES"],
        strict: false,
    },
    Case {
        fault: Fault::SkipUpdateBeforeCommit,
        scenarios: &["unattended/happy-path"],
        rules: &["UPS-UPDATE-BEFORE-COMMIT"],
        strict: false,
    },
    Case {
        fault: Fault::RowsNotSummingToTotal,
        scenarios: &["unattended/happy-path"],
        rules: &["INV-ROWS-SUM"],
        strict: false,
    },
    Case {
        fault: Fault::NonZeroClientRequestTimeout,
        scenarios: &["unattended/happy-path", "webshop/happy-path"],
        rules: &["CTX-REQUEST-TIMEOUT-ZERO"],
        strict: false,
    },
    Case {
        fault: Fault::NoClientReference,
        scenarios: &["unattended/happy-path", "webshop/happy-path"],
        rules: &["CTX-CLIENT-REFERENCE"],
        strict: false,
    },
    Case {
        fault: Fault::NoIdleCancel,
        scenarios: &["unattended/walk-away-after-unlock"],
        rules: &["UPS-IDLE-RELEASE"],
        strict: false,
    },
    Case {
        fault: Fault::ImmediateDebitForUnattended,
        scenarios: &["unattended/happy-path"],
        rules: &["UPS-RESERVATION-MODE"],
        strict: false,
    },
    Case {
        fault: Fault::CommitCanceled,
        scenarios: &["unattended/vend-after-cancel"],
        rules: &["UPS-NO-COMMIT-AFTER-CANCEL"],
        strict: false,
    },
    Case {
        fault: Fault::StaleInvoiceVersion,
        scenarios: &["webshop/polling-and-invoice-version"],
        rules: &["SHOP-INVOICE-VERSION-ECHO"],
        strict: true,
    },
    Case {
        fault: Fault::RefundBeyondPayment,
        scenarios: &["webshop/refund-beyond-payment"],
        rules: &["SHOP-REFUND-WITHIN-PAYMENT"],
        strict: false,
    },
    // The till shares the webshop's order engine, and this fault with it.
    Case {
        fault: Fault::RefundBeyondPayment,
        scenarios: &["pos/refund-beyond-payment"],
        rules: &["SHOP-REFUND-WITHIN-PAYMENT"],
        strict: false,
    },
    Case {
        fault: Fault::RecommitAfterLostAnswer,
        scenarios: &["unattended/glase-commit-no-answer"],
        rules: &["UPS-COMMIT-ONCE"],
        strict: true,
    },
    Case {
        fault: Fault::EmptyVendStaysReserved,
        scenarios: &["unattended/choose-nothing"],
        rules: &["UPS-IDLE-RELEASE"],
        strict: false,
    },
    Case {
        fault: Fault::NotificationOnly,
        scenarios: &["unattended/lost-notification", "webshop/lost-notification"],
        rules: &["STATUS-BEFORE-DEADLINE"],
        strict: false,
    },
    Case {
        fault: Fault::GiveUpPolling,
        scenarios: &["webshop/slow-customer-lost-notification"],
        rules: &["STATUS-BEFORE-DEADLINE"],
        strict: false,
    },
    Case {
        fault: Fault::PollTooOften,
        scenarios: &["webshop/polling-and-invoice-version"],
        rules: &["SHOP-POLL-NOT-TOO-OFTEN"],
        strict: true,
    },
    Case {
        fault: Fault::PaidOnNotification,
        scenarios: &["webshop/notification-before-status"],
        rules: &["NOTIFICATION-NOT-TRUSTED"],
        strict: false,
    },
    Case {
        fault: Fault::IgnoreCancelResult,
        scenarios: &["webshop/cancel-while-confirming"],
        rules: &["SHOP-CANCEL-CHECKED"],
        strict: false,
    },
    Case {
        fault: Fault::CancelPaidOrder,
        scenarios: &["webshop/cancel-paid-refused"],
        rules: &["SHOP-NO-CANCEL-PAID"],
        strict: false,
    },
    Case {
        fault: Fault::ResendInvoiceOnLostAnswer,
        scenarios: &["webshop/send-invoice-no-answer"],
        rules: &["SHOP-ONE-INVOICE-PER-ORDER"],
        strict: true,
    },
    Case { fault: Fault::TillPollSlowly, scenarios: &["pos/happy-path"], rules: &["SHOP-POLL-CADENCE"], strict: false },
    Case {
        fault: Fault::TillGiveUpPolling,
        scenarios: &["pos/slow-customer"],
        rules: &["STATUS-BEFORE-DEADLINE"],
        strict: false,
    },
    Case {
        fault: Fault::TillNoReceipt,
        scenarios: &["pos/happy-path"],
        rules: &["POS-RECEIPT-AFTER-PAID"],
        strict: false,
    },
    Case {
        fault: Fault::TillNoUnregister,
        scenarios: &["pos/certification"],
        rules: &["POS-UNREGISTER"],
        strict: false,
    },
    Case {
        fault: Fault::TillNoSeqrId,
        scenarios: &["pos/happy-path"],
        rules: &["POS-SEQR-ID-ASSIGNED"],
        strict: false,
    },
    Case {
        fault: Fault::RefundUnpaidOrder,
        scenarios: &["webshop/refund-canceled-order"],
        rules: &["SHOP-REFUND-ONLY-PAID"],
        strict: false,
    },
];

#[test]
fn the_fault_table_covers_every_deliberate_fault_and_names_known_rules() {
    for fault in Fault::ALL {
        assert!(CASES.iter().any(|c| c.fault == *fault), "no self-test case for {}", fault.name());
    }
    for case in CASES {
        for id in case.rules {
            assert!(rules::rule(id).is_some(), "{}: unknown rule {id}", case.fault.name());
        }
        pick(&library(), case.scenarios);
    }
}

/// Every finding a stranger meets can be looked up: each step of the library that
/// judges the system under test names the rule it checks.
#[test]
fn every_expectation_of_the_library_names_the_rule_it_checks() {
    let mut unnamed = Vec::new();
    for scenario in library() {
        for step in scenario.steps.iter().filter(|s| s.value.is_expectation() && s.rule.is_none()) {
            unnamed.push(format!("{} `{}`", step.location, step.text));
        }
    }
    assert!(unnamed.is_empty(), "expectations without `rule:`:\n{}", unnamed.join("\n"));
}

/// The certification checklist of the report is honest about the built-in library:
/// every unattended, webshop and point-of-sale item is covered by a scenario that says so.
#[test]
fn the_library_covers_every_checklist_item() {
    let library = library();
    for item in glase_conformance::checklist::CHECKLIST {
        let id = item.id();
        assert!(library.iter().any(|s| s.covers.contains(&id)), "no scenario covers {id}: {}", item.test);
    }
    let invoicing = "unattended/INVOICING_ERROR".to_owned();
    let covering: Vec<&str> = library.iter().filter(|s| s.covers.contains(&invoicing)).map(|s| s.id.as_str()).collect();
    assert!(covering.len() >= 6, "every glase-send-invoice-* scenario: {covering:?}");
}

/// The runs of the tests below, one test at a time: the clean run's timing rules are
/// tight at the demo's deadline scale, and cargo runs tests in parallel.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_suite_passes_against_the_reference_reseller() {
    let _serial = SERIAL.lock().await;
    let library = library();
    assert!(library.len() >= 25, "the library has {} scenarios", library.len());
    for jobs in [runner::DEFAULT_JOBS, 1] {
        let started = Instant::now();
        let clean = run_against(&[], &library, true, None, jobs).await;
        eprintln!("clean run, {jobs} at a time: {} scenarios in {:.1?}", clean.results.len(), started.elapsed());
        assert_passes_strictly(&clean, &library);
        if let Err(problem) = journals_apart(&clean) {
            panic!("{jobs} at a time: {problem}");
        }
    }
}

/// Deliberately different correct resellers: each must pass its profile strictly, as
/// the reference configuration does. Differences the seeds allow: a long idle timeout,
/// one updateInvoice per vended line, commits without an amount; a shop that gives no
/// notificationUrl and only polls; a shop driven by notifications whose fallback poll
/// is ten times slower than the seed's second (still well inside the status deadline).
mod variants {
    use super::*;

    /// At the demo's scale (×0.05) an idle timeout of 8 s stands for 160 s.
    fn long_idle_per_line_no_commit_amount(config: &mut reference_reseller::Config) {
        config.vending.idle_timeout = Duration::from_secs(8);
        config.vending.update_per_line = true;
        config.vending.commit_amount = false;
    }

    /// Polls each scaled second (50 ms), gives Glase no notificationUrl.
    fn polling_shop(config: &mut reference_reseller::Config) {
        config.webshop.notification_url = false;
        config.webshop.poll_interval = Duration::from_millis(50);
    }

    /// Fetches on the notification; falls back to a poll every 500 ms (10 s at scale 1).
    fn notified_shop_slow_fallback(config: &mut reference_reseller::Config) {
        config.webshop.poll_interval = Duration::from_millis(500);
    }

    async fn passes(profile: Profile, tweak: fn(&mut reference_reseller::Config)) -> RunReport {
        let library: Vec<Scenario> = library().into_iter().filter(|s| s.profiles.contains(&profile)).collect();
        let settings = InProcessSettings {
            purpose: "self-test-variant",
            faults: Vec::new(),
            machines: 2,
            idle_timeout: Duration::from_secs(2),
            tweak,
        };
        let report = run_variant(&settings, &library, Some(profile), true, None, runner::DEFAULT_JOBS).await;
        assert!(report.passed(), "a correct variant must pass strictly:\n{}", problems(&report));
        report
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reseller_with_a_long_idle_timeout_updates_per_line_and_commits_without_amount_passes() {
        let _serial = SERIAL.lock().await;
        let report = passes(Profile::Unattended, long_idle_per_line_no_commit_amount).await;
        let walked = report.results.iter().find(|r| r.id == "unattended/walk-away-after-unlock").expect("ran");
        assert_eq!(walked.verdict, Verdict::Passed, "the long idle timeout is waited for, not cut");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_shop_without_a_notification_url_passes_and_notification_scenarios_do_not_apply() {
        let _serial = SERIAL.lock().await;
        let report = passes(Profile::Webshop, polling_shop).await;
        let forged = report.results.iter().find(|r| r.id == "webshop/forged-notification").expect("ran");
        assert_eq!(forged.verdict, Verdict::Skipped, "{forged:?}");
        assert!(forged.reason.as_deref().is_some_and(|r| r.contains("no notificationUrl")), "{forged:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_notification_driven_shop_with_a_slow_fallback_poll_passes() {
        let _serial = SERIAL.lock().await;
        passes(Profile::Webshop, notified_shop_slow_fallback).await;
    }
}

/// A test build whose drivers want a bearer token is driven with `--driver-token`; without
/// it the preflight says the driver refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drivers_behind_a_token_are_driven_with_it() {
    let _serial = SERIAL.lock().await;
    fn with_token(config: &mut reference_reseller::Config) {
        config.driver_token = Some("s3cret".to_owned());
    }
    let settings = InProcessSettings {
        purpose: "self-test-token",
        faults: Vec::new(),
        machines: 2,
        idle_timeout: Duration::from_secs(2),
        tweak: with_token,
    };
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let harness = Harness::start(listen, DEMO_DEADLINE_SCALE, 42).await.expect("the mock starts");
    let reseller = ReferenceReseller::start_on(&harness, &settings).await.expect("the reference reseller starts");
    let http = runner::http_client().expect("an HTTP client");
    let without = runner::preflight(&reseller.target(), &http).await;
    assert!(matches!(without, Err(runner::RunError::Unreachable { .. })), "{without:?}");
    let mut target = reseller.target();
    target.driver_token = Some("s3cret".to_owned());
    let options =
        RunOptions { target, profile: None, strict: true, seed: 42, patience: None, timers: reseller.timers() };
    runner::preflight(&options.target, &http).await.expect("the token opens the drivers");
    let scenarios = pick(&library(), &["unattended/happy-path", "webshop/happy-path"]);
    let report = runner::run_with_jobs(&harness, &scenarios, &options, 1, &http, &mut |_| {}).await;
    drop(reseller);
    harness.shutdown().await;
    assert!(report.passed(), "{}", problems(&report));
}

/// One locked machine does not cascade: the scenario that left it held is reported, and
/// the later scenarios on that machine are blocked (inconclusive, naming it), never
/// failed with findings that are not theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_left_held_blocks_later_scenarios_on_it_instead_of_failing_them() {
    let _serial = SERIAL.lock().await;
    let library = library();
    let scenarios = pick(&library, &["unattended/customer-cancel", "unattended/happy-path", "webshop/happy-path"]);
    let report = run_against(&[Fault::NoReleaseOnCancel], &scenarios, false, Some(FAULT_PATIENCE), 1).await;
    let [cancel, vend, shop] = &report.results[..] else { panic!("{:?}", report.results) };
    assert_eq!(cancel.verdict, Verdict::Failed, "{}", problems(&report));
    assert!(cancel.findings.iter().any(|f| f.rule == "UPS-RELEASE-ON-CANCEL"), "{}", problems(&report));
    assert_eq!(vend.verdict, Verdict::Inconclusive, "{}", problems(&report));
    let reason = vend.reason.as_deref().unwrap_or_default();
    assert!(reason.contains("blocked") && reason.contains("unattended/customer-cancel"), "{reason}");
    assert!(vend.findings.is_empty() && vend.failures.is_empty(), "not blamed: {vend:?}");
    assert_eq!(shop.verdict, Verdict::Passed, "another machine's trouble is not the shop's");
}

/// No scenario's journal shows another's invoice (each is issued in exactly one), in
/// every mode: late entries about an earlier scenario's invoice (a notification retry,
/// a reversal) are not the next scenario's, even when that one runs alone.
fn journals_apart(report: &RunReport) -> Result<(), String> {
    let mut issuer = std::collections::HashMap::new();
    for result in &report.results {
        for entry in &result.journal {
            if let mock_glase::journal::Record::Machine {
                event: mock_glase::machine::Event::InvoiceIssued { invoice, .. },
            } = &entry.record
                && let Some(first) = issuer.insert(invoice.to_string(), result.id.as_str())
            {
                return Err(format!("invoice {invoice} is issued in {first} and in {}", result.id));
            }
        }
    }
    for result in &report.results {
        for entry in &result.journal {
            if let Some(owner) = entry.invoice.as_deref().and_then(|i| issuer.get(i))
                && *owner != result.id
            {
                return Err(format!("#{} about {owner}'s invoice {:?} is in {}", entry.seq, entry.invoice, result.id));
            }
        }
    }
    Ok(())
}

/// Every scenario passed, strictly, and the results are in the library's order.
fn assert_passes_strictly(clean: &RunReport, library: &[Scenario]) {
    assert!(clean.passed(), "the reference reseller must pass the whole suite, strictly:\n{}", problems(clean));
    let order: Vec<&str> = clean.results.iter().map(|r| r.id.as_str()).collect();
    let files: Vec<&str> = library.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(order, files, "results in the scenarios' order");
    // None is skipped: the reference reseller serves every driver, the till's included.
    for result in &clean.results {
        assert_eq!(result.verdict, Verdict::Passed, "{}: {:?}", result.id, result.reason);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_deliberate_fault_fails_the_run_with_a_finding_of_its_rule() {
    let _serial = SERIAL.lock().await;
    let library = library();
    let started = Instant::now();
    let mut failures = Vec::new();
    for chunk in CASES.chunks(PARALLEL_FAULT_RUNS) {
        let mut tasks = Vec::new();
        for case in chunk {
            let scenarios = pick(&library, case.scenarios);
            let (fault, strict) = (case.fault, case.strict);
            tasks.push(tokio::spawn(async move {
                run_against(&[fault], &scenarios, strict, Some(FAULT_PATIENCE), runner::DEFAULT_JOBS).await
            }));
        }
        for (case, task) in chunk.iter().zip(tasks) {
            let report = task.await.expect("the fault run finishes");
            let fired: Vec<&str> =
                report.results.iter().flat_map(|r| r.findings.iter().map(|f| f.rule.as_str())).collect();
            let caught = case.rules.iter().any(|id| fired.contains(id));
            let mut distinct = fired.clone();
            distinct.sort_unstable();
            distinct.dedup();
            eprintln!("{:32} caught: {caught:5}  fired: {}", case.fault.name(), distinct.join(", "));
            if report.passed() || !caught {
                failures.push(format!(
                    "{}: run {}, expected a finding of {:?}, fired {:?}\n{}",
                    case.fault.name(),
                    if report.passed() { "PASSED" } else { "failed" },
                    case.rules,
                    fired,
                    problems(&report)
                ));
            }
            // The finding that proves the fault is one that fails the run.
            let binding = report
                .results
                .iter()
                .flat_map(|r| &r.findings)
                .filter(|f| case.rules.contains(&f.rule.as_str()))
                .any(|f| f.level == Level::Must || case.strict);
            assert!(binding || !caught, "{}: its finding does not fail the run", case.fault.name());
            if let Err(problem) = journals_apart(&report) {
                failures.push(format!("{}: {problem}", case.fault.name()));
            }
        }
    }
    eprintln!("fault runs: {} faults in {:.1?}", CASES.len(), started.elapsed());
    assert!(failures.is_empty(), "faults not caught:\n\n{}", failures.join("\n\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_negative_scenario_passes_only_when_exactly_its_rules_fire() {
    let _serial = SERIAL.lock().await;
    let text = r#"
id: self-test/no-client-reference
title: The client context lacks clientReference
profiles: [webshop]
requires: [shop-driver]
steps:
  - checkout: {items: [{sku: cable}]}
  - expect_call: {operation: sendInvoice}
  - expect_findings: [CTX-CLIENT-REFERENCE]
"#;
    let sources = [Source { name: "self-test.yaml".into(), text: text.into() }];
    let scenarios = scenario::load(&sources, &|id| rules::rule(id).is_some()).expect("loads");
    let faulty = run_against(&[Fault::NoClientReference], &scenarios, false, None, 1).await;
    assert!(faulty.passed(), "the expected finding fired:\n{}", problems(&faulty));
    assert!(faulty.results[0].findings.is_empty(), "expected findings are not reported as findings");
    let clean = run_against(&[], &scenarios, false, None, 1).await;
    assert!(!clean.passed(), "against a correct reseller the expected finding is missing");
    let failure = &clean.results[0].failures[0];
    assert_eq!(failure.step, 3);
    assert!(failure.actual.contains("fired: none"), "{failure:?}");
}

/// Two scenarios that each arm a getPaymentStatus fault (one before its scan: narrowed
/// to its customer; one after: narrowed to its invoice) run at once, and each meets
/// exactly its own fault, about its own invoice. Before faults were narrowed, both ran
/// alone, one after the other.
#[tokio::test]
async fn scenarios_with_faults_on_their_own_calls_run_side_by_side() {
    let _serial = SERIAL.lock().await;
    let scenario = |id: &str, machine: &str, sku: &str, fault_first: bool| {
        let fault = "  - fault: {operation: getPaymentStatus, result_code: 93, times: 1}\n";
        let scan = format!("  - scan: {{machine: {machine}, amount: \"5.00\"}}\n");
        let (first, second) = if fault_first { (fault.to_owned(), scan) } else { (scan, fault.to_owned()) };
        let text = format!(
            "id: {id}\ntitle: t\nprofiles: [unattended]\nrequires: [machine-driver]\nsteps:\n{first}{second}  \
             - confirm: {{}}\n  - expect_machine: {{machine: {machine}, state: unlocked, within: status-deadline + 2s}}\n  \
             - wait: 300ms\n  - vend: {{machine: {machine}, items: [{{sku: {sku}}}], expect: paid}}\n"
        );
        scenario::load_str(&format!("{id}.yaml"), &text, &|rule| rules::rule(rule).is_some()).expect("loads")
    };
    let scenarios = [
        scenario("mine/before-scan", "machine-1", "water", true),
        scenario("mine/after-scan", "machine-2", "tea", false),
    ];
    let report = run_against(&[], &scenarios, true, None, 2).await;
    assert!(report.passed(), "{}", problems(&report));
    journals_apart(&report).expect("each journal holds its own invoices");
    let span = |journal: &[mock_glase::journal::Entry]| (journal[0].at, journal[journal.len() - 1].at);
    let (a, b) = (span(&report.results[0].journal), span(&report.results[1].journal));
    assert!(a.0 < b.1 && b.0 < a.1, "they ran at once: {a:?} {b:?}");
    for result in &report.results {
        use mock_glase::machine::Event;
        let (mut issued, mut faulted) = (Vec::new(), Vec::new());
        for entry in &result.journal {
            match &entry.record {
                mock_glase::journal::Record::Machine { event: Event::InvoiceIssued { invoice, .. } } => {
                    issued.push(invoice.to_string());
                }
                mock_glase::journal::Record::Machine { event: Event::FaultInjected { invoice, .. } } => {
                    faulted.push(invoice.clone());
                }
                _ => {}
            }
        }
        assert_eq!(faulted.len(), 1, "{}: {faulted:?}", result.id);
        assert_eq!(faulted[0].as_ref(), issued.first(), "{}: its own invoice {issued:?}", result.id);
    }
}

// ---- the command line: exit codes and load errors ----

fn binary(args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_glase-conformance"))
        .args(args)
        .output()
        .expect("the binary runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

#[test]
fn list_shows_the_effective_fixtures_and_bad_ones_exit_2() {
    let (code, out, err) = binary(&["list", "--fixture", "machine-1=vm-17", "--fixture", "cola=sku-123"]);
    assert_eq!(code, 0, "{err}");
    let line = |name: &str| out.lines().find(|l| l.trim_start().starts_with(&format!("{name} "))).unwrap_or_default();
    assert!(line("machine-1").ends_with("-> vm-17"), "{out}");
    assert!(line("cola").ends_with("-> sku-123"), "{out}");
    assert!(line("machine-2").ends_with(" machine-2"), "{out}");

    let (code, _, err) = binary(&["list", "--fixture", "machine-9=vm-17"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("machine-9") && err.contains("known: ") && err.contains("machine-1"), "{err}");
    let (code, _, err) = binary(&["run", "--fixture", "machine-1=machine-2", "--shop-driver", "http://127.0.0.1:1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("machine-1, machine-2"), "{err}");
    let (code, _, err) = binary(&["list", "--fixture", "machine-1"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn list_validates_the_built_in_library_and_shows_every_rule() {
    let (code, out, err) = binary(&["list"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("unattended/happy-path") && out.contains("webshop/certification"), "{out}");
    assert!(out.contains("UPS-IDLE-RELEASE"), "{out}");
    let (code, out, _) = binary(&["explain", "UPS-IDLE-RELEASE"]);
    assert_eq!(code, 0);
    assert!(out.contains("Source (verbatim)"), "{out}");
}

#[test]
fn scenario_file_problems_are_all_listed_with_file_and_line_and_exit_2() {
    let dir = std::env::temp_dir().join(format!("glase-conformance-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let bad = "id: mine/bad\ntitle: t\nprofiles: [unattended]\nsteps:\n  - scna: {machine: m}\n  - wait: soon\n";
    std::fs::write(dir.join("bad.yaml"), bad).expect("written");
    std::fs::write(dir.join("worse.yaml"), "id: mine/worse\ntitle: t\nprofiles: [kiosk]\nsteps: [wait: 1s]\n")
        .expect("written");
    let (code, _, err) = binary(&["list", "--scenarios", dir.to_str().expect("utf-8 temp path")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("3 problems"), "{err}");
    assert!(err.contains("bad.yaml:5:5: steps[0]: unknown step `scna` (did you mean `scan`?)"), "{err}");
    assert!(err.contains("bad.yaml:6:5: steps[1].wait: \"soon\" is neither a duration"), "{err}");
    assert!(err.contains("worse.yaml:3:12: profiles[0]: unknown profile \"kiosk\""), "{err}");
}

#[test]
fn usage_errors_exit_2_and_an_unreachable_system_exits_3_with_its_reports() {
    assert_eq!(binary(&["run"]).0, 2, "no system under test named");
    assert_eq!(binary(&["explain", "NO-SUCH-RULE"]).0, 2);
    assert_eq!(binary(&["run", "--shop-driver", "http://127.0.0.1:1", "--only", "nothing/"]).0, 2);
    for (option, url) in [("--machine-driver", "htp://127.0.0.1:8000"), ("--shop-driver", "127.0.0.1:8000")] {
        let (code, _, err) = binary(&["run", option, url]);
        assert_eq!(code, 2, "{option} {url}: {err}");
        assert!(err.contains(option), "the message names the option: {err}");
    }
    let out = std::env::temp_dir().join(format!("glase-conformance-unreachable-{}", std::process::id()));
    let (code, _, err) = binary(&[
        "run",
        "--create-purchase-url",
        "http://127.0.0.1:1/seqr/createPurchase",
        "--glase-listen",
        "127.0.0.1:0",
        "--out",
        out.to_str().expect("utf-8 temp path"),
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("unreachable"), "{err}");
    let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml even so");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("report.json")).expect("JSON");
    let _ = std::fs::remove_dir_all(&out);
    assert!(junit.contains("preflight/system-under-test-answers") && junit.contains("<error"), "{junit}");
    assert_eq!(report["results"][0]["verdict"], "error");
    assert!(report["results"][0]["reason"].as_str().is_some_and(|r| r.contains("127.0.0.1:1")), "{report}");
}

#[test]
fn rule_ids_in_any_case_scenario_files_and_options_from_the_environment() {
    let (code, out, _) = binary(&["explain", "ups-idle-release"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("UPS-IDLE-RELEASE"), "{out}");
    let (code, _, err) = binary(&["explain", "UPS-STATUS-BEFORE-UNLOCK"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean") && err.contains("STATUS-BEFORE-DEADLINE"), "{err}");
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/webshop/happy-path.yaml");
    let (code, out, err) = binary(&["list", "--scenarios", file]);
    assert_eq!(code, 0, "a scenario file, not only a directory: {err}");
    assert!(out.contains("Scenarios (1)") && out.contains("webshop/happy-path"), "{out}");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_glase-conformance"))
        .args(["run", "--shop-driver", "http://127.0.0.1:1"])
        .env("GLASE_CONFORMANCE_ONLY", "nothing/")
        .output()
        .expect("the binary runs");
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "GLASE_CONFORMANCE_ONLY is --only: {err}");
    assert!(err.contains("no scenario matches --only nothing/"), "{err}");
}

/// The README's CI recipe, run as printed against the reference reseller started with
/// its default configuration, out of process, by the suite's own `--start`. Only what
/// a test must change is changed: the reseller's command for `./my-backend`, free ports
/// for 7070 and 8000, and the output directory.
#[test]
fn the_readme_ci_recipe_passes_against_the_reference_reseller_started_by_the_suite() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README");
    let recipe = ci_recipe(&readme);
    let words = shell_words(&recipe);
    assert_eq!(&words[..2], ["glase-conformance", "run"], "{recipe}");
    let options: Vec<&str> = words.iter().filter(|w| w.starts_with("--")).map(String::as_str).collect();
    for needed in ["--start", "--idle-timeout", "--unpaid-timeout", "--patience", "--profile", "--out"] {
        assert!(options.contains(&needed), "the recipe declares {needed}: {recipe}");
    }
    let work = std::env::temp_dir().join(format!("glase-ci-recipe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("a temp dir");
    let (backend, glase) = (free_port(), free_port());
    let reseller = reference_reseller_binary();
    let mut args: Vec<String> = Vec::new();
    let mut rest = words[1..].iter();
    while let Some(word) = rest.next() {
        let value = |next: Option<&String>| next.cloned().expect("every option of the recipe has a value");
        match word.as_str() {
            "--start" => {
                assert!(value(rest.next()).starts_with("./my-backend"));
                args.push(word.clone());
                args.push(format!("{} --listen 127.0.0.1:{backend}", reseller.display()));
            }
            "--out" => {
                let _ = rest.next();
                args.push(word.clone());
                args.push(work.join("report").display().to_string());
            }
            other => args.push(other.replace("127.0.0.1:8000", &format!("127.0.0.1:{backend}"))),
        }
    }
    args.push("--glase-listen".into());
    args.push(format!("127.0.0.1:{glase}"));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_glase-conformance"))
        .args(&args)
        .current_dir(&work)
        .output()
        .expect("the suite runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = std::fs::read_to_string(work.join("report").join("report.json")).unwrap_or_default();
    let log = std::fs::read_to_string(work.join("report").join("evidence").join("system-under-test.log"));
    let _ = std::fs::remove_dir_all(&work);
    assert_eq!(output.status.code(), Some(0), "the recipe passes:\n{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&report).expect("report.json");
    for result in report["results"].as_array().expect("results") {
        let verdict = result["verdict"].as_str().unwrap_or_default();
        let id = result["id"].as_str().unwrap_or_default();
        assert!(
            verdict == "passed" || (verdict == "skipped" && id.starts_with("pos/")),
            "{id} {verdict}: {}",
            result["reason"]
        );
    }
    assert!(log.is_ok_and(|l| !l.is_empty()), "the system's output is in the evidence bundle");
}

/// The command of the README's CI recipe: the `glase-conformance run` line (with its
/// continuations) of the code block after the `ci-recipe` marker.
fn ci_recipe(readme: &str) -> String {
    let block = readme.split("<!-- ci-recipe").nth(1).expect("the README marks its CI recipe");
    let block = block.split("```").nth(1).expect("a code block follows the marker");
    let mut command = String::new();
    let mut inside = false;
    for line in block.lines() {
        let line = line.trim();
        inside |= line.starts_with("glase-conformance run");
        if inside {
            let (text, continues) = match line.strip_suffix('\\') {
                Some(text) => (text.trim_end(), true),
                None => (line, false),
            };
            command.push_str(text);
            command.push(' ');
            if !continues {
                break;
            }
        }
    }
    command.trim().to_owned()
}

/// Splits a shell command line at spaces, keeping '…' and "…" together.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ' ') => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            (_, c) => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// The `reference-reseller` binary of this build: next to the test's own directory
/// (cargo builds it for the reseller's tests), or built now.
fn reference_reseller_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let dir = exe.parent().and_then(std::path::Path::parent).expect("target/<profile>");
    let binary = dir.join("reference-reseller");
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = std::process::Command::new(cargo)
            .args(["build", "-p", "reference-reseller", "--bin", "reference-reseller"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building reference-reseller");
    }
    binary
}

#[test]
fn demo_writes_an_evidence_bundle_with_the_files_hashes_and_the_whole_journal() {
    let out = std::env::temp_dir().join(format!("glase-conformance-evidence-{}", std::process::id()));
    let out_arg = out.to_str().expect("utf-8 temp path");
    let (code, stdout, err) = binary(&["demo", "--only", "webshop/cancel-unpaid", "--seed", "7", "--out", out_arg]);
    assert_eq!(code, 0, "{err}");
    let bundle = out.join("evidence");
    assert!(stdout.contains(&bundle.display().to_string()), "the bundle is printed with the reports: {stdout}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("manifest.json")).expect("a manifest"))
            .expect("JSON");
    let journal = std::fs::read_to_string(bundle.join("journal.jsonl")).expect("a journal");
    let _ = std::fs::remove_dir_all(&out);

    assert_eq!(manifest["seed"], 7);
    assert_eq!(manifest["deadlineScale"], DEMO_DEADLINE_SCALE);
    let scenario = &manifest["scenarios"][0];
    assert_eq!(scenario["id"], "webshop/cancel-unpaid");
    assert_eq!(scenario["verdict"], "passed");
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/webshop/cancel-unpaid.yaml"))
        .expect("the scenario file");
    assert_eq!(scenario["sha256"], scenario::sha256_hex(&text).as_str());
    let seqs: Vec<u64> = journal
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("one JSON object a line")["seq"].as_u64())
        .map(|seq| seq.expect("a seq"))
        .collect();
    assert!(!seqs.is_empty());
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in seq order: {seqs:?}");
    assert_eq!(manifest["journal"]["entries"], seqs.len());
}
