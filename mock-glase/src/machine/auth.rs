//! Principal checks, run on every call (result codes 20, 21, 29, 33, 37).
//!
//! Order matters and is fixed: the principal must exist (29/37), then the password must
//! match (20), and only then is its state revealed (33) — an unauthenticated caller
//! learns nothing about a terminal's state.

use glase_protocol::{ClientContext, Operation, PrincipalType, ResultCode};

use super::Machine;

/// Who is calling, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Terminal { terminal: String, reseller: String },
    ResellerUser { reseller: String },
}

impl Principal {
    pub fn reseller(&self) -> &str {
        match self {
            Self::Terminal { reseller, .. } | Self::ResellerUser { reseller } => reseller,
        }
    }

    pub fn terminal(&self) -> Option<&str> {
        match self {
            Self::Terminal { terminal, .. } => Some(terminal),
            Self::ResellerUser { .. } => None,
        }
    }
}

/// Which principal types may call an operation **[decision]**: registerTerminal is the
/// reseller's; reports may be run by either; everything else is a terminal's.
pub fn allowed_types(op: Operation) -> &'static [PrincipalType] {
    match op {
        Operation::RegisterTerminal => &[PrincipalType::ResellerUser],
        Operation::MarkTransactionPeriod | Operation::ExecuteReport => {
            &[PrincipalType::TerminalId, PrincipalType::ResellerUser]
        }
        _ => &[PrincipalType::TerminalId],
    }
}

/// The terminal id a request claims to come from, before authentication (for faults
/// scoped to a terminal and for journal filtering).
pub fn claimed_terminal(context: Option<&ClientContext>) -> Option<String> {
    let principal = context?.initiator_principal_id.as_ref()?;
    match principal.kind.as_deref().map(str::trim) {
        Some("TERMINALID") => principal.id.as_ref().map(|id| id.trim().to_owned()),
        _ => None,
    }
}

impl Machine {
    /// The merchantId a request claims to act for, before authentication: the claimed
    /// terminal's merchant, or the RESELLERUSER's.
    pub fn claimed_merchant(&self, context: Option<&ClientContext>) -> Option<String> {
        if let Some(terminal) = claimed_terminal(context) {
            return self.merchant_of_terminal(&terminal).map(str::to_owned);
        }
        let principal = context?.initiator_principal_id.as_ref()?;
        match principal.kind.as_deref().map(str::trim) {
            Some("RESELLERUSER") => {
                let id = principal.id.as_deref()?.trim();
                self.resellers.get(id).map(|r| r.merchant_id.clone())
            }
            _ => None,
        }
    }

    pub(crate) fn authenticate(&self, op: Operation, context: Option<&ClientContext>) -> Result<Principal, ResultCode> {
        let context = context.ok_or(ResultCode::INVALID_INITIATOR_PRINCIPAL_ID)?;
        let principal = context.initiator_principal_id.as_ref().ok_or(ResultCode::INVALID_INITIATOR_PRINCIPAL_ID)?;
        let kind = principal
            .kind
            .as_deref()
            .and_then(|k| PrincipalType::parse(k.trim()))
            .ok_or(ResultCode::INVALID_INITIATOR_PRINCIPAL_ID)?;
        let id = principal.id.as_deref().map(str::trim).unwrap_or_default();
        let password = context.password.as_deref().unwrap_or_default();
        let authenticated = match kind {
            PrincipalType::TerminalId => {
                let terminal = self.terminals.get(id).ok_or(ResultCode::INVALID_INITIATOR_PRINCIPAL_ID)?;
                if terminal.password != password {
                    return Err(ResultCode::AUTHENTICATION_FAILED);
                }
                if !terminal.registered {
                    return Err(ResultCode::INVALID_INITIATOR_PRINCIPAL_STATE);
                }
                Principal::Terminal { terminal: terminal.id.clone(), reseller: terminal.reseller.clone() }
            }
            PrincipalType::ResellerUser => {
                let user_id = principal.user_id.as_deref().map(str::trim).unwrap_or_default();
                let reseller = self
                    .resellers
                    .get(id)
                    .filter(|r| r.user_id == user_id)
                    .ok_or(ResultCode::INITIATOR_PRINCIPAL_NOT_FOUND)?;
                if reseller.password != password {
                    return Err(ResultCode::AUTHENTICATION_FAILED);
                }
                Principal::ResellerUser { reseller: reseller.id.clone() }
            }
        };
        if allowed_types(op).contains(&kind) { Ok(authenticated) } else { Err(ResultCode::ACCESS_DENIED) }
    }
}
