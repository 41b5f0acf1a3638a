//! Webhook endpoint rules: only `http(s)` URLs to permitted destinations, event-type filters,
//! secrets shown once (at creation and rotation) and sealed at rest, the previous secret valid
//! through a rotation's overlap; every change audited in its own write unit. An endpoint
//! receives the events written after its creation.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::guard;
use super::send;
use super::signing::{Secret, aad};
use super::store;
use crate::{
    access::{AdminPrincipal, Origin},
    audit::{Action, Entry},
    clock, delivery,
    entity::{change_event, webhook_attempt, webhook_endpoint},
    error::{Code, Error},
    events,
    state::AppState,
    write,
};

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);
/// Most event types in an endpoint's filter.
const MAX_TYPES: usize = 50;
/// Longest description.
const MAX_DESCRIPTION: usize = 500;
/// How long the delivery log keeps an attempt.
const LOG_RETENTION: chrono::Duration = chrono::Duration::days(30);

/// What an admin gives to create an endpoint.
pub struct NewEndpoint {
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub enabled: bool,
}

/// What an admin changes; `None` keeps the field.
#[derive(Default)]
pub struct Changes {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

fn check_description(raw: Option<&str>) -> Result<String, Error> {
    let d = raw.unwrap_or("").trim();
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(Error::validation("description", format!("must be at most {MAX_DESCRIPTION} characters")));
    }
    Ok(d.to_owned())
}

/// Event types as `heimdall.<resource>.<verb>`, or `heimdall.<resource>.*` for all of a
/// resource's; sorted, without repeats.
fn check_types(types: &[String]) -> Result<Vec<String>, Error> {
    if types.len() > MAX_TYPES {
        return Err(Error::validation("event_types", format!("names at most {MAX_TYPES} event types")));
    }
    let mut out = Vec::with_capacity(types.len());
    for t in types {
        let t = t.trim();
        let body = t.strip_suffix(".*").unwrap_or(t);
        let ok = t.len() <= 100
            && body.strip_prefix(events::TYPE_PREFIX).is_some_and(|rest| {
                !rest.is_empty()
                    && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
            });
        if !ok {
            return Err(Error::validation(
                "event_types",
                format!("'{t}' is not an event type like heimdall.end_user.signup or heimdall.end_user.*"),
            ));
        }
        out.push(t.to_owned());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The endpoint's event-type filter (empty: every type).
pub fn event_types(endpoint: &webhook_endpoint::Model) -> Vec<String> {
    serde_json::from_value(endpoint.event_types.clone()).unwrap_or_default()
}

/// Whether the endpoint wants events of type `kind`.
pub fn subscribes(endpoint: &webhook_endpoint::Model, kind: &str) -> bool {
    let types = event_types(endpoint);
    types.is_empty()
        || types.iter().any(|t| match t.strip_suffix('*') {
            Some(prefix) => kind.starts_with(prefix),
            None => t == kind,
        })
}

fn audit_details(endpoint: &webhook_endpoint::Model) -> serde_json::Value {
    serde_json::json!({
        "url": endpoint.url,
        "event_types": event_types(endpoint),
        "enabled": endpoint.enabled,
    })
}

/// One page of the app's endpoints, oldest first.
pub async fn list(
    state: &AppState,
    app_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<webhook_endpoint::Model>, Error> {
    Ok(store::list(&state.db, app_id, after, limit).await?)
}

/// The app's endpoint `id` (404 `webhook_not_found`).
pub async fn get(state: &AppState, app_id: Uuid, id: Uuid) -> Result<webhook_endpoint::Model, Error> {
    store::get(&state.db, app_id, id).await?.ok_or_else(not_found)
}

fn not_found() -> Error {
    Error::new(Code::WebhookNotFound, "No webhook endpoint has this id in the app")
}

/// The endpoint `id` in any app (the delivery task's read).
pub async fn find(state: &AppState, id: Uuid) -> Result<Option<webhook_endpoint::Model>, Error> {
    Ok(store::find(&state.db, id).await?)
}

/// Creates an endpoint that receives the app's events from now on; returns it with its secret
/// (`whsec_…`), which is not shown again.
pub async fn create(
    state: &AppState,
    principal: &AdminPrincipal,
    origin: &Origin,
    app_id: Uuid,
    new: NewEndpoint,
) -> Result<(webhook_endpoint::Model, String), Error> {
    let url = guard::check_url(&new.url, &state.config.webhooks.allow_networks)?;
    let description = check_description(new.description.as_deref())?;
    let types = check_types(&new.event_types)?;
    let id = Uuid::now_v7();
    let secret = Secret::generate();
    let now = clock::now();
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let start = events::head_in(unit.conn(), app_id).await?;
    let row = store::insert(
        unit.conn(),
        webhook_endpoint::Model {
            id,
            app_id,
            url: url.to_string(),
            description,
            event_types: serde_json::json!(types),
            enabled: new.enabled,
            disabled_reason: None,
            secret_enc: state.keys.master().seal(&aad(id), &secret.0),
            previous_secret_enc: None,
            previous_secret_expires_at: None,
            created_at: now,
            updated_at: now,
        },
    )
    .await?;
    delivery::open(&unit, &send::sink(id), app_id, start).await?;
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::WebhookCreated, origin)
            .resource("webhook", id)
            .details(audit_details(&row)),
    )
    .await?;
    unit.commit().await?;
    Ok((row, secret.expose()))
}

/// Changes the app's endpoint `id`. Enabling it again clears its retry state: the event it
/// stopped on is sent at once.
pub async fn update(
    state: &AppState,
    principal: &AdminPrincipal,
    origin: &Origin,
    app_id: Uuid,
    id: Uuid,
    changes: Changes,
) -> Result<webhook_endpoint::Model, Error> {
    let url = changes.url.as_deref().map(|u| guard::check_url(u, &state.config.webhooks.allow_networks)).transpose()?;
    let description = changes.description.as_deref().map(|d| check_description(Some(d))).transpose()?;
    let types = changes.event_types.as_deref().map(check_types).transpose()?;
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let mut row = store::get(unit.conn(), app_id, id).await?.ok_or_else(not_found)?;
    let reenabled = changes.enabled == Some(true) && !row.enabled;
    if let Some(url) = url {
        row.url = url.to_string();
    }
    if let Some(description) = description {
        row.description = description;
    }
    if let Some(types) = types {
        row.event_types = serde_json::json!(types);
    }
    if let Some(enabled) = changes.enabled {
        row.enabled = enabled;
        row.disabled_reason = None;
    }
    row.updated_at = clock::now();
    let row = store::save(unit.conn(), row).await?;
    if reenabled {
        delivery::retry_now(&unit, &send::sink(id), app_id).await?;
    }
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::WebhookUpdated, origin)
            .resource("webhook", id)
            .details(audit_details(&row)),
    )
    .await?;
    unit.commit().await?;
    Ok(row)
}

/// Deletes the app's endpoint `id`; nothing more is sent to it (its cursor is dropped by the
/// delivery task).
pub async fn delete(
    state: &AppState,
    principal: &AdminPrincipal,
    origin: &Origin,
    app_id: Uuid,
    id: Uuid,
) -> Result<(), Error> {
    let mut unit = write::begin(&state.db, &state.bus).await?;
    if !store::delete(unit.conn(), app_id, id).await? {
        return Err(not_found());
    }
    unit.audit(Entry::new(app_id, &principal.actor(), Action::WebhookDeleted, origin).resource("webhook", id)).await?;
    unit.commit().await
}

/// Replaces the endpoint's secret; the previous one keeps signing (a second signature) for
/// [`ROTATION_OVERLAP`]. Returns the endpoint, the new secret (shown once) and when the old one
/// stops.
pub async fn rotate_secret(
    state: &AppState,
    principal: &AdminPrincipal,
    origin: &Origin,
    app_id: Uuid,
    id: Uuid,
) -> Result<(webhook_endpoint::Model, String, DateTime<Utc>), Error> {
    let secret = Secret::generate();
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let mut row = store::get(unit.conn(), app_id, id).await?.ok_or_else(not_found)?;
    let now = clock::now();
    let until = now + ROTATION_OVERLAP;
    row.previous_secret_enc =
        Some(std::mem::replace(&mut row.secret_enc, state.keys.master().seal(&aad(id), &secret.0)));
    row.previous_secret_expires_at = Some(until);
    row.updated_at = now;
    let row = store::save(unit.conn(), row).await?;
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::WebhookSecretRotated, origin)
            .resource("webhook", id)
            .details(serde_json::json!({ "previous_secret_expires_at": until })),
    )
    .await?;
    unit.commit().await?;
    Ok((row, secret.expose(), until))
}

/// One page of the endpoint's delivery log, newest first.
pub async fn attempts(
    state: &AppState,
    app_id: Uuid,
    id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<webhook_attempt::Model>, Error> {
    get(state, app_id, id).await?;
    Ok(store::attempts(&state.db, id, before, limit).await?)
}

/// Sends the app's event `seq` to the endpoint again, now, whatever the endpoint's cursor and
/// state; the attempt is logged (`manual`) and returned.
pub async fn redeliver(state: &AppState, app_id: Uuid, id: Uuid, seq: i64) -> Result<webhook_attempt::Model, Error> {
    let endpoint = get(state, app_id, id).await?;
    let event = events::read(&state.db, app_id, seq - 1, 1).await?.into_iter().find(|e| e.seq == seq);
    let event = event.ok_or_else(|| Error::new(Code::EventNotFound, "The app's feed has no event with this seq"))?;
    let outcome = send::send(state, &endpoint, &event).await;
    log(state, &endpoint, &event, &outcome, true).await
}

/// Records an attempt in the endpoint's delivery log.
pub async fn log(
    state: &AppState,
    endpoint: &webhook_endpoint::Model,
    event: &change_event::Model,
    outcome: &send::Outcome,
    manual: bool,
) -> Result<webhook_attempt::Model, Error> {
    let row = webhook_attempt::Model {
        id: Uuid::now_v7(),
        endpoint_id: endpoint.id,
        app_id: endpoint.app_id,
        event_id: event.id,
        event_seq: event.seq,
        event_type: event.r#type.clone(),
        attempted_at: clock::now(),
        status_code: outcome.status.map(i32::from),
        latency_ms: outcome.latency_ms,
        error: outcome.error.clone(),
        manual,
    };
    store::log_attempt(&state.db, row.clone()).await?;
    Ok(row)
}

/// Disables an endpoint that failed through its whole retry schedule (audited as Heimdall's
/// own change).
pub async fn disable_failing(state: &AppState, endpoint: &webhook_endpoint::Model, error: &str) -> Result<(), Error> {
    let mut unit = write::begin(&state.db, &state.bus).await?;
    if !store::disable(unit.conn(), endpoint.app_id, endpoint.id, "failing", clock::now()).await? {
        return unit.commit_unaudited("the endpoint was disabled already").await;
    }
    unit.audit(
        Entry::system(endpoint.app_id, Action::WebhookDisabled)
            .resource("webhook", endpoint.id)
            .details(serde_json::json!({ "reason": "failing", "last_error": error })),
    )
    .await?;
    unit.commit().await
}

/// Deletes delivery-log entries older than the log's retention.
pub async fn prune(state: &AppState) -> Result<u64, Error> {
    Ok(store::prune_attempts(&state.db, clock::now() - LOG_RETENTION).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_filters_name_types_or_a_resource_s_types() {
        assert_eq!(
            check_types(&["heimdall.end_user.*".into(), "heimdall.app.created".into(), "heimdall.app.created".into()])
                .unwrap(),
            ["heimdall.app.created", "heimdall.end_user.*"]
        );
        assert!(check_types(&["end_user.signup".into()]).is_err());
        assert!(check_types(&["heimdall.*".into()]).is_err());
        let mut endpoint = webhook_endpoint::Model {
            id: Uuid::nil(),
            app_id: Uuid::nil(),
            url: String::new(),
            description: String::new(),
            event_types: serde_json::json!(["heimdall.end_user.*"]),
            enabled: true,
            disabled_reason: None,
            secret_enc: Vec::new(),
            previous_secret_enc: None,
            previous_secret_expires_at: None,
            created_at: clock::now(),
            updated_at: clock::now(),
        };
        assert!(subscribes(&endpoint, "heimdall.end_user.signup"));
        assert!(!subscribes(&endpoint, "heimdall.app.created"));
        endpoint.event_types = serde_json::json!([]);
        assert!(subscribes(&endpoint, "heimdall.app.created"));
    }
}
