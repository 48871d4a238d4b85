//! The notification callback, `POST /seqr/vending/notify/{token}`: Glase's empty POST
//! after the customer confirmed or cancelled. It carries no data and anyone could send
//! it, so it is only a hint: we answer 200 at once and then ask getPaymentStatus (see
//! [`super::status`]), coalesced per purchase: a burst of notifications (Glase's
//! retries, duplicates) costs at most one getPaymentStatus in flight and one after it
//! ([`Vending::request_refresh`]). The per-purchase token in the URL is 128 random bits; an unknown
//! token is answered 404 and does nothing else.

use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::Vending;
use super::model::NotifyToken;
use super::status::{Origin, purchase_span};
use super::store;

pub(crate) const ROUTE: &str = "/seqr/vending/notify/{token}";

/// The notificationUrl for a purchase.
pub(crate) fn url(public_url: &str, token: &NotifyToken) -> String {
    format!("{}/seqr/vending/notify/{}", public_url.trim_end_matches('/'), token.0)
}

pub(crate) async fn handle(State(vending): State<Vending>, Path(token): Path<String>) -> StatusCode {
    if !NotifyToken::looks_valid(&token) {
        return StatusCode::NOT_FOUND;
    }
    let purchase = match store::purchase_by_notify_token(&vending.context().db, &token) {
        Ok(Some(purchase)) => purchase,
        Ok(None) => {
            tracing::warn!("notification for an unknown purchase token; ignored");
            return StatusCode::NOT_FOUND;
        }
        Err(error) => {
            // Not a 200: Glase retries, and the poll covers us meanwhile.
            tracing::error!(error = %error, "cannot look up a notification's purchase");
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    };
    let span = purchase_span(&purchase);
    span.in_scope(|| tracing::info!(state = purchase.state.as_str(), "notification received; fetching the status"));
    vending.request_refresh(purchase.id, Origin::Notification, span);
    StatusCode::OK
}
