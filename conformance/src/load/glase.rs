//! Glase as the load drives it: the mock in this process (the default), or a mock-glase
//! in another process through its control API (`--glase-url`, which lets several load
//! processes share one mock and one backend). The flows, the journal follower and the
//! setup see one interface; errors are the short texts failures are counted by.

use std::time::Duration;

use mock_glase::Mock;
use mock_glase::machine::customer::Confirmation;
use mock_glase::machine::ups::{PurchaseOutcome, ScanOptions};
use rust_decimal::Decimal;

use super::remote::Remote;
use crate::runner::MERCHANT;

#[derive(Debug, Clone)]
pub enum Glase {
    /// The embedded mock.
    Local(Mock),
    /// A mock-glase elsewhere, through its control API.
    Remote(Remote),
}

impl Glase {
    /// The customer scans a machine's QR code: the UPS calls createPurchase.
    pub async fn scan(&self, token: &str, msisdn: &str, amount: Decimal) -> Result<PurchaseOutcome, String> {
        match self {
            Self::Local(mock) => {
                let options = ScanOptions { amount: Some(amount), notify_early: false };
                let (report, _) = mock
                    .unattended_purchase(MERCHANT, token, Some(msisdn), &options)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(report.outcome)
            }
            Self::Remote(remote) => remote.scan(token, msisdn, amount).await,
        }
    }

    /// The customer enters a PIN (`None`: the right one).
    pub async fn confirm(&self, reference: &str, msisdn: &str, pin: Option<&str>) -> Result<Confirmation, String> {
        match self {
            Self::Local(mock) => {
                mock.confirm(reference, Some(msisdn), pin).map(|(confirmation, _)| confirmation).map_err(text)
            }
            Self::Remote(remote) => remote.confirm(reference, msisdn, pin).await,
        }
    }

    pub async fn cancel(&self, reference: &str, msisdn: &str) -> Result<(), String> {
        match self {
            Self::Local(mock) => mock.cancel(reference, Some(msisdn)).map(drop).map_err(text),
            Self::Remote(remote) => remote.cancel(reference, msisdn).await,
        }
    }

    pub async fn walk_away(&self, reference: &str) -> Result<(), String> {
        match self {
            Self::Local(mock) => mock.walk_away(reference).map(drop).map_err(text),
            Self::Remote(remote) => remote.walk_away(reference).await,
        }
    }

    /// Whether the reseller has fetched the invoice's RESERVED or PAID status (or no
    /// fetch is due). A mock that bounds its memory may forget finished invoices: one it
    /// no longer has counts as fetched, and the driver says how it ended.
    pub async fn acknowledged(&self, reference: &str) -> Result<bool, String> {
        match self {
            Self::Local(mock) => Ok(mock.status_acknowledged(reference).unwrap_or(true)),
            Self::Remote(remote) => remote.acknowledged(reference).await,
        }
    }

    pub async fn set_customer(&self, msisdn: &str, pin: &str, balance: Decimal) -> Result<(), String> {
        match self {
            Self::Local(mock) => {
                mock.set_customer(msisdn, Some(pin), Some(balance));
                Ok(())
            }
            Self::Remote(remote) => remote.set_customer(msisdn, pin, balance).await,
        }
    }

    /// Where the UPS sends the load merchant's createPurchase calls.
    pub async fn set_create_purchase_url(&self, url: &str) -> Result<(), String> {
        match self {
            Self::Local(mock) => mock.set_create_purchase_url(MERCHANT, Some(url), None).map(drop).map_err(text),
            Self::Remote(remote) => remote.set_create_purchase_url(url).await,
        }
    }

    /// The status deadline in force (scaled).
    pub fn status_deadline(&self) -> Duration {
        match self {
            Self::Local(mock) => mock.deadlines().status_deadline,
            Self::Remote(remote) => remote.status_deadline(),
        }
    }
}

fn text(error: impl std::fmt::Display) -> String {
    error.to_string()
}
