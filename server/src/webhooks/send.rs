//! One webhook delivery: the event's CloudEvents JSON POSTed with its Standard Webhooks headers,
//! signed by each of the endpoint's valid secrets, through a client whose resolver refuses
//! internal addresses; and what came of it.

use std::{sync::Arc, time::Instant};

use uuid::Uuid;

use super::guard;
use super::signing::{self, Secret};
use crate::{
    clock,
    config::WebhookSettings,
    entity::{change_event, webhook_endpoint},
    error::Error,
    events,
    state::AppState,
};

/// Prefix of an endpoint's sink in `delivery_cursors`: `webhook:<endpoint id>`.
pub const SINK_PREFIX: &str = "webhook:";

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
    let secrets = match secrets(state, endpoint) {
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

/// The secrets that sign a delivery now: the current one, and the previous one during the
/// rotation overlap.
pub fn secrets(state: &AppState, endpoint: &webhook_endpoint::Model) -> Result<Vec<Secret>, Error> {
    let master = state.keys.master();
    let aad = signing::aad(endpoint.id);
    let open = |sealed: &[u8]| master.open(&aad, sealed).map(Secret).map_err(Error::internal);
    let mut secrets = vec![open(&endpoint.secret_enc)?];
    if let (Some(previous), Some(until)) = (&endpoint.previous_secret_enc, endpoint.previous_secret_expires_at)
        && until > clock::now()
    {
        secrets.push(open(previous)?);
    }
    Ok(secrets)
}
