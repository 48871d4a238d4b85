//! The reference reseller: a correct, durable reseller/merchant backend for Glase —
//! unattended vending machines (`createPurchase`, reservation, unlock, `updateInvoice`,
//! `commitReservation`) and webshops (`sendInvoice`, status polling, receipts, refunds).
//! It is the code integrators copy and the known-good system the conformance suite tests
//! itself against. It speaks to Glase only through `glase-protocol`.
//!
//! Not built yet: this crate is a placeholder in the workspace layout (issue 4).
