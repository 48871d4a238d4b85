//! `POST <endpoint>`: SOAP; `GET <endpoint>?wsdl`: the WSDL.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, OriginalUri, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use glase_protocol::{SoapFault, encode_fault, wsdl};

use super::state::{AppState, SOAP_PATHS};

const XML: &str = "text/xml; charset=utf-8";

pub fn routes(max_body: usize) -> Router<AppState> {
    let mut router = Router::new();
    for path in SOAP_PATHS {
        router = router.route(path, get(wsdl_document).post(soap));
    }
    router.layer(axum::extract::DefaultBodyLimit::max(max_body))
}

/// A SOAP request body. Rejections (too large, unreadable) become SOAP faults with the
/// right HTTP status, so even a 413 is something a SOAP client can read.
#[derive(Debug)]
pub struct SoapBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for SoapBody {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(Self(bytes)),
            Err(rejection) => {
                let status = rejection.status();
                let text = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "request body is larger than this endpoint accepts".to_owned()
                } else {
                    format!("cannot read request body: {}", rejection.body_text())
                };
                Err(fault_response(status, &SoapFault::client(text)))
            }
        }
    }
}

fn fault_response(status: StatusCode, fault: &SoapFault) -> Response {
    let mut body = Vec::new();
    encode_fault(fault, &mut body);
    (status, [(header::CONTENT_TYPE, XML)], body).into_response()
}

async fn soap(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    SoapBody(body): SoapBody,
) -> Response {
    // The charset must agree with the message's own labels; an unreadable header value
    // names no charset.
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let answer = state.mock.handle_soap_with(uri.path(), content_type, &body).await;
    if answer.drop_connection {
        tracing::info!(path = uri.path(), "dropping the connection (injected fault)");
        return dropped_connection();
    }
    // Per-request lines are debug (load tests would drown in them); faults are worth
    // seeing by default.
    if answer.status == 200 {
        tracing::debug!(path = uri.path(), request_bytes = body.len(), "soap request answered");
    } else {
        tracing::info!(path = uri.path(), status = answer.status, request_bytes = body.len(), "soap request faulted");
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if answer.status >= 500 && answer.body.is_empty() {
        return status.into_response();
    }
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(XML))], answer.body).into_response()
}

/// A response whose body fails at once: hyper then closes the connection without a
/// complete answer, which is what a client sees when a server dies mid-request.
fn dropped_connection() -> Response {
    Response::new(axum::body::Body::new(FailingBody))
}

#[derive(Debug)]
struct FailingBody;

impl http_body::Body for FailingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by an injected fault",
        ))))
    }
}

/// `?wsdl` → the service document; `?wsdl=ERSWSExternalClientService.wsdl` → the
/// imported one; no query → a short plain-text pointer.
async fn wsdl_document(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query.unwrap_or_default();
    let (key, value) = query.split_once('=').unwrap_or((&query, ""));
    if !key.eq_ignore_ascii_case("wsdl") {
        let text = format!(
            "Glase SOAP Payment API (mock). POST SOAP 1.1 requests here; the WSDL is at {path}?wsdl\n",
            path = uri.path()
        );
        return (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response();
    }
    let document = match value {
        "" => wsdl::service_document(&endpoint_url(&state, &headers, uri.path())),
        name if name == wsdl::IMPORTED_DOCUMENT => wsdl::interface_document(),
        other => {
            let text = format!("no WSDL document {other:?}; try ?wsdl or ?wsdl={}\n", wsdl::IMPORTED_DOCUMENT);
            return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text)
                .into_response();
        }
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, XML)], document).into_response()
}

/// The absolute URL of this endpoint as the client sees it.
fn endpoint_url(state: &AppState, headers: &HeaderMap, path: &str) -> String {
    if let Some(base) = &state.public_url {
        return format!("{}{path}", base.trim_end_matches('/'));
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).filter(|h| valid_host(h)).unwrap_or("127.0.0.1");
    format!("http://{host}{path}")
}

/// A Host header is echoed into the WSDL, so only host[:port] characters are allowed.
fn valid_host(host: &str) -> bool {
    !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}
