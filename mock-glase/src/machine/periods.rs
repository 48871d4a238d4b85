//! The transactions and marked periods the reports are made of (markTransactionPeriod,
//! executeReport): payments and refunds as they happen, oldest dropped first.

use std::collections::VecDeque;

use foldhash::HashMap;
use rust_decimal::Decimal;
use smol_str::SmolStr;

use super::records::{Payment, Refund};
use crate::clock::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Purchase,
    Refund,
}

#[derive(Debug, Clone)]
pub(super) struct Transaction {
    pub(super) kind: Kind,
    pub(super) at: Timestamp,
    pub(super) reseller: SmolStr,
    pub(super) terminal: SmolStr,
    pub(super) cashier: Option<Box<str>>,
    pub(super) amount: Decimal,
    pub(super) currency: SmolStr,
    pub(super) ers_reference: SmolStr,
    pub(super) invoice: SmolStr,
}

#[derive(Debug, Clone)]
pub(super) struct Period {
    pub(super) reseller: String,
    pub(super) terminal: Option<String>,
    pub(super) start: Timestamp,
    pub(super) end: Timestamp,
    pub(super) ready_at: Timestamp,
}

/// The transactions, oldest first, and the marked periods.
#[derive(Debug, Clone, Default)]
pub struct Periods {
    pub(super) transactions: VecDeque<Transaction>,
    /// Transactions kept; 0 keeps all.
    pub(super) limit: usize,
    pub(super) periods: HashMap<String, Period>,
    /// Last mark per scope (reseller, terminal).
    pub(super) last_mark: HashMap<(String, Option<String>), Timestamp>,
}

impl Periods {
    pub(crate) fn with_limit(limit: usize) -> Self {
        Self { limit, ..Self::default() }
    }

    fn push(&mut self, transaction: Transaction) {
        if self.limit > 0 && self.transactions.len() >= self.limit {
            self.transactions.pop_front();
        }
        self.transactions.push_back(transaction);
    }

    pub(crate) fn record_payment(&mut self, payment: &Payment) {
        let transaction = Transaction {
            kind: Kind::Purchase,
            at: payment.paid_at,
            reseller: payment.reseller.clone(),
            terminal: payment.terminal.clone(),
            cashier: payment.cashier_id.as_deref().map(Box::from),
            amount: payment.amount,
            currency: payment.currency.clone(),
            ers_reference: payment.ers_reference.clone(),
            invoice: payment.invoice.clone(),
        };
        self.push(transaction);
    }

    /// Refunds are reported on the terminal and in the currency of their payment.
    pub(crate) fn record_refund(&mut self, payment: &Payment, refund: &Refund) {
        let transaction = Transaction {
            kind: Kind::Refund,
            at: refund.at,
            reseller: payment.reseller.clone(),
            terminal: payment.terminal.clone(),
            cashier: refund.cashier_id.as_deref().or(payment.cashier_id.as_deref()).map(Box::from),
            amount: refund.amount,
            currency: payment.currency.clone(),
            ers_reference: refund.ers_reference.clone(),
            invoice: payment.invoice.clone(),
        };
        self.push(transaction);
    }

    /// Marks a payment reversed: it disappears from reports. Reversals come within the
    /// status deadline, so the transaction is searched for from the newest end.
    pub(crate) fn forget_payment(&mut self, reseller: &str, ers: &str) {
        let found = self.transactions.iter().rposition(|t| t.ers_reference == ers && t.reseller == reseller);
        if let Some(index) = found {
            self.transactions.remove(index);
        }
    }
}
