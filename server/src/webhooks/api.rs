//! Admin HTTP surface of webhook endpoints (`/v1/apps/{app_id}/webhooks…`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::{Request, web::Data};
use poem_openapi::{
    Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::service;
use crate::access::api::{AdminKey, authenticate};
use crate::http::strict_json::StrictJson;
use crate::tags::ApiTags;
use crate::{
    created_response,
    entity::{webhook_attempt, webhook_endpoint},
    http::{
        error::{AdminCreateErrors, AdminReadErrors, AdminWriteErrors, Errors},
        pagination::PageRequest,
        responses::NoContent,
    },
    idempotency, page_type, permissions,
    state::AppState,
};

/// A webhook endpoint, without its secret.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct Webhook {
    /// The endpoint's id.
    pub id: Uuid,
    /// Where events are POSTed (`http` or `https`).
    pub url: String,
    /// Free text, for the admins.
    pub description: String,
    /// Event types sent (`heimdall.end_user.signup`, or `heimdall.end_user.*` for all of a
    /// resource's); empty: every type.
    pub event_types: Vec<String>,
    /// Whether events are sent. Heimdall disables an endpoint that fails through its whole retry
    /// schedule (about a day).
    pub enabled: bool,
    /// Why Heimdall disabled the endpoint: `failing`. Absent when enabled or disabled by an admin.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub disabled_reason: Option<String>,
    /// Until when the secret replaced by the last rotation still signs (a second signature).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When the endpoint was created.
    pub created_at: DateTime<Utc>,
    /// When the endpoint last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<webhook_endpoint::Model> for Webhook {
    fn from(m: webhook_endpoint::Model) -> Self {
        Webhook {
            event_types: service::event_types(&m),
            previous_secret_expires_at: m.previous_secret_expires_at.filter(|t| *t > crate::clock::now()),
            id: m.id,
            url: m.url,
            description: m.description,
            enabled: m.enabled,
            disabled_reason: m.disabled_reason,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A new endpoint, with its signing secret: the only time it is shown.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct WebhookCreated {
    /// The endpoint.
    pub webhook: Webhook,
    /// `whsec_<base64>`: the Standard Webhooks signing secret. Store it now; it cannot be shown
    /// again (rotate it to get a new one).
    pub secret: String,
}

/// A rotated secret: the only time it is shown.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct WebhookSecretRotated {
    /// The endpoint.
    pub webhook: Webhook,
    /// The new `whsec_<base64>` secret. Until `previous_secret_expires_at` deliveries carry a
    /// signature by each secret, so receivers can switch at their pace.
    pub secret: String,
    /// When the previous secret stops signing.
    pub previous_secret_expires_at: DateTime<Utc>,
}

/// A new endpoint.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct CreateWebhook {
    /// Absolute `http(s)` URL without credentials. Loopback, private and link-local addresses
    /// are refused unless the operator allowed them.
    pub url: String,
    /// Free text, at most 500 characters.
    pub description: Option<String>,
    /// Event types to send (`heimdall.end_user.signup`, `heimdall.end_user.*`); absent or
    /// empty: every type.
    pub event_types: Option<Vec<String>>,
    /// Whether to send events (default `true`).
    pub enabled: Option<bool>,
}

/// Changes to an endpoint; absent fields stay.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct UpdateWebhook {
    /// Absolute `http(s)` URL without credentials.
    pub url: Option<String>,
    /// Free text, at most 500 characters.
    pub description: Option<String>,
    /// Event types to send; empty: every type.
    pub event_types: Option<Vec<String>>,
    /// `false` stops deliveries; `true` resumes them from the event the endpoint stopped on.
    pub enabled: Option<bool>,
}

/// Which event to send again.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct RedeliverWebhook {
    /// The event's `seq` in the app's change feed, e.g. `42`.
    pub seq: i64,
}

/// One delivery attempt.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct WebhookAttempt {
    /// The attempt's id.
    pub id: Uuid,
    /// The event's id (its `webhook-id`).
    pub event_id: Uuid,
    /// The event's `seq` in the app's feed.
    pub event_seq: i64,
    /// The event's type.
    pub event_type: String,
    /// When the attempt started.
    pub attempted_at: DateTime<Utc>,
    /// The endpoint's HTTP status; absent when no response came.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status_code: Option<i32>,
    /// How long the attempt took, in milliseconds.
    pub latency_ms: i64,
    /// Why no response came (refused address, timeout, connection error).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    /// Whether the endpoint accepted the event (a 2xx status).
    pub succeeded: bool,
    /// Whether an admin asked for it (redelivery).
    pub manual: bool,
}

impl From<webhook_attempt::Model> for WebhookAttempt {
    fn from(m: webhook_attempt::Model) -> Self {
        WebhookAttempt {
            succeeded: m.status_code.is_some_and(|s| (200..300).contains(&s)),
            id: m.id,
            event_id: m.event_id,
            event_seq: m.event_seq,
            event_type: m.event_type,
            attempted_at: m.attempted_at,
            status_code: m.status_code,
            latency_ms: m.latency_ms,
            error: m.error,
            manual: m.manual,
        }
    }
}

page_type!(WebhookList, Webhook, "A page of webhook endpoints, oldest first.");
page_type!(WebhookAttemptList, WebhookAttempt, "A page of delivery attempts, newest first.");
created_response!(WebhookCreatedResponse, WebhookCreated);

pub struct WebhooksApi;

#[OpenApi]
impl WebhooksApi {
    /// List webhook endpoints
    ///
    /// The app's endpoints, oldest first, by cursor. Secrets are shown only at creation and
    /// rotation.
    #[oai(path = "/v1/apps/:app_id/webhooks", method = "get", operation_id = "webhook_list", tag = "ApiTags::Webhooks")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id.
        app_id: Path<Uuid>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<WebhookList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::WEBHOOK_READ).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = service::list(&state, app_id.0, page.after, page.fetch()).await?;
        let (rows, pagination) = page.finish(rows, |r| r.id);
        Ok(Json(WebhookList { data: rows.into_iter().map(Webhook::from).collect(), pagination }))
    }

    /// Create a webhook endpoint
    ///
    /// The app's events written from now on are POSTed to `url`, one at a time in `seq` order,
    /// as CloudEvents JSON signed per Standard Webhooks (`webhook-id` = the event id,
    /// `webhook-timestamp`, `webhook-signature`). Delivery is at least once: receivers drop a
    /// repeated `webhook-id`. A failure is retried with growing delays for about a day, then the
    /// endpoint is disabled. The signing secret is in this response only. Send an
    /// `Idempotency-Key` to make retries safe.
    #[oai(
        path = "/v1/apps/:app_id/webhooks",
        method = "post",
        operation_id = "webhook_create",
        tag = "ApiTags::Webhooks"
    )]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// Retries with the same key and body return the first response (24 hours).
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: StrictJson<CreateWebhook>,
    ) -> Result<WebhookCreatedResponse, Errors<AdminCreateErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let ctx = crate::http::context::origin(req);
        let b = body.0;
        let op = format!("webhook_create:{}", app_id.0);
        let created: WebhookCreated =
            idempotency::run(&state, &principal, idempotency_key.0.as_deref(), &op, &b, || async {
                crate::access::admin::visible(&state, &principal, app_id.0, permissions::WEBHOOK_WRITE).await?;
                let new = service::NewEndpoint {
                    url: b.url.clone(),
                    description: b.description.clone(),
                    event_types: b.event_types.clone().unwrap_or_default(),
                    enabled: b.enabled.unwrap_or(true),
                };
                let (row, secret) = service::create(&state, &principal, &ctx, app_id.0, new).await?;
                Ok(WebhookCreated { webhook: row.into(), secret })
            })
            .await?;
        Ok(WebhookCreatedResponse::Created(Json(created)))
    }

    /// Get a webhook endpoint
    ///
    /// The endpoint's settings and state (`enabled`, `disabled_reason`), without its secret.
    #[oai(
        path = "/v1/apps/:app_id/webhooks/:webhook_id",
        method = "get",
        operation_id = "webhook_get",
        tag = "ApiTags::Webhooks"
    )]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The endpoint's id.
        webhook_id: Path<Uuid>,
    ) -> Result<Json<Webhook>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::WEBHOOK_READ).await?;
        Ok(Json(service::get(&state, app_id.0, webhook_id.0).await?.into()))
    }

    /// Change a webhook endpoint
    ///
    /// Absent fields stay. Enabling a disabled endpoint resumes its deliveries from the event
    /// it stopped on, at once.
    #[oai(
        path = "/v1/apps/:app_id/webhooks/:webhook_id",
        method = "patch",
        operation_id = "webhook_update",
        tag = "ApiTags::Webhooks"
    )]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The endpoint's id.
        webhook_id: Path<Uuid>,
        body: StrictJson<UpdateWebhook>,
    ) -> Result<Json<Webhook>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::WEBHOOK_WRITE).await?;
        let b = body.0;
        let changes =
            service::Changes { url: b.url, description: b.description, event_types: b.event_types, enabled: b.enabled };
        let ctx = crate::http::context::origin(req);
        Ok(Json(service::update(&state, &principal, &ctx, app_id.0, webhook_id.0, changes).await?.into()))
    }

    /// Delete a webhook endpoint
    ///
    /// Nothing more is sent to it; its delivery log goes with it.
    #[oai(
        path = "/v1/apps/:app_id/webhooks/:webhook_id",
        method = "delete",
        operation_id = "webhook_delete",
        tag = "ApiTags::Webhooks"
    )]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The endpoint's id.
        webhook_id: Path<Uuid>,
    ) -> Result<NoContent, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::WEBHOOK_WRITE).await?;
        service::delete(&state, &principal, &crate::http::context::origin(req), app_id.0, webhook_id.0).await?;
        Ok(NoContent::NoContent)
    }

    /// Rotate a webhook endpoint's secret
    ///
    /// A new secret signs from now on; the previous one keeps signing for 24 hours (each
    /// delivery carries both signatures), so receivers can switch without missing a delivery.
    /// The new secret is in this response only.
    #[oai(
        path = "/v1/apps/:app_id/webhooks/:webhook_id/rotate-secret",
        method = "post",
        operation_id = "webhook_secret_rotate",
        tag = "ApiTags::Webhooks"
    )]
    async fn rotate_secret(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The endpoint's id.
        webhook_id: Path<Uuid>,
    ) -> Result<Json<WebhookSecretRotated>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::WEBHOOK_WRITE).await?;
        let ctx = crate::http::context::origin(req);
        let (row, secret, until) = service::rotate_secret(&state, &principal, &ctx, app_id.0, webhook_id.0).await?;
        Ok(Json(WebhookSecretRotated { webhook: row.into(), secret, previous_secret_expires_at: until }))
    }

    /// List a webhook endpoint's delivery attempts
    ///
    /// The endpoint's delivery log, newest first, by cursor: each attempt's time, status code,
    /// latency and error. Kept 30 days.
    #[oai(
        path = "/v1/apps/:app_id/webhooks/:webhook_id/attempts",
        method = "get",
        operation_id = "webhook_attempt_list",
        tag = "ApiTags::Webhooks"
    )]
    async fn attempts(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The endpoint's id.
        webhook_id: Path<Uuid>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<WebhookAttemptList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::WEBHOOK_READ).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = service::attempts(&state, app_id.0, webhook_id.0, page.after, page.fetch()).await?;
        let (rows, pagination) = page.finish(rows, |r| r.id);
        Ok(Json(WebhookAttemptList { data: rows.into_iter().map(WebhookAttempt::from).collect(), pagination }))
    }

    /// Redeliver an event to a webhook endpoint
    ///
    /// Sends the app's event `seq` to the endpoint now (signed as usual, same `webhook-id`),
    /// whether or not it was delivered before and even when the endpoint is disabled; answers
    /// the attempt, which the delivery log also records. The endpoint's own progress through
    /// the feed is unchanged.
    #[oai(
        path = "/v1/apps/:app_id/webhooks/:webhook_id/redeliver",
        method = "post",
        operation_id = "webhook_redeliver",
        tag = "ApiTags::Webhooks"
    )]
    async fn redeliver(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The endpoint's id.
        webhook_id: Path<Uuid>,
        body: StrictJson<RedeliverWebhook>,
    ) -> Result<Json<WebhookAttempt>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::WEBHOOK_WRITE).await?;
        Ok(Json(service::redeliver(&state, app_id.0, webhook_id.0, body.0.seq).await?.into()))
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[
        ("webhook_list", &[]),
        ("webhook_create", &[WebhookUrlInvalid, WebhookDestinationForbidden]),
        ("webhook_get", &[WebhookNotFound]),
        ("webhook_update", &[WebhookNotFound, WebhookUrlInvalid, WebhookDestinationForbidden]),
        ("webhook_delete", &[WebhookNotFound]),
        ("webhook_secret_rotate", &[WebhookNotFound]),
        ("webhook_attempt_list", &[WebhookNotFound]),
        ("webhook_redeliver", &[WebhookNotFound, EventNotFound]),
    ]
};
