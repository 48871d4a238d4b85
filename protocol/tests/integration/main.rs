//! The codec's tests through the public API, in one test binary (one link instead of
//! three).
//!
//! - [`codec`]: every golden fixture in `scenarios/fixtures/` decodes to the value
//!   written out there and encodes back; the wire details a real client may send.
//! - [`codec_props`]: properties — round trips, and no panic on any input.
//! - [`wsdl`]: the served WSDL against the provider's (when `../shared` is beside).

mod codec;
mod codec_props;
mod wsdl;
