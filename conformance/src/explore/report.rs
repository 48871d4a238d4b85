//! What explore prints: progress while runs go by, and a failure as the minimal
//! sequence, what was broken (expected next to actual), the messages exchanged and the
//! command that replays it.

use std::io::Write;

use mock_glase::journal::{Entry, Record};
use mock_glase::machine::Event;

use super::action::Action;
use super::execute::RunResult;
use super::fleet::Machine;
use super::model::{Broken, Failure};

/// Most journal lines shown for the minimal run.
const EXCHANGED_LINES: usize = 40;

/// The numbered actions of a sequence.
pub(crate) fn sequence(out: &mut impl Write, actions: &[Action], fleet: &[Machine]) -> std::io::Result<()> {
    for (index, action) in actions.iter().enumerate() {
        writeln!(out, "  {:>2}. {}", index + 1, action.describe(fleet))?;
    }
    Ok(())
}

/// What was broken, expected next to actual.
pub(crate) fn failure(out: &mut impl Write, failure: &Failure) -> std::io::Result<()> {
    let (kind, explain) = match &failure.broken {
        Broken::Property(_) => ("model property", String::new()),
        Broken::Rule { id, .. } => ("rule", format!(" (`glase-conformance explain {id}`)")),
    };
    let when = match failure.step {
        Some(step) => format!("at action {step}"),
        None => "after the sequence".to_owned(),
    };
    writeln!(out, "Broken {kind} {}{explain}, {when}:", failure.key())?;
    writeln!(out, "  {}", failure.summary())?;
    writeln!(out, "  expected: {}", failure.expected)?;
    writeln!(out, "  actual:   {}", failure.actual)
}

/// The run's log, one line per action (what it led to).
pub(crate) fn log(out: &mut impl Write, result: &RunResult) -> std::io::Result<()> {
    for line in &result.log {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

/// The messages exchanged in a run, numbered by journal sequence.
pub(crate) fn exchanged(out: &mut impl Write, journal: &[Entry]) -> std::io::Result<()> {
    let lines: Vec<String> = journal.iter().filter_map(line).collect();
    let skipped = lines.len().saturating_sub(EXCHANGED_LINES);
    for text in lines.iter().take(EXCHANGED_LINES) {
        writeln!(out, "  {text}")?;
    }
    if skipped > 0 {
        writeln!(out, "  … and {skipped} more")?;
    }
    Ok(())
}

fn line(entry: &Entry) -> Option<String> {
    let invoice = entry.invoice.as_deref().map(|i| format!(" [{i}]")).unwrap_or_default();
    let text = match &entry.record {
        Record::CreatePurchaseRequest { .. } => "UPS → createPurchase".to_owned(),
        Record::CreatePurchaseResponse { http_status, body, error, .. } => match (http_status, body, error) {
            (_, _, Some(error)) => format!("createPurchase failed: {error}"),
            (Some(status), Some(body), _) => format!("createPurchase → HTTP {status} {}", body.trim()),
            (status, _, _) => format!("createPurchase → HTTP {}", status.map_or("?".to_owned(), |s| s.to_string())),
        },
        Record::SoapRequest { operation: Some(op), .. } => format!("reseller → {op}"),
        Record::SoapResponse { operation: Some(op), result_code, http_status, dropped, .. } => match result_code {
            _ if *dropped => format!("{op} → connection dropped (fault)"),
            Some(code) => format!("{op} → resultCode {code}"),
            None => format!("{op} → HTTP {http_status}"),
        },
        Record::NotificationSent { attempt, outcome, .. } => {
            format!("Glase → notification (attempt {attempt}): {outcome}")
        }
        Record::Machine { event: Event::Transition { from, to, .. } } => format!("invoice {from} → {to}"),
        _ => return None,
    };
    Some(format!("#{:<5} {text}{invoice}", entry.seq))
}
