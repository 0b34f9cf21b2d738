//! The run's interruption: set by the first Ctrl-C of an `apply`, read by the read-only guard and the
//! engine.
//!
//! Once it is requested, the guard refuses every mutating call not yet sent, as it refuses them in a
//! read-only run ([`super::guard`]), and the engine starts no further unit's apply: the writes already
//! on the wire finish and are reported, nothing new starts. Reads go on, so the report says what was
//! done and what was not. It owns no signal handling (the command line does that) and never cancels a
//! call in flight: a write cut half-way would leave the account in a state no run meant.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Shared by every connection of one run; cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct Interrupt {
    requested: Arc<AtomicBool>,
}

impl Interrupt {
    /// From now on no write starts.
    pub fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
    }

    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }
}

/// The error a write refused after the interruption fails with.
#[derive(Debug, thiserror::Error)]
#[error("not sent {service}:{operation}: the run was interrupted (Ctrl-C) before this write started")]
pub struct Interrupted {
    pub service: String,
    pub operation: String,
}
