//! The till's terminal at Glase: registerTerminal (as the reseller user, with a password
//! the till chooses), assignSeqrId (the sticker), unregisterTerminal — on request, before
//! a sale when needed, and at shutdown.
//!
//! Every function here runs under the till's registration lock, so registrations never
//! interleave, and the till never unregisters while a sale is being started. What is
//! stored is never half of it: registerTerminal's outcome and assignSeqrId's are
//! recorded separately (`terminal`), so a till whose sticker could not be assigned keeps
//! its terminal and assigns the sticker at the next sale or register action.

use super::till::Till;
use crate::faults::Fault;
use crate::glase::GlaseError;
use crate::webshop::error::ShopError;
use crate::webshop::shop::{now_ms, random_hex};

/// Bytes of a new terminal password (hex: twice as many characters).
const PASSWORD_BYTES: usize = 16;

/// Makes sure the till is registered and its sticker assigned, registering it first if
/// needed. The caller holds the registration lock.
pub(crate) async fn ensure_registered(till: &Till) -> Result<(), ShopError> {
    let record = till.terminals().load()?;
    if !record.registered {
        return register_now(till).await;
    }
    if !record.seqr_assigned {
        return assign(till).await;
    }
    Ok(())
}

/// The register action: (re-)registers the terminal and assigns the sticker; 409 while
/// a sale is pending (a new password would strand its polling mid-sale).
pub(crate) async fn register(till: &Till) -> Result<(), ShopError> {
    let _guard = till.lock_registration().await;
    if let Some(why) = till.busy()? {
        return Err(ShopError::Conflict(format!("the till cannot register again now: {why}")));
    }
    register_now(till).await
}

/// The unregister action: unregisterTerminal; 409 while a sale is pending. An
/// unregistered till answers at once, without calling Glase.
pub(crate) async fn unregister(till: &Till) -> Result<(), ShopError> {
    let _guard = till.lock_registration().await;
    if let Some(why) = till.busy()? {
        return Err(ShopError::Conflict(format!("the till cannot unregister now: {why}")));
    }
    unregister_now(till).await
}

/// At a graceful shutdown: unregisters unless a sale or a receipt is still open.
pub(crate) async fn shutdown(till: &Till) {
    let _guard = till.lock_registration().await;
    let busy = match (till.terminals().load(), till.busy()) {
        (Ok(record), _) if !record.registered => return,
        (Ok(_), Ok(busy)) => busy,
        (Err(error), _) | (_, Err(error)) => {
            return tracing::error!(error = ?error, "till: cannot read its state; it stays registered");
        }
    };
    if let Some(why) = busy {
        tracing::warn!("till: stays registered ({why}); the next start reuses the terminal and resumes them");
        return;
    }
    match unregister_now(till).await {
        Ok(()) => tracing::info!("till: terminal unregistered at shutdown"),
        Err(error) => tracing::warn!(error = %error.message(), "till: could not unregister at shutdown"),
    }
}

/// Forgets a stored registration Glase no longer accepts, so that the next
/// [`ensure_registered`] registers the terminal again. The caller holds the lock.
pub(crate) fn forget(till: &Till) -> Result<(), ShopError> {
    till.terminals().registration_lost()?;
    Ok(())
}

/// registerTerminal with a new password (stored first), then assignSeqrId.
async fn register_now(till: &Till) -> Result<(), ShopError> {
    let config = till.config();
    let password = random_hex(PASSWORD_BYTES);
    till.terminals().choose_password(&password)?;
    let answer = till
        .glase()
        .register_terminal(&config.login(), &config.external_terminal_id, &password, &config.terminal_name)
        .await;
    match answer {
        Ok(terminal_id) => {
            till.terminals().registered(&terminal_id, now_ms())?;
            till.glase().set_terminal(&terminal_id, &password);
            tracing::info!(terminal_id = %terminal_id, external_terminal_id = %config.external_terminal_id, "till registered");
        }
        Err(error) => {
            if error.answer_lost() {
                // Glase may hold the new password or the old one: register again next time.
                till.terminals().registration_lost()?;
            } else {
                till.terminals().registration_refused()?;
            }
            return Err(ShopError::glase("registerTerminal")(error));
        }
    }
    assign(till).await
}

/// assignSeqrId of the configured sticker (skipped by the deliberate fault).
async fn assign(till: &Till) -> Result<(), ShopError> {
    let seqr_id = &till.config().seqr_id;
    if till.has_fault(Fault::TillNoSeqrId) {
        tracing::warn!(seqr_id = %seqr_id, "DELIBERATE FAULT till-no-seqr-id: not calling assignSeqrId");
    } else {
        till.glase().assign_seqr_id(seqr_id).await.map_err(ShopError::glase("assignSeqrId"))?;
        tracing::info!(seqr_id = %seqr_id, "till sticker assigned");
    }
    till.terminals().seqr_assigned()?;
    Ok(())
}

async fn unregister_now(till: &Till) -> Result<(), ShopError> {
    if !till.terminals().load()?.registered {
        return Ok(());
    }
    if till.has_fault(Fault::TillNoUnregister) {
        tracing::warn!(
            "DELIBERATE FAULT till-no-unregister: recording the till unregistered without unregisterTerminal"
        );
    } else {
        match till.glase().unregister_terminal().await {
            Ok(()) => {}
            // Already unregistered at Glase (by someone else): the till agrees.
            Err(GlaseError::Result(code)) if code == glase_protocol::ResultCode::INVALID_INITIATOR_PRINCIPAL_STATE => {
                tracing::warn!("unregisterTerminal: Glase says the terminal is already unregistered");
            }
            Err(error) => return Err(ShopError::glase("unregisterTerminal")(error)),
        }
    }
    till.terminals().unregistered(now_ms())?;
    tracing::info!("till unregistered");
    Ok(())
}
