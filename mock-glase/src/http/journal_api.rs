//! The journal over HTTP: query (`GET /control/journal`), follow by long-poll
//! (`?wait=30s`) or Server-Sent Events (`GET /control/journal/stream`), and export as
//! JSON Lines (`GET /control/journal.jsonl`). All take the same filters.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::Stream;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::control::ApiError;
use crate::journal::Filter;

/// Longest a long-poll waits for new entries.
const MAX_WAIT: Duration = Duration::from_secs(60);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/journal", get(journal))
        .route("/journal.jsonl", get(export))
        .route("/journal/stream", get(stream))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalQuery {
    /// Only entries after this sequence number.
    after: Option<u64>,
    invoice: Option<String>,
    terminal: Option<String>,
    merchant: Option<String>,
    limit: Option<usize>,
    /// Long-poll: when nothing matches yet, wait up to this long (max 60 s) for entries.
    wait: Option<String>,
}

impl JournalQuery {
    fn filter(&self) -> Filter {
        Filter {
            after: self.after,
            invoice: self.invoice.clone(),
            terminal: self.terminal.clone(),
            merchant: self.merchant.clone(),
            limit: self.limit,
        }
    }
}

async fn journal(State(state): State<AppState>, Query(query): Query<JournalQuery>) -> Result<Response, ApiError> {
    let wait = match query.wait.as_deref() {
        Some(text) => humantime::parse_duration(text)
            .map_err(|e| ApiError::bad(format!("wait: {text:?} is not a duration ({e})")))?
            .min(MAX_WAIT),
        None => Duration::ZERO,
    };
    let filter = query.filter();
    let mut updates = state.mock.journal_updates();
    let deadline = tokio::time::Instant::now() + wait;
    let entries = loop {
        let entries = state.mock.journal(&filter);
        if !entries.is_empty() || tokio::time::Instant::now() >= deadline {
            break entries;
        }
        // Woken by any new entry; the filter decides whether it is one we want.
        if tokio::time::timeout_at(deadline, updates.changed()).await.is_err() {
            break state.mock.journal(&filter);
        }
    };
    let (kept, dropped, last) = state.mock.journal_stats();
    let bytes = state.mock.journal_bytes();
    Ok(axum::Json(json!({ "lastSeq": last, "kept": kept, "dropped": dropped, "bytes": bytes, "entries": entries }))
        .into_response())
}

/// The whole (filtered) journal as JSON Lines, one entry per line.
async fn export(State(state): State<AppState>, Query(query): Query<JournalQuery>) -> Response {
    let mut text = String::new();
    for entry in state.mock.journal(&query.filter()) {
        if let Ok(line) = serde_json::to_string(&entry) {
            text.push_str(&line);
            text.push('\n');
        }
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/x-ndjson")], text).into_response()
}

/// Entries as Server-Sent Events (`event: entry`, `id: <seq>`, `data: <json>`), from
/// `after` (or from now) on, until the client disconnects.
async fn stream(
    State(state): State<AppState>,
    Query(query): Query<JournalQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut filter = query.filter();
    filter.limit = None;
    if filter.after.is_none() {
        filter.after = Some(state.mock.journal_stats().2);
    }
    let updates = state.mock.journal_updates();
    let stream = futures_util::stream::unfold(
        (state, filter, updates, Vec::new().into_iter()),
        |(state, mut filter, mut updates, mut pending)| async move {
            loop {
                if let Some(entry) = pending.next() {
                    let entry: crate::journal::Entry = entry;
                    filter.after = Some(entry.seq);
                    let data = serde_json::to_string(&entry).unwrap_or_default();
                    let event = Event::default().event("entry").id(entry.seq.to_string()).data(data);
                    return Some((Ok(event), (state, filter, updates, pending)));
                }
                let entries = state.mock.journal(&filter);
                if entries.is_empty() {
                    // The mock went away (sender dropped): end the stream.
                    updates.changed().await.ok()?;
                }
                pending = entries.into_iter();
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
