//! registerTerminal, unregisterTerminal, assignSeqrId.

use glase_protocol::request::{AssignSeqrId, RegisterTerminal};
use glase_protocol::{Operation, Response, ResponseDetail, ResultCode};

use super::auth::Principal;
use super::{Effects, Event, Machine, SmolStr, Terminal};

/// Shortest terminal password accepted; shorter ones answer 21 ACCESS_DENIED.
pub use super::records::MIN_TERMINAL_PASSWORD;

impl Machine {
    /// Registers a terminal for the calling reseller. Registering the same
    /// `externalTerminalId` again returns the same terminalId, re-enabling it and setting
    /// the new password, so a till that lost its id can recover it **[decision]**.
    pub(crate) fn register_terminal(
        &mut self,
        principal: &Principal,
        request: &RegisterTerminal,
        fx: &mut Effects,
    ) -> Response {
        let op = Operation::RegisterTerminal;
        let password = request.password.as_deref().unwrap_or_default();
        if password.chars().count() < MIN_TERMINAL_PASSWORD {
            return Response::result(op, ResultCode::ACCESS_DENIED);
        }
        let reseller = SmolStr::new(self.reseller_of(principal));
        let external_id = request.external_terminal_id.as_deref().map(str::trim).filter(|e| !e.is_empty());
        let existing = external_id.and_then(|external| {
            self.terminals
                .values()
                .find(|t| t.reseller == reseller && t.external_id.as_deref() == Some(external))
                .map(|t| t.id.clone())
        });
        let id = match existing {
            Some(id) => id,
            None => {
                let id = self.ids.terminal_id();
                self.terminals.insert(
                    id.to_string(),
                    Terminal {
                        id: id.clone(),
                        reseller: reseller.clone(),
                        external_id: external_id.map(str::to_owned),
                        name: None,
                        password: String::new(),
                        registered: true,
                        seqr_id: None,
                    },
                );
                id
            }
        };
        if let Some(terminal) = self.terminals.get_mut(id.as_str()) {
            terminal.password = password.to_owned();
            terminal.registered = true;
            terminal.name = request.name.clone().or(terminal.name.take());
        }
        fx.event(Event::TerminalRegistered {
            terminal: id.to_string(),
            reseller: reseller.to_string(),
            external_id: external_id.map(str::to_owned),
        });
        Response::success(op, ResponseDetail::RegisterTerminal { terminal_id: Some(id.to_string()) })
    }

    /// Disables the calling terminal (later calls answer 33) and frees its seqrId.
    pub(crate) fn unregister_terminal(&mut self, principal: &Principal, fx: &mut Effects) -> Response {
        let op = Operation::UnregisterTerminal;
        let Some(terminal) = principal.terminal().and_then(|id| self.terminals.get_mut(id)) else {
            return Response::result(op, ResultCode::INVALID_INITIATOR_PRINCIPAL_ID);
        };
        terminal.registered = false;
        if let Some(seqr_id) = terminal.seqr_id.take() {
            self.seqr_ids.remove(&seqr_id);
        }
        fx.event(Event::TerminalUnregistered { terminal: terminal.id.to_string() });
        Response::result(op, ResultCode::SUCCESS)
    }

    /// Binds a static QR sticker id to the calling terminal. The id must be
    /// alphanumeric and not bound to another terminal (else 53); re-assigning replaces
    /// the terminal's previous id.
    pub(crate) fn assign_seqr_id(
        &mut self,
        principal: &Principal,
        request: &AssignSeqrId,
        fx: &mut Effects,
    ) -> Response {
        let op = Operation::AssignSeqrId;
        let Some(terminal_id) = principal.terminal().map(str::to_owned) else {
            return Response::result(op, ResultCode::ACCESS_DENIED);
        };
        let seqr_id = request.seqr_id.as_deref().map(str::trim).unwrap_or_default();
        if seqr_id.is_empty() || !seqr_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Response::result(op, ResultCode::INVALID_SEQR_ID);
        }
        if self.seqr_ids.get(seqr_id).is_some_and(|owner| *owner != terminal_id) {
            return Response::result(op, ResultCode::INVALID_SEQR_ID);
        }
        let Some(terminal) = self.terminals.get_mut(&terminal_id) else {
            return Response::result(op, ResultCode::INVALID_INITIATOR_PRINCIPAL_ID);
        };
        if let Some(previous) = terminal.seqr_id.replace(seqr_id.to_owned()) {
            self.seqr_ids.remove(&previous);
        }
        self.seqr_ids.insert(seqr_id.to_owned(), terminal_id.clone());
        fx.event(Event::SeqrIdAssigned { terminal: terminal_id, seqr_id: seqr_id.to_owned() });
        Response::result(op, ResultCode::SUCCESS)
    }
}
