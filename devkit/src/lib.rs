//! Helpers that the workspace's build scripts and tests share, so each is written once.
//!
//! # Layout
//!
//! - [`shared`]: from a test, the project's `shared/` directory (the public reference
//!   WSDL, the seeds, the spec) beside the checkout, which a clone may not have: a test
//!   that compares with it skips with one line when it is absent, and fails instead when
//!   `GLASE_REQUIRE_SHARED=1` (CI).

pub mod shared;
