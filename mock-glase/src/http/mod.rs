//! The thin axum transport. [`soap`] serves the SOAP endpoints and the WSDL,
//! [`control`] the JSON control API, [`journal_api`] the journal (query, follow,
//! export); all only translate between HTTP and [`Mock`].

pub mod control;
pub mod journal_api;
pub mod soap;

use axum::Router;

use crate::mock::Mock;

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub mock: Mock,
    /// The absolute base URL clients reach the mock at, if set; otherwise the request's
    /// `Host` header decides (so the WSDL is right however the mock is reached).
    pub public_url: Option<String>,
}

/// The documented SOAP endpoint paths; both speak the same API.
pub const SOAP_PATHS: &[&str] = &["/extclientproxy/service/v2", "/soap/merchant/cashregister-2"];

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let max_body = state.mock.config().max_body_bytes;
    Router::new()
        .merge(soap::routes(max_body))
        .nest("/control", control::routes())
        .route("/healthz", axum::routing::get(|| async { "ok\n" }))
        .with_state(state)
}
