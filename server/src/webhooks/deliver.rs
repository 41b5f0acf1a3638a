//! The webhook delivery task: walks each enabled endpoint's cursor through its app's feed.
//!
//! One event at a time per endpoint, in `seq` order: the next event waits until the one before
//! was accepted (a 2xx) or the endpoint gave up. A failure is retried after each delay of the
//! retry schedule (`HEIMDALL_WEBHOOK_RETRY_SCHEDULE`, about a day by default); when the last
//! retry fails too, the endpoint is disabled (audited as `webhook.disabled`) and its cursor
//! stays on the event, which is sent first when an admin enables it again. Events of types the
//! endpoint does not subscribe to are skipped.
//!
//! On PostgreSQL a claim is a transaction, so each endpoint being sent to holds a pool
//! connection for the request (at most [`CONCURRENCY`] per instance, each request bounded by the
//! 10 s timeout, well inside the 60 s `idle_in_transaction_session_timeout`).

use std::sync::Arc;

use futures::StreamExt;
use uuid::Uuid;

use super::send::{self, SINK_PREFIX};
use super::service;
use crate::{clock, delivery, error::Error, events, state::AppState};

/// Endpoints delivered to at once by one instance.
const CONCURRENCY: usize = 8;
/// Events read per claim (skipped ones included).
const BATCH: u64 = 100;

/// Delivers until the server stops.
pub async fn run(state: Arc<AppState>) {
    delivery::run_sink(state, |state| async move { round(&state).await }).await;
}

/// One round over the endpoints with undelivered events; `true` when some have more at once.
async fn round(state: &AppState) -> Result<bool, Error> {
    let due = delivery::due(&state.db, SINK_PREFIX).await?;
    let outcomes: Vec<Result<bool, Error>> = futures::stream::iter(due)
        .map(|(sink, app_id)| async move { next(state, &sink, app_id).await })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut more = false;
    for outcome in outcomes {
        match outcome {
            Ok(m) => more |= m,
            Err(e) => tracing::warn!(error = %e, "webhook delivery failed; retrying"),
        }
    }
    Ok(more)
}

/// Sends the endpoint's next event (skipping those it does not subscribe to); `true` when it
/// may have more at once.
async fn next(state: &AppState, sink: &str, app_id: Uuid) -> Result<bool, Error> {
    let Some(endpoint_id) = sink.strip_prefix(SINK_PREFIX).and_then(|id| id.parse::<Uuid>().ok()) else {
        return Ok(false);
    };
    let Some(endpoint) = service::find(state, endpoint_id).await? else {
        // Deleted: its cursor goes too.
        delivery::close(&state.db, sink).await?;
        return Ok(false);
    };
    if !endpoint.enabled {
        return Ok(false);
    }
    let Some(mut claim) = delivery::claim(&state.db, sink, app_id).await? else { return Ok(false) };
    let rows = events::read(&state.db, app_id, claim.last_seq(), BATCH).await?;
    let full = rows.len() as u64 == BATCH;
    let mut skipped = None;
    for row in rows {
        if !service::subscribes(&endpoint, &row.r#type) {
            skipped = Some(row.seq);
            continue;
        }
        if let Some(seq) = skipped.take() {
            claim.delivered(seq).await?;
        }
        let outcome = send::send(state, &endpoint, &row).await;
        service::log(state, &endpoint, &row, &outcome, false).await?;
        if outcome.succeeded() {
            claim.delivered(row.seq).await?;
            claim.release().await?;
            return Ok(true);
        }
        let failures = usize::try_from(claim.attempts()).unwrap_or(0) + 1;
        let schedule = &state.webhooks.settings().retry_schedule;
        let error = outcome.failure();
        match schedule.get(failures - 1) {
            Some(delay) => {
                let retry_at = clock::now() + chrono::Duration::from_std(*delay).unwrap_or(chrono::Duration::MAX);
                claim.failed(retry_at, &error).await?;
                claim.release().await?;
            }
            None => {
                claim.failed(clock::now(), &error).await?;
                claim.release().await?;
                tracing::warn!(endpoint = %endpoint.id, error, "webhook endpoint failed through its retry schedule; disabling it");
                service::disable_failing(state, &endpoint, &error).await?;
            }
        }
        return Ok(false);
    }
    if let Some(seq) = skipped {
        claim.delivered(seq).await?;
    }
    claim.release().await?;
    Ok(full)
}
