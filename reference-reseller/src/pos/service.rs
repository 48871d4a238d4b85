//! The till as the application runs it: its driver's routes, and what it does at a
//! graceful shutdown.

use axum::Router;

use super::till::Till;
use super::{driver, registration};

impl Till {
    /// The till driver (unless `[pos] driver = false`).
    pub fn routes(&self) -> Router {
        if self.config().driver { driver::routes().with_state(self.clone()) } else { Router::new() }
    }

    /// At a graceful shutdown: unregisters the terminal unless a sale is pending or a
    /// receipt is still due (then it stays registered and the next start resumes them).
    pub async fn shutdown(&self) {
        registration::shutdown(self).await;
    }
}
