//! The invoice a merchant sends with sendInvoice and updateInvoice (spec 3.3, section 5).

use glase_protocol::{Decimal, Invoice, Operation};

use super::rule::{Meta, Method, Rule};
use super::support::{Call, View, common_invoice, invoice_rows_total, list};
use crate::results::{Finding, Level};

const SEND_INVOICE: &str = "sendInvoice: rows present with `itemQuantity` and `itemTotalAmount`; rows sum = total; currency consistent across total and rows; `title`, `cashierId`, `clientInvoiceId`, `issueDate` present (documented as required); `notificationUrl` valid (https outside local testing).";

/// sendInvoice and updateInvoice calls with the invoice they carried.
fn invoices<'v, 'a>(view: &'v View<'a>) -> impl Iterator<Item = (&'v Call<'a>, &'v Invoice)> {
    view.calls
        .iter()
        .filter(|c| c.is(Operation::SendInvoice) || c.is(Operation::UpdateInvoice))
        .filter_map(|c| c.sent_invoice().map(|i| (c, i)))
}

fn blank(text: Option<&str>) -> bool {
    text.is_none_or(|t| t.trim().is_empty())
}

#[derive(Debug)]
pub(crate) struct RowsPresent;

static ROWS_PRESENT: Meta = Meta {
    id: "INV-ROWS-PRESENT",
    level: Level::Must,
    summary: "sendInvoice carries invoice rows, each with itemQuantity and itemTotalAmount.",
    spec_section: "3.3, 5, 7",
    source_text: SEND_INVOICE,
    applies_to: &["all"],
    method: Method::Journal,
    how: "Decodes every sendInvoice: invoice/invoiceRows must hold at least one row, and every row an itemQuantity \
          above 0 and an itemTotalAmount with a value. Rows an updateInvoice sends are held to the same.",
    fixes: "Send one invoiceRow per item (a reservation: one row for the reserved amount) with itemQuantity and \
            itemTotalAmount filled.",
};

impl Rule for RowsPresent {
    fn meta(&self) -> &'static Meta {
        &ROWS_PRESENT
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let mut findings = Vec::new();
        for call in view.calls.iter().filter(|c| c.is(Operation::SendInvoice) || c.is(Operation::UpdateInvoice)) {
            let is_send = call.is(Operation::SendInvoice);
            let problems: Vec<String> =
                match (call.sent_invoice(), call.sent_invoice().map(|i| i.invoice_rows.as_deref())) {
                    (None, _) if is_send => vec!["no invoice".to_owned()],
                    (None, _) => Vec::new(),
                    (Some(_), Some(None)) if is_send => vec!["no invoiceRows".to_owned()],
                    (Some(_), Some(Some([]))) => vec!["invoiceRows empty".to_owned()],
                    (Some(_), Some(Some(rows))) => rows
                        .iter()
                        .enumerate()
                        .filter_map(|(i, row)| {
                            let mut missing = Vec::new();
                            match row.item_quantity {
                                None => missing.push("itemQuantity absent".to_owned()),
                                Some(q) if q <= Decimal::ZERO => missing.push(format!("itemQuantity {q}")),
                                Some(_) => {}
                            }
                            if row.item_total_amount.as_ref().and_then(|a| a.value).is_none() {
                                missing.push("itemTotalAmount absent".to_owned());
                            }
                            (!missing.is_empty()).then(|| format!("row {}: {}", i + 1, missing.join(", ")))
                        })
                        .collect(),
                    _ => Vec::new(),
                };
            if !problems.is_empty() {
                findings.push(ROWS_PRESENT.finding(
                    "invoice rows, each with itemQuantity > 0 and itemTotalAmount",
                    format!("{}: {}", call.label(), problems.join("; ")),
                    call.evidence(),
                    call.invoice(),
                ));
            }
        }
        findings
    }
}

#[derive(Debug)]
pub(crate) struct RowsSum;

static ROWS_SUM: Meta = Meta {
    id: "INV-ROWS-SUM",
    level: Level::Must,
    summary: "The rows' itemTotalAmount values add up to the invoice's totalAmount.",
    spec_section: "3.3, 5",
    source_text: "The sum of all rows' `itemTotalAmount` must equal `totalAmount` (negative rows may balance it).",
    applies_to: &["all"],
    method: Method::Journal,
    how: "Decodes every sendInvoice and updateInvoice with rows and a total, adds the rows' itemTotalAmount values \
          in decimal and compares with totalAmount/value.",
    fixes: "Compute totalAmount as the decimal sum of the rows you send (discounts as negative rows); never in \
            floating point.",
};

impl Rule for RowsSum {
    fn meta(&self) -> &'static Meta {
        &ROWS_SUM
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        invoices(view)
            .filter_map(|(call, invoice)| {
                let total = invoice.total_amount.as_ref()?.value?;
                let sum = invoice_rows_total(invoice)?;
                (sum != total).then(|| {
                    ROWS_SUM.finding(
                        format!("rows summing to the totalAmount {total}"),
                        format!("{}: rows sum to {sum}, totalAmount {total}", call.label()),
                        call.evidence(),
                        call.invoice(),
                    )
                })
            })
            .collect()
    }
}

#[derive(Debug)]
pub(crate) struct CurrencyConsistent;

static CURRENCY_CONSISTENT: Meta = Meta {
    id: "INV-CURRENCY-CONSISTENT",
    level: Level::Must,
    summary: "One currency across the total and every row's amounts, and across updates of an invoice.",
    spec_section: "3.3, 5",
    source_text: SEND_INVOICE,
    applies_to: &["all"],
    method: Method::Journal,
    how: "Collects the currency of totalAmount and of each row's itemTotalAmount, itemUnitPrice and itemDiscount \
          in every sendInvoice and updateInvoice: all that are present must be equal, and an update must keep \
          the currency the invoice was issued in.",
    fixes: "Take the currency from one place (the merchant's configuration) for every amount of an invoice.",
};

impl Rule for CurrencyConsistent {
    fn meta(&self) -> &'static Meta {
        &CURRENCY_CONSISTENT
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let mut findings = Vec::new();
        for (call, invoice) in invoices(view) {
            let mut currencies: Vec<&str> = Vec::new();
            let total = invoice.total_amount.as_ref().and_then(|a| a.currency.as_deref());
            currencies.extend(total);
            for row in invoice.invoice_rows.iter().flatten() {
                for amount in [&row.item_total_amount, &row.item_unit_price, &row.item_discount] {
                    currencies.extend(amount.as_ref().and_then(|a| a.currency.as_deref()));
                }
            }
            let issued = call
                .is(Operation::UpdateInvoice)
                .then(|| call.invoice().and_then(|i| view.issued.get(i)).map(|(_, _, c)| *c))
                .flatten();
            currencies.extend(issued);
            let mut distinct: Vec<&str> = currencies.iter().map(|c| c.trim()).collect();
            distinct.sort_unstable();
            distinct.dedup();
            if distinct.len() > 1 {
                let mut actual = format!("{}: currencies {}", call.label(), distinct.join(", "));
                if let Some(issued) = issued {
                    actual.push_str(&format!(" (issued in {issued})"));
                }
                findings.push(CURRENCY_CONSISTENT.finding(
                    "one currency for the total and every row",
                    actual,
                    call.evidence(),
                    call.invoice(),
                ));
            }
        }
        findings
    }
}

#[derive(Debug)]
pub(crate) struct DocumentedFields;

static DOCUMENTED_FIELDS: Meta = Meta {
    id: "INV-DOCUMENTED-FIELDS",
    level: Level::Should,
    summary: "sendInvoice carries title, cashierId, clientInvoiceId and issueDate.",
    spec_section: "3.3, 5",
    source_text: SEND_INVOICE,
    applies_to: &["all"],
    method: Method::Journal,
    how: "Decodes every sendInvoice: title, cashierId, clientInvoiceId and issueDate must be present and not \
          blank. (updateInvoice is not held to this.)",
    fixes: "Fill title (what the customer sees), cashierId (till, machine or \"web\"), clientInvoiceId (your order \
            or purchase id) and issueDate (xs:dateTime) in every sendInvoice.",
};

impl Rule for DocumentedFields {
    fn meta(&self) -> &'static Meta {
        &DOCUMENTED_FIELDS
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let sends: Vec<(&Call<'_>, &Invoice)> = invoices(view).filter(|(c, _)| c.is(Operation::SendInvoice)).collect();
        let offending: Vec<(&Call<'_>, String)> = sends
            .iter()
            .filter_map(|(call, i)| {
                let missing: Vec<&str> = [
                    ("title", &i.title),
                    ("cashierId", &i.cashier_id),
                    ("clientInvoiceId", &i.client_invoice_id),
                    ("issueDate", &i.issue_date),
                ]
                .into_iter()
                .filter(|(_, value)| blank(value.as_deref()))
                .map(|(name, _)| name)
                .collect();
                (!missing.is_empty()).then(|| (*call, format!("{}: no {}", call.label(), missing.join(", "))))
            })
            .collect();
        if offending.is_empty() {
            return Vec::new();
        }
        let items: Vec<String> = offending.iter().map(|(_, text)| text.clone()).collect();
        vec![DOCUMENTED_FIELDS.finding(
            "title, cashierId, clientInvoiceId and issueDate in every sendInvoice",
            format!("{} of {} sendInvoice requests: {}", offending.len(), sends.len(), list(&items)),
            offending.iter().map(|(c, _)| c.seq).collect(),
            common_invoice(offending.iter().map(|(c, _)| c.invoice())),
        )]
    }
}

/// Whether `url` is an http(s) URL with a host; `Some(https, loopback)`.
fn parse_url(url: &str) -> Option<(bool, bool)> {
    let parsed = reqwest::Url::parse(url.trim()).ok()?;
    let https = match parsed.scheme() {
        "https" => true,
        "http" => false,
        _ => return None,
    };
    let host = parsed.host_str().filter(|h| !h.is_empty())?;
    let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase();
    let loopback = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host == "localhost" || host.ends_with(".localhost"),
    };
    Some((https, loopback))
}

#[derive(Debug)]
pub(crate) struct NotificationUrlValid;

static NOTIFICATION_URL_VALID: Meta = Meta {
    id: "INV-NOTIFICATION-URL-VALID",
    level: Level::Must,
    summary: "A notificationUrl, when sent, is an http(s) URL with a host.",
    spec_section: "3.3, 5",
    source_text: SEND_INVOICE,
    applies_to: &["all"],
    method: Method::Journal,
    how: "Parses notificationUrl of every sendInvoice and updateInvoice that has one: it must be an absolute \
          http or https URL with a host (Glase answers 64 INVALID_NOTIFICATION_URL otherwise).",
    fixes: "Build the notificationUrl from your public base URL (https://your.host/…/notify/<token>).",
};

impl Rule for NotificationUrlValid {
    fn meta(&self) -> &'static Meta {
        &NOTIFICATION_URL_VALID
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        invoices(view)
            .filter_map(|(call, invoice)| {
                let url = invoice.notification_url.as_deref()?;
                parse_url(url).is_none().then(|| {
                    NOTIFICATION_URL_VALID.finding(
                        "an http(s) notificationUrl with a host",
                        format!("{}: notificationUrl {url:?}", call.label()),
                        call.evidence(),
                        call.invoice(),
                    )
                })
            })
            .collect()
    }
}

#[derive(Debug)]
pub(crate) struct NotificationUrlHttps;

static NOTIFICATION_URL_HTTPS: Meta = Meta {
    id: "INV-NOTIFICATION-URL-HTTPS",
    level: Level::Should,
    summary: "The notificationUrl is https (plain http only to a loopback address in local tests).",
    spec_section: "2.1, 3.3, 5",
    source_text: "`notificationUrl` valid (https outside local testing)",
    applies_to: &["all"],
    method: Method::Journal,
    how: "Reads notificationUrl of every sendInvoice and updateInvoice that has one: https, or http to \
          localhost/127.0.0.0/8/::1 (local testing), passes; any other plain http URL is a finding.",
    fixes: "Serve the notification endpoint over HTTPS and configure your public base URL as https://….",
};

impl Rule for NotificationUrlHttps {
    fn meta(&self) -> &'static Meta {
        &NOTIFICATION_URL_HTTPS
    }

    fn check(&self, view: &View<'_>) -> Vec<Finding> {
        let offending: Vec<(&Call<'_>, &str)> = invoices(view)
            .filter_map(|(call, invoice)| {
                let url = invoice.notification_url.as_deref()?;
                matches!(parse_url(url), Some((false, false))).then_some((call, url))
            })
            .collect();
        if offending.is_empty() {
            return Vec::new();
        }
        let items: Vec<String> = offending.iter().map(|(c, url)| format!("{}: {url}", c.label())).collect();
        vec![NOTIFICATION_URL_HTTPS.finding(
            "an https notificationUrl (http only to loopback)",
            list(&items),
            offending.iter().map(|(c, _)| c.seq).collect(),
            common_invoice(offending.iter().map(|(c, _)| c.invoice())),
        )]
    }
}

#[cfg(test)]
mod tests {
    use glase_protocol::{Amount, PaymentMode};

    use super::*;
    use crate::rules::support::testing::{Journal, d, invoice};

    fn send(change: impl FnOnce(&mut Invoice)) -> Journal {
        let mut i = invoice(PaymentMode::ImmediateDebit, &["2.50", "1.20"]);
        change(&mut i);
        let mut journal = Journal::new();
        journal.send_invoice("1", i);
        journal
    }

    #[test]
    fn a_complete_invoice_passes() {
        let journal = send(|_| {});
        for rule in [
            &RowsPresent as &dyn Rule,
            &RowsSum,
            &CurrencyConsistent,
            &DocumentedFields,
            &NotificationUrlValid,
            &NotificationUrlHttps,
        ] {
            assert_eq!(journal.check(rule), vec![], "{}", rule.meta().id);
        }
    }

    #[test]
    fn rows_must_be_there_with_quantity_and_amount() {
        assert!(send(|i| i.invoice_rows = None).check(&RowsPresent)[0].actual.contains("no invoiceRows"));
        assert!(send(|i| i.invoice_rows = Some(vec![])).check(&RowsPresent)[0].actual.contains("empty"));
        let findings = send(|i| {
            let rows = i.invoice_rows.as_mut().unwrap();
            rows[0].item_quantity = None;
            rows[1].item_quantity = Some(Decimal::ZERO);
        })
        .check(&RowsPresent);
        assert_eq!(findings.len(), 1);
        assert!(findings[0].actual.contains("row 1: itemQuantity absent; row 2: itemQuantity 0"), "{findings:?}");
        assert_eq!(findings[0].evidence, vec![1, 2]);
    }

    #[test]
    fn rows_must_sum_to_the_total_in_sends_and_updates() {
        let findings = send(|i| i.total_amount = Some(Amount::new(d("3.80"), "EUR"))).check(&RowsSum);
        assert!(findings[0].actual.contains("rows sum to 3.70, totalAmount 3.80"), "{findings:?}");
        // A discount row balancing the total is fine; 3.7 equals 3.70.
        let balanced = send(|i| {
            i.invoice_rows.as_mut().unwrap().push(crate::rules::support::testing::row("-0.70"));
            i.total_amount = Some(Amount::new(d("3.0"), "EUR"));
        });
        assert_eq!(balanced.check(&RowsSum), vec![]);
        let mut journal = send(|_| {});
        let mut update = invoice(PaymentMode::ReservationRequired, &["1.00"]);
        update.total_amount = Some(Amount::new(d("1.10"), "EUR"));
        journal.update_invoice("1", update, 49);
        assert_eq!(journal.check(&RowsSum)[0].evidence, vec![4, 5]);
    }

    #[test]
    fn currencies_must_agree() {
        let findings =
            send(|i| i.invoice_rows.as_mut().unwrap()[1].item_total_amount = Some(Amount::new(d("1.20"), "SEK")))
                .check(&CurrencyConsistent);
        assert!(findings[0].actual.contains("EUR, SEK"), "{findings:?}");
        let mut journal = send(|_| {});
        let mut update = invoice(PaymentMode::ImmediateDebit, &["1.00"]);
        for amount in update.invoice_rows.as_mut().unwrap().iter_mut().filter_map(|r| r.item_total_amount.as_mut()) {
            amount.currency = Some("SEK".into());
        }
        update.total_amount = Some(Amount::new(d("1.00"), "SEK"));
        journal.update_invoice("1", update, 49);
        assert!(journal.check(&CurrencyConsistent)[0].actual.contains("issued in EUR"));
    }

    #[test]
    fn documented_fields_are_a_should() {
        let findings = send(|i| {
            i.cashier_id = None;
            i.issue_date = Some(" ".into());
        })
        .check(&DocumentedFields);
        assert_eq!(findings[0].level, Level::Should);
        assert!(findings[0].actual.contains("no cashierId, issueDate"), "{findings:?}");
    }

    #[test]
    fn notification_urls_must_be_valid_and_https_except_on_loopback() {
        let url = |u: &str| {
            let u = u.to_owned();
            send(move |i| i.notification_url = Some(u))
        };
        assert_eq!(url("ftp://x/notify").check(&NotificationUrlValid).len(), 1);
        assert_eq!(url("/notify/abc").check(&NotificationUrlValid).len(), 1);
        assert_eq!(url("http://shop.example/notify").check(&NotificationUrlValid), vec![]);
        assert_eq!(url("http://shop.example/notify").check(&NotificationUrlHttps).len(), 1);
        for fine in ["https://shop.example/n", "http://127.0.0.1:8080/n", "http://localhost/n", "http://[::1]:80/n"] {
            assert_eq!(url(fine).check(&NotificationUrlHttps), vec![], "{fine}");
        }
        assert_eq!(send(|i| i.notification_url = None).check(&NotificationUrlHttps), vec![]);
    }
}
