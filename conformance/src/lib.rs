//! The Glase conformance suite (`glase-conformance`): scenario files from `scenarios/`,
//! rules with stable IDs checked over the mock's journal, a runner that drives any
//! reseller or webshop as a black box through an embedded `mock-glase`, and reports for
//! people (terminal, HTML) and for CI (JUnit, JSON).
//!
//! Not built yet: this crate is a placeholder in the workspace layout (issue 5).
