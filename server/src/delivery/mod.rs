//! Delivery of the change feed to sinks: NATS JetStream (`nats.rs`) and, per app, webhook
//! endpoints (`webhooks/`), each from a cursor of its own.
//!
//! The contract is **at-least-once, in `seq` order per app and sink, with a stable id**: every
//! event is delivered, in order, and the rare repeat (an instance dying between a send and the
//! save of its cursor, an acknowledgement lost on the way) carries the same event id
//! (`Nats-Msg-Id`, `webhook-id`), by which receivers drop it. Cursors and retry state live in
//! the database (`delivery_cursors`), so a restart, or a `kill -9`, resumes where the last saved
//! cursor stands. Exactly one instance delivers a cursor at a time: on PostgreSQL the claim
//! holds the cursor row `FOR UPDATE SKIP LOCKED`; SQLite has one process.
//!
//! A background task per sink runs [`run_sink`]: a round over the cursors with work, again at
//! once while there is more, else at the next feed wake-up (the coherence bus, any instance's
//! commits) or after a second.

pub mod nats;
mod service;
mod store;

use std::{future::Future, sync::Arc, time::Duration};

pub use service::{Claimed, claim, close, due, open, open_everywhere, retry_now};

use crate::{error::Error, state::AppState};

/// The longest a sink waits between rounds when no wake-up arrives.
const RECHECK: Duration = Duration::from_secs(1);

/// Runs `round` until the server stops (its stop signal; a round under way finishes first):
/// again at once when it reports more work, else after the next feed wake-up or [`RECHECK`].
/// Failures are logged and retried.
pub async fn run_sink<F, Fut>(state: Arc<AppState>, mut round: F)
where
    F: FnMut(Arc<AppState>) -> Fut,
    Fut: Future<Output = Result<bool, Error>>,
{
    while !state.draining.load(std::sync::atomic::Ordering::Acquire) {
        let moved = state.events.moved();
        tokio::pin!(moved);
        moved.as_mut().enable();
        let more = match round(state.clone()).await {
            Ok(more) => more,
            Err(e) => {
                tracing::warn!(error = %e, "change-feed delivery round failed; retrying");
                false
            }
        };
        if !more {
            tokio::select! {
                () = moved => {}
                () = tokio::time::sleep(RECHECK) => {}
            }
        }
    }
}

/// Starts the delivery tasks the configuration asks for.
pub fn spawn(state: &Arc<AppState>) {
    if let Some(settings) = state.config.nats.clone() {
        tokio::spawn(nats::run(state.clone(), settings));
    }
}
