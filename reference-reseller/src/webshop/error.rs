//! What can go wrong while serving the shop, and how it is answered: `{"error": "…"}`
//! with a status code for JSON callers (the driver, the status endpoint), a small HTML
//! page for browsers.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::glase::GlaseError;
use crate::store::StoreError;

/// Why a shop request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ShopError {
    #[error("no order {0:?}")]
    UnknownOrder(String),
    /// The request itself is wrong (400).
    #[error("{0}")]
    BadRequest(String),
    /// The order is not in a state that allows this (409).
    #[error("{0}")]
    Conflict(String),
    /// Glase refused or could not be reached (502).
    #[error("{action} failed")]
    Glase {
        action: &'static str,
        #[source]
        source: GlaseError,
    },
    /// The database failed (500; details only in the log).
    #[error("internal error")]
    Store(#[from] StoreError),
}

impl ShopError {
    pub(crate) fn glase(action: &'static str) -> impl FnOnce(GlaseError) -> Self {
        move |source| Self::Glase { action, source }
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::UnknownOrder(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Glase { .. } => StatusCode::BAD_GATEWAY,
            Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The text shown to the caller: the Glase cause is useful to an integrator, a
    /// database error is not (it is logged instead).
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Glase { source, .. } => format!("{self}: {source}"),
            other => other.to_string(),
        }
    }

    fn log(&self) {
        match self {
            Self::Store(error) => tracing::error!(error = ?error, "webshop database error"),
            Self::Glase { source, .. } => tracing::warn!(error = %source, "{self}"),
            _ => {}
        }
    }
}

impl IntoResponse for ShopError {
    fn into_response(self) -> Response {
        self.log();
        (self.status(), axum::Json(serde_json::json!({ "error": self.message() }))).into_response()
    }
}

/// A [`ShopError`] answered as an HTML page (the customer's pages).
#[derive(Debug)]
pub(crate) struct HtmlError(pub(crate) ShopError);

impl From<ShopError> for HtmlError {
    fn from(error: ShopError) -> Self {
        Self(error)
    }
}

impl From<StoreError> for HtmlError {
    fn from(error: StoreError) -> Self {
        Self(ShopError::Store(error))
    }
}

impl IntoResponse for HtmlError {
    fn into_response(self) -> Response {
        self.0.log();
        let status = self.0.status();
        let title = match status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "Please check your order",
            StatusCode::BAD_GATEWAY => "Payment service unavailable",
            _ => "Something went wrong",
        };
        (status, Html(super::pages::error_page(title, &self.0.message()))).into_response()
    }
}

/// A JSON body whose problems are answered in our own error format; an empty body
/// reads as `{}` so that every optional field may be left out.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ShopError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|e| ShopError::BadRequest(e.body_text()))?;
        parse_json(&bytes).map(JsonBody)
    }
}

pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ShopError> {
    let body: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    serde_json::from_slice(body).map_err(|e| ShopError::BadRequest(format!("invalid JSON body: {e}")))
}
