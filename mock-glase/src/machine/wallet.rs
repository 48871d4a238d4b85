//! The simulated customers' wallets: every credit is checked before anything changes.
//!
//! Money goes back to a wallet on a reversal, an expired or cancelled reservation, the
//! unused part of a committed reservation and a refund. Each of those computes the new
//! balance first ([`Machine::credited`]); only when it fits does the operation change
//! anything, and then it writes the balance it computed ([`Machine::set_balance`]). A sum
//! that does not fit a `Decimal` (about 7.9 × 10^28; the control API caps balances at
//! [`crate::config::MAX_BALANCE`], so only the library can get near it) refuses the
//! operation and leaves invoice, payment and wallet as they were **[decision]**: a SOAP
//! call answers 90 SYSTEM_ERROR, a deadline is dropped, and either way the journal says
//! so with a `walletOverflow` event.

use rust_decimal::Decimal;

use super::{Effects, Event, Machine, SmolStr};

/// A credit that would overflow the wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Overflow;

/// The balance a wallet will have after a credit, computed before anything changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credit {
    msisdn: SmolStr,
    balance: Decimal,
}

impl Machine {
    /// The new balance of `msisdn` after adding `amount`: `Ok(None)` when there is no
    /// such customer (nothing to credit), `Err` (with a `walletOverflow` event) when the
    /// sum does not fit. Changes nothing.
    pub(crate) fn credited(
        &self,
        msisdn: &str,
        amount: Decimal,
        invoice: &SmolStr,
        fx: &mut Effects,
    ) -> Result<Option<Credit>, Overflow> {
        let Some(customer) = self.customers.get(msisdn) else { return Ok(None) };
        match customer.balance.checked_add(amount) {
            Some(balance) => Ok(Some(Credit { msisdn: SmolStr::new(msisdn), balance })),
            None => {
                fx.event(Event::WalletOverflow {
                    invoice: invoice.clone(),
                    msisdn: SmolStr::new(msisdn),
                    balance: customer.balance,
                    credit: amount,
                });
                Err(Overflow)
            }
        }
    }

    /// Writes a balance computed by [`Self::credited`].
    pub(crate) fn set_balance(&mut self, credit: Option<Credit>) {
        if let Some(Credit { msisdn, balance }) = credit
            && let Some(customer) = self.customers.get_mut(msisdn.as_str())
        {
            customer.balance = balance;
        }
    }
}
