//! HTTP surface of the change feed: the replay API.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use crate::access::api::{AdminKey, authenticate};
use crate::tags::ApiTags;
use crate::{
    entity::change_event,
    http::error::{AdminReadErrors, Errors},
    permissions,
    state::AppState,
};

/// One change, as a CloudEvents 1.0 event (JSON format).
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
#[oai(example)]
pub struct ChangeEvent {
    /// CloudEvents version: always `1.0`.
    pub specversion: String,
    /// Event id (UUID), unique across apps; the `webhook-id` and `Nats-Msg-Id` of its deliveries.
    pub id: Uuid,
    /// The app's token issuer when the event was written: `<public origin>/<slug>`.
    pub source: String,
    /// `heimdall.<resource>.<verb>`: the audit action of the change, e.g.
    /// `heimdall.end_user.signup`, `heimdall.role.assigned`, `heimdall.app.deleted`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// What the change is about, `<resource type>/<resource id>`, e.g. `end_user/0193…`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subject: Option<String>,
    /// When the change was committed.
    pub time: DateTime<Utc>,
    /// Always `application/json`.
    pub datacontenttype: String,
    /// Position in the app's feed (extension attribute): gap-free, increasing by one per event
    /// of the app. Pass the last one seen as `after` to resume.
    pub seq: i64,
    /// The change: `actor` (`type`, `id`), `resource` (`type`, `id`), `details` (the facts of the
    /// audit entry) and `request_id`. Never a secret.
    pub data: serde_json::Value,
}

impl poem_openapi::types::Example for ChangeEvent {
    fn example() -> Self {
        ChangeEvent {
            specversion: "1.0".into(),
            id: "0193a3f0-7000-7d2e-9f00-1a2b3c4d5e70".parse().unwrap(),
            source: "https://auth.example.com/acme".into(),
            kind: "heimdall.end_user.signup".into(),
            subject: Some("end_user/0193a3f0-6b1c-7d2e-9f00-1a2b3c4d5e6f".into()),
            time: "2026-12-08T10:00:00Z".parse().unwrap(),
            datacontenttype: "application/json".into(),
            seq: 42,
            data: serde_json::json!({
                "actor": { "type": "end_user", "id": "0193a3f0-6b1c-7d2e-9f00-1a2b3c4d5e6f" },
                "resource": { "type": "end_user", "id": "0193a3f0-6b1c-7d2e-9f00-1a2b3c4d5e6f" },
                "details": { "method": "password" },
                "request_id": "01JEXAMPLE0000000000000000"
            }),
        }
    }
}

impl ChangeEvent {
    /// The envelope of a stored event; `public_url` makes its source.
    pub fn from_row(m: change_event::Model, public_url: &str) -> Self {
        ChangeEvent {
            specversion: "1.0".into(),
            id: m.id,
            source: format!("{public_url}/{}", m.app_slug),
            kind: m.r#type,
            subject: m.subject,
            time: m.time,
            datacontenttype: "application/json".into(),
            seq: m.seq,
            data: m.data,
        }
    }
}

/// A page of an app's change feed, oldest first.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
#[oai(example)]
pub struct ChangeEventPage {
    /// Events with `seq` greater than `after`, in `seq` order.
    pub data: Vec<ChangeEvent>,
    /// The `after` of the next read: the last `seq` of this page, or the request's `after`
    /// when the page is empty.
    pub next_after: i64,
    /// Whether more events were already there (read again at once rather than waiting).
    pub has_more: bool,
}

impl poem_openapi::types::Example for ChangeEventPage {
    fn example() -> Self {
        ChangeEventPage { data: vec![poem_openapi::types::Example::example()], next_after: 42, has_more: false }
    }
}

pub struct EventsApi;

#[OpenApi]
impl EventsApi {
    /// Read the change feed
    ///
    /// The app's changes as CloudEvents, oldest first, after a sequence number: a consumer
    /// that passes the last `seq` it processed as `after` sees every event exactly once and in
    /// order (events are numbered per app without gaps, and become visible in that order).
    /// With `wait`, an empty read waits up to that many seconds for the next event (long
    /// poll). Events are kept for the configured retention (30 days by default).
    #[oai(path = "/v1/apps/:app_id/events", method = "get", operation_id = "event_list", tag = "ApiTags::Events")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id (or its slug).
        app_id: Path<Uuid>,
        /// Return events with a greater `seq` (default 0: from the oldest kept), e.g. `42`.
        after: Query<Option<i64>>,
        /// Page size, 1–1000 (default 100).
        limit: Query<Option<u32>>,
        /// Only events of these types, comma-separated, e.g.
        /// `heimdall.end_user.signup,heimdall.end_user.deleted`.
        #[oai(name = "type")]
        kind: Query<Option<String>>,
        /// Seconds (0–30, default 0) to wait for an event when none is there yet.
        wait: Query<Option<u32>>,
    ) -> Result<Json<ChangeEventPage>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::EVENT_READ).await?;
        let query = super::Query::parse(after.0, limit.0, kind.0.as_deref(), wait.0)?;
        let mut fetch = query.clone();
        fetch.limit += 1;
        let mut rows = super::list(&state, app_id.0, &fetch).await?;
        let has_more = rows.len() > query.limit as usize;
        rows.truncate(query.limit as usize);
        let next_after = rows.last().map_or(query.after, |r| r.seq);
        let data = rows.into_iter().map(|r| ChangeEvent::from_row(r, &state.public_url)).collect();
        Ok(Json(ChangeEventPage { data, next_after, has_more }))
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[("event_list", &[])]
};
