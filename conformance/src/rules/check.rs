//! What the rules check: one scenario's journal, and the conditions it ran under.

use std::time::Duration;

use mock_glase::journal::Entry;

/// What the rules check: one scenario's journal and the deadlines it ran under.
#[derive(Debug, Clone, Copy)]
pub struct CheckContext<'a> {
    /// One scenario's entries (its merchant's), in `seq` order.
    pub journal: &'a [Entry],
    /// The mock's status deadline in force (scaled): getPaymentStatus must follow a
    /// PAID/RESERVED within it. The webshop's 1 s polling is scaled with it (1/20).
    pub status_deadline: Duration,
    /// `unattended`, `webshop`, `pos` or `all`: rules for other integrations are skipped.
    pub profile: &'a str,
    /// When the journal was cut (the mock's clock, ms): nothing happened between its
    /// last entry and then, so a deadline that passed by then is decided even if no
    /// entry marks it. `None`: the journal ends with its last entry.
    pub cut_at_ms: Option<u64>,
    /// The company the integrator declared (`--company`): certification's clientId.
    /// `None`: any clientId that is present will do.
    pub company: Option<&'a str>,
}
