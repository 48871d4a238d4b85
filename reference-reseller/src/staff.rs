//! Who may use the drivers and the shop's staff actions. With `driver_token` configured,
//! the machine, shop and till drivers (`/driver/…`, spec section 8: they vend, take
//! machines out of service, register the till, refund) and the staff actions of the shop's own pages (refund, close
//! the transaction period) need the token; everything a customer or Glase calls
//! (createPurchase, notifications, the shop's pages, the order status, the customer's
//! cancel) stays open. Without a token nothing is checked: the drivers are for test
//! builds on loopback, and the binary warns when it listens beyond it.
//!
//! The token comes as `Authorization: Bearer <token>` (scripts, the conformance suite) or
//! as HTTP Basic with any user name and the token as password, which is what a browser
//! sends after the login prompt a 401 with `WWW-Authenticate: Basic` brings up.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

/// Lets a request through when it needs no token or carries the right one; else 401.
pub(crate) async fn require_token(State(token): State<Option<Arc<str>>>, request: Request, next: Next) -> Response {
    let Some(token) = token else { return next.run(request).await };
    if !needs_token(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let given = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if given.and_then(presented_token).is_some_and(|given| same_secret(&given, &token)) {
        return next.run(request).await;
    }
    let error = if given.is_some() {
        "wrong driver token"
    } else {
        "this needs the driver token (Authorization: Bearer <token>)"
    };
    let mut response = (StatusCode::UNAUTHORIZED, axum::Json(serde_json::json!({ "error": error }))).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"reference-reseller staff\", charset=\"UTF-8\""),
    );
    response
}

/// The drivers, and the staff actions among the shop's own routes.
fn needs_token(method: &Method, path: &str) -> bool {
    if path == "/driver" || path.starts_with("/driver/") {
        return true;
    }
    let staff = path == "/shop/close"
        || path
            .strip_prefix("/shop/orders/")
            .is_some_and(|rest| rest.ends_with("/refund") && rest.matches('/').count() == 1);
    staff && method == Method::POST
}

/// The token in an `Authorization` value: a bearer token, or a Basic password.
fn presented_token(authorization: &str) -> Option<String> {
    let (scheme, value) = authorization.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(value.trim().to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(value.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        return text.split_once(':').map(|(_, password)| password.to_owned());
    }
    None
}

/// Compares secrets in time that does not depend on where they differ.
fn same_secret(given: &str, expected: &str) -> bool {
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_and_staff_actions_need_the_token_and_customer_routes_do_not() {
        for path in ["/driver/machines", "/driver/machines/m-1/vend", "/driver/shop/close", "/driver/pos/register"] {
            assert!(needs_token(&Method::GET, path) && needs_token(&Method::POST, path), "{path}");
        }
        assert!(needs_token(&Method::POST, "/shop/orders/W1/refund"));
        assert!(needs_token(&Method::POST, "/shop/close"));
        for (method, path) in [
            (Method::POST, "/seqr/createPurchase"),
            (Method::POST, "/seqr/notify"),
            (Method::GET, "/shop"),
            (Method::POST, "/shop/checkout"),
            (Method::GET, "/shop/orders/W1"),
            (Method::GET, "/shop/orders/W1/status"),
            (Method::POST, "/shop/orders/W1/cancel"),
            (Method::GET, "/healthz"),
            (Method::GET, "/drivers"),
        ] {
            assert!(!needs_token(&method, path), "{method} {path}");
        }
    }

    #[test]
    fn the_token_is_read_from_bearer_and_basic_credentials() {
        assert_eq!(presented_token("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(presented_token("bearer  abc ").as_deref(), Some("abc"));
        // "staff:abc"
        assert_eq!(presented_token("Basic c3RhZmY6YWJj").as_deref(), Some("abc"));
        assert_eq!(presented_token("Basic !!!"), None);
        assert_eq!(presented_token("Digest x"), None);
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("abc", "abcd"));
    }
}
