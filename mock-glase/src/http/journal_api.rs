//! The journal over HTTP: query (`GET /control/journal`), follow by long-poll
//! (`?wait=30s`) or Server-Sent Events (`GET /control/journal/stream`), and export as
//! JSON Lines (`GET /control/journal.jsonl`). All take the same filters.
//!
//! Every reader goes through [`crate::journal::Page`]s: shared entries, at most
//! [`PAGE_BYTES`] at a time, fetched under the lock and serialized after it. Answers are
//! streamed page by page, so a reader holds one page however large the journal is; a
//! follower's cursor moves past entries its filter skipped, so waiting costs nothing per
//! entry it does not want. A query or export stops at the journal's end as it was when
//! the request arrived.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt as _;
use futures_util::stream::Stream;
use serde::Deserialize;
use serde_json::json;

use super::api_error::ApiError;
use super::state::AppState;
use crate::journal::{Filter, PAGE_BYTES};
use crate::mock::Mock;

/// Longest a long-poll waits for new entries.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// How long a follower lets new entries gather after being woken, before it looks
/// **[decision]**: under load every SOAP call journals four entries, and a follower that
/// woke (and took the lock) for each one cost the SOAP path a third of its throughput
/// with 20 followers (`benches/examples/followers.rs`); a few milliseconds of latency
/// makes that one look per batch.
const GATHER: Duration = Duration::from_millis(10);

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

/// `{"lastSeq", "kept", "dropped", "bytes", "entries": [...]}`, the entries streamed.
async fn journal(State(state): State<AppState>, Query(query): Query<JournalQuery>) -> Result<Response, ApiError> {
    let wait = match query.wait.as_deref() {
        Some(text) => humantime::parse_duration(text)
            .map_err(|e| ApiError::bad(format!("wait: {text:?} is not a duration ({e})")))?
            .min(MAX_WAIT),
        None => Duration::ZERO,
    };
    let filter = query.filter();
    if !wait.is_zero() {
        wait_for_match(&state.mock, &filter, wait).await;
    }
    let (kept, dropped, last) = state.mock.journal_stats();
    let bytes = state.mock.journal_bytes();
    let head = json!({ "lastSeq": last, "kept": kept, "dropped": dropped, "bytes": bytes }).to_string();
    // `{…, "entries": [` + entries + `]}`: the head without its closing brace.
    let open = format!("{},\"entries\":[", head.trim_end_matches('}'));
    let entries = pages(state.mock.clone(), filter, Some(last), Layout::Array).scan(true, |first, page| {
        let mut chunk = Vec::with_capacity(page.len() + 1);
        if !std::mem::take(first) && !page.is_empty() {
            chunk.push(b',');
        }
        chunk.extend_from_slice(&page);
        std::future::ready(Some(chunk))
    });
    let body = futures_util::stream::once(std::future::ready(open.into_bytes()))
        .chain(entries)
        .chain(futures_util::stream::once(std::future::ready(b"]}".to_vec())))
        .map(|chunk| Ok::<_, Infallible>(Bytes::from(chunk)));
    Ok(([(header::CONTENT_TYPE, "application/json")], Body::from_stream(body)).into_response())
}

/// Waits until an entry after `filter.after` matches, for at most `wait`. The cursor moves
/// past what did not match, so each new entry is looked at once.
async fn wait_for_match(mock: &Mock, filter: &Filter, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    let mut updates = mock.journal_updates();
    let mut probe = Filter { limit: Some(1), ..filter.clone() };
    loop {
        let page = mock.journal_page(&probe, None, PAGE_BYTES);
        if !page.entries.is_empty() {
            return;
        }
        probe.after = Some(page.next_after);
        // Woken by any new entry; the filter decides whether it is one we want.
        if tokio::time::timeout_at(deadline, updates.changed()).await.is_err() {
            return;
        }
        tokio::time::sleep(GATHER).await;
    }
}

/// How [`pages`] lays out the entries of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Separated by `,` (the caller separates pages).
    Array,
    /// Each followed by a newline (JSON Lines).
    Lines,
}

/// The matching entries up to `until`, a page at a time, each page serialized once the
/// lock is released.
fn pages(mock: Mock, filter: Filter, until: Option<u64>, layout: Layout) -> impl Stream<Item = Vec<u8>> + Send {
    futures_util::stream::unfold(Some((mock, filter)), move |state| async move {
        let (mock, mut filter) = state?;
        let page = mock.journal_page(&filter, until, PAGE_BYTES);
        if page.entries.is_empty() {
            return None;
        }
        let mut chunk = Vec::new();
        for (i, entry) in page.entries.iter().enumerate() {
            if layout == Layout::Array && i > 0 {
                chunk.push(b',');
            }
            // Serializing our own types into memory cannot fail.
            let _ = serde_json::to_writer(&mut chunk, &**entry);
            if layout == Layout::Lines {
                chunk.push(b'\n');
            }
        }
        if let Some(limit) = filter.limit.as_mut() {
            *limit -= page.entries.len().min(*limit);
        }
        let done = !page.full || filter.limit == Some(0);
        filter.after = Some(page.next_after);
        Some((chunk, (!done).then_some((mock, filter))))
    })
}

/// The whole (filtered) journal as JSON Lines, one entry per line, streamed.
async fn export(State(state): State<AppState>, Query(query): Query<JournalQuery>) -> Response {
    let until = state.mock.journal_stats().2;
    let lines = pages(state.mock.clone(), query.filter(), Some(until), Layout::Lines)
        .map(|chunk| Ok::<_, Infallible>(Bytes::from(chunk)));
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/x-ndjson")], Body::from_stream(lines)).into_response()
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
        (state.mock, filter, updates, Vec::new().into_iter()),
        |(mock, mut filter, mut updates, mut pending)| async move {
            loop {
                if let Some(entry) = pending.next() {
                    let entry: std::sync::Arc<crate::journal::Stored> = entry;
                    let data = serde_json::to_string(&*entry).unwrap_or_default();
                    let event = Event::default().event("entry").id(entry.seq().to_string()).data(data);
                    return Some((Ok(event), (mock, filter, updates, pending)));
                }
                let page = mock.journal_page(&filter, None, PAGE_BYTES);
                // Past what was skipped too: a filter that matches nothing costs nothing
                // per entry.
                filter.after = Some(page.next_after);
                if page.entries.is_empty() {
                    // The mock went away (sender dropped): end the stream.
                    updates.changed().await.ok()?;
                    tokio::time::sleep(GATHER).await;
                }
                pending = page.entries.into_iter();
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
