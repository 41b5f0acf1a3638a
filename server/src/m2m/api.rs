//! Admin HTTP surface of M2M credentials (`/v1/apps/{app_id}/credentials…`). The `{client_id}`
//! path segment takes the row id or the public `m2m_…` client id.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::{Request, web::Data};
use poem_openapi::{
    Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{
    service::{self, ClientChanges},
    store,
};
use crate::access::api::{AdminKey, authenticate};
use crate::http::strict_json::StrictJson;
use crate::tags::ApiTags;
use crate::{
    created_response,
    entity::m2m_client,
    http::{
        error::{AdminCreateErrors, AdminReadErrors, AdminWriteErrors, Error, Errors},
        pagination::PageRequest,
        responses::NoContent,
    },
    idempotency, page_type, permissions,
    state::AppState,
};

/// A granted scope.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct Scope {
    /// The resource part of `resource.action`.
    pub resource: String,
    /// The action part of `resource.action`.
    pub action: String,
}

/// An M2M client, without its secret.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct M2mClientSummary {
    /// The client's record id.
    pub id: Uuid,
    /// Public client id, `m2m_…`.
    pub client_id: String,
    /// The app the client belongs to.
    pub app_id: Uuid,
    /// The client's name.
    pub name: String,
    /// Whether the client may obtain tokens.
    pub is_active: bool,
    /// When the client was created.
    pub created_at: DateTime<Utc>,
    /// Last token issued (updated in batches, up to 30 s late).
    #[oai(nullable)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// The tenant the client is bound to: its tokens carry it as `tid` (`null`: app-wide).
    #[oai(nullable)]
    pub tenant_id: Option<Uuid>,
}

/// An M2M client with its scopes.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct M2mClientDetail {
    /// The client's record id.
    pub id: Uuid,
    /// The client id (`m2m_…`).
    pub client_id: String,
    /// The app the client belongs to.
    pub app_id: Uuid,
    /// The client's name.
    pub name: String,
    /// Whether the client may obtain tokens.
    pub is_active: bool,
    /// When the client was created.
    pub created_at: DateTime<Utc>,
    /// When the client last obtained a token, if ever (updated in batches).
    #[oai(nullable)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// What its tokens may do; `permissions` of its tokens, `scope` of the token response.
    pub scopes: Vec<Scope>,
    /// The tenant the client is bound to: its tokens carry it as `tid` (`null`: app-wide).
    #[oai(nullable)]
    pub tenant_id: Option<Uuid>,
}

/// A new client with its secret: the only time the secret is shown.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct M2mClientCreated {
    /// The client's record id.
    pub id: Uuid,
    /// The client id (`m2m_…`) to send to the token endpoint.
    pub client_id: String,
    /// `m2ms_…`; store it now, it cannot be shown again.
    pub client_secret: String,
    /// Name given at creation.
    pub name: String,
    /// When the client was created.
    pub created_at: DateTime<Utc>,
    /// Permissions the client's tokens carry.
    pub scopes: Vec<Scope>,
    /// The tenant the client is bound to: its tokens carry it as `tid` (`null`: app-wide).
    #[oai(nullable)]
    pub tenant_id: Option<Uuid>,
}

/// A new secret: the only time it is shown. The old secret stopped working.
#[derive(Debug, Clone, Object)]
pub struct M2mSecretRotated {
    /// The client id (`m2m_…`), unchanged.
    pub client_id: String,
    /// The new secret; store it now, it is not shown again.
    pub client_secret: String,
}

/// A new client.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct CreateM2mClient {
    /// 1–120 characters.
    pub name: String,
    /// Initial scopes (`resource.action`, `resource.*` or `*`); the calling key must hold each.
    #[oai(nullable)]
    pub scopes: Option<Vec<String>>,
    /// Binds the client to this tenant of the app (404 `tenant_not_found` otherwise): its tokens
    /// carry `tid`, and are refused once the tenant is suspended or deleted.
    #[oai(nullable)]
    pub tenant_id: Option<Uuid>,
}

/// Changes to a client.
#[derive(Debug, Clone, Object)]
pub struct UpdateM2mClient {
    /// `false` stops new tokens at once, and `/verify`/`/authorize` refuse its issued tokens.
    #[oai(nullable)]
    pub is_active: Option<bool>,
    /// New name.
    #[oai(nullable)]
    pub name: Option<String>,
}

/// The complete new scope set.
#[derive(Debug, Clone, Object)]
pub struct SetScopes {
    /// Every permission the client's tokens will carry.
    pub permissions: Vec<String>,
}

fn scopes_of(m: &m2m_client::Model) -> Vec<Scope> {
    serde_json::from_value::<Vec<String>>(m.scopes.clone())
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let (resource, action) = permissions::split(s);
            Scope { resource, action }
        })
        .collect()
}

fn summary(m: m2m_client::Model) -> M2mClientSummary {
    M2mClientSummary {
        id: m.id,
        client_id: m.client_id,
        app_id: m.app_id,
        name: m.name,
        is_active: m.is_active,
        created_at: m.created_at,
        last_used_at: m.last_used_at,
        tenant_id: m.tenant_id,
    }
}

fn detail(m: m2m_client::Model) -> M2mClientDetail {
    let scopes = scopes_of(&m);
    M2mClientDetail {
        id: m.id,
        client_id: m.client_id,
        app_id: m.app_id,
        name: m.name,
        is_active: m.is_active,
        created_at: m.created_at,
        last_used_at: m.last_used_at,
        scopes,
        tenant_id: m.tenant_id,
    }
}

page_type!(M2mClientList, M2mClientSummary, "A page of M2M clients, oldest first.");
created_response!(M2mClientCreatedResponse, M2mClientCreated);

pub struct CredentialsApi;

#[OpenApi]
impl CredentialsApi {
    /// List M2M credentials
    ///
    /// The app's M2M clients, oldest first, by cursor, without their scopes (see
    /// `credential_get`). A secret is shown only when it is created or rotated.
    #[oai(
        path = "/v1/apps/:app_id/credentials",
        method = "get",
        operation_id = "credential_list",
        tag = "ApiTags::Credentials"
    )]
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
    ) -> Result<Json<M2mClientList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::CREDENTIAL_READ).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = store::list(&state.db, app_id.0, page.after, page.fetch()).await.map_err(Error::from)?;
        let (rows, pagination) = page.finish(rows, |r| r.id);
        Ok(Json(M2mClientList { data: rows.into_iter().map(summary).collect(), pagination }))
    }

    /// Create an M2M credential
    ///
    /// A client for the OAuth 2.0 client-credentials grant at `/{slug}/v1/oauth/token`. The
    /// secret is in this response only. Send an `Idempotency-Key` to make retries safe.
    #[oai(
        path = "/v1/apps/:app_id/credentials",
        method = "post",
        operation_id = "credential_create",
        tag = "ApiTags::Credentials"
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
        body: StrictJson<CreateM2mClient>,
    ) -> Result<M2mClientCreatedResponse, Errors<AdminCreateErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let ctx = crate::http::context::origin(req);
        let b = body.0;
        let op = format!("credential_create:{}", app_id.0);
        let created: M2mClientCreated =
            idempotency::run(&state, &principal, idempotency_key.0.as_deref(), &op, &b, || async {
                let (row, secret) = service::create(
                    &state,
                    &principal,
                    &ctx,
                    app_id.0,
                    &b.name,
                    b.scopes.as_deref().unwrap_or_default(),
                    b.tenant_id,
                )
                .await?;
                Ok(M2mClientCreated {
                    scopes: scopes_of(&row),
                    id: row.id,
                    client_id: row.client_id,
                    client_secret: secret,
                    name: row.name,
                    created_at: row.created_at,
                    tenant_id: row.tenant_id,
                })
            })
            .await?;
        Ok(M2mClientCreatedResponse::Created(Json(created)))
    }

    /// Get an M2M credential
    ///
    /// One M2M client with its scopes, by row id or `m2m_…` client id. Its secret is never
    /// shown again after creation.
    #[oai(
        path = "/v1/apps/:app_id/credentials/:client_id",
        method = "get",
        operation_id = "credential_get",
        tag = "ApiTags::Credentials"
    )]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id.
        app_id: Path<Uuid>,
        /// Row id or `m2m_…` client id.
        client_id: Path<String>,
    ) -> Result<Json<M2mClientDetail>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let row = service::visible(&state, &principal, app_id.0, &client_id.0, permissions::CREDENTIAL_READ).await?;
        Ok(Json(detail(row)))
    }

    /// Update an M2M credential
    ///
    /// `is_active: false` refuses new tokens at once, and `/verify` and `/authorize` refuse the
    /// client's tokens already issued, on every instance.
    #[oai(
        path = "/v1/apps/:app_id/credentials/:client_id",
        method = "patch",
        operation_id = "credential_update",
        tag = "ApiTags::Credentials"
    )]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// Row id or `m2m_…` client id.
        client_id: Path<String>,
        body: StrictJson<UpdateM2mClient>,
    ) -> Result<Json<M2mClientDetail>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let changes = ClientChanges { is_active: body.0.is_active, name: body.0.name, ..Default::default() };
        let (row, _) =
            service::change(&state, &principal, &crate::http::context::origin(req), app_id.0, &client_id.0, changes)
                .await?;
        Ok(Json(detail(row)))
    }

    /// Delete an M2M credential
    ///
    /// New tokens are refused at once and the client's issued tokens stop passing `/verify` and
    /// `/authorize`.
    #[oai(
        path = "/v1/apps/:app_id/credentials/:client_id",
        method = "delete",
        operation_id = "credential_delete",
        tag = "ApiTags::Credentials"
    )]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// Row id or `m2m_…` client id.
        client_id: Path<String>,
    ) -> Result<NoContent, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        service::delete(&state, &principal, &crate::http::context::origin(req), app_id.0, &client_id.0).await?;
        Ok(NoContent::NoContent)
    }

    /// Rotate an M2M credential's secret
    ///
    /// Issues a new secret (in this response only); the old one stops working at once. Tokens
    /// already issued stay valid until they expire. Takes no body.
    #[oai(
        path = "/v1/apps/:app_id/credentials/:client_id/rotate",
        method = "post",
        operation_id = "credential_rotate_secret",
        tag = "ApiTags::Credentials"
    )]
    async fn rotate(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// Row id or `m2m_…` client id.
        client_id: Path<String>,
    ) -> Result<Json<M2mSecretRotated>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let changes = ClientChanges { rotate_secret: true, ..Default::default() };
        let (row, secret) =
            service::change(&state, &principal, &crate::http::context::origin(req), app_id.0, &client_id.0, changes)
                .await?;
        Ok(Json(M2mSecretRotated { client_id: row.client_id, client_secret: secret.unwrap_or_default() }))
    }

    /// Set an M2M credential's scopes
    ///
    /// Replaces the scope set. Takes effect at once: new tokens carry the new set, and
    /// `/authorize` evaluates issued tokens against it (a token never gains a scope it was not
    /// issued with). The calling key must hold every scope it grants.
    #[oai(
        path = "/v1/apps/:app_id/credentials/:client_id/scopes",
        method = "put",
        operation_id = "credential_set_scopes",
        tag = "ApiTags::Credentials"
    )]
    async fn set_scopes(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// Row id or `m2m_…` client id.
        client_id: Path<String>,
        body: StrictJson<SetScopes>,
    ) -> Result<Json<M2mClientDetail>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let changes = ClientChanges { scopes: Some(body.0.permissions), ..Default::default() };
        let (row, _) =
            service::change(&state, &principal, &crate::http::context::origin(req), app_id.0, &client_id.0, changes)
                .await?;
        Ok(Json(detail(row)))
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[
        ("credential_list", &[]),
        ("credential_create", &[InvalidPermission]),
        ("credential_get", &[]),
        ("credential_update", &[]),
        ("credential_delete", &[]),
        ("credential_rotate_secret", &[]),
        ("credential_set_scopes", &[InvalidPermission]),
    ]
};
