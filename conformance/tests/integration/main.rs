//! The suite's tests through its public API and its binary, in one test binary (one link
//! instead of seven, as nextest-runner's `tests/integration/main.rs`).
//!
//! - [`self_test`]: the whole suite against the reference reseller, and every deliberate
//!   fault caught by the rule meant to catch it.
//! - [`rules`]: each rule over hand-made journals.
//! - [`driver_contract`]: the drivers' answers against `docs/openapi/drivers.yaml`.
//! - [`fixtures`], [`load`], [`explore`]: fixture mapping, the load tool and the explorer
//!   end to end.
//! - [`load_shards`]: `load --shard` and `load merge` through one shared mock;
//!   [`k8s`]: the Kubernetes manifests of docs/k8s/ against the command line.
//! - [`example_python`]: the independent Python till of `examples/python-till`.
//! - [`console`]: the mock's sandbox console in headless Chromium.
//!
//! All but the last need the built-in reference reseller (the default feature
//! `reference-reseller`); a build without it runs only the library's own tests and
//! `example_python`.

#[cfg(feature = "reference-reseller")]
mod console;
#[cfg(feature = "reference-reseller")]
mod driver_contract;
mod example_python;
#[cfg(feature = "reference-reseller")]
mod explore;
#[cfg(feature = "reference-reseller")]
mod fixtures;
mod k8s;
#[cfg(feature = "reference-reseller")]
mod load;
#[cfg(feature = "reference-reseller")]
mod load_shards;
#[cfg(feature = "reference-reseller")]
mod rules;
#[cfg(feature = "reference-reseller")]
mod self_test;
