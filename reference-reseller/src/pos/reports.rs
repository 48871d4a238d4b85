//! Closing the till: markTransactionPeriod for the till's terminal (parameters
//! `TERMINALID`), then executeReport on that period for the terminal's reconciliation.
//!
//! The report is Glase's "terminal details" (`Reconciliation/STD_RECON_007.xml`, spec
//! section 9): one row per payment and refund of the till in the period. Glase prepares
//! a report for a while after the mark and answers 2 REPORT_NOT_READY meanwhile; the
//! caller tries again (Glase's advice: after about 3 s).

use base64::Engine as _;
use glase_protocol::ResultCode;
use serde::Serialize;

use super::till::Till;
use crate::glase::GlaseError;
use crate::webshop::error::ShopError;
use crate::webshop::periods::{self, Closed};

/// executeReport's `reportId`: the per-terminal detail report.
pub(crate) const REPORT_ID: &str = "Reconciliation/STD_RECON_007.xml";
const LANGUAGE: &str = "en";

/// A report as the driver answers it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReportView {
    pub(crate) title: Option<String>,
    pub(crate) mime_type: Option<String>,
    /// The text for a textual report (XML, text, JSON), else base64.
    pub(crate) content: Option<String>,
}

/// markTransactionPeriod for the till's terminal; 409 while it is not registered (it
/// has no terminal to close a period for).
pub(crate) async fn close(till: &Till) -> Result<Closed, ShopError> {
    let _guard = till.lock_registration().await;
    if !till.terminals().load()?.registered {
        return Err(ShopError::Conflict("the till is not registered; register it first".to_owned()));
    }
    periods::close(till.engine()).await
}

/// executeReport of a period of the till's terminal.
pub(crate) async fn report(till: &Till, transaction_period_id: &str) -> Result<ReportView, ShopError> {
    let answer = till.glase().execute_report(REPORT_ID, LANGUAGE, transaction_period_id).await;
    match answer {
        Ok(report) => Ok(view(report)),
        Err(GlaseError::Result(ResultCode::REPORT_NOT_READY)) => {
            Err(ShopError::Conflict("the report is not ready yet (resultCode 2); try again".to_owned()))
        }
        Err(error) => Err(ShopError::glase("executeReport")(error)),
    }
}

fn view(report: glase_protocol::Report) -> ReportView {
    let textual = report.mime_type.as_deref().is_some_and(|mime| {
        let mime = mime.to_ascii_lowercase();
        mime.starts_with("text/") || mime.contains("xml") || mime.contains("json")
    });
    let content = match (textual, report.content_string, report.content) {
        (true, Some(text), _) => Some(text),
        (true, None, Some(bytes)) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        (false, _, Some(bytes)) => Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        (false, text, None) => text,
        (true, None, None) => None,
    };
    ReportView { title: report.title, mime_type: report.mime_type, content }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textual_reports_are_text_and_others_base64() {
        let report = |mime: &str, bytes: &[u8]| glase_protocol::Report {
            title: Some("t".to_owned()),
            mime_type: Some(mime.to_owned()),
            content: Some(bytes.to_vec()),
            content_string: None,
        };
        assert_eq!(view(report("text/xml", b"<a/>")).content.as_deref(), Some("<a/>"));
        assert_eq!(view(report("application/pdf", b"%PDF")).content.as_deref(), Some("JVBERg=="));
    }
}
