//! The NATS JetStream sink: each app's events, in `seq` order, on
//! `<prefix>.<app slug>.<resource>.<verb>` (the event type without its `heimdall.` prefix), with
//! `Nats-Msg-Id` = the event id so JetStream drops a redelivery within the stream's duplicate
//! window. The stream capturing `<prefix>.>` is created when missing.
//!
//! Publishes of one batch are pipelined and their acks awaited in order; the cursor advances to
//! the last acknowledged event, so an event is delivered again only when its ack was lost. Each
//! app's cursor starts at the oldest event the feed keeps (an app created later, or a server
//! that enables NATS delivery later, publishes the kept history first).

use std::{sync::Arc, time::Duration};

use async_nats::jetstream;
use bytes::Bytes;

use super::service as delivery;
use crate::{clock, config::NatsSettings, error::Error, events, state::AppState};

/// The sink's name in `delivery_cursors`.
const SINK: &str = "nats";
/// Events sent per claim.
const BATCH: u64 = 256;
/// JetStream's memory of message ids: a redelivery within it is dropped.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Longest pause between attempts at a failing publish.
const MAX_BACKOFF_SECONDS: i64 = 60;

/// Connects (retrying until the server answers), ensures the stream, then delivers for as long
/// as the process runs.
pub async fn run(state: Arc<AppState>, settings: NatsSettings) {
    let mut pause = Duration::from_millis(500);
    let js = loop {
        match connect(&settings).await {
            Ok(js) => break js,
            Err(e) => {
                tracing::warn!(error = %e, url = %settings.url, "NATS delivery: cannot reach JetStream yet");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        }
    };
    tracing::info!(stream = %settings.stream, "NATS delivery of the change feed started");
    super::run_sink(state, move |state| {
        let (js, settings) = (js.clone(), settings.clone());
        async move { pass(&state, &js, &settings).await }
    })
    .await;
}

async fn connect(settings: &NatsSettings) -> anyhow::Result<jetstream::Context> {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(5))
        .name("heimdall")
        .connect(settings.url.as_str())
        .await?;
    let js = jetstream::new(client);
    js.get_or_create_stream(jetstream::stream::Config {
        name: settings.stream.clone(),
        subjects: vec![format!("{}.>", settings.subject_prefix)],
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    })
    .await?;
    Ok(js)
}

/// The subject of an event of the app `slug` of type `kind`.
pub fn subject(prefix: &str, slug: &str, kind: &str) -> String {
    format!("{prefix}.{slug}.{}", kind.strip_prefix(events::TYPE_PREFIX).unwrap_or(kind))
}

/// One round over the apps with undelivered events; `true` when some app has more at once.
async fn pass(state: &AppState, js: &jetstream::Context, settings: &NatsSettings) -> Result<bool, Error> {
    delivery::open_everywhere(&state.db, SINK).await?;
    let mut more = false;
    for (_, app_id) in delivery::due(&state.db, SINK).await? {
        let Some(mut claim) = delivery::claim(&state.db, SINK, app_id).await? else { continue };
        let rows = events::read(&state.db, app_id, claim.last_seq(), BATCH).await?;
        let mut acks = Vec::with_capacity(rows.len());
        let mut failure = None;
        for row in &rows {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(async_nats::header::NATS_MESSAGE_ID, row.id.to_string().as_str());
            headers.insert("Content-Type", "application/cloudevents+json");
            let body = Bytes::from(events::envelope(row, &state.public_url).to_string());
            let subject = subject(&settings.subject_prefix, &row.app_slug, &row.r#type);
            match js.publish_with_headers(subject, headers, body).await {
                Ok(ack) => acks.push((row.seq, ack)),
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            }
        }
        let mut acknowledged = None;
        for (seq, ack) in acks {
            match ack.await {
                Ok(_) => acknowledged = Some(seq),
                Err(e) => {
                    failure.get_or_insert(e.to_string());
                    break;
                }
            }
        }
        if let Some(seq) = acknowledged {
            claim.delivered(seq).await?;
        }
        match failure {
            Some(error) => {
                let pause = 1i64 << claim.attempts().clamp(0, 6);
                let retry_at = clock::now() + chrono::Duration::seconds(pause.min(MAX_BACKOFF_SECONDS));
                tracing::warn!(%app_id, error, "NATS delivery failed; retrying");
                claim.failed(retry_at, &error).await?;
            }
            None => more |= rows.len() as u64 == BATCH,
        }
        claim.release().await?;
    }
    Ok(more)
}

#[cfg(test)]
mod tests {
    #[test]
    fn subjects_name_the_app_and_the_change() {
        assert_eq!(super::subject("heimdall", "acme", "heimdall.end_user.signup"), "heimdall.acme.end_user.signup");
    }
}
