//! "A mock no integrator can knock over" (issue 11): the mock against hostile systems and
//! clients, through real sockets on 127.0.0.1:0. Each module is one finding; each test was
//! written to fail on the mock before its fix.
//!
//! - [`auth`]: the control token, and notificationUrls that name control or driver paths.
//! - [`bounds`]: control and command-line inputs beyond what the mock can represent.
//! - [`outbound`]: answers that never end, and redirects, from createPurchase and
//!   notification endpoints.
//! - [`server`]: slow, half-open and idle clients, and clients that stop reading.
//! - [`wire`]: what the real server refuses or decodes: encodings, qualified children,
//!   `mustUnderstand` headers, sub-cent and 30-digit amounts, characters XML forbids.
mod auth;
mod bounds;
mod outbound;
mod server;
mod wire;
