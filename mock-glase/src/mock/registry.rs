//! Merchants and terminals added or changed at run time.

use super::*;

impl Mock {
    pub fn add_reseller(&self, config: &ResellerConfig) -> Result<(), RegistryError> {
        self.lock().machine.add_reseller(config)?;
        self.note(
            "addReseller",
            format!("{} (merchantId {})", config.id, config.merchant_id.as_deref().unwrap_or(&config.id)),
            None,
        );
        Ok(())
    }

    pub fn add_terminal(&self, config: &TerminalConfig) -> Result<(), RegistryError> {
        self.lock().machine.add_terminal(config)?;
        self.note("addTerminal", format!("{} (reseller {})", config.id, config.reseller), None);
        Ok(())
    }

    /// Sets a merchant's createPurchase URL; a plain-http URL is accepted with a warning
    /// in the journal and the log.
    pub fn set_create_purchase_url(
        &self,
        merchant_id: &str,
        url: Option<&str>,
        dialect: Option<Dialect>,
    ) -> Result<(), RegistryError> {
        let mut core = self.lock();
        core.machine.set_create_purchase_url(merchant_id, url, dialect)?;
        let now = self.inner.clock.now();
        let detail = format!("createPurchase URL {}", url.unwrap_or("(none)"));
        core.push_merchant(now, merchant_id, Record::Control { action: "setCreatePurchaseUrl".to_owned(), detail });
        if url.is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("http://")) {
            tracing::warn!(merchant_id, url, "createPurchase URL is plain http; production requires https");
        }
        Ok(())
    }
}
