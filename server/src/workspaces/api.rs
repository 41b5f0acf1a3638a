//! Admin HTTP surface of the caller's workspace: `/v1/workspaces`, its platform API keys
//! (`/v1/platform-keys…`) and its own audit log (`/v1/workspace-audit-logs`).

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
    entity::{platform_api_key, workspace, workspace_audit_log},
    http::{
        error::{AdminCreateErrors, AdminReadErrors, AdminWriteErrors, Errors},
        pagination::PageRequest,
        responses::NoContent,
    },
    idempotency, page_type,
    state::AppState,
};

/// A workspace: owns apps and platform API keys.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct Workspace {
    /// The workspace's id, as in `AppResponseDto.workspace_id`.
    pub id: Uuid,
    /// Its name (`default` for the one the first start creates).
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// The workspaces the caller can see.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct WorkspaceList {
    /// A platform API key sees exactly its own workspace.
    pub data: Vec<Workspace>,
}

/// A platform API key, without the key itself.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct PlatformKeySummary {
    /// The key's id (used to revoke it).
    pub id: Uuid,
    /// What the key is for, as given at creation.
    pub name: String,
    /// The key's first 16 characters (`pcft_live_…`), to tell keys apart.
    pub key_prefix: String,
    /// What the key may do (`*`, `resource.*`, `resource.action`).
    pub permissions: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Last use (updated in batches, up to 30 s late); `null` when never used.
    #[oai(nullable)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Refused from this instant on; `null` when it never expires.
    #[oai(nullable)]
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked; `null` while it is not. A revoked key is refused.
    #[oai(nullable)]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new platform key: the only time `key` is shown.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct PlatformKeyCreated {
    /// The key's id (used to revoke it).
    pub id: Uuid,
    /// What the key is for.
    pub name: String,
    /// `pcft_live_…`; store it now, it cannot be shown again.
    pub key: String,
    /// The key's first 16 characters, as listings show it.
    pub key_prefix: String,
    /// What the key may do.
    pub permissions: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Refused from this instant on; `null` when it never expires.
    #[oai(nullable)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A new platform API key.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct CreatePlatformKey {
    /// What the key is for, 1–120 characters.
    pub name: String,
    /// What the key may do on the admin API (`*`, `resource.*`, `resource.action`); required,
    /// may be empty. The calling key must hold each.
    pub permissions: Vec<String>,
    /// When the key stops working (RFC 3339, in the future); omitted: never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// One entry of the workspace's own audit log.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct WorkspaceAuditLogEntry {
    /// The entry's id.
    pub id: Uuid,
    /// The workspace it belongs to.
    pub workspace_id: Uuid,
    /// What happened: `platform_key.created` or `platform_key.revoked`.
    pub action: String,
    /// Id of the key that acted.
    #[oai(nullable)]
    pub actor_id: Option<String>,
    /// Kind of caller that acted (`platform_api_key`).
    pub actor_type: String,
    /// Kind of resource it is about (`platform_key`).
    #[oai(nullable)]
    pub resource_type: Option<String>,
    /// Id of the resource it is about.
    #[oai(nullable)]
    pub resource_id: Option<String>,
    /// Action-specific facts (name, prefix, permissions), or `null` when the action has none;
    /// never secrets.
    pub details: Option<serde_json::Value>,
    /// Request that caused it, as in the `x-request-id` header.
    #[oai(nullable)]
    pub request_id: Option<String>,
    /// Caller's IP address.
    #[oai(nullable)]
    pub ip: Option<String>,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

page_type!(PlatformKeyList, PlatformKeySummary, "A page of platform API keys, oldest first.");
page_type!(WorkspaceAuditLogList, WorkspaceAuditLogEntry, "A page of workspace audit entries, newest first.");
created_response!(PlatformKeyCreatedResponse, PlatformKeyCreated);

fn summary(k: platform_api_key::Model) -> PlatformKeySummary {
    PlatformKeySummary {
        id: k.id,
        name: k.name,
        key_prefix: k.key_prefix,
        permissions: serde_json::from_value(k.permissions).unwrap_or_default(),
        created_at: k.created_at,
        last_used_at: k.last_used_at,
        expires_at: k.expires_at,
        revoked_at: k.revoked_at,
    }
}

fn workspace_dto(w: workspace::Model) -> Workspace {
    Workspace { id: w.id, name: w.name, created_at: w.created_at }
}

fn audit_entry(m: workspace_audit_log::Model) -> WorkspaceAuditLogEntry {
    WorkspaceAuditLogEntry {
        id: m.id,
        workspace_id: m.workspace_id,
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

pub struct WorkspacesApi;

#[OpenApi]
impl WorkspacesApi {
    /// List workspaces
    ///
    /// The workspaces the calling platform API key can see: its own. Needs a platform API key.
    #[oai(path = "/v1/workspaces", method = "get", operation_id = "workspace_list", tag = "ApiTags::Workspaces")]
    async fn list_workspaces(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
    ) -> Result<Json<WorkspaceList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let rows = service::visible(&state, &principal).await?;
        Ok(Json(WorkspaceList { data: rows.into_iter().map(workspace_dto).collect() }))
    }

    /// List platform API keys
    ///
    /// The platform API keys of the caller's workspace, oldest first, by cursor, revoked ones
    /// included. A key itself is shown only when it is created; `key_prefix` tells keys apart.
    /// Needs a platform API key holding `platform_key.read`.
    #[oai(
        path = "/v1/platform-keys",
        method = "get",
        operation_id = "platform_key_list",
        tag = "ApiTags::PlatformKeys"
    )]
    async fn list_keys(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<PlatformKeyList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = service::list(&state, &principal, page.after, page.fetch()).await?;
        let (rows, pagination) = page.finish(rows, |r| r.id);
        Ok(Json(PlatformKeyList { data: rows.into_iter().map(summary).collect(), pagination }))
    }

    /// Create a platform API key
    ///
    /// A `pcft_live_…` key of the caller's workspace holding the given permissions (each held
    /// by the caller), optionally expiring. The key is in this response only. Needs a platform
    /// API key holding `platform_key.write`. Send an `Idempotency-Key` to make retries safe.
    #[oai(
        path = "/v1/platform-keys",
        method = "post",
        operation_id = "platform_key_create",
        tag = "ApiTags::PlatformKeys"
    )]
    async fn create_key(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// Retries with the same key and body return the first response (24 hours).
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: StrictJson<CreatePlatformKey>,
    ) -> Result<PlatformKeyCreatedResponse, Errors<AdminCreateErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let ctx = crate::http::context::origin(req);
        let b = body.0;
        let created: PlatformKeyCreated =
            idempotency::run(&state, &principal, idempotency_key.0.as_deref(), "platform_key_create", &b, || async {
                let created = service::create(&state, &principal, &ctx, &b.name, &b.permissions, b.expires_at).await?;
                Ok(PlatformKeyCreated {
                    id: created.row.id,
                    name: created.row.name,
                    key: created.key.expose().to_owned(),
                    key_prefix: created.row.key_prefix,
                    permissions: created.permissions,
                    created_at: created.row.created_at,
                    expires_at: created.row.expires_at,
                })
            })
            .await?;
        Ok(PlatformKeyCreatedResponse::Created(Json(created)))
    }

    /// Revoke a platform API key
    ///
    /// The key is refused from the next request on, on every instance; it stays listed with its
    /// `revoked_at`. Revoking a revoked key changes nothing. Needs a platform API key holding
    /// `platform_key.write`.
    #[oai(
        path = "/v1/platform-keys/:key_id",
        method = "delete",
        operation_id = "platform_key_revoke",
        tag = "ApiTags::PlatformKeys"
    )]
    async fn revoke_key(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The key's `id`.
        key_id: Path<Uuid>,
    ) -> Result<NoContent, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        service::revoke(&state, &principal, &crate::http::context::origin(req), key_id.0).await?;
        Ok(NoContent::NoContent)
    }

    /// List workspace audit log entries
    ///
    /// The caller's workspace log (platform key creations and revocations), newest first, by
    /// cursor. Needs a platform API key holding `platform_key.read`.
    #[oai(
        path = "/v1/workspace-audit-logs",
        method = "get",
        operation_id = "workspace_audit_log_list",
        tag = "ApiTags::Workspaces"
    )]
    async fn audit_log(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<WorkspaceAuditLogList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = service::audit_log(&state, &principal, page.after, page.fetch()).await?;
        let (rows, pagination) = page.finish(rows, |r| r.id);
        Ok(Json(WorkspaceAuditLogList { data: rows.into_iter().map(audit_entry).collect(), pagination }))
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[
        ("workspace_list", &[]),
        ("platform_key_list", &[]),
        ("platform_key_create", &[InvalidPermission]),
        ("platform_key_revoke", &[]),
        ("workspace_audit_log_list", &[]),
    ]
};
