//! The customer's steps, played through the mock: scans (of a machine's UPS code, of an
//! invoice), PIN entry, cancelling, walking away, the wallet, several customers racing
//! for one machine.

use super::*;

impl ScenarioRun<'_> {
    pub(super) async fn scan(
        &mut self,
        machine: &str,
        amount: Option<Decimal>,
        notify_early: bool,
        currency: Option<&str>,
        alias: Option<&str>,
    ) -> StepResult {
        let merchant = match currency {
            Some(currency) => {
                let url = self.target.create_purchase_url.as_deref().unwrap_or_default();
                let id = self
                    .harness
                    .merchant_in(currency, url)
                    .map_err(|e| fail("a merchant in that currency", e.to_string()))?;
                if !self.merchants.contains(&id) {
                    self.merchants.push(id.clone());
                }
                id
            }
            None => MERCHANT.to_owned(),
        };
        let options = ScanOptions { amount, notify_early };
        let (report, _) = self
            .mock
            .unattended_purchase(&merchant, machine, Some(&self.msisdn), &options)
            .await
            .map_err(|e| fail("the UPS to call createPurchase", e.to_string()))?;
        if let MockOutcome::Accepted { invoice_reference } = &report.outcome {
            self.adopt(invoice_reference, alias, &self.msisdn.clone());
        }
        self.last_machine = Some(machine.to_owned());
        self.last_purchase = Some(report);
        Ok(())
    }

    pub(super) fn scan_invoice(&mut self, invoice: &InvoiceRef) -> StepResult {
        let reference = self.invoice(invoice)?;
        let qr = mock_glase::Machine::invoice_qr(&reference);
        let msisdn = self.owner(&reference);
        self.mock.scan(&qr, Some(&msisdn)).map_err(|e| fail("the customer to open the invoice", e.to_string()))?;
        Ok(())
    }

    pub(super) fn confirm(
        &mut self,
        invoice: &InvoiceRef,
        pin: Option<&str>,
        outcome: Option<ConfirmOutcome>,
    ) -> StepResult {
        let reference = self.invoice(invoice)?;
        let msisdn = self.owner(&reference);
        let (confirmation, view) = self
            .mock
            .confirm(&reference, Some(&msisdn), pin)
            .map_err(|e| fail("the customer to confirm", e.to_string()))?;
        let got = confirmation_name(confirmation);
        match outcome {
            Some(expected) if expected.as_str() != got => Err(fail(
                format!("confirmation: {}", expected.as_str()),
                format!("{got} (invoice {})", view.record.status),
            )),
            None if matches!(confirmation, Confirmation::WrongPin | Confirmation::InsufficientFunds) => {
                Err(fail("confirmation: paid or reserved", format!("{got} (invoice {})", view.record.status)))
            }
            _ => Ok(()),
        }
    }

    pub(super) fn wrong_pin(&mut self, invoice: &InvoiceRef) -> StepResult {
        let reference = self.invoice(invoice)?;
        let msisdn = self.owner(&reference);
        let (confirmation, _) = self
            .mock
            .confirm(&reference, Some(&msisdn), Some(WRONG_PIN))
            .map_err(|e| fail("the customer to enter a PIN", e.to_string()))?;
        if confirmation == Confirmation::WrongPin {
            Ok(())
        } else {
            Err(fail("wrong PIN", confirmation_name(confirmation)))
        }
    }

    pub(super) fn customer_cancels(&mut self, invoice: &InvoiceRef) -> StepResult {
        let reference = self.invoice(invoice)?;
        let msisdn = self.owner(&reference);
        self.mock.cancel(&reference, Some(&msisdn)).map_err(|e| fail("the customer to cancel", e.to_string()))?;
        Ok(())
    }

    pub(super) fn walk_away(&mut self, invoice: &InvoiceRef) -> StepResult {
        let reference = self.invoice(invoice)?;
        self.mock.walk_away(&reference).map_err(|e| fail("the customer to walk away", e.to_string()))?;
        Ok(())
    }

    pub(super) fn set_wallet(&mut self, balance: Decimal) -> StepResult {
        self.mock.set_customer(&self.msisdn, None, Some(balance));
        Ok(())
    }

    pub(super) async fn race(
        &mut self,
        machine: &str,
        amount: Option<Decimal>,
        customers: u32,
        alias: Option<&str>,
    ) -> StepResult {
        let mut tasks = Vec::new();
        for n in 0..customers {
            let msisdn = format!("4680{:05}{n:02}", self.index + 1);
            self.mock.set_customer(&msisdn, Some(PIN), Some(WALLET));
            let mock = self.mock.clone();
            let machine = machine.to_owned();
            let options = ScanOptions { amount, notify_early: false };
            tasks.push(tokio::spawn(async move {
                let result = mock.unattended_purchase(MERCHANT, &machine, Some(&msisdn), &options).await;
                (msisdn, result)
            }));
        }
        self.race.clear();
        for task in tasks {
            let (msisdn, result) = task.await.map_err(|e| fail("the race's scans to finish", e.to_string()))?;
            let (report, _) = result.map_err(|e| fail("the UPS to call createPurchase", e.to_string()))?;
            if let MockOutcome::Accepted { invoice_reference } = &report.outcome {
                self.adopt(invoice_reference, alias, &msisdn);
            }
            self.race.push(report);
        }
        self.last_machine = Some(machine.to_owned());
        self.last_purchase = self.race.first().cloned();
        Ok(())
    }

    pub(super) fn adopt(&mut self, reference: &str, alias: Option<&str>, msisdn: &str) {
        self.current = Some(reference.to_owned());
        self.owners.insert(reference.to_owned(), msisdn.to_owned());
        if let Some(alias) = alias {
            self.named.insert(alias.to_owned(), reference.to_owned());
        }
    }
}

fn confirmation_name(confirmation: Confirmation) -> &'static str {
    match confirmation {
        Confirmation::Paid => ConfirmOutcome::Paid.as_str(),
        Confirmation::Reserved => ConfirmOutcome::Reserved.as_str(),
        Confirmation::WrongPin => ConfirmOutcome::WrongPin.as_str(),
        Confirmation::InsufficientFunds => ConfirmOutcome::InsufficientFunds.as_str(),
    }
}
