//! Deviations: what a request did that the schema or the spec does not allow, found by
//! the codec or the mock, and tolerated (lax mode) or answered with a result code instead
//! of a fault. Each is a journal record the conformance suite can report.

use serde::{Deserialize, Serialize};

/// One deviation, at one place in a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deviation {
    pub rule: DeviationRule,
    /// Where: `sendInvoice/invoice/totalAmount/value`.
    pub path: String,
    /// What was found, in a sentence.
    pub detail: String,
}

/// The rule a [`Deviation`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DeviationRule {
    /// A child element in a namespace, where the schema (`elementFormDefault="unqualified"`)
    /// puts every child of an operation in none.
    QualifiedElement,
    /// A header marked `mustUnderstand="1"` addressed to the receiver, which processes
    /// no header (SOAP 1.1 section 4.2.3 requires a `MustUnderstand` fault).
    MustUnderstandHeader,
    /// An amount with more than two decimals, where the spec says `#.##`.
    AmountPrecision,
    /// A valid `xs:decimal` with more significant digits than the mock holds (28).
    DecimalOutOfRange,
}

impl DeviationRule {
    /// The rule's name in the journal.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::QualifiedElement => "qualified-element",
            Self::MustUnderstandHeader => "must-understand-header",
            Self::AmountPrecision => "amount-precision",
            Self::DecimalOutOfRange => "decimal-out-of-range",
        }
    }
}

impl std::fmt::Display for DeviationRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
