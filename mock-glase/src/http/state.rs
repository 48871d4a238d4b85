//! What every handler shares: the mock, and where clients reach it.

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
