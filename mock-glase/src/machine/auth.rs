//! Principal checks, run on every call (result codes 20, 21, 29, 33, 37).
//!
//! Order matters and is fixed: the principal must exist (29/37), then the password must
//! match (20), and only then is its state revealed (33) — an unauthenticated caller
//! learns nothing about a terminal's state.

use glase_protocol::{ClientContext, Operation, PrincipalType, ResultCode};

pub use super::caller::claimed_terminal;
use super::caller::claimed_terminal_id;
use super::{Machine, SmolStr, trim};

/// Who is calling, once authenticated. The ids borrow from the request (they equal the
/// authenticated principal's ids), so authenticating copies nothing; the terminal's
/// reseller is looked up when an operation needs it ([`Machine::reseller_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal<'r> {
    Terminal { terminal: &'r str },
    ResellerUser { reseller: &'r str },
}

impl<'r> Principal<'r> {
    pub fn terminal(&self) -> Option<&'r str> {
        match self {
            Self::Terminal { terminal } => Some(terminal),
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

impl Machine {
    /// The merchantId a request claims to act for, before authentication: the claimed
    /// terminal's merchant, or the RESELLERUSER's.
    pub fn claimed_merchant(&self, context: Option<&ClientContext>) -> Option<String> {
        self.claimed_merchant_id(context).map(String::from)
    }

    /// [`Self::claimed_merchant`], as the shared name.
    pub(crate) fn claimed_merchant_id(&self, context: Option<&ClientContext>) -> Option<SmolStr> {
        if let Some(terminal) = claimed_terminal_id(context) {
            return self.merchant_id_of_terminal(terminal).cloned();
        }
        let principal = context?.initiator_principal_id.as_ref()?;
        match principal.kind.as_deref().map(trim) {
            Some("RESELLERUSER") => {
                let (id, _) = self.reseller_login(trim(principal.id.as_deref()?), principal.user_id.as_deref());
                self.resellers.get(id).map(|r| r.merchant_id.clone())
            }
            _ => None,
        }
    }

    /// The reseller id and userId of a RESELLERUSER login: the `id` and `userId`
    /// elements; or, when `userId` is absent or empty and `id` names no reseller as it
    /// is, an `id` written `<reseller>/<user>` — how Glase's own Java till sample logs in
    /// (it then got 37) **[decision]**. The user is what follows the last `/`.
    pub(crate) fn reseller_login<'r>(&self, id: &'r str, user_id: Option<&'r str>) -> (&'r str, &'r str) {
        let user_id = user_id.map(trim).unwrap_or_default();
        if !user_id.is_empty() || self.resellers.contains_key(id) {
            return (id, user_id);
        }
        match id.rsplit_once('/') {
            Some((reseller, user)) => (trim(reseller), trim(user)),
            None => (id, user_id),
        }
    }

    /// The reseller a principal acts for.
    pub(crate) fn reseller_of<'a>(&'a self, principal: &Principal<'a>) -> &'a str {
        match *principal {
            Principal::Terminal { terminal } => self.terminals.get(terminal).map_or("", |t| t.reseller.as_str()),
            Principal::ResellerUser { reseller } => reseller,
        }
    }

    pub(crate) fn authenticate<'r>(
        &self,
        op: Operation,
        context: Option<&'r ClientContext>,
    ) -> Result<Principal<'r>, ResultCode> {
        let context = context.ok_or(ResultCode::INVALID_INITIATOR_PRINCIPAL_ID)?;
        let principal = context.initiator_principal_id.as_ref().ok_or(ResultCode::INVALID_INITIATOR_PRINCIPAL_ID)?;
        let kind = principal
            .kind
            .as_deref()
            .and_then(|k| PrincipalType::parse(trim(k)))
            .ok_or(ResultCode::INVALID_INITIATOR_PRINCIPAL_ID)?;
        let id = principal.id.as_deref().map(trim).unwrap_or_default();
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
                Principal::Terminal { terminal: id }
            }
            PrincipalType::ResellerUser => {
                let (id, user_id) = self.reseller_login(id, principal.user_id.as_deref());
                let reseller = self
                    .resellers
                    .get(id)
                    .filter(|r| r.user_id == user_id)
                    .ok_or(ResultCode::INITIATOR_PRINCIPAL_NOT_FOUND)?;
                if reseller.password != password {
                    return Err(ResultCode::AUTHENTICATION_FAILED);
                }
                Principal::ResellerUser { reseller: id }
            }
        };
        if allowed_types(op).contains(&kind) { Ok(authenticated) } else { Err(ResultCode::ACCESS_DENIED) }
    }
}
