//! The data types of the Glase SOAP Payment API, one struct per WSDL complex type.
//!
//! Every element the WSDL marks `minOccurs="0"` is an `Option` (or an empty `Vec`), so the
//! types can describe what lax real clients send. Whether a message is *good enough* is the
//! state machine's and the conformance rules' business, not the codec's.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A sum of money: `tns:amount`. `value` is decimal and keeps the scale it was sent with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Amount {
    pub currency: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub value: Option<Decimal>,
}

impl Amount {
    /// An amount with both fields present.
    pub fn new(value: Decimal, currency: impl Into<String>) -> Self {
        Self { currency: Some(currency.into()), value: Some(value) }
    }

    /// `value` in whole cents with two decimals (`20` is `20.00`), rounded towards zero:
    /// what a merchant invoices or reserves never grows past what it was offered (a
    /// createPurchase amount of `19.999` reserves `19.99`).
    pub fn cents(value: Decimal) -> Decimal {
        let mut cents = value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero);
        cents.rescale(2);
        cents
    }
}

/// `tns:principalId`: who is calling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PrincipalId {
    pub id: Option<String>,
    /// `TERMINALID` or `RESELLERUSER` on the wire; kept as text so that an unknown type
    /// is answered with a result code instead of a transport fault.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub user_id: Option<String>,
}

/// The principal types the API knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrincipalType {
    #[serde(rename = "TERMINALID")]
    TerminalId,
    #[serde(rename = "RESELLERUSER")]
    ResellerUser,
}

impl PrincipalType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TerminalId => "TERMINALID",
            Self::ResellerUser => "RESELLERUSER",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "TERMINALID" => Some(Self::TerminalId),
            "RESELLERUSER" => Some(Self::ResellerUser),
            _ => None,
        }
    }
}

/// `tns:clientContext`, sent with every call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClientContext {
    pub channel: Option<String>,
    pub client_comment: Option<String>,
    pub client_id: Option<String>,
    pub client_reference: Option<String>,
    /// Required by the WSDL (`xs:long`), but lax clients omit it; the rules report that.
    pub client_request_timeout: Option<i64>,
    pub initiator_principal_id: Option<PrincipalId>,
    pub password: Option<String>,
}

impl ClientContext {
    /// A context for a terminal (`TERMINALID` principal) with what certification asks
    /// for: `channel` "WS", the given `clientId` and `clientReference`, and
    /// `clientRequestTimeout` 0.
    pub fn for_terminal(
        terminal_id: impl Into<String>,
        password: impl Into<String>,
        client_id: impl Into<String>,
        client_reference: impl Into<String>,
    ) -> Self {
        Self {
            channel: Some("WS".to_owned()),
            client_comment: None,
            client_id: Some(client_id.into()),
            client_reference: Some(client_reference.into()),
            client_request_timeout: Some(0),
            initiator_principal_id: Some(PrincipalId {
                id: Some(terminal_id.into()),
                kind: Some(PrincipalType::TerminalId.as_str().to_owned()),
                user_id: None,
            }),
            password: Some(password.into()),
        }
    }
}

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in WSDL order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The value as it appears on the wire.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire),+ }
            }

            /// Parses the wire value; `None` if it is not in the enumeration.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($wire => Some(Self::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// `tns:paymentMode`, with the v2.6 `RESERVATION_REQUIRED_PRELIMINARY_AMOUNT`.
    PaymentMode {
        ImmediateDebit = "IMMEDIATE_DEBIT",
        ReservationDesired = "RESERVATION_DESIRED",
        ReservationRequired = "RESERVATION_REQUIRED",
        ReservationRequiredPreliminaryAmount = "RESERVATION_REQUIRED_PRELIMINARY_AMOUNT",
    }
);

impl PaymentMode {
    /// Whether the customer's confirmation reserves money instead of paying at once.
    pub const fn reserves(self) -> bool {
        !matches!(self, Self::ImmediateDebit)
    }
}

wire_enum!(
    /// `tns:acknowledgmentMode`.
    AcknowledgmentMode {
        NoAcknowledgment = "NO_ACKNOWLEDGMENT",
        OptionalAcknowledgment = "OPTIONAL_ACKNOWLEDGMENT",
        RequireAcknowledgment = "REQUIRE_ACKNOWLEDGMENT",
    }
);

wire_enum!(
    /// `tns:invoiceStatus`, with the v2.6 `PARTIALLY_PAID`.
    InvoiceStatus {
        Issued = "ISSUED",
        Paid = "PAID",
        PendingIssuerAcknowledge = "PENDING_ISSUER_ACKNOWLEDGE",
        Canceled = "CANCELED",
        Failed = "FAILED",
        Reserved = "RESERVED",
        PartiallyPaid = "PARTIALLY_PAID",
    }
);

/// `tns:paymentInvoiceRow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceRow {
    pub item_description: Option<String>,
    pub item_discount: Option<Amount>,
    #[serde(rename = "itemEAN")]
    pub item_ean: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub item_quantity: Option<Decimal>,
    #[serde(rename = "itemSKU")]
    pub item_sku: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub item_tax_rate: Option<Decimal>,
    pub item_total_amount: Option<Amount>,
    pub item_unit: Option<String>,
    pub item_unit_price: Option<Amount>,
}

/// `tns:invoice`. `invoice_rows` is `None` when the `invoiceRows` wrapper is absent and
/// `Some(vec![])` when it is present but empty: the two are different messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    pub payment_mode: Option<PaymentMode>,
    pub acknowledgment_mode: Option<AcknowledgmentMode>,
    /// `xs:dateTime`, kept as sent.
    pub issue_date: Option<String>,
    pub title: Option<String>,
    pub client_invoice_id: Option<String>,
    pub invoice_rows: Option<Vec<InvoiceRow>>,
    pub total_amount: Option<Amount>,
    pub cashier_id: Option<String>,
    pub footer: Option<String>,
    #[serde(rename = "backURL")]
    pub back_url: Option<String>,
    pub notification_url: Option<String>,
    /// v2.6: seconds the reservation may stay uncommitted.
    pub commit_reservation_timeout: Option<i64>,
}

/// `tns:customerToken` (loyalty cards and the like).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CustomerToken {
    pub description: Option<String>,
    pub id: Option<String>,
    pub status: i32,
    pub value: Option<String>,
}

/// `tns:receiptDocument`, sent by the merchant with submitPaymentReceipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptDocument {
    pub mime_type: Option<String>,
    /// Decoded from `xs:base64Binary`; base64 text again in JSON.
    #[serde(with = "base64_json", default)]
    pub receipt_data: Option<Vec<u8>>,
    pub receipt_type: Option<String>,
}

/// `tns:receipt`, returned by getPaymentStatus for a paid invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub terminal_id: Option<String>,
    /// `xs:dateTime`.
    pub payment_date: Option<String>,
    pub client_invoice_id: Option<String>,
    pub invoice_reference: Option<String>,
    pub payment_reference: Option<String>,
    pub payer_terminal_id: Option<String>,
    pub receiver_name: Option<String>,
    pub invoice: Option<Invoice>,
}

/// `tns:report`, returned by executeReport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub title: Option<String>,
    pub mime_type: Option<String>,
    /// Decoded from `xs:base64Binary`; base64 text again in JSON.
    #[serde(with = "base64_json", default)]
    pub content: Option<Vec<u8>>,
    pub content_string: Option<String>,
}

/// One `entry` of a `tns:parameterMap`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    pub key: Option<String>,
    pub value: Option<String>,
}

/// `tns:parameterMap`: `<parameters><parameter><entry><key/><value/></entry>…`.
/// Order is kept; lookups take the first entry with the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Parameters(pub Vec<Parameter>);

impl Parameters {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|p| p.key.as_deref() == Some(key)).and_then(|p| p.value.as_deref())
    }

    /// Builds a map from key/value pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(pairs.into_iter().map(|(k, v)| Parameter { key: Some(k.to_owned()), value: Some(v.to_owned()) }).collect())
    }
}

mod base64_json {
    //! Binary fields as base64 strings in JSON (journal, control API), as on the wire.
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Vec<u8>>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(bytes) => serializer.serialize_some(&STANDARD.encode(bytes)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| STANDARD.decode(text.as_bytes()).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_have_two_decimals_and_never_round_up() {
        for (value, cents) in
            [(Decimal::new(20, 0), "20.00"), (Decimal::new(19999, 3), "19.99"), (Decimal::new(25, 1), "2.50")]
        {
            assert_eq!(Amount::cents(value).to_string(), cents);
        }
        assert_eq!(Amount::cents(Decimal::new(-1999, 3)).to_string(), "-1.99");
    }
}
