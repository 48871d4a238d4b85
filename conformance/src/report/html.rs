//! The HTML pre-certification report: one self-contained file (inline CSS, inline SVG, no
//! script, nothing fetched) to read before booking Glase's certification.
//!
//! 1. A header: suite version, target, profile, start, duration, seed, PASS or FAIL.
//! 2. The **certification checklist** of each profile, mapped to spec section 7 (point of
//!    sale 1–9, webshop 1–6) and, for unattended machines, to the seed's eleven flow steps
//!    and five createPurchase error codes (spec 2.1). Each item shows ✔ (every scenario
//!    covering it passed), ✘ (one failed) or — (none ran: not covered, or skipped), with
//!    links to the scenarios. A scenario covers the items its `covers:` key names
//!    ([`crate::checklist`]); nothing is guessed from names.
//! 3. Every scenario: verdict, id, title, profiles, duration, the first problem.
//! 4. Each scenario that failed, warned or errored: its findings (rule, level, summary,
//!    spec section and source text from `report.rules`, expected vs actual, evidence
//!    linked to the journal), its step failures, the [`sequence_svg`](super::sequence_svg)
//!    diagram with the evidence in red, and the raw journal in a `<details>`.
//! 5. Each passing scenario's diagram (collapsed): what the certification steps looked like.
//! 6. The rules of the run.
//!
//! Everything from the run (ids, titles, bodies that contain XML) is escaped.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use mock_glase::journal::{Entry, Record};

use super::common::{
    escape, finding_fails, format_duration, format_seqs, headline, level_label, verdict_fails, verdict_label,
    verdict_symbol,
};
use super::sequence::{describe, sequence_svg};
use crate::checklist::{self, CHECKLIST, ChecklistItem};
use crate::results::{Finding, Level, RunReport, ScenarioResult, StepFailure, Verdict};

/// Bodies longer than this are cut in the raw journal table.
const MAX_BODY: usize = 64 * 1024;

/// The scenarios of this run that cover `item` (their `covers:` names it), in run
/// order, with their index in `report.results`.
pub(crate) fn covering<'a>(item: &ChecklistItem, results: &'a [ScenarioResult]) -> Vec<(usize, &'a ScenarioResult)> {
    let id = item.id();
    results.iter().enumerate().filter(|(_, r)| r.covers.contains(&id)).collect()
}

/// The profiles whose checklist the report shows: the run's, or all three.
fn shown_profiles(report: &RunReport) -> Vec<&'static checklist::ProfileInfo> {
    match checklist::PROFILES.iter().find(|p| p.name == report.profile) {
        Some(profile) => vec![profile],
        None => checklist::PROFILES.iter().collect(),
    }
}

/// A checklist item's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemState {
    Pass,
    Fail,
    Skipped,
    NotCovered,
}

fn item_state(covering: &[(usize, &ScenarioResult)], strict: bool) -> ItemState {
    if covering.iter().any(|(_, r)| verdict_fails(r.verdict, strict)) {
        ItemState::Fail
    } else if covering.iter().any(|(_, r)| matches!(r.verdict, Verdict::Passed | Verdict::PassedWithWarnings)) {
        ItemState::Pass
    } else if covering.is_empty() {
        ItemState::NotCovered
    } else {
        ItemState::Skipped
    }
}

/// Writes the HTML report to `path` (creating missing parent directories).
pub fn write_html(report: &RunReport, path: &Path) -> io::Result<()> {
    let html = render(report);
    let mut out = super::common::create(path)?;
    out.write_all(html.as_bytes())?;
    out.flush()
}

/// An id usable in `id=` and `#…`: `s3-ups-device-in-use`.
fn anchor(index: usize, result: &ScenarioResult) -> String {
    let slug: String = result
        .id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    format!("s{index}-{slug}")
}

/// Whether the scenario gets a detail article (findings, diagram, journal).
fn troubled(result: &ScenarioResult) -> bool {
    matches!(result.verdict, Verdict::Failed | Verdict::PassedWithWarnings | Verdict::Error)
        || !result.findings.is_empty()
        || !result.failures.is_empty()
}

/// Where a link to the scenario goes: its article, its diagram, or its table row.
fn target(index: usize, result: &ScenarioResult) -> String {
    if troubled(result) || (result.verdict == Verdict::Passed && !result.journal.is_empty()) {
        anchor(index, result)
    } else {
        format!("row-{}", anchor(index, result))
    }
}

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "passed",
        Verdict::PassedWithWarnings => "warned",
        Verdict::Failed => "failed",
        Verdict::Skipped => "skipped",
        Verdict::Inconclusive => "inconclusive",
        Verdict::Error => "error",
    }
}

fn pill(verdict: Verdict) -> String {
    format!(
        r#"<span class="pill {}">{} {}</span>"#,
        verdict_class(verdict),
        verdict_symbol(verdict),
        verdict_label(verdict)
    )
}

pub(crate) fn render(report: &RunReport) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let passed = report.passed();
    let overall = if passed { "PASS" } else { "FAIL" };
    let _ = write!(
        h,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{overall} · Glase pre-certification report · {}</title>
<style>{CSS}</style>
</head>
<body>
"#,
        escape(&report.profile)
    );
    header(&mut h, report, passed);
    let troubled_count = report.results.iter().filter(|r| troubled(r)).count();
    let _ = write!(
        h,
        r##"<nav class="toc"><a href="#checklist">Certification checklist</a><a href="#scenarios">Scenarios ({})</a><a href="#problems">Failures and warnings ({troubled_count})</a><a href="#passing">Passing scenarios</a><a href="#rules">Rules ({})</a></nav>
<main>
"##,
        report.results.len(),
        report.rules.len()
    );
    checklist(&mut h, report);
    scenarios_table(&mut h, report);
    problems(&mut h, report);
    passing(&mut h, report);
    rules(&mut h, report);
    let _ = write!(
        h,
        "</main>\n<footer>Generated by glase-conformance {} (commit {}) · seed {} · a self-contained file: no scripts, nothing loaded from elsewhere.</footer>\n</body>\n</html>\n",
        escape(&report.suite_version),
        escape(&report.suite_commit),
        report.seed
    );
    h
}

fn header(h: &mut String, report: &RunReport, passed: bool) {
    let (class, word, note) = if passed {
        ("pass", "PASS", "Every scenario that ran passed.")
    } else {
        ("fail", "FAIL", "Fix the failures below before booking the certification.")
    };
    let counts: Vec<String> = Verdict::ALL
        .into_iter()
        .filter(|v| report.count(*v) > 0)
        .map(|v| {
            format!(
                r#"<span class="pill {}">{} {} {}</span>"#,
                verdict_class(v),
                report.count(v),
                verdict_symbol(v),
                verdict_label(v)
            )
        })
        .collect();
    let strict = if report.strict { " (strict: SHOULD findings and inconclusive scenarios fail)" } else { "" };
    let who = report.system.describe().unwrap_or_else(|| "The system under test".to_owned());
    let company = report
        .system
        .company
        .as_deref()
        .map(|c| format!("<div><dt>Company (clientId)</dt><dd>{}</dd></div>\n", escape(c)))
        .unwrap_or_default();
    let _ = write!(
        h,
        r#"<header class="top {class}">
<div class="wrap">
<div class="headline"><div><div class="kicker">Glase conformance kit · pre-certification report</div>
<h1>{}</h1>
<ul class="endpoints">{}</ul>
<p class="note">{note}</p></div>
<div class="overall" aria-label="overall result">{word}</div></div>
<dl class="meta">
{company}<div><dt>Profile</dt><dd>{}{strict}</dd></div>
<div><dt>Waits judged by</dt><dd>{}</dd></div>
<div><dt>Started</dt><dd>{}</dd></div>
<div><dt>Duration</dt><dd>{}</dd></div>
<div><dt>Seed</dt><dd>{}</dd></div>
<div><dt>Suite version</dt><dd>{}</dd></div>
<div><dt>Scenarios</dt><dd>{} {}</dd></div>
</dl>
</div>
</header>
"#,
        escape(&who),
        endpoints(&report.target),
        escape(&report.profile),
        escape(&report.conditions.describe()),
        escape(&report.started_at.replacen('T', " ", 1)),
        format_duration(report.duration),
        report.seed,
        escape(&format!("{} (commit {})", report.suite_version, report.suite_commit)),
        report.results.len(),
        counts.join(" ")
    );
}

/// The endpoints tested, one a line: `createPurchase <code>URL</code>`. The target text
/// is `[who: ]part, part`; each part is a label and a URL.
fn endpoints(target: &str) -> String {
    let parts = target.split_once(": ").filter(|(who, _)| !who.contains("://")).map_or(target, |(_, rest)| rest);
    parts
        .split(", ")
        .map(|part| match part.rsplit_once(' ') {
            Some((label, url)) if url.contains("://") => {
                format!("<li>{} <code>{}</code></li>", escape(label), escape(url))
            }
            _ => format!("<li>{}</li>", escape(part)),
        })
        .collect()
}

fn checklist(h: &mut String, report: &RunReport) {
    h.push_str(
        r#"<section id="checklist">
<h2>Certification checklist</h2>
<p class="lead">The steps Glase's certification walks through (spec section 7; for unattended machines the seed's flow and error codes), each with the scenarios of this run that exercise it. <span class="state pass">✔</span> every covering scenario passed · <span class="state fail">✘</span> one failed · <span class="state none">—</span> not exercised by this run.</p>
"#,
    );
    for profile in shown_profiles(report) {
        let items: Vec<&ChecklistItem> = CHECKLIST.iter().filter(|i| i.profile == profile.name).collect();
        let states: Vec<(ItemState, Vec<(usize, &ScenarioResult)>)> = items
            .iter()
            .map(|item| {
                let cover = covering(item, &report.results);
                (item_state(&cover, report.strict), cover)
            })
            .collect();
        let count = |s: ItemState| states.iter().filter(|(st, _)| *st == s).count();
        let _ = write!(
            h,
            r#"<h3>{}</h3>
<p class="tally"><span class="state pass">✔ {} passed</span> <span class="state fail">✘ {} failed</span> <span class="state none">— {} not exercised</span> of {} items</p>
<table class="checklist">
<thead><tr><th class="step">Step</th><th>Certification test</th><th class="st">State</th><th>Covered by</th></tr></thead>
<tbody>
"#,
            escape(profile.heading),
            count(ItemState::Pass),
            count(ItemState::Fail),
            count(ItemState::NotCovered) + count(ItemState::Skipped),
            items.len()
        );
        for (item, (state, cover)) in items.iter().zip(&states) {
            let (class, symbol, words) = match state {
                ItemState::Pass => ("pass", "✔", "pass"),
                ItemState::Fail => ("fail", "✘", "fail"),
                ItemState::Skipped => ("none", "—", "skipped"),
                ItemState::NotCovered => ("none", "—", "not covered"),
            };
            let step = if item.step.chars().all(|c| c.is_ascii_digit()) {
                escape(item.step)
            } else {
                format!("<code>{}</code>", escape(item.step))
            };
            let _ = write!(
                h,
                r#"<tr class="{class}"><td class="step">{step}</td><td>{}</td><td class="st"><span class="state {class}" title="{words}">{symbol}</span> <span class="muted">{words}</span></td><td class="cover">"#,
                escape(item.test)
            );
            if cover.is_empty() {
                h.push_str(r#"<span class="muted">no scenario in this run</span>"#);
            }
            for (i, r) in cover {
                let _ = write!(
                    h,
                    "<a class=\"chip {}\" href=\"#{}\" title=\"{}\">{} {}</a>",
                    verdict_class(r.verdict),
                    target(*i, r),
                    escape(&format!("{} — {}", r.title, verdict_label(r.verdict))),
                    verdict_symbol(r.verdict),
                    escape(&r.id)
                );
            }
            h.push_str("</td></tr>\n");
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</section>\n");
}

fn scenarios_table(h: &mut String, report: &RunReport) {
    h.push_str(
        r#"<section id="scenarios">
<h2>Scenarios</h2>
<table class="scenarios">
<thead><tr><th>Verdict</th><th>Scenario</th><th>Profiles</th><th class="num">Duration</th><th>First problem</th></tr></thead>
<tbody>
"#,
    );
    for (i, r) in report.results.iter().enumerate() {
        let problem = if r.verdict == Verdict::Passed { None } else { headline(r, report.strict) };
        let _ = writeln!(
            h,
            r##"<tr id="row-{}" class="{}"><td>{}</td><td><a href="#{}"><code>{}</code></a><div class="title">{}</div></td><td>{}</td><td class="num">{}</td><td class="problem">{}</td></tr>"##,
            anchor(i, r),
            verdict_class(r.verdict),
            pill(r.verdict),
            target(i, r),
            escape(&r.id),
            escape(&r.title),
            escape(&r.profiles.join(", ")),
            format_duration(r.duration),
            problem.map(|p| escape(&p)).unwrap_or_default()
        );
    }
    h.push_str("</tbody></table>\n</section>\n");
}

fn problems(h: &mut String, report: &RunReport) {
    h.push_str("<section id=\"problems\">\n<h2>Failures and warnings</h2>\n");
    let mut any = false;
    for (i, r) in report.results.iter().enumerate().filter(|(_, r)| troubled(r)) {
        any = true;
        scenario_article(h, report, i, r);
    }
    if !any {
        h.push_str("<p class=\"lead\">None: no finding, no failed step, no error.</p>\n");
    }
    h.push_str("</section>\n");
}

/// One scenario that did not pass cleanly: its header, its findings (failing ones first),
/// its step failures, and the messages exchanged as a diagram and a raw table.
fn scenario_article(h: &mut String, report: &RunReport, index: usize, r: &ScenarioResult) {
    let id = anchor(index, r);
    let _ = write!(
        h,
        r#"<article class="scenario {}" id="{id}">
<h3>{} <code>{}</code> <span class="title">{}</span></h3>
<p class="facts">{} · <code>{}</code> · {} · profiles {}</p>
"#,
        verdict_class(r.verdict),
        pill(r.verdict),
        escape(&r.id),
        escape(&r.title),
        verdict_label(r.verdict),
        escape(&r.file),
        format_duration(r.duration),
        escape(&r.profiles.join(", "))
    );
    if let Some(reason) = &r.reason {
        let _ = writeln!(h, r#"<p class="reason">{}</p>"#, escape(reason));
    }
    let mut findings: Vec<_> = r.findings.iter().collect();
    findings.sort_by_key(|f| !finding_fails(f, report.strict));
    for f in findings {
        finding_block(h, report, &id, f);
    }
    if !r.failures.is_empty() {
        step_failures_table(h, &r.failures);
    }
    if !r.journal.is_empty() {
        let evidence: Vec<u64> = r.findings.iter().flat_map(|f| f.evidence.iter().copied()).collect();
        let _ = writeln!(
            h,
            r#"<figure class="diagram"><figcaption>Messages actually exchanged{} </figcaption><div class="svgwrap">{}</div></figure>"#,
            if evidence.is_empty() {
                String::new()
            } else {
                format!(" — evidence {} in red", escape(&format_seqs(&evidence)))
            },
            sequence_svg(&r.journal, &evidence)
        );
        journal_table(h, &id, &r.journal, &evidence);
    }
    h.push_str("</article>\n");
}

/// One finding: its rule and what the spec says, expected next to actual, and the
/// evidence linked to the rows of the article's journal table (`{anchor}-j{seq}`).
fn finding_block(h: &mut String, report: &RunReport, anchor: &str, f: &Finding) {
    let rule = report.rules.iter().find(|rule| rule.id == f.rule);
    let level = if f.level == Level::Must { "must" } else { "should" };
    let _ = writeln!(
        h,
        r#"<div class="finding {level}"><div class="fhead"><span class="level {level}">{}</span> <code class="rule">{}</code> {}</div>"#,
        level_label(f.level),
        escape(&f.rule),
        rule.map(|rule| escape(&rule.summary)).unwrap_or_default()
    );
    if let Some(rule) = rule {
        let _ = writeln!(
            h,
            r#"<blockquote class="spec"><span class="section">Spec {}</span> {}</blockquote>"#,
            escape(&rule.spec_section),
            escape(&rule.source_text)
        );
    }
    let evidence: Vec<String> =
        f.evidence.iter().map(|seq| format!(r##"<a class="seq" href="#{anchor}-j{seq}">#{seq}</a>"##)).collect();
    let _ = write!(
        h,
        r#"<table class="ea"><tr><th>Expected</th><td>{}</td></tr><tr><th>Actual</th><td class="actual">{}</td></tr><tr><th>Evidence</th><td>{}{}</td></tr></table>
</div>
"#,
        escape(&f.expected),
        escape(&f.actual),
        if evidence.is_empty() { "—".to_owned() } else { evidence.join(" ") },
        f.invoice
            .as_deref()
            .map(|i| format!(r#" <span class="muted">invoice {}</span>"#, escape(i)))
            .unwrap_or_default()
    );
}

/// The scenario's steps that did not hold, as written, with what they expected and got.
fn step_failures_table(h: &mut String, failures: &[StepFailure]) {
    h.push_str(
        r#"<table class="steps"><thead><tr><th>Step</th><th>As written</th><th>Checks</th><th>Expected</th><th>Actual</th><th>Where</th></tr></thead><tbody>
"#,
    );
    for s in failures {
        let _ = writeln!(
            h,
            r#"<tr><td class="num">{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td class="actual">{}</td><td><code>{}</code></td></tr>"#,
            s.step,
            escape(&s.description),
            escape(&super::common::step_kind(s)),
            escape(&s.expected),
            escape(&s.actual),
            escape(s.location.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</tbody></table>\n");
}

fn journal_table(h: &mut String, anchor: &str, journal: &[Entry], evidence: &[u64]) {
    let _ = write!(
        h,
        r#"<details class="journal"><summary>Raw journal ({} entries)</summary>
<table><thead><tr><th class="num">#</th><th>Time</th><th class="dir">From → to</th><th>Kind</th><th>Summary</th><th>Content</th></tr></thead><tbody>
"#,
        journal.len()
    );
    let t0 = journal.first().map_or(0, |e| e.at.0);
    for e in journal {
        let step = describe(e);
        let hot = evidence.contains(&e.seq);
        let time = e.time.split_once('T').map_or(e.time.as_str(), |(_, t)| t);
        let offset = e.at.0.saturating_sub(t0);
        let (kind, content) = content(e);
        let _ = writeln!(
            h,
            r#"<tr id="{anchor}-j{}"{}><td class="num">{}</td><td class="time">{}<div class="muted">+{}.{:03} s</div></td><td class="dir">{}</td><td class="kind"><code>{kind}</code></td><td>{}</td><td class="content">{content}</td></tr>"#,
            e.seq,
            if hot { r#" class="hot""# } else { "" },
            e.seq,
            escape(time),
            offset / 1000,
            offset % 1000,
            escape(&step.direction()),
            escape(&step.label)
        );
    }
    h.push_str("</tbody></table></details>\n");
}

/// The entry's kind and its content as HTML (bodies in a collapsible `<pre>`).
fn content(e: &Entry) -> (&'static str, String) {
    let body = |label: String, text: &str| {
        let mut text = pretty(text);
        let cut = text.len() > MAX_BODY;
        if cut {
            let mut end = MAX_BODY;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        format!(
            "<details class=\"body\"><summary>{}</summary><pre>{}{}</pre></details>",
            escape(&label),
            escape(&text),
            if cut { "\n… (cut)" } else { "" }
        )
    };
    match &e.record {
        Record::SoapRequest { path, body: b, .. } => {
            ("soapRequest", body(format!("POST {path} ({} bytes)", b.len()), b))
        }
        Record::SoapResponse { http_status, body: b, .. } => {
            ("soapResponse", body(format!("HTTP {http_status} ({} bytes)", b.len()), b))
        }
        Record::CreatePurchaseRequest { url, body: b, .. } => ("createPurchaseRequest", body(format!("POST {url}"), b)),
        Record::CreatePurchaseResponse { content_type, body: b, .. } => (
            "createPurchaseResponse",
            b.as_deref().map_or_else(String::new, |b| {
                body(content_type.clone().unwrap_or_else(|| "no content type".to_owned()), b)
            }),
        ),
        Record::NotificationSent { url, .. } => ("notificationSent", format!("<code>{}</code>", escape(url))),
        Record::Machine { event } => {
            ("machine", format!("<code>{}</code>", escape(&serde_json::to_string(event).unwrap_or_default())))
        }
        Record::Control { action, detail } => {
            ("control", format!("<code>{}</code> {}", escape(action), escape(detail)))
        }
        Record::WireDeviation { rule, path, .. } => ("wireDeviation", format!("<code>{rule}</code> {}", escape(path))),
    }
}

/// Indents a one-line XML body (one element per line, text kept with its element) and
/// pretty-prints JSON; anything else is returned as it is.
fn pretty(text: &str) -> String {
    let trimmed = text.trim();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(json) = serde_json::from_str::<serde_json::Value>(trimmed)
    {
        return serde_json::to_string_pretty(&json).unwrap_or_else(|_| text.to_owned());
    }
    if !trimmed.starts_with('<') || trimmed.contains('\n') || trimmed.contains("<![CDATA[") || trimmed.contains("<!--")
    {
        return text.to_owned();
    }
    // Tokens: tags and the text between them.
    let mut tokens = Vec::new();
    let mut rest = trimmed;
    while !rest.is_empty() {
        if rest.starts_with('<') {
            let Some(end) = rest.find('>') else { return text.to_owned() };
            tokens.push(&rest[..=end]);
            rest = &rest[end + 1..];
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            if !rest[..end].trim().is_empty() {
                tokens.push(&rest[..end]);
            }
            rest = &rest[end..];
        }
    }
    let is_open = |t: &str| {
        t.starts_with('<') && !t.starts_with("</") && !t.starts_with("<?") && !t.starts_with("<!") && !t.ends_with("/>")
    };
    let is_close = |t: &str| t.starts_with("</");
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut depth = 0_usize;
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        if is_open(t)
            && tokens.get(i + 2).is_some_and(|c| is_close(c))
            && tokens.get(i + 1).is_some_and(|x| !x.starts_with('<'))
        {
            let _ = writeln!(out, "{}{t}{}{}", "  ".repeat(depth), tokens[i + 1], tokens[i + 2]);
            i += 3;
            continue;
        }
        if is_close(t) {
            depth = depth.saturating_sub(1);
        }
        let _ = writeln!(out, "{}{t}", "  ".repeat(depth));
        if is_open(t) {
            depth += 1;
        }
        i += 1;
    }
    out.truncate(out.trim_end().len());
    out
}

fn passing(h: &mut String, report: &RunReport) {
    h.push_str(
        r#"<section id="passing">
<h2>Passing scenarios</h2>
<p class="lead">What the exchange looked like where everything held — open one to see its sequence diagram.</p>
"#,
    );
    let mut any = false;
    for (i, r) in report.results.iter().enumerate() {
        if r.verdict != Verdict::Passed || troubled(r) || r.journal.is_empty() {
            continue;
        }
        any = true;
        let arrows =
            r.journal.iter().filter(|e| matches!(describe(e).shape, super::sequence::Shape::Arrow { .. })).count();
        let _ = writeln!(
            h,
            r#"<details class="passed-diagram" id="{}"><summary>{} <code>{}</code> {} <span class="muted">· {arrows} messages · {}</span></summary><div class="svgwrap">{}</div></details>"#,
            anchor(i, r),
            pill(r.verdict),
            escape(&r.id),
            escape(&r.title),
            format_duration(r.duration),
            sequence_svg(&r.journal, &[])
        );
    }
    if !any {
        h.push_str("<p class=\"muted\">No scenario passed cleanly with a journal to show.</p>\n");
    }
    h.push_str("</section>\n");
}

fn rules(h: &mut String, report: &RunReport) {
    h.push_str(
        r#"<section id="rules">
<h2>Rules</h2>
<table class="rules"><thead><tr><th>Rule</th><th>Level</th><th>What the system under test must do</th><th>Spec</th><th>Applies to</th><th class="num">Findings</th></tr></thead><tbody>
"#,
    );
    for rule in &report.rules {
        let n: usize = report.results.iter().map(|r| r.findings.iter().filter(|f| f.rule == rule.id).count()).sum();
        let level = if rule.level == Level::Must { "must" } else { "should" };
        let _ = writeln!(
            h,
            r#"<tr class="{}"><td><code>{}</code></td><td><span class="level {level}">{}</span></td><td>{}<div class="source">“{}”</div></td><td>{}</td><td>{}</td><td class="num">{}</td></tr>"#,
            if n > 0 { format!("found {level}") } else { String::new() },
            escape(&rule.id),
            level_label(rule.level),
            escape(&rule.summary),
            escape(&rule.source_text),
            escape(&rule.spec_section),
            escape(&rule.applies_to.join(", ")),
            if n > 0 { n.to_string() } else { "—".to_owned() }
        );
    }
    h.push_str("</tbody></table>\n</section>\n");
}

const CSS: &str = r#"
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f8fafc;--card:#fff;--green:#15803d;--green-bg:#dcfce7;--red:#b91c1c;--red-bg:#fee2e2;--amber:#b45309;--amber-bg:#fef3c7;--grey-bg:#f1f5f9;--violet:#7e22ce;--violet-bg:#f3e8ff;--accent:#4f46e5}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
code,pre,.seq{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
.wrap,main,nav.toc,footer{max-width:1180px;margin:0 auto;padding-left:28px;padding-right:28px}
header.top{color:#fff;padding:26px 0 20px;border-bottom:4px solid rgba(0,0,0,.15)}
header.top.pass{background:linear-gradient(135deg,#14532d,#15803d)}
header.top.fail{background:linear-gradient(135deg,#7f1d1d,#b91c1c)}
.headline{display:flex;justify-content:space-between;align-items:flex-start;gap:24px}
.kicker{text-transform:uppercase;letter-spacing:.08em;font-size:12px;opacity:.85}
header h1{margin:4px 0 2px;font-size:22px;font-weight:600;overflow-wrap:anywhere}header .endpoints{margin:2px 0 0;padding:0;list-style:none;font-size:13px}header .endpoints code{overflow-wrap:anywhere}
header .note{margin:0;opacity:.9}
.overall{font-size:40px;font-weight:800;letter-spacing:.06em;border:3px solid rgba(255,255,255,.85);border-radius:10px;padding:2px 18px;line-height:1.2}
dl.meta{display:flex;flex-wrap:wrap;gap:10px 34px;margin:18px 0 0}
dl.meta div{min-width:110px}dl.meta dt{font-size:11px;text-transform:uppercase;letter-spacing:.06em;opacity:.8}dl.meta dd{margin:0;font-weight:600}
dl.meta .pill{font-weight:600;border:1px solid rgba(255,255,255,.4)}
nav.toc{display:flex;gap:22px;padding-top:12px;padding-bottom:12px;border-bottom:1px solid var(--line);background:var(--bg);position:sticky;top:0;z-index:2;flex-wrap:wrap}
nav.toc a{font-weight:600}
section{margin:30px 0 38px}
h2{font-size:19px;margin:0 0 8px;padding-bottom:6px;border-bottom:2px solid var(--line)}
h3{font-size:16px;margin:22px 0 6px}
.lead{color:var(--muted);margin:4px 0 14px;max-width:900px}
.muted{color:var(--muted)}
table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);border-radius:8px;overflow:hidden}
th,td{padding:7px 10px;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}
th{background:var(--grey-bg);font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#475569}
tbody tr:last-child td{border-bottom:none}
td.num,th.num{text-align:right;white-space:nowrap}
.pill{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12px;font-weight:600;white-space:nowrap}
.pill.passed{background:var(--green-bg);color:var(--green)}.pill.warned{background:var(--amber-bg);color:var(--amber)}.pill.failed{background:var(--red-bg);color:var(--red)}.pill.skipped{background:var(--grey-bg);color:var(--muted)}.pill.error{background:var(--violet-bg);color:var(--violet)}.pill.inconclusive{background:var(--grey-bg);color:var(--ink)}
.state{font-weight:700}.state.pass{color:var(--green)}.state.fail{color:var(--red)}.state.none{color:var(--muted)}
.tally{margin:2px 0 8px}.tally .state{margin-right:14px;font-weight:600}
table.checklist td.step{width:54px;font-weight:700;white-space:nowrap}table.checklist td.st{width:120px;white-space:nowrap}table.checklist td.cover{width:34%}
table.checklist tr.fail td{background:#fff7f7}table.checklist tr.fail td.step{box-shadow:inset 3px 0 var(--red)}table.checklist tr.pass td.step{box-shadow:inset 3px 0 var(--green)}
table.checklist .state{font-size:16px}
.chip{display:inline-block;margin:1px 4px 2px 0;padding:0 7px;border-radius:5px;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;border:1px solid var(--line);background:#fff}
.chip.passed{color:var(--green);border-color:#bbf7d0}.chip.warned{color:var(--amber);border-color:#fde68a}.chip.failed{color:var(--red);border-color:#fecaca;background:#fff5f5}.chip.skipped{color:var(--muted)}.chip.error{color:var(--violet);border-color:#e9d5ff}.chip.inconclusive{color:var(--ink)}
table.scenarios .title{color:var(--muted);font-size:13px}table.scenarios td.problem{font-size:13px;max-width:420px;word-break:break-word}
table.scenarios tr.failed td:first-child{box-shadow:inset 3px 0 var(--red)}table.scenarios tr.error td:first-child{box-shadow:inset 3px 0 var(--violet)}table.scenarios tr.warned td:first-child{box-shadow:inset 3px 0 #f59e0b}
article.scenario{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--red);border-radius:8px;padding:4px 20px 16px;margin:18px 0}
article.scenario.warned{border-left-color:#f59e0b}article.scenario.error{border-left-color:var(--violet)}article.scenario.passed{border-left-color:var(--green)}
article h3{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}article h3 .title{font-weight:500;color:#374151}
.facts{color:var(--muted);margin:0 0 10px;font-size:13px}
.reason{background:var(--violet-bg);color:var(--violet);padding:8px 12px;border-radius:6px}
.finding{border:1px solid var(--line);border-radius:7px;margin:12px 0;overflow:hidden}
.finding .fhead{padding:8px 12px;background:#fff5f5;font-weight:600}.finding.should .fhead{background:#fffbeb}
.level{display:inline-block;font-size:11px;font-weight:700;border-radius:4px;padding:0 6px;letter-spacing:.04em}.level.must{background:var(--red);color:#fff}.level.should{background:#f59e0b;color:#fff}
code.rule{font-weight:700}
blockquote.spec{margin:0;padding:8px 12px 8px 14px;border-left:3px solid #c7d2fe;background:#f8faff;color:#374151;font-style:italic}
blockquote.spec .section{font-style:normal;font-weight:600;color:var(--accent);margin-right:6px}
table.ea{border:none;border-radius:0;border-top:1px solid var(--line)}table.ea th{width:110px;background:#fafafa}
td.actual{color:var(--red);font-weight:600}
.seq{display:inline-block;background:var(--red-bg);color:var(--red);border-radius:4px;padding:0 6px;margin-right:4px;font-weight:600}
table.steps{margin:12px 0}
figure.diagram{margin:16px 0 8px}figcaption{font-weight:600;margin-bottom:6px;font-size:13px;color:#374151}
.svgwrap{overflow-x:auto;border:1px solid var(--line);border-radius:8px;background:#fff;padding:6px}
.svgwrap svg{display:block;max-width:100%;height:auto;margin:0 auto}
details{margin:8px 0}details>summary{cursor:pointer;font-weight:600;color:#374151;padding:4px 0}
details.journal table{font-size:12.5px;margin-top:6px;table-layout:fixed}details.journal th:nth-child(1){width:52px}details.journal th:nth-child(2){width:118px}details.journal th.dir{width:150px}details.journal th:nth-child(4){width:170px}details.journal th:nth-child(5){width:26%}
details.journal td{overflow-wrap:anywhere}details.journal td.time,details.journal td.dir,details.journal td.kind{white-space:nowrap;overflow-wrap:normal}details.journal td.content code{font-size:11.5px;color:#334155}
details.journal tr.hot td{background:var(--red-bg)}details.journal tr:target td{outline:2px solid var(--red)}
details.body{margin:0}details.body summary{font-weight:400;color:var(--accent)}
pre{background:#0f172a;color:#e2e8f0;padding:10px 12px;border-radius:6px;overflow-x:auto;white-space:pre-wrap;word-break:break-all;max-height:420px;margin:4px 0}
details.passed-diagram{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:6px 14px;margin:8px 0}
table.rules .source{color:var(--muted);font-size:12.5px;font-style:italic;margin-top:2px}table.rules tr.found.must td:first-child{box-shadow:inset 3px 0 var(--red)}table.rules tr.found.should td:first-child{box-shadow:inset 3px 0 #f59e0b}
footer{color:var(--muted);font-size:12px;padding-top:14px;padding-bottom:30px;border-top:1px solid var(--line)}
@media print{nav.toc{position:static}header.top{-webkit-print-color-adjust:exact;print-color-adjust:exact}article.scenario{break-inside:avoid-page}}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    fn result(id: &str, covers: &[&str], verdict: Verdict) -> ScenarioResult {
        let mut r = fixtures::report(false).results[0].clone();
        r.id = id.to_owned();
        r.covers = covers.iter().map(|c| (*c).to_owned()).collect();
        r.verdict = verdict;
        r
    }

    fn item(profile: &str, step: &str) -> &'static ChecklistItem {
        CHECKLIST.iter().find(|i| i.profile == profile && i.step == step).expect("item")
    }

    #[test]
    fn writes_one_self_contained_escaped_document() {
        let dir = std::env::temp_dir().join(format!("glase-report-html-{}", std::process::id()));
        let path = dir.join("report.html");
        write_html(&fixtures::report(false), &path).expect("written");
        let html = std::fs::read_to_string(&path).expect("read back");
        let _ = std::fs::remove_dir_all(&dir);

        assert!(html.starts_with("<!DOCTYPE html>"));
        assert_eq!(html.matches("<html").count(), 1);
        assert_eq!(html.matches("</html>").count(), 1);
        assert!(html.contains(r#"<div class="overall" aria-label="overall result">FAIL</div>"#));
        // The checklist, with the failed commit and the uncovered error codes.
        assert!(html.contains(r#"<section id="checklist">"#));
        assert!(html.contains("Unattended machines"));
        assert!(html.contains("<code>DEVICE_UNAVAILABLE</code>"));
        assert!(
            html.contains(r##"<a class="chip failed" href="#s1-ups-commit-above-reservation""##),
            "commit step links the failure"
        );
        // Escaped: a body with <script>, a title with markup.
        assert!(!html.contains("<script"), "nothing executable");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("Commit &lt;more&gt; than reserved &amp; vended"));
        // The findings with their rule text and evidence links.
        assert!(html.contains("Reseller calls commitReservation to commit transaction with final amount."));
        assert!(html.contains(r##"<a class="seq" href="#s1-ups-commit-above-reservation-j8">#8</a>"##));
        assert!(html.contains(r#"<tr id="s1-ups-commit-above-reservation-j8" class="hot">"#));
        // A diagram per failed or warned scenario, and the raw journal collapsed.
        let articles = html.matches("<article").count();
        assert_eq!(articles, 3, "failed, warned and errored");
        assert!(html.matches("<svg").count() >= 2);
        let failed = &html[html.find(r#"id="s1-ups-commit-above-reservation""#).expect("article")..];
        let failed = &failed[..failed.find("</article>").expect("end")];
        assert_eq!(failed.matches("<svg").count(), 1);
        assert!(failed.contains(r#"<details class="journal">"#));
        // No external assets.
        for external in ["src=\"http", "href=\"http", "url(", "@import", "<link", "<script"] {
            assert!(!html.contains(external), "{external}");
        }
    }

    #[test]
    fn checklist_items_map_to_the_scenarios_that_say_they_cover_them() {
        let results = vec![
            result("webshop/partial-refunds", &["webshop/5"], Verdict::Passed),
            result("webshop/refund-beyond-payment", &["webshop/5"], Verdict::Failed),
            // Named like a refund, covers nothing: names decide nothing.
            result("unattended/refund", &[], Verdict::Passed),
            result("pos/unregister-terminal", &["pos/9"], Verdict::Passed),
            result("unattended/in-use", &["unattended/DEVICE_IN_USE"], Verdict::Skipped),
            result("unattended/send-invoice-93", &["unattended/INVOICING_ERROR", "unattended/11"], Verdict::Passed),
        ];
        let ids =
            |item: &ChecklistItem| covering(item, &results).into_iter().map(|(_, r)| r.id.as_str()).collect::<Vec<_>>();
        assert_eq!(ids(item("webshop", "5")), ["webshop/partial-refunds", "webshop/refund-beyond-payment"]);
        assert_eq!(item_state(&covering(item("webshop", "5"), &results), false), ItemState::Fail);
        assert_eq!(ids(item("pos", "9")), ["pos/unregister-terminal"]);
        assert_eq!(ids(item("unattended", "DEVICE_IN_USE")), ["unattended/in-use"]);
        assert_eq!(item_state(&covering(item("unattended", "DEVICE_IN_USE"), &results), false), ItemState::Skipped);
        assert_eq!(ids(item("unattended", "INVOICING_ERROR")), ["unattended/send-invoice-93"]);
        assert_eq!(item_state(&covering(item("unattended", "11"), &results), false), ItemState::Pass);
        assert_eq!(item_state(&covering(item("pos", "1"), &results), false), ItemState::NotCovered);
    }

    #[test]
    fn the_header_names_the_system_its_endpoints_and_the_suite_commit() {
        let mut report = fixtures::report(false);
        report.system = crate::system::Identity {
            name: Some("Acme vending".into()),
            version: Some("4.2".into()),
            company: Some("Acme AB".into()),
        };
        report.target = "Acme vending 4.2 (Acme AB): createPurchase http://127.0.0.1:8000/seqr/createPurchase, \
                         machine driver http://127.0.0.1:8000"
            .into();
        let html = render(&report);
        assert!(html.contains("<h1>Acme vending 4.2 (Acme AB)</h1>"), "{html}");
        assert!(html.contains("<li>createPurchase <code>http://127.0.0.1:8000/seqr/createPurchase</code></li>"));
        assert!(html.contains("<li>machine driver <code>http://127.0.0.1:8000</code></li>"));
        assert!(html.contains("<dt>Company (clientId)</dt><dd>Acme AB</dd>"));
        assert!(html.contains("0.1.0 (commit 0123456789ab)"));
    }

    #[test]
    fn every_profile_has_its_procedure() {
        let count = |p: &str| CHECKLIST.iter().filter(|i| i.profile == p).count();
        assert_eq!(count("unattended"), 11 + 5);
        assert_eq!(count("webshop"), 6);
        assert_eq!(count("pos"), 9 + 1);
        let mut report = fixtures::report(false);
        report.profile = "all".into();
        let html = render(&report);
        assert!(html.contains("Webshop (spec 7") && html.contains("Point of sale (spec 7"));
    }

    #[test]
    fn pretty_prints_soap_and_json_bodies() {
        let xml = pretty("<a:Envelope><a:Body><x><y>1</y><z/></x></a:Body></a:Envelope>");
        assert_eq!(
            xml,
            "<a:Envelope>\n  <a:Body>\n    <x>\n      <y>1</y>\n      <z/>\n    </x>\n  </a:Body>\n</a:Envelope>"
        );
        assert_eq!(pretty(r#"{"a":1}"#), "{\n  \"a\": 1\n}");
        assert_eq!(pretty("not xml <"), "not xml <");
    }
}

#[cfg(test)]
mod sample {
    //! `GLASE_SAMPLE_REPORT=/tmp/sample-report.html cargo test -p glase-conformance sample_report`
    //! writes a sample report from real exchanges with an in-process mock (the golden SOAP
    //! fixtures, with the demo credentials), to look at the layout. Does nothing without
    //! the variable.

    use std::sync::Arc;
    use std::time::Duration;

    use mock_glase::journal::{Entry, Filter};
    use mock_glase::{Config, Mock, SystemClock};

    use crate::report::sequence::xml_text;
    use crate::results::{Finding, Level, RuleInfo, RunReport, ScenarioResult, StepFailure, Verdict};

    fn fixture(name: &str) -> String {
        let path = format!("{}/../scenarios/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path)
            .expect("fixture")
            .replace("d4f0a3c3e6bc47b1a1d0bd2b7e6f9c25", "demo-terminal")
            .replace("<password>4711</password>", "<password>demo1234</password>")
    }

    fn with_element(xml: &str, name: &str, value: &str) -> String {
        let (open, close) = (format!("<{name}>"), format!("</{name}>"));
        match (xml.find(&open), xml.find(&close)) {
            (Some(start), Some(end)) => format!("{}{value}{}", &xml[..start + open.len()], &xml[end..]),
            _ => xml.to_owned(),
        }
    }

    async fn soap(mock: &Mock, xml: &str) -> String {
        let answer = mock.handle_soap("/extclientproxy/service/v2", xml.as_bytes()).await;
        String::from_utf8_lossy(&answer.body).into_owned()
    }

    /// sendInvoice (reservation), scan, confirm, getPaymentStatus, updateInvoice, commit
    /// `commit`; the invoice's journal.
    async fn reservation(mock: &Mock, commit: &str) -> Vec<Entry> {
        let sent = soap(mock, &fixture("sendInvoice.request.xml")).await;
        let reference = xml_text(&sent, "invoiceReference").expect("an invoice").to_owned();
        mock.scan(&format!("HTTP://SEQR.SE/R{reference}"), None).expect("scan");
        mock.confirm(&reference, None, None).expect("confirm");
        soap(mock, &with_element(&fixture("getPaymentStatus.request.xml"), "invoiceReference", &reference)).await;
        soap(mock, &with_element(&fixture("updateInvoice.request.xml"), "invoiceReference", &reference)).await;
        let commit_xml = with_element(&fixture("commitReservation.amount.request.xml"), "invoiceReference", &reference);
        soap(mock, &with_element(&commit_xml, "value", commit)).await;
        mock.journal(&Filter { invoice: Some(reference), ..Filter::default() })
    }

    fn scenario(id: &str, title: &str, profile: &str, verdict: Verdict, journal: Vec<Entry>) -> ScenarioResult {
        ScenarioResult {
            id: id.into(),
            title: title.into(),
            file: format!("scenarios/{profile}/{id}.yaml"),
            profiles: vec![profile.into()],
            verdict,
            reason: None,
            duration: Duration::from_millis(300 + journal.len() as u64 * 37),
            failures: vec![],
            findings: vec![],
            covers: Vec::new(),
            journal,
        }
    }

    #[tokio::test]
    async fn sample_report() {
        let Some(path) = std::env::var_os("GLASE_SAMPLE_REPORT") else { return };
        let mock = Mock::new(&Config::default(), Arc::new(SystemClock)).expect("demo config");
        let happy = reservation(&mock, "14.50").await;
        let over = reservation(&mock, "25.00").await;
        let commit: Vec<u64> = over.iter().rev().take(2).map(|e| e.seq).rev().collect();

        // A webshop payment polled 130 times: long enough to be cut.
        let sent = soap(&mock, &fixture("sendInvoice.webshop.request.xml")).await;
        let reference = xml_text(&sent, "invoiceReference").expect("an invoice").to_owned();
        let status = with_element(&fixture("getPaymentStatus.request.xml"), "invoiceReference", &reference);
        for _ in 0..130 {
            soap(&mock, &status).await;
        }
        let polls = mock.journal(&Filter { invoice: Some(reference), ..Filter::default() });
        let stale = polls[171].seq;

        let mut failed = scenario(
            "ups-commit-above-reservation",
            "Commit more than was reserved",
            "unattended",
            Verdict::Failed,
            over,
        );
        failed.findings.push(Finding {
            rule: "UPS-COMMIT-LE-RESERVED".into(),
            level: Level::Must,
            expected: "commitReservation amount ≤ reserved 20.00 and = the vended total 14.50".into(),
            actual: "commitReservation amount 25.00".into(),
            evidence: commit,
            invoice: None,
        });
        failed.failures.push(StepFailure {
            step: 6,
            description: "expect_status: PAID".into(),
            expected: "PAID".into(),
            actual: "RESERVED".into(),
            location: Some("scenarios/unattended/ups-commit-above-reservation.yaml:31".into()),
            rule: None,
        });
        let mut warned = scenario(
            "webshop-status-poll",
            "The shop polls getPaymentStatus each second",
            "webshop",
            Verdict::PassedWithWarnings,
            polls,
        );
        warned.findings.push(Finding {
            rule: "WEB-INVOICE-VERSION".into(),
            level: Level::Should,
            expected: "invoiceVersion echoes the latest version (1)".into(),
            actual: "invoiceVersion 0 <stale>".into(),
            evidence: vec![stale],
            invoice: None,
        });
        let mut skipped = scenario(
            "ups-device-in-use",
            "A second customer gets DEVICE_IN_USE",
            "unattended",
            Verdict::Skipped,
            vec![],
        );
        skipped.reason = Some("needs the machine driver (GET /driver/machines answered 404)".into());
        let mut error =
            scenario("ups-invoicing-error", "sendInvoice fails: INVOICING_ERROR", "unattended", Verdict::Error, vec![]);
        error.reason = Some("createPurchase URL http://127.0.0.1:8000/seqr/createPurchase: connection refused".into());
        let report = RunReport {
            suite_version: "0.1.0".into(),
            suite_commit: "0123456789ab".into(),
            system: crate::system::Identity::default(),
            started_at: "2026-11-23T18:14:51Z".into(),
            duration: Duration::from_millis(48_213),
            target: "http://127.0.0.1:8000/seqr/createPurchase".into(),
            profile: "all".into(),
            strict: false,
            seed: 1_795_000,
            conditions: crate::results::Conditions::default(),
            rules: vec![
                RuleInfo {
                    id: "UPS-COMMIT-LE-RESERVED".into(),
                    level: Level::Must,
                    summary: "Commit no more than was reserved, and exactly the vended total".into(),
                    spec_section: "5; 2.1 step 11".into(),
                    source_text: "Reseller calls commitReservation to commit transaction with final amount.".into(),
                    applies_to: vec!["unattended".into()],
                },
                RuleInfo {
                    id: "WEB-INVOICE-VERSION".into(),
                    level: Level::Should,
                    summary: "getPaymentStatus echoes the latest invoice version".into(),
                    spec_section: "5".into(),
                    source_text: "invoiceVersion echoes the latest version".into(),
                    applies_to: vec!["webshop".into()],
                },
            ],
            results: vec![
                scenario(
                    "ups-happy-path",
                    "Unattended purchase: scan, reserve, vend, commit",
                    "unattended",
                    Verdict::Passed,
                    happy,
                ),
                failed,
                skipped,
                error,
                warned,
                scenario("webshop-refund", "Partial and whole refunds", "webshop", Verdict::Passed, vec![]),
            ],
        };
        super::write_html(&report, std::path::Path::new(&path)).expect("written");
    }
}
