//! HTTP surface of the audit log.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::Filter;
use crate::access::api::{AdminKey, authenticate};
use crate::tags::ApiTags;
use crate::{
    entity::audit_log,
    http::{
        error::{AdminReadErrors, Error, Errors},
        pagination::PageRequest,
    },
    page_type, permissions,
    state::AppState,
};

/// One audit entry.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct AuditLogEntry {
    /// The entry's id (time-ordered).
    pub id: Uuid,
    /// The app the entry belongs to.
    pub app_id: Uuid,
    /// What happened, `resource.verb`, e.g. `app.created`, `signing_key.rotated`.
    pub action: String,
    /// Id of the key or user that acted; `null` when Heimdall acted on its own.
    #[oai(nullable)]
    pub actor_id: Option<String>,
    /// `platform_api_key`, `app_api_key`, `end_user`, `m2m_client` or `system`.
    pub actor_type: String,
    /// Kind of resource acted on, e.g. `end_user`, `role`, `api_key`.
    #[oai(nullable)]
    pub resource_type: Option<String>,
    /// Id of the resource acted on, when there is one.
    #[oai(nullable)]
    pub resource_id: Option<String>,
    /// Action-specific facts (a JSON object, or `null` when the action has none); never secrets.
    pub details: Option<serde_json::Value>,
    /// Request that caused it, as in the `x-request-id` header.
    #[oai(nullable)]
    pub request_id: Option<String>,
    /// Caller's IP address.
    #[oai(nullable)]
    pub ip: Option<String>,
    /// When the action happened.
    pub created_at: DateTime<Utc>,
}

impl From<audit_log::Model> for AuditLogEntry {
    fn from(m: audit_log::Model) -> Self {
        AuditLogEntry {
            id: m.id,
            app_id: m.app_id,
            action: m.action,
            actor_id: m.actor_id,
            actor_type: m.actor_type,
            resource_type: m.resource_type,
            resource_id: m.resource_id,
            details: m.details,
            request_id: m.request_id,
            ip: m.ip,
            created_at: m.created_at,
        }
    }
}

page_type!(AuditLogList, AuditLogEntry, "A page of audit entries, newest first.");

pub struct AuditApi;

#[OpenApi]
impl AuditApi {
    /// List audit log entries
    ///
    /// The app's audit log, newest first, by cursor. The log is append-only.
    #[oai(
        path = "/v1/apps/:app_id/audit-logs",
        method = "get",
        operation_id = "audit_log_list",
        tag = "ApiTags::AuditLogs"
    )]
    #[allow(clippy::too_many_arguments)]
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
        /// Only entries with exactly this action, e.g. `app.updated`.
        action: Query<Option<String>>,
        /// Only entries by this actor.
        actor_id: Query<Option<String>>,
        /// Only entries about this kind of resource, e.g. `signing_key`.
        resource_type: Query<Option<String>>,
        /// Only entries about this resource.
        resource_id: Query<Option<String>>,
    ) -> Result<Json<AuditLogList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::AUDIT_LOG_READ).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let filter = Filter {
            action: action.0,
            actor_id: actor_id.0,
            resource_type: resource_type.0,
            resource_id: resource_id.0,
        };
        Ok(Json(list_page(&state, app_id.0, filter, page).await?))
    }
}

/// One page of the app's log under `filter`, newest first.
pub async fn list_page(
    state: &AppState,
    app_id: Uuid,
    filter: Filter,
    page: PageRequest,
) -> Result<AuditLogList, Error> {
    let rows = super::list(&state.db, app_id, &filter, page.after, page.fetch()).await?;
    let (rows, pagination) = page.finish(rows, |r| r.id);
    Ok(AuditLogList { data: rows.into_iter().map(Into::into).collect(), pagination })
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[("audit_log_list", &[])]
};
