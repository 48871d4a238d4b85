//! The sandbox console (`/console` of the mock) driven in a real headless Chromium against
//! the mock and the built-in reference reseller: a customer pays at a machine and in the
//! webshop through the page, the timeline shows the backend at work, a fault injected
//! from the page shows up. Assertions are on the page's DOM and on the mock's journal.
//!
//! Screenshots go to `target/console-screenshots/`; with `GLASE_UPDATE_SCREENSHOTS=1`
//! they replace the README's, in `docs/images/`. Without Chromium the tests skip with one
//! line (scripts/test installs it and then requires it).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed setup should panic loudly

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use glase_conformance::{builtin, runner};
use glase_devkit::browser::{Browser, launch_or_skip};
use mock_glase::journal::{Filter, Record};
use mock_glase::machine::Event;
use mock_glase::server::RunningServer;
use mock_glase::{Mock, OffsetClock};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(15);

/// A mock, the reference reseller calling it, and a browser on the mock's console.
struct Sandbox {
    mock: Mock,
    server: RunningServer,
    _reseller: builtin::Running,
    reseller_url: String,
    browser: Browser,
    http: reqwest::Client,
}

impl Sandbox {
    async fn start(test: &'static str) -> Option<Self> {
        let browser = launch_or_skip(test).await?;
        let mock = Mock::new(&mock_glase::Config::default(), Arc::new(OffsetClock::new())).unwrap();
        let server = mock_glase::server::spawn("127.0.0.1:0".parse().unwrap(), mock.clone()).await.unwrap();
        let idle = Duration::from_secs(60);
        let (reseller, reseller_url) =
            builtin::start(&server.soap_url(), Duration::from_secs(20), test, &[], 2, idle).await.unwrap();
        mock.set_create_purchase_url("glase-demo", Some(&format!("{reseller_url}/seqr/createPurchase")), None).unwrap();
        browser.set_viewport(1600, 1000, false).await.unwrap();
        browser.goto(&format!("{}/console/", server.base_url())).await.unwrap();
        let sandbox =
            Self { mock, server, _reseller: reseller, reseller_url, browser, http: runner::http_client().unwrap() };
        sandbox
            .until("the journal stream is live", "document.getElementById('connection').dataset.state === 'live'")
            .await;
        Some(sandbox)
    }

    async fn until(&self, what: &str, condition: &str) -> Value {
        match self.browser.wait_for(what, condition, WAIT).await {
            Ok(value) => value,
            Err(error) => panic!("{error}\npage errors: {:?}", self.browser.errors()),
        }
    }

    async fn eval(&self, expression: &str) -> Value {
        self.browser.eval(expression).await.unwrap_or_else(|error| panic!("{error}"))
    }

    /// Types into a field as a person does (focus, then key input).
    async fn fill(&self, id: &str, text: &str) {
        self.eval(&format!("(() => {{ const e = document.getElementById('{id}'); e.value = ''; e.focus(); }})()"))
            .await;
        self.browser.type_text(text).await.unwrap();
    }

    async fn click(&self, id: &str) {
        self.eval(&format!("document.getElementById('{id}').click()")).await;
    }

    /// Waits until a timeline row's label contains `text`; returns the row's classes.
    async fn row(&self, text: &str) -> String {
        let condition = format!(
            "[...document.querySelectorAll('#rows .row')].filter(r => r.textContent.includes({text:?})).map(r => r.className)[0]"
        );
        self.until(&format!("a timeline row with {text:?}"), &condition).await.as_str().unwrap_or_default().to_owned()
    }

    async fn text(&self, id: &str) -> String {
        let value = self.eval(&format!("document.getElementById('{id}')?.textContent ?? ''")).await;
        value.as_str().unwrap_or_default().to_owned()
    }

    async fn driver(&self, path: &str, body: Value) -> Value {
        let response = self.http.post(format!("{}{path}", self.reseller_url)).json(&body).send().await.unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.json().await.unwrap()
    }

    fn journal_has(&self, wanted: impl Fn(&Record) -> bool) -> bool {
        self.mock.journal(&Filter::default()).iter().any(|entry| wanted(&entry.record))
    }

    async fn screenshot(&self, name: &str) {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let dir = if std::env::var("GLASE_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
            root.join("docs/images")
        } else {
            root.join("target/console-screenshots")
        };
        self.browser.screenshot(&dir.join(format!("console-{name}.png"))).await.unwrap();
    }
}

fn is_soap(record: &Record, operation: &str) -> bool {
    matches!(record, Record::SoapResponse { operation: Some(op), result_code: Some(0), .. } if op == operation)
}

#[tokio::test]
async fn a_customer_pays_at_a_machine_through_the_console_and_the_timeline_shows_the_backend() {
    let Some(sandbox) = Sandbox::start("console-vending").await else { return };
    // The phone: a machine's code, typed as a person would.
    sandbox.fill("qr", "HTTP://SEQR.SE/000/ups?w=glase-demo&t=machine-1").await;
    sandbox.eval("document.getElementById('qr').dispatchEvent(new Event('input'))").await;
    sandbox.fill("amount", "20.00").await;
    sandbox.click("scan").await;
    sandbox
        .until("the invoice on the phone", "document.getElementById('phone-status')?.textContent === 'ISSUED'")
        .await;
    assert!(
        sandbox.text("invoice").await.contains("Reservation at Demo machine 1"),
        "{}",
        sandbox.text("invoice").await
    );

    // A wrong PIN takes the real path: the invoice stays open and the journal says so.
    sandbox.fill("pin", "0000").await;
    sandbox.click("confirm").await;
    sandbox
        .until("the wrong-PIN message", "document.getElementById('phone-message').textContent.startsWith('Wrong PIN')")
        .await;
    assert!(sandbox.journal_has(|r| matches!(r, Record::Machine { event: Event::CustomerWrongPin { .. } })));
    assert!(sandbox.row("wrong PIN").await.contains("tone-error"));

    // The right PIN, with the keyboard: the reseller fetches RESERVED and unlocks.
    sandbox.fill("pin", "1234").await;
    sandbox.browser.press("Enter").await.unwrap();
    sandbox.until("RESERVED on the phone", "document.getElementById('phone-status')?.textContent === 'RESERVED'").await;
    sandbox.row("getPaymentStatus → 0 RESERVED").await;
    assert!(sandbox.text("phone-reserved").await.contains("20.00"));
    sandbox
        .until(
            "a commit countdown",
            "document.querySelector('#invoice [data-deadline] .left')?.textContent.includes('min')",
        )
        .await;

    // The machine vends a cola: the reseller updates and commits, the phone shows the receipt.
    let vend =
        sandbox.driver("/driver/machines/machine-1/vend", json!({"items": [{"sku": "cola", "quantity": 1}]})).await;
    assert_eq!(vend["outcome"], "paid", "{vend}");
    sandbox.row("commitReservation → 0").await;
    sandbox.until("PAID on the phone", "document.getElementById('phone-status')?.textContent === 'PAID'").await;
    assert!(sandbox.text("phone-committed").await.contains("2.50"));
    assert!(sandbox.text("receipt").await.contains("Paid 2.50 EUR"));
    sandbox.until("the wallet moved", "document.getElementById('wallet').dataset.balance === '997.50'").await;
    assert!(sandbox.journal_has(|r| is_soap(r, "commitReservation")));
    let machines = "document.getElementById('machines').textContent";
    sandbox
        .until("machine-1's paid purchase", &format!("{machines}.includes('machine-1') && {machines}.includes('PAID')"))
        .await;
    sandbox.screenshot("desktop").await;

    // A fault injected from the page: the next getPaymentStatus is answered 90.
    sandbox.eval("document.querySelector('#fault-form [name=operation]').value = 'getPaymentStatus'").await;
    sandbox.fill("fault-argument", "90").await;
    sandbox.fill("fault-times", "1").await;
    sandbox.click("add-fault").await;
    sandbox
        .until(
            "the fault listed",
            "document.getElementById('faults').textContent.includes('getPaymentStatus: resultCode 90')",
        )
        .await;
    assert!(sandbox.row("fault added #1 getPaymentStatus").await.contains("tone-fault"));
    sandbox.fill("qr", "HTTP://SEQR.SE/000/ups?w=glase-demo&t=machine-2").await;
    sandbox.click("scan").await;
    sandbox.until("the second invoice", "document.getElementById('phone-status')?.textContent === 'ISSUED'").await;
    sandbox.fill("pin", "1234").await;
    sandbox.click("confirm").await;
    assert!(sandbox.row("fault injected on getPaymentStatus").await.contains("tone-fault"));
    assert!(sandbox.row("getPaymentStatus → 90").await.contains("tone-error"));
    assert!(sandbox.journal_has(|r| matches!(r, Record::Machine { event: Event::FaultInjected { .. } })));

    // Problems only: the fault rows stay, the ordinary ones go.
    sandbox.click("problems-only").await;
    sandbox
        .until(
            "only problems shown",
            "[...document.querySelectorAll('#rows .row')].every(r => !r.classList.contains('tone-plain'))",
        )
        .await;
    sandbox.click("problems-only").await;
    assert_eq!(sandbox.browser.errors(), Vec::<String>::new());
    sandbox.server.shutdown().await;
}

#[tokio::test]
async fn a_webshop_order_is_paid_from_the_console_and_a_message_opens_in_full() {
    let Some(sandbox) = Sandbox::start("console-webshop").await else { return };
    let order = sandbox.driver("/driver/shop/checkout", json!({"items": [{"sku": "headphones", "quantity": 1}]})).await;
    let reference = order["invoiceReference"].as_str().unwrap().to_owned();

    // The first notification about it will be dropped: the shop must still learn of the
    // payment (by its fallback poll), and the timeline shows the fault strike. The fault
    // is narrowed to this order's invoice, as on a sandbox others use too.
    sandbox
        .eval("document.querySelector('#fault-form [name=operation]').value = 'notification'; document.querySelector('#fault-form [name=action]').value = 'dropConnection'")
        .await;
    sandbox.fill("fault-times", "1").await;
    sandbox.fill("fault-invoice", &reference).await;
    sandbox.click("add-fault").await;
    let listed = format!(
        "document.getElementById('faults').textContent.includes('#1 notification (invoice {reference}): dropConnection (1 left)')"
    );
    sandbox.until("the notification fault listed", &listed).await;
    let rules: Value = sandbox
        .http
        .get(format!("{}/control/faults", sandbox.server.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rules[0]["invoice"], json!(reference), "{rules}");

    // The waiting invoice is offered in the phone's pick list.
    let pick = format!("HTTP://SEQR.SE/R{reference}");
    sandbox
        .until(
            "the order in the pick list",
            &format!("[...document.getElementById('pick').options].some(o => o.value === {pick:?})"),
        )
        .await;
    sandbox.eval(&format!("(() => {{ const p = document.getElementById('pick'); p.value = {pick:?}; p.dispatchEvent(new Event('change')); }})()")).await;
    assert_eq!(sandbox.eval("document.getElementById('qr').value").await, json!(pick));
    sandbox.click("scan").await;
    sandbox.until("the order on the phone", "document.getElementById('phone-status')?.textContent === 'ISSUED'").await;
    sandbox.fill("pin", "1234").await;
    sandbox.click("confirm").await;
    sandbox.until("PAID on the phone", "document.getElementById('phone-status')?.textContent === 'PAID'").await;
    assert!(sandbox.row("fault injected on notification").await.contains("tone-fault"));
    let dropped = sandbox.row("notify (confirmed) →").await;
    assert!(!dropped.contains("tone-plain"), "a dropped notification stands out: {dropped}");
    sandbox.row("getPaymentStatus → 0 PAID").await;
    let shop_order =
        sandbox.http.get(format!("{}/driver/shop/orders/{}", sandbox.reseller_url, order["orderId"].as_str().unwrap()));
    let shop_order: Value = shop_order.send().await.unwrap().json().await.unwrap();
    assert_eq!(shop_order["state"], "paid", "{shop_order}");

    // Filter the timeline by the invoice, then open its sendInvoice with the keyboard.
    sandbox.fill("filter-invoice", &reference).await;
    sandbox.browser.press("Enter").await.unwrap();
    let rows = "[...document.querySelectorAll('#rows .row')]";
    let only = format!("{rows}.length > 0 && {rows}.every(r => r.textContent.includes({reference:?}))");
    sandbox.until("only the invoice's entries", &only).await;
    sandbox.row("sendInvoice → 0").await;
    sandbox.eval("document.getElementById('rows').focus()").await;
    sandbox.browser.press("Home").await.unwrap();
    sandbox.browser.press("Enter").await.unwrap();
    let title = sandbox.until("the detail", "document.getElementById('detail-title')?.textContent").await;
    assert!(title.as_str().unwrap().contains("soapRequest"), "{title}");
    let detail = sandbox.text("detail").await;
    assert!(detail.contains("<invoiceReference>") || detail.contains("sendInvoice"), "{detail}");
    // Escape closes it and gives the keyboard back to the timeline; two rows down is
    // sendInvoice's answer (after the invoiceIssued event).
    sandbox.browser.press("Escape").await.unwrap();
    assert_eq!(sandbox.eval("document.getElementById('detail').hidden").await, json!(true));
    assert_eq!(sandbox.eval("document.activeElement.id").await, json!("rows"));
    sandbox.browser.press("ArrowDown").await.unwrap();
    sandbox.browser.press("ArrowDown").await.unwrap();
    sandbox.browser.press("Enter").await.unwrap();
    let answer = sandbox.until("the answer's timing", "document.getElementById('detail').textContent.includes('ms after it') && document.getElementById('detail').textContent").await;
    assert!(answer.as_str().unwrap().contains("soapResponse"), "{answer}");
    sandbox.browser.press("Escape").await.unwrap();
    assert_eq!(sandbox.eval("document.getElementById('detail').hidden").await, json!(true));

    // At a phone's width: one panel at a time, chosen by tabs.
    sandbox.browser.set_viewport(390, 844, true).await.unwrap();
    sandbox.click("filter-reset").await;
    sandbox.eval("document.querySelector('[data-panel=phone]').click()").await;
    sandbox
        .until("the phone panel alone", "getComputedStyle(document.getElementById('timeline')).display === 'none'")
        .await;
    sandbox.screenshot("phone").await;
    sandbox.eval("document.querySelector('[data-panel=timeline]').click()").await;
    sandbox
        .until("the timeline panel alone", "getComputedStyle(document.getElementById('phone')).display === 'none'")
        .await;
    sandbox.screenshot("phone-timeline").await;
    assert_eq!(sandbox.browser.errors(), Vec::<String>::new());
    sandbox.server.shutdown().await;
}

#[tokio::test]
async fn a_mock_with_a_control_token_asks_for_it_and_then_works() {
    let Some(browser) = launch_or_skip("console-token").await else { return };
    let config = mock_glase::Config { control_token: Some("s3cret-token".to_owned()), ..mock_glase::Config::default() };
    let mock = Mock::new(&config, Arc::new(OffsetClock::new())).unwrap();
    let server = mock_glase::server::spawn("127.0.0.1:0".parse().unwrap(), mock.clone()).await.unwrap();
    browser.goto(&format!("{}/console/", server.base_url())).await.unwrap();
    let asks = "!document.getElementById('token-label').hidden && document.getElementById('connection').textContent";
    let said = browser.wait_for("the token field", asks, WAIT).await.unwrap();
    assert_eq!(said, json!("needs the control token"));
    browser.eval("document.getElementById('token').focus()").await.unwrap();
    browser.type_text("s3cret-token").await.unwrap();
    browser.press("Enter").await.unwrap();
    let live = "document.getElementById('connection').dataset.state === 'live'";
    browser.wait_for("the stream with the token", live, WAIT).await.unwrap();
    // The control calls carry it too: the customer's wallet is read.
    browser
        .wait_for("the wallet", "document.getElementById('wallet').textContent.includes('in the wallet')", WAIT)
        .await
        .unwrap();
    server.shutdown().await;
}

/// `demo --console`: the console's URL is printed before the scenarios run, it serves the
/// page, and after the run it stays up until Ctrl-C, after which the demo exits as usual.
#[tokio::test]
async fn demo_with_console_prints_its_url_serves_it_and_holds_it_until_ctrl_c() {
    use tokio::io::{AsyncBufReadExt as _, BufReader};
    let out = std::env::temp_dir().join(format!("glase-console-demo-{}", std::process::id()));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_glase-conformance"))
        .args(["demo", "--console", "--only", "unattended/happy-path", "--out"])
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut url = None;
    let held = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.strip_prefix("Console: ") {
                url = rest.split_whitespace().next().map(str::to_owned);
            }
            if line.starts_with("The run is over; the console stays up") {
                return true;
            }
        }
        false
    })
    .await
    .expect("the demo ends its run");
    assert!(held, "the demo never said it holds the console");
    let url = url.expect("a Console: line before the run");
    let page = runner::http_client().unwrap().get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Glase sandbox console"));
    // Still up a moment later: it waits for Ctrl-C.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(child.try_wait().unwrap().is_none(), "the demo ended without Ctrl-C");
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("it stops").unwrap();
    assert_eq!(status.code(), Some(0), "the passing demo's own exit code");
    assert!(out.join("report.json").exists());
    let _ = std::fs::remove_dir_all(&out);
}
