//! Outbound HTTP: the clients Glase calls merchants with (and tools and tests use), each
//! call bounded ([`OutboundConfig`]): a timeout from connecting to the last byte of the
//! answer, no redirects unless same-origin ones are configured, and at most
//! `max_answer_bytes` of an answer read ([`read_capped`]).

use std::path::Path;
use std::time::Duration;

use crate::config::{ConfigError, MAX_REDIRECTS, OutboundConfig, Redirects};
use crate::errors::error_chain;

/// Builds an HTTP client (reqwest's defaults otherwise: for tools and tests; the mock's
/// own calls to merchants use [`outbound_client`]).
///
/// reqwest is built with `rustls-no-provider` (ring builds much faster than aws-lc-rs),
/// so the ring provider is installed here before the first client is built.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    builder(timeout).build()
}

/// How long an idle kept-alive connection to a merchant (or, for the suite, a system
/// under test) is kept for reuse: well below the idle timeouts servers close them after
/// (5 s in Node and Apache, 10 s in the reference reseller). Reusing one just as the
/// server closes it fails the request with "connection closed before message completed";
/// reqwest's default of 90 s invited exactly that after every pause in a scenario.
const POOL_IDLE: Duration = Duration::from_secs(2);

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(timeout).connect_timeout(timeout).pool_idle_timeout(POOL_IDLE)
}

/// A client that also trusts the CA certificates in a PEM file (for merchants' test
/// certificates).
pub fn http_client_trusting(timeout: Duration, extra_ca: Option<&Path>) -> Result<reqwest::Client, ConfigError> {
    trusting(builder(timeout), extra_ca)
}

/// The client the mock calls merchants with: [`http_client_trusting`] plus the outbound
/// redirect policy. reqwest's default follows up to 10 redirects anywhere, re-POSTing
/// the body on a 307; a merchant's answer must not be able to send the mock elsewhere.
pub fn outbound_client(
    timeout: Duration,
    extra_ca: Option<&Path>,
    outbound: &OutboundConfig,
) -> Result<reqwest::Client, ConfigError> {
    let policy = match outbound.redirects {
        Redirects::None => reqwest::redirect::Policy::none(),
        Redirects::SameOrigin => reqwest::redirect::Policy::custom(|attempt| {
            let first = attempt.previous().first().map(reqwest::Url::origin);
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
            } else if first.is_some_and(|origin| origin == attempt.url().origin()) {
                attempt.follow()
            } else {
                // Stopping hands the 3xx itself back as the answer.
                attempt.stop()
            }
        }),
    };
    trusting(builder(timeout).redirect(policy), extra_ca)
}

/// Why [`read_capped`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The answer has more than this many bytes; the rest was not read.
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("reading the answer failed")]
    Read(#[source] reqwest::Error),
}

/// Reads an answer body as it arrives, but never more than `limit` bytes: an endless or
/// huge answer costs at most `limit` bytes of memory. Dropping the response (which the
/// caller does on `TooLarge`) closes the connection instead of draining it.
pub async fn read_capped(response: &mut reqwest::Response, limit: usize) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|length| length > limit as u64) {
        return Err(ReadError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Read)? {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn trusting(mut builder: reqwest::ClientBuilder, extra_ca: Option<&Path>) -> Result<reqwest::Client, ConfigError> {
    let tls_error = |path: &Path, source: Box<dyn std::error::Error + Send + Sync>| ConfigError::Tls {
        path: path.display().to_string(),
        source,
    };
    if let Some(path) = extra_ca {
        let pem = std::fs::read(path).map_err(|e| tls_error(path, Box::new(e)))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| tls_error(path, Box::new(e)))?;
        if certificates.is_empty() {
            return Err(tls_error(path, "no PEM certificate in the file".into()));
        }
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder.build().map_err(|e| match extra_ca {
        // With extra CAs, a build failure is almost always a certificate rustls cannot
        // parse: name the file and keep the cause.
        Some(path) => tls_error(path, Box::new(e)),
        None => ConfigError::invalid(format!("cannot build the HTTP client: {}", error_chain(&e))),
    })
}
