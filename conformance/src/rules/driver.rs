//! The kit's own contract with a test build (spec section 8): the machine and shop
//! drivers. Not a protocol obligation towards Glase, but a step that fails because a
//! driver answered other than documented still names a rule, so it can be looked up
//! (`explain DRIVER-CONTRACT`) like every other finding.

use super::rule::{Meta, Method};
use crate::results::Level;

pub(crate) static DRIVER_CONTRACT: Meta = Meta {
    id: "DRIVER-CONTRACT",
    level: Level::Must,
    summary: "The test build's machine and shop drivers answer as the kit documents them: states, fields, status codes (not a protocol rule: the kit's contract).",
    spec_section: "8",
    source_text: "**machine driver**: a small HTTP contract an integrator exposes in test builds, defined by this project and documented in its README",
    applies_to: &["all"],
    method: Method::Scenario,
    how: "Scenarios drive the machine and the shop through the drivers and expect the documented answers: a \
          machine `reserved` while its purchase waits for the customer, `out-of-service` after the call that \
          says so, a checkout that creates the order for the items asked at their prices, a refused choice \
          that leaves the machine unlocked. docs/openapi/drivers.yaml defines each answer.",
    fixes: "Implement the driver exactly as documented; it is test-build glue around your real state, so report \
            that state as it is.",
};
