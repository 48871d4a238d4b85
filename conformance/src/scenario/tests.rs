use super::*;

fn any_rule(id: &str) -> bool {
    id.starts_with("UPS-") || id.starts_with("SHOP-")
}

fn load_one(text: &str) -> Result<Scenario, LoadError> {
    load_str("s.yaml", text, &any_rule)
}

const HAPPY: &str = r#"
id: unattended/happy-path
title: A customer buys a cola
profiles: [unattended]
requires: [machine-driver]
spec: ["2.1", 5]
rules: [UPS-ONE]
setup:
  wallet: "50.00"
steps:
  - scan: {machine: machine-1, amount: "20.00", as: first}
  - expect_purchase: {outcome: accepted}
  - confirm: {}
  - expect_status: {status: RESERVED, within: 3s}
  - expect_call: {operation: getPaymentStatus, within: 2s, after: notification, count: {min: 1, max: 3}}
  - expect_machine: {state: unlocked, within: 5s}
  - vend: {items: [{sku: cola, quantity: 2}]}
  - expect_payment: {invoice: first, amount: 5.00}
  - wait: 100ms
  - clear_faults
"#;

#[test]
fn a_valid_file_resolves_to_typed_steps() {
    let scenario = load_one(HAPPY).unwrap();
    assert_eq!(scenario.id, "unattended/happy-path");
    assert_eq!(scenario.profiles, [Profile::Unattended]);
    assert_eq!(scenario.requires, [Driver::Machine]);
    assert_eq!(scenario.spec, ["2.1", "5"]);
    assert_eq!(scenario.setup.wallet.unwrap().to_string(), "50.00");
    assert_eq!(scenario.steps.len(), 10);
    assert!(
        matches!(&scenario.steps[0].value, Step::Scan(s) if s.machine == "machine-1" && s.alias.as_deref() == Some("first"))
    );
    assert_eq!(scenario.steps[0].location, "s.yaml:11");
    assert!(matches!(
        &scenario.steps[4].value,
        Step::ExpectCall(c) if c.min == 1 && c.max == Some(3) && c.after == Mark::Notification
    ));
    assert!(
        matches!(&scenario.steps[8].value, Step::Wait(d) if d.wait.plus.as_millis() == 100 && d.wait.timer.is_none())
    );
    assert!(matches!(scenario.steps[9].value, Step::ClearFaults(_)));
    assert_eq!(scenario.steps[6].text, "vend: {items: [{sku: cola, quantity: 2}]}");
    assert_eq!(scenario.steps[9].text, "clear_faults");
}

#[test]
fn every_problem_is_reported_at_once_with_file_line_and_key() {
    let text = r#"
id: Bad Id
title: ""
profiles: [unattended, kiosk]
rules: [NOPE-1]
steps:
  - scna: {machine: m}
  - scan: {machine: m, amout: "1"}
  - wait: soon
  - expect_status: {status: SETTLED}
  - confirm: {invoice: nobody}
  - expect_call: {operation: getPaymentStatus, after: vend}
  - vend: {items: []}
  - fault: {operation: sendInvoice, result_code: 94, delay: 1s}
"#;
    let error = load_one(text).unwrap_err();
    let shown: Vec<String> = error.problems.iter().map(ToString::to_string).collect();
    let expect = [
        "s.yaml:2:5: id: ",
        "s.yaml:3:8: title: must not be empty",
        "s.yaml:4:24: profiles[1]: unknown profile \"kiosk\"",
        "s.yaml:5:9: rules[0]: unknown rule id \"NOPE-1\"",
        "s.yaml:7:5: steps[0]: unknown step `scna` (did you mean `scan`?)",
        "s.yaml:8:5: steps[1].scan: unknown field `amout`",
        "s.yaml:9:5: steps[2].wait: \"soon\" is neither a duration",
        "s.yaml:10:5: steps[3].expect_status.status: unknown status \"SETTLED\"",
        "s.yaml:11:5: steps[4].confirm.invoice: no earlier step names an invoice `nobody`",
        "s.yaml:12:5: steps[5].expect_call.after: no `vend` step comes before this one",
        "s.yaml:13:5: steps[6].vend: this step needs the machine-driver",
        "s.yaml:14:5: steps[7].fault: give exactly one of",
    ];
    for (i, prefix) in expect.iter().enumerate() {
        assert!(
            shown.iter().any(|s| s.starts_with(prefix)),
            "#{i} no problem starting with {prefix:?} in:\n{}",
            shown.join("\n")
        );
    }
    assert_eq!(shown.len(), expect.len(), "{}", shown.join("\n"));
}

#[test]
fn yaml_that_does_not_fit_the_format_points_at_its_line() {
    let error = load_one("id: a/b\ntitle: t\nprofiles: [webshop]\nsteps: []\nsurprise: 1\n").unwrap_err();
    let problem = &error.problems[0];
    assert_eq!(problem.line, Some(5), "{problem}");
    assert!(problem.message.contains("surprise"), "{problem}");
    let error = load_one("id: a/b\ntitle: t\nsteps: [wait: 1s]\n").unwrap_err();
    assert!(error.problems[0].message.contains("profiles"), "{}", error.problems[0]);
}

#[test]
fn expect_findings_is_validated_and_kept() {
    let text = "id: a/b\ntitle: t\nprofiles: [webshop]\nsteps:\n  - wait: 1ms\n  - expect_findings: [SHOP-X, BAD]\n";
    let error = load_one(text).unwrap_err();
    assert_eq!(error.problems.len(), 1);
    assert!(error.problems[0].to_string().contains("unknown rule id \"BAD\""));
    let text = "id: a/b\ntitle: t\nprofiles: [webshop]\nsteps:\n  - expect_findings: [SHOP-X]\n";
    assert_eq!(load_one(text).unwrap().expected_findings, Some(vec!["SHOP-X".to_owned()]));
}

#[test]
fn duplicate_ids_across_files_are_a_problem() {
    let text = "id: a/b\ntitle: t\nprofiles: [webshop]\nsteps: [wait: 1ms]\n";
    let sources =
        [Source { name: "one.yaml".into(), text: text.into() }, Source { name: "two.yaml".into(), text: text.into() }];
    let error = load(&sources, &any_rule).unwrap_err();
    assert_eq!(error.problems.len(), 1);
    assert!(error.problems[0].to_string().starts_with("two.yaml: id: id \"a/b\" is already used by one.yaml"));
}

#[test]
fn amounts_must_be_money() {
    let text = "id: a/b\ntitle: t\nprofiles: [unattended]\nsteps:\n  - scan: {machine: m, amount: 1.005}\n  - set_wallet: {balance: lots}\n";
    let error = load_one(text).unwrap_err();
    assert_eq!(error.problems.len(), 2, "{error}");
}

#[test]
fn windows_may_be_measured_in_timers_and_checklist_items_are_checked() {
    let text = "id: a/b\ntitle: t\nprofiles: [unattended]\nrequires: [machine-driver]\ncovers: [unattended/9, unattended/device_in_use]\n\
                steps:\n  - expect_machine: {machine: m, state: idle, within: idle-timeout + 5s}\n  \
                - expect_call: {operation: getPaymentStatus, within: status-deadline}\n";
    let scenario = load_one(text).unwrap();
    assert_eq!(scenario.covers, ["unattended/9", "unattended/DEVICE_IN_USE"]);
    let Step::ExpectMachine(expect) = &scenario.steps[0].value else { panic!() };
    let Timing::Within(wait) = &expect.timing else { panic!() };
    assert_eq!(*wait, Wait::timer_plus(Timer::IdleTimeout, std::time::Duration::from_secs(5)));
    assert_eq!(wait.to_string(), "idle-timeout + 5s");
    let Step::ExpectCall(call) = &scenario.steps[1].value else { panic!() };
    assert_eq!(call.within.timer, Some(Timer::StatusDeadline));
    let slow =
        load_one("id: a/c\ntitle: t\nprofiles: [webshop]\nsteps:\n  - wait: unpaid-timeout - 2s, at most 1m 30s\n")
            .unwrap();
    let Step::Wait(pause) = &slow.steps[0].value else { panic!() };
    let wait = pause.wait;
    assert_eq!(
        (wait.timer, wait.minus.as_secs(), wait.at_most.map(|d| d.as_secs())),
        (Some(Timer::UnpaidTimeout), 2, Some(90))
    );
    assert_eq!(wait.to_string(), "unpaid-timeout - 2s, at most 1m 30s");
    assert_eq!(wait.length_with(std::time::Duration::from_secs(5)).as_secs(), 3);
    assert_eq!(wait.length_with(std::time::Duration::from_secs(120)).as_secs(), 90);

    let bad = "id: a/b\ntitle: t\nprofiles: [unattended]\ncovers: [unattended/12]\nsteps:\n  \
               - expect_call: {operation: sendInvoice, within: idle-timeout + status-deadline}\n  \
               - expect_call: {operation: sendInvoice, within: soonish}\n";
    let error = load_one(bad).unwrap_err().to_string();
    assert!(error.contains("covers[0]: \"unattended/12\" is not a certification checklist item"), "{error}");
    assert!(error.contains("names two timers"), "{error}");
    assert!(error.contains("\"soonish\" is neither a duration") && error.contains("unpaid-timeout"), "{error}");
}

#[test]
fn a_till_scenario_sells_with_the_shop_steps_and_its_own_steps_need_the_pos_driver() {
    let till = "id: pos/a\ntitle: t\nprofiles: [pos]\nrequires: [pos-driver]\nsteps:\n  \
                - till_register: {}\n  - checkout: {items: [{sku: coffee}], as: sale}\n  \
                - scan_till: {}\n  - shop_cancel: {expect: canceled}\n  - shop_close\n  \
                - till_unregister: {expect: refused}\n";
    let scenario = load_one(till).expect("the shop steps sell at the till");
    let kinds: Vec<&str> = scenario.steps.iter().map(|s| s.value.kind()).collect();
    assert_eq!(kinds, ["till_register", "checkout", "scan_till", "shop_cancel", "shop_close", "till_unregister"]);
    assert!(matches!(
        scenario.steps[5].value,
        Step::TillUnregister(ref till) if till.expect == Some(DriverOutcome::Refused)
    ));
    let shop_only = "id: w/a\ntitle: t\nprofiles: [webshop]\nrequires: [shop-driver]\nsteps:\n  - scan_till: {}\n";
    let error = load_one(shop_only).unwrap_err().to_string();
    assert!(error.contains("this step needs the pos-driver"), "{error}");
    let neither = "id: w/b\ntitle: t\nprofiles: [webshop]\nsteps:\n  - checkout: {items: [{sku: a}]}\n";
    let error = load_one(neither).unwrap_err().to_string();
    assert!(error.contains("the shop-driver (or, to sell at a till, the pos-driver)"), "{error}");
}
