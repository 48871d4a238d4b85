//! Helpers that the workspace's build scripts and tests share, so each is written once.
//!
//! # Layout
//!
//! - [`commit`]: from a build script, the git commit being built, exported as the
//!   `GLASE_KIT_COMMIT` environment variable of the crate (every binary's `--version`
//!   names it, and the conformance reports do too).
//! - [`shared`]: from a test, the project's `shared/` directory (the public reference
//!   WSDL, the seeds, the spec) beside the checkout, which a clone may not have: a test
//!   that compares with it skips with one line when it is absent, and fails instead when
//!   `GLASE_REQUIRE_SHARED=1` (CI).
//! - [`imports`]: from a test, the module graph of a crate's sources (two files that use
//!   each other) and its long functions, so the architecture's rules stay kept.
//! - [`openapi`] (feature `openapi`, tests only): reads the OpenAPI documents in
//!   `docs/openapi/`, lists their routes, validates answers and examples against them.
//! - [`browser`] (feature `browser`, tests only): drives headless Chromium over the Chrome
//!   DevTools Protocol, for end-to-end tests of the pages our servers serve.
//!
//! # Implementation rationale
//!
//! A crate rather than a file copied into each build script: three build scripts need the
//! same commit logic (the mock, the reference reseller, the conformance suite), and a copy
//! in each drifts (which of them watches `packed-refs`?). A crate with no dependencies
//! costs one small compilation unit. `#[path]`-including one file from every build script
//! was the other option; it hides the sharing from cargo and from readers of a manifest.

#[cfg(feature = "browser")]
pub mod browser;
pub mod commit;
pub mod imports;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod shared;
