//! The HTML the shop serves and the receipt it submits: self-contained pages (inline
//! CSS, an inline SVG QR code, one small inline script, no external assets), every
//! piece of text escaped. Pure functions from data to markup; the routes are in `web`.

use std::fmt::Write as _;

use qrcode::QrCode;
use qrcode::render::svg;
use rust_decimal::Decimal;

use super::config::{WebshopConfig, two_decimals};
use super::orders::{Order, OrderRow, OrderState, Refund, RefundState};
use super::shop::rfc3339;

/// Text made safe for HTML element content and quoted attribute values (the codec's
/// XML escaping, which HTML reads the same way).
pub(crate) use glase_protocol::escaped as escape;

/// The link that opens the Glase app on the same phone: the QR code's URL with its
/// scheme replaced (`HTTP://SEQR.SE/R123` → `seqr://SEQR.SE/R123`), as the seed says.
pub(crate) fn seqr_link(qr_code: &str) -> String {
    match qr_code.split_once("://") {
        Some((_, rest)) => format!("seqr://{rest}"),
        None => format!("seqr://{qr_code}"),
    }
}

/// The QR code as an inline `<svg>` element (no XML declaration).
pub(crate) fn qr_svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let image = code.render::<svg::Color<'_>>().min_dimensions(240, 240).quiet_zone(true).build();
    let start = image.find("<svg")?;
    Some(image[start..].replacen("<svg ", r#"<svg role="img" aria-label="Glase QR code" "#, 1))
}

fn money(value: Decimal, currency: &str) -> String {
    format!("{} {}", two_decimals(value), escape(currency))
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}\
table{border-collapse:collapse;width:100%}td,th{padding:.4rem;border-bottom:1px solid #ddd;text-align:left}\
td.n,th.n{text-align:right}input[type=number]{width:4rem}\
.button,button{display:inline-block;padding:.6rem 1.2rem;border-radius:.4rem;border:0;background:#0a6;color:#fff;\
text-decoration:none;font-size:1rem;cursor:pointer}button.secondary{background:#888}\
.qr svg{width:240px;height:240px}.note{color:#666}.ok{color:#070}.bad{color:#a00}";

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        escape(title)
    )
}

/// `GET /shop`: the catalogue with a quantity field per product.
pub(crate) fn catalogue_page(config: &WebshopConfig) -> String {
    let mut body = format!("<h1>{}</h1>\n<form method=\"post\" action=\"/shop/checkout\">\n", escape(&config.name));
    body.push_str("<table><thead><tr><th>Product</th><th class=\"n\">Price</th><th class=\"n\">Quantity</th></tr></thead><tbody>\n");
    for product in &config.products {
        let _ = writeln!(
            body,
            "<tr><td><label for=\"qty-{sku}\">{name}</label></td><td class=\"n\">{price}</td>\
             <td class=\"n\"><input type=\"number\" id=\"qty-{sku}\" name=\"qty-{sku}\" min=\"0\" max=\"{max}\" value=\"0\"></td></tr>",
            sku = escape(&product.sku),
            name = escape(&product.name),
            price = money(product.price, &config.currency),
            max = super::checkout::MAX_QUANTITY,
        );
    }
    body.push_str("</tbody></table>\n<p><button type=\"submit\">Pay with Glase</button></p>\n</form>");
    layout(&config.name, &body)
}

fn rows_table(rows: &[OrderRow], total: Decimal, currency: &str) -> String {
    let mut table = String::from(
        "<table><thead><tr><th>Item</th><th class=\"n\">Qty</th><th class=\"n\">Price</th><th class=\"n\">Amount</th></tr></thead><tbody>\n",
    );
    for row in rows {
        let _ = writeln!(
            table,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&row.name),
            row.quantity,
            money(row.unit_price, currency),
            money(row.total, currency)
        );
    }
    let _ = write!(
        table,
        "</tbody><tfoot><tr><th colspan=\"3\">Total</th><th class=\"n\">{}</th></tr></tfoot></table>",
        money(total, currency)
    );
    table
}

fn receipt_body(config: &WebshopConfig, order: &Order, rows: &[OrderRow], ers_reference: &str) -> String {
    format!(
        "<h2>Receipt</h2>\n<p>{shop}<br>Order {id}, {date}<br>Paid with Glase, payment reference <strong>{ers}</strong></p>\n{rows}",
        shop = escape(&config.name),
        id = escape(&order.id.0),
        date = escape(&rfc3339(order.created_at_ms)),
        ers = escape(ers_reference),
        rows = rows_table(rows, order.total, &order.currency),
    )
}

/// The receipt submitted to Glase with submitPaymentReceipt (text/html).
pub(crate) fn receipt_document(
    config: &WebshopConfig,
    order: &Order,
    rows: &[OrderRow],
    ers_reference: &str,
) -> String {
    layout(&format!("{} receipt", config.name), &receipt_body(config, order, rows, ers_reference))
}

/// The script that waits for the payment: it asks the shop (not Glase) every second
/// and reloads the page once the order is settled.
fn status_script(order: &Order) -> String {
    let url = serde_json::to_string(&format!("/shop/orders/{}/status", order.id))
        .unwrap_or_else(|_| "\"\"".to_owned())
        .replace('<', "\\u003c");
    format!(
        "<script>(function(){{var url={url};function poll(){{fetch(url,{{headers:{{Accept:\"application/json\"}},cache:\"no-store\"}})\
         .then(function(r){{return r.json();}}).then(function(s){{if(s.state!==\"pending\"){{location.reload();}}else{{setTimeout(poll,1000);}}}})\
         .catch(function(){{setTimeout(poll,1000);}});}}setTimeout(poll,1000);}})();</script>"
    )
}

/// `GET /shop/orders/{id}`: the QR code while pending, the receipt once paid.
pub(crate) fn order_page(config: &WebshopConfig, order: &Order, rows: &[OrderRow], refunds: &[Refund]) -> String {
    let id = escape(&order.id.0);
    let mut body = format!("<h1>{}</h1>\n", escape(&config.name));
    match order.state {
        OrderState::Pending => {
            let _ =
                writeln!(body, "<h2>Pay with Glase</h2>\n<p>Order {id}: {}</p>", money(order.total, &order.currency));
            match order.qr_code.as_deref() {
                Some(qr) => {
                    let _ = writeln!(
                        body,
                        "<div class=\"qr\">{}</div>\n<p>Scan the code with the Glase app. On this phone? \
                         <a class=\"button\" href=\"{}\">Pay in the Glase app</a></p>",
                        qr_svg(qr).unwrap_or_default(),
                        escape(&seqr_link(qr))
                    );
                }
                None => body.push_str("<p>Preparing your invoice…</p>\n"),
            }
            let _ = writeln!(
                body,
                "<p id=\"status\" class=\"note\" aria-live=\"polite\">Waiting for your payment…</p>\n{}\n\
                 <form method=\"post\" action=\"/shop/orders/{id}/cancel\"><button class=\"secondary\" type=\"submit\">Cancel order</button></form>\n\
                 <noscript><p class=\"note\">This page updates itself; <a href=\"/shop/orders/{id}\">reload it</a> after paying.</p></noscript>\n{}",
                rows_table(rows, order.total, &order.currency),
                status_script(order)
            );
        }
        OrderState::Paid => {
            body.push_str("<p class=\"ok\"><strong>Thank you! Your payment was received.</strong></p>\n");
            match order.ers_reference.as_deref() {
                Some(ers) => body.push_str(&receipt_body(config, order, rows, ers)),
                None => body.push_str(&rows_table(rows, order.total, &order.currency)),
            }
            let done: Vec<&Refund> = refunds.iter().filter(|r| r.state == RefundState::Done).collect();
            if !done.is_empty() {
                body.push_str("\n<h2>Refunds</h2>\n<ul>\n");
                for refund in done {
                    let _ = writeln!(
                        body,
                        "<li>{} on {}, reference {}</li>",
                        money(refund.amount, &order.currency),
                        escape(&rfc3339(refund.requested_at_ms)),
                        escape(refund.ers_reference.as_deref().unwrap_or("-"))
                    );
                }
                body.push_str("</ul>");
            }
        }
        OrderState::Canceled | OrderState::Failed => {
            let headline = if order.state == OrderState::Canceled {
                "This order was cancelled."
            } else {
                "The payment did not go through."
            };
            let _ = write!(
                body,
                "<p class=\"bad\"><strong>{headline}</strong></p>\n<p class=\"note\">Order {id}: {}</p>\n\
                 <p><a class=\"button\" href=\"/shop\">Back to the shop</a></p>",
                escape(order.reason.as_deref().unwrap_or("no payment"))
            );
        }
    }
    layout(&format!("{} order {}", config.name, order.id), &body)
}

/// A page for an error (the message is escaped).
pub(crate) fn error_page(title: &str, message: &str) -> String {
    layout(
        title,
        &format!(
            "<h1>{}</h1>\n<p>{}</p>\n<p><a class=\"button\" href=\"/shop\">Back to the shop</a></p>",
            escape(title),
            escape(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::orders::OrderId;
    use super::*;

    fn order(state: OrderState) -> Order {
        Order {
            id: OrderId("W0123".to_owned()),
            token: "secret-token".to_owned(),
            state,
            reason: Some("<script>alert(1)</script>".to_owned()),
            currency: "EUR".to_owned(),
            total: Decimal::new(999, 2),
            created_at_ms: 0,
            invoice_reference: Some("17954576909300001".to_owned()),
            qr_code: Some("HTTP://SEQR.SE/R17954576909300001".to_owned()),
            version: 0,
            ers_reference: Some("2015102910184861801032678".to_owned()),
        }
    }

    fn rows() -> Vec<OrderRow> {
        vec![OrderRow {
            sku: "x".to_owned(),
            name: "Tea & <biscuits>".to_owned(),
            quantity: 1,
            unit_price: Decimal::new(999, 2),
            total: Decimal::new(999, 2),
        }]
    }

    #[test]
    fn the_app_link_replaces_the_scheme() {
        assert_eq!(seqr_link("HTTP://SEQR.SE/R123"), "seqr://SEQR.SE/R123");
        assert_eq!(seqr_link("https://seqr.se/R9"), "seqr://seqr.se/R9");
    }

    #[test]
    fn everything_is_escaped() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;");
        let page = order_page(&WebshopConfig::default(), &order(OrderState::Canceled), &rows(), &[]);
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn a_pending_order_shows_an_inline_qr_code_the_app_link_and_the_polling_script() {
        let page = order_page(&WebshopConfig::default(), &order(OrderState::Pending), &rows(), &[]);
        assert!(page.contains("<svg role=\"img\""));
        assert!(!page.contains("<?xml"));
        assert!(page.contains("href=\"seqr://SEQR.SE/R17954576909300001\""));
        assert!(page.contains("\"/shop/orders/W0123/status\""));
        assert!(page.contains("Tea &amp; &lt;biscuits&gt;"));
        assert!(!page.contains("secret-token"), "the notification token never reaches the browser");
    }

    #[test]
    fn a_paid_order_shows_the_receipt() {
        let page = order_page(&WebshopConfig::default(), &order(OrderState::Paid), &rows(), &[]);
        assert!(page.contains("2015102910184861801032678"));
        assert!(page.contains("9.99 EUR"));
        assert!(!page.contains("<script"));
    }
}
