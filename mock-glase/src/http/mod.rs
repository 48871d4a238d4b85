//! The thin axum transport. [`soap`] serves the SOAP endpoints and the WSDL,
//! [`control`] the JSON control API, [`journal_api`] the journal (query, follow,
//! export), [`console`] the sandbox console's page; all only translate between HTTP and [`Mock`]. `GET /openapi.json` serves
//! `docs/openapi/control.yaml`, which lists every route here (tests/integration/contract.rs keeps it
//! so).

mod api_error;
pub mod console;
pub mod control;
pub mod journal_api;
pub mod soap;
mod state;

pub use api_error::{ApiError, ApiJson};
pub use state::{AppState, SOAP_PATHS};

use axum::Router;

use crate::mock::Mock;

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let max_body = state.mock.config().max_body_bytes;
    let mock = state.mock.clone();
    Router::new()
        .merge(soap::routes(max_body))
        .nest("/control", control::routes().layer(axum::middleware::from_fn_with_state(mock.clone(), control_auth)))
        .merge(console::routes())
        .route("/healthz", axum::routing::get(|| async { "ok\n" }))
        .route("/openapi.json", axum::routing::get(openapi))
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(mock, catch_panics))
}

/// `docs/openapi/control.yaml` as JSON (converted by build.rs): every route of this
/// router, which a test keeps true.
pub const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

async fn openapi() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

/// With a `control_token` configured, `/control/…` needs `Authorization: Bearer <token>`.
async fn control_auth(
    axum::extract::State(mock): axum::extract::State<Mock>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(token) = mock.config().control_token.as_deref() else { return next.run(request).await };
    let given = request.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let bearer = given.and_then(|v| v.split_once(' ')).filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"));
    if bearer.is_some_and(|(_, given)| same_secret(given.trim(), token)) {
        return next.run(request).await;
    }
    let error =
        if given.is_some() { "wrong control token" } else { "the control API needs Authorization: Bearer <token>" };
    let mut response = ApiError::unauthorized(error).into_response();
    response.headers_mut().insert(
        axum::http::header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer realm=\"mock-glase control API\""),
    );
    response
}

/// Compares secrets in time that does not depend on where they differ.
fn same_secret(given: &str, expected: &str) -> bool {
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// A handler that panics (a bug) answers 500 and is journaled, instead of dropping the
/// connection with no trace. Panics inside the state machine are caught closer, under
/// the lock (see `Mock`); this catches the rest of the transport.
async fn catch_panics(
    axum::extract::State(mock): axum::extract::State<Mock>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use futures_util::FutureExt;
    let path = request.uri().path().to_owned();
    match std::panic::AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(payload) => {
            let message = crate::supervise::panic_message(&*payload);
            mock.note_panic(&format!("the handler of {path}"), &message, None, "answered HTTP 500");
            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal error (journaled)\n").into_response()
        }
    }
}
