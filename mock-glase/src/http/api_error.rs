//! The JSON APIs' errors: `{"error": "..."}` with the HTTP status the error's kind
//! calls for, and a JSON body extractor whose rejections answer the same way.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::machine::{CustomerError, RegistryError};

/// An error answer: `{"error": "..."}` with a fitting status.
#[derive(Debug)]
pub struct ApiError(pub(crate) StatusCode, pub(crate) String);

impl ApiError {
    pub fn bad(text: impl Into<String>) -> Self {
        Self(StatusCode::BAD_REQUEST, text.into())
    }

    pub fn unauthorized(text: impl Into<String>) -> Self {
        Self(StatusCode::UNAUTHORIZED, text.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<CustomerError> for ApiError {
    fn from(error: CustomerError) -> Self {
        let status = match error {
            CustomerError::UnknownInvoice(_) | CustomerError::UnknownCustomer(_) | CustomerError::UnknownSeqrId(_) => {
                StatusCode::NOT_FOUND
            }
            CustomerError::UnknownMerchant(_) | CustomerError::UnknownPurchase(_) => StatusCode::NOT_FOUND,
            CustomerError::NotAGlaseQr(_)
            | CustomerError::MalformedUnattendedQr { .. }
            | CustomerError::MalformedQr { .. }
            | CustomerError::UnattendedQr(_)
            | CustomerError::InvalidAmount(_) => StatusCode::BAD_REQUEST,
            CustomerError::SystemError(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::CONFLICT,
        };
        Self(status, error.to_string())
    }
}

impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> Self {
        let status = match error {
            RegistryError::Invalid(_) => StatusCode::BAD_REQUEST,
            RegistryError::UnknownReseller(_) | RegistryError::UnknownMerchant(_) => StatusCode::NOT_FOUND,
            RegistryError::Taken(_) => StatusCode::CONFLICT,
        };
        Self(status, error.to_string())
    }
}

/// A JSON body whose rejections use our error format.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, rejection.body_text())
}
