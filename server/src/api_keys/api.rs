//! Admin HTTP surface of app API keys (`/v1/apps/{app_id}/api-keys…`).

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
    entity::app_api_key,
    http::{
        error::{AdminCreateErrors, AdminReadErrors, AdminWriteErrors, Errors},
        pagination::PageRequest,
        responses::NoContent,
    },
    idempotency, page_type, permissions,
    state::AppState,
};

/// An app API key, without the key itself.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct ApiKeySummary {
    /// The key's id, for revocation.
    pub id: Uuid,
    /// Name given at creation, to tell keys apart.
    pub name: String,
    /// The key's first 16 characters, to tell keys apart.
    pub key_prefix: String,
    /// Permissions the key holds (`resource.action`, wildcards allowed).
    pub permissions: Vec<String>,
    /// When the key was created.
    pub created_at: DateTime<Utc>,
    /// Last use (updated in batches, up to 30 s late).
    #[oai(nullable)]
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A new key: the only time `key` is shown.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct ApiKeyCreated {
    /// The key's id, for revocation.
    pub id: Uuid,
    /// Name given at creation, to tell keys apart.
    pub name: String,
    /// `hdk_live_…`; store it now, it cannot be shown again.
    pub key: String,
    /// The first characters of the key, shown in listings to recognise it.
    pub key_prefix: String,
    /// Permissions the key holds (`resource.action`, wildcards allowed).
    pub permissions: Vec<String>,
    /// When the key was created.
    pub created_at: DateTime<Utc>,
}

/// A new key.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct CreateApiKey {
    /// 1–120 characters.
    pub name: String,
    /// What the key may do on this app's admin API (`resource.action`, `resource.*`); required,
    /// may be empty. The calling key must hold each.
    pub permissions: Vec<String>,
}

page_type!(ApiKeyList, ApiKeySummary, "A page of API keys, oldest first.");
created_response!(ApiKeyCreatedResponse, ApiKeyCreated);

fn summary(k: app_api_key::Model) -> ApiKeySummary {
    ApiKeySummary {
        id: k.id,
        name: k.name,
        key_prefix: k.key_prefix,
        permissions: serde_json::from_value(k.permissions).unwrap_or_default(),
        created_at: k.created_at,
        last_used_at: k.last_used_at,
    }
}

pub struct ApiKeysApi;

#[OpenApi]
impl ApiKeysApi {
    /// List API keys
    ///
    /// The app's API keys, oldest first, by cursor. A key itself is shown only when it is
    /// created; `key_prefix` tells keys apart.
    #[oai(path = "/v1/apps/:app_id/api-keys", method = "get", operation_id = "api_key_list", tag = "ApiTags::ApiKeys")]
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
    ) -> Result<Json<ApiKeyList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::API_KEY_READ).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = service::list(&state, app_id.0, page.after, page.fetch()).await?;
        let (rows, pagination) = page.finish(rows, |r| r.id);
        Ok(Json(ApiKeyList { data: rows.into_iter().map(summary).collect(), pagination }))
    }

    /// Create an API key
    ///
    /// An `hdk_live_…` key limited to this app and the given permissions; any other app answers
    /// 404 to it. The key is in this response only. Send an `Idempotency-Key` to make retries safe.
    #[oai(
        path = "/v1/apps/:app_id/api-keys",
        method = "post",
        operation_id = "api_key_create",
        tag = "ApiTags::ApiKeys"
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
        body: StrictJson<CreateApiKey>,
    ) -> Result<ApiKeyCreatedResponse, Errors<AdminCreateErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let ctx = crate::http::context::origin(req);
        let b = body.0;
        let op = format!("api_key_create:{}", app_id.0);
        let created: ApiKeyCreated =
            idempotency::run(&state, &principal, idempotency_key.0.as_deref(), &op, &b, || async {
                crate::access::admin::visible(&state, &principal, app_id.0, permissions::API_KEY_WRITE).await?;
                let created = service::create(&state, &principal, &ctx, app_id.0, &b.name, &b.permissions).await?;
                Ok(ApiKeyCreated {
                    id: created.row.id,
                    name: created.row.name,
                    key: created.key.expose().to_owned(),
                    key_prefix: created.row.key_prefix,
                    permissions: created.permissions,
                    created_at: created.row.created_at,
                })
            })
            .await?;
        Ok(ApiKeyCreatedResponse::Created(Json(created)))
    }

    /// Delete an API key
    ///
    /// The key stops working at once (it is deleted, not just disabled).
    #[oai(
        path = "/v1/apps/:app_id/api-keys/:key_id",
        method = "delete",
        operation_id = "api_key_delete",
        tag = "ApiTags::ApiKeys"
    )]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The API key's id.
        key_id: Path<Uuid>,
    ) -> Result<NoContent, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::API_KEY_WRITE).await?;
        service::delete(&state, &principal, &crate::http::context::origin(req), app_id.0, key_id.0).await?;
        Ok(NoContent::NoContent)
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[("api_key_list", &[]), ("api_key_create", &[InvalidPermission]), ("api_key_delete", &[])]
};
