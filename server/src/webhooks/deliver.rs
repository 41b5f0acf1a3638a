//! Sending events to webhook endpoints: the signed POST and its outcome, and the delivery task
//! that walks each enabled endpoint's cursor through its app's feed.
//!
//! One event at a time per endpoint, in `seq` order: the next event waits until the one before
//! was accepted (a 2xx) or the endpoint gave up. A failure is retried after each delay of the
//! retry schedule (`HEIMDALL_WEBHOOK_RETRY_SCHEDULE`, about a day by default); when the last
//! retry fails too, the endpoint is disabled (audited as `webhook.disabled`) and its cursor
//! stays on the event, which is sent first when an admin enables it again. Events of types the
//! endpoint does not subscribe to are skipped.

use std::{sync::Arc, time::Instant};

use futures::StreamExt;
use uuid::Uuid;

use super::{guard, service, signing};
use crate::{
    clock, config::WebhookSettings, delivery, entity::change_event, entity::webhook_endpoint, error::Error, events,
    state::AppState,
};

/// Prefix of an endpoint's sink in `delivery_cursors`: `webhook:<endpoint id>`.
pub const SINK_PREFIX: &str = "webhook:";
/// Endpoints delivered to at once by one instance.
const CONCURRENCY: usize = 8;
/// Events read per claim (skipped ones included).
const BATCH: u64 = 100;

pub fn sink(endpoint_id: Uuid) -> String {
    format!("{SINK_PREFIX}{endpoint_id}")
}

/// The HTTP client of webhook deliveries: the address guard as its resolver, no redirects, the
/// configured timeout.
pub struct Sender {
    client: reqwest::Client,
    settings: WebhookSettings,
}

impl Sender {
    pub fn new(settings: WebhookSettings) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(guard::Resolver { allow: settings.allow_networks.clone() }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(settings.timeout)
            .user_agent(concat!("Heimdall-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Sender { client, settings })
    }

    pub fn settings(&self) -> &WebhookSettings {
        &self.settings
    }
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// What went wrong, for the cursor and the logs.
    pub fn failure(&self) -> String {
        match (&self.error, self.status) {
            (Some(e), _) => e.clone(),
            (None, Some(status)) => format!("the endpoint answered {status}"),
            (None, None) => "no answer".into(),
        }
    }
}

/// POSTs `row` to the endpoint, signed with each of its valid secrets.
pub async fn send(state: &AppState, endpoint: &webhook_endpoint::Model, row: &change_event::Model) -> Outcome {
    let started = Instant::now();
    let failed = |error: String| Outcome { status: None, latency_ms: 0, error: Some(error) };
    let url = match guard::check_url(&endpoint.url, &state.webhooks.settings.allow_networks) {
        Ok(url) => url,
        Err(e) => return failed(e.message),
    };
    let secrets = match service::secrets(state, endpoint) {
        Ok(secrets) => secrets,
        Err(e) => return failed(e.message),
    };
    let body = events::envelope(row, &state.public_url).to_string();
    let id = row.id.to_string();
    let timestamp = clock::now().timestamp();
    let request = state
        .webhooks
        .client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signing::header(&secrets, &id, timestamp, body.as_bytes()))
        .body(body);
    let result = request.send().await;
    let latency_ms = started.elapsed().as_millis().try_into().unwrap_or(i64::MAX);
    match result {
        Ok(response) => Outcome { status: Some(response.status().as_u16()), latency_ms, error: None },
        Err(e) => Outcome { status: None, latency_ms, error: Some(describe(&e)) },
    }
}

/// The error and its causes, one line (the resolver's refusal is a cause).
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() { "timed out".to_owned() } else { e.to_string() };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(500).collect()
}

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
        let outcome = send(state, &endpoint, &row).await;
        service::log(state, &endpoint, &row, &outcome, false).await?;
        if outcome.succeeded() {
            claim.delivered(row.seq).await?;
            claim.release().await?;
            return Ok(true);
        }
        let failures = usize::try_from(claim.attempts()).unwrap_or(0) + 1;
        let schedule = &state.webhooks.settings.retry_schedule;
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
