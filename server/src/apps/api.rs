//! HTTP surface of apps: `/v1/apps…` and `/v1/stats/me`.

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, Utc};
use poem::{Request, web::Data};
use poem_openapi::{
    Enum, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::service::{self, AppChanges, NewApp};
use crate::access::api::{AdminKey, authenticate};
use crate::http::strict_json::StrictJson;
use crate::keys::api::SigningAlgorithm;
use crate::tags::ApiTags;
use crate::{
    created_response,
    entity::app,
    http::{
        error::{AdminCreateErrors, AdminReadErrors, AdminWriteErrors, Error, Errors},
        pagination::PageRequest,
        responses::NoContent,
    },
    idempotency, page_type, permissions,
    state::AppState,
};

/// Lifecycle status of an app: `active` serves sign-ins and tokens; `suspended` and `archived`
/// refuse them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum AppStatus {
    /// Serving sign-ins and tokens.
    Active,
    /// Temporarily refused on the consumer surface; JWKS still served.
    Suspended,
    /// Retired; JWKS still served so outstanding tokens can be verified.
    Archived,
}

impl From<app::AppStatus> for AppStatus {
    fn from(s: app::AppStatus) -> Self {
        match s {
            app::AppStatus::Active => AppStatus::Active,
            app::AppStatus::Suspended => AppStatus::Suspended,
            app::AppStatus::Archived => AppStatus::Archived,
        }
    }
}

impl From<AppStatus> for app::AppStatus {
    fn from(s: AppStatus) -> Self {
        match s {
            AppStatus::Active => app::AppStatus::Active,
            AppStatus::Suspended => app::AppStatus::Suspended,
            AppStatus::Archived => app::AppStatus::Archived,
        }
    }
}

/// An app (tenant): its own users, roles, keys and token issuer.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
#[oai(example)]
pub struct App {
    /// App id (UUID); the `{app_id}` of admin routes and the `aid` claim of its tokens.
    pub id: Uuid,
    /// URL name; consumer routes live under `/{slug}/v1`, and tokens carry it as `aud`.
    pub slug: String,
    /// Human-readable name shown in consoles and emails.
    pub display_name: String,
    pub status: AppStatus,
    /// Free-form JSON object for the operator's own use.
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// Workspace that owns the app.
    pub workspace_id: Uuid,
    /// Id of the key that created the app.
    pub created_by: String,
    /// When the app was created.
    pub created_at: DateTime<Utc>,
    /// When the app last changed.
    pub updated_at: DateTime<Utc>,
    /// The algorithm of the app's keys: new ones (rotations) get it; its tokens are signed with
    /// the current key's.
    pub signing_alg: SigningAlgorithm,
}

impl poem_openapi::types::Example for App {
    fn example() -> Self {
        App {
            id: "0193a3f0-6b1c-7d2e-9f00-1a2b3c4d5e6f".parse().unwrap(),
            slug: "acme".into(),
            display_name: "Acme".into(),
            status: AppStatus::Active,
            metadata: BTreeMap::new(),
            workspace_id: "0193a3ef-0000-7000-8000-000000000001".parse().unwrap(),
            created_by: "0193a3ef-0000-7000-8000-000000000002".into(),
            created_at: "2026-11-23T10:00:00Z".parse().unwrap(),
            updated_at: "2026-11-23T10:00:00Z".parse().unwrap(),
            signing_alg: SigningAlgorithm::Rs256,
        }
    }
}

impl From<app::Model> for App {
    fn from(m: app::Model) -> Self {
        App {
            id: m.id,
            slug: m.slug,
            display_name: m.display_name,
            status: m.status.into(),
            metadata: serde_json::from_value(m.metadata).unwrap_or_default(),
            workspace_id: m.workspace_id,
            created_by: m.created_by,
            created_at: m.created_at,
            updated_at: m.updated_at,
            signing_alg: m.signing_alg.into(),
        }
    }
}

/// A new app.
#[derive(Debug, Clone, Object, serde::Serialize)]
#[oai(example)]
pub struct CreateApp {
    /// Human-readable name, 1–120 characters.
    #[oai(validator(min_length = 1, max_length = 120))]
    pub display_name: String,
    /// 3–64 lowercase letters, digits and inner hyphens; some names (`v1`, `docs`, `admin`, …)
    /// are reserved.
    #[oai(validator(min_length = 3, max_length = 64, pattern = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"))]
    pub slug: String,
    /// Workspace to create the app in; must be the key's workspace. Defaults to it.
    #[oai(nullable)]
    pub workspace_id: Option<Uuid>,
    /// Initial metadata object.
    #[oai(nullable)]
    pub metadata: Option<BTreeMap<String, serde_json::Value>>,
    /// The algorithm the app's tokens are signed with (default `RS256`); a rotation may change it.
    #[oai(skip_serializing_if_is_none)]
    pub signing_alg: Option<SigningAlgorithm>,
}

impl poem_openapi::types::Example for CreateApp {
    fn example() -> Self {
        CreateApp {
            display_name: "Acme".into(),
            slug: "acme".into(),
            workspace_id: None,
            metadata: None,
            signing_alg: None,
        }
    }
}

/// Changes to an app; fields left out stay as they are.
#[derive(Debug, Clone, Object)]
pub struct UpdateApp {
    /// New display name.
    #[oai(validator(min_length = 1, max_length = 120))]
    #[oai(nullable)]
    pub display_name: Option<String>,
    /// Replaces the whole metadata object.
    #[oai(nullable)]
    pub metadata: Option<BTreeMap<String, serde_json::Value>>,
    /// New slug. The old one keeps serving the JWKS (and discovery) for 30 days so verifiers
    /// configured with it keep working; tokens are issued under the new one at once.
    #[oai(validator(min_length = 3, max_length = 64, pattern = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"))]
    #[oai(nullable)]
    pub slug: Option<String>,
}

/// New status of an app.
#[derive(Debug, Clone, Object)]
pub struct UpdateAppStatus {
    pub status: AppStatus,
}

/// Counts across the caller's workspace.
#[derive(Debug, Clone, Object)]
pub struct PlatformStats {
    /// Apps in the workspace.
    pub apps: u64,
    /// End-user accounts across those apps.
    pub end_users: u64,
    /// App API keys (revoked keys are deleted, so every stored key is active).
    pub api_keys_active: u64,
}

page_type!(AppList, App, "A page of apps.");
created_response!(AppCreated, App);

pub struct AppsApi;

#[OpenApi]
impl AppsApi {
    /// List apps
    ///
    /// Apps of the caller's workspace, oldest first, by cursor. Needs a platform API key.
    #[oai(path = "/v1/apps", method = "get", operation_id = "app_list", tag = "ApiTags::Apps")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Only this workspace; it must be the key's own.
        workspace_id: Query<Option<Uuid>>,
    ) -> Result<Json<AppList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let workspace = principal.require_platform()?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        if workspace_id.0.is_some_and(|w| w != workspace) {
            let (data, pagination) = page.finish(Vec::<App>::new(), |a| a.id);
            return Ok(Json(AppList { data, pagination }));
        }
        let rows = super::store::list(&state.db, workspace, page.after, page.fetch()).await.map_err(Error::from)?;
        let (rows, pagination) = page.finish(rows, |a| a.id);
        Ok(Json(AppList { data: rows.into_iter().map(App::from).collect(), pagination }))
    }

    /// Create an app
    ///
    /// Creates an app in the key's workspace together with its first RSA signing key, the
    /// default auth configuration and the system roles `owner`, `admin` and `member`, in one
    /// transaction. Send an `Idempotency-Key` to make retries safe.
    #[oai(path = "/v1/apps", method = "post", operation_id = "app_create", tag = "ApiTags::Apps")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// Retries with the same key and body return the first response; a different body
        /// with the same key is refused with 422. Remembered for 24 hours.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: StrictJson<CreateApp>,
    ) -> Result<AppCreated, Errors<AdminCreateErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let ctx = crate::http::context::origin(req);
        let body = body.0;
        let app: App =
            idempotency::run(&state, &principal, idempotency_key.0.as_deref(), "app_create", &body, || async {
                let new = NewApp {
                    display_name: body.display_name.clone(),
                    slug: body.slug.clone(),
                    workspace_id: body.workspace_id,
                    metadata: body.metadata.clone().map(|m| serde_json::to_value(m).expect("json")),
                    signing_alg: body.signing_alg.map(Into::into).unwrap_or_default(),
                };
                service::create(&state, &principal, &ctx, new).await.map(App::from)
            })
            .await?;
        Ok(AppCreated::Created(Json(app)))
    }

    /// Get an app
    ///
    /// One app by id. A platform API key sees the apps of its workspace; an app API key sees
    /// only its own app and needs `app.read`. Apps the key cannot see answer 404, not 403.
    #[oai(path = "/v1/apps/:app_id", method = "get", operation_id = "app_get", tag = "ApiTags::Apps")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id.
        app_id: Path<Uuid>,
    ) -> Result<Json<App>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let app = crate::access::admin::visible(&state, &principal, app_id.0, permissions::APP_READ).await?;
        Ok(Json(app.into()))
    }

    /// Update an app
    ///
    /// Changes the display name, metadata or slug. After a slug change the old slug keeps
    /// resolving the app's JWKS for 30 days and cannot be taken by another app meanwhile.
    #[oai(path = "/v1/apps/:app_id", method = "patch", operation_id = "app_update", tag = "ApiTags::Apps")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        body: StrictJson<UpdateApp>,
    ) -> Result<Json<App>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let changes = AppChanges {
            display_name: body.0.display_name,
            slug: body.0.slug,
            metadata: body.0.metadata.map(|m| serde_json::to_value(m).expect("json")),
        };
        let app = service::update(&state, &principal, &crate::http::context::origin(req), app_id.0, changes).await?;
        Ok(Json(app.into()))
    }

    /// Change an app's status
    ///
    /// `suspended` and `archived` apps refuse sign-in and sign-up on the consumer surface but
    /// keep serving their JWKS, so tokens already issued can still be verified.
    #[oai(
        path = "/v1/apps/:app_id/status",
        method = "patch",
        operation_id = "app_update_status",
        tag = "ApiTags::Apps"
    )]
    async fn update_status(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        body: StrictJson<UpdateAppStatus>,
    ) -> Result<Json<App>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let app =
            service::set_status(&state, &principal, &crate::http::context::origin(req), app_id.0, body.0.status.into())
                .await?;
        Ok(Json(app.into()))
    }

    /// Delete an app
    ///
    /// Permanently deletes the app with its users, roles, keys and credentials. Its slug becomes
    /// free. The audit log keeps the app's entries.
    #[oai(path = "/v1/apps/:app_id", method = "delete", operation_id = "app_delete", tag = "ApiTags::Apps")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
    ) -> Result<NoContent, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        service::delete(&state, &principal, &crate::http::context::origin(req), app_id.0).await?;
        Ok(NoContent::NoContent)
    }

    /// Workspace statistics
    ///
    /// Counts apps, end-users and app API keys in the caller's workspace.
    #[oai(path = "/v1/stats/me", method = "get", operation_id = "stats_get", tag = "ApiTags::Stats")]
    async fn stats(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// Only this workspace; it must be the key's own.
        workspace_id: Query<Option<Uuid>>,
    ) -> Result<Json<PlatformStats>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let workspace = principal.require_platform()?;
        if workspace_id.0.is_some_and(|w| w != workspace) {
            return Ok(Json(PlatformStats { apps: 0, end_users: 0, api_keys_active: 0 }));
        }
        let (apps, end_users, api_keys_active) =
            super::store::workspace_counts(&state.db, workspace).await.map_err(Error::from)?;
        Ok(Json(PlatformStats { apps, end_users, api_keys_active }))
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[
        ("app_list", &[]),
        ("app_create", &[SlugTaken]),
        ("app_get", &[]),
        ("app_update", &[SlugTaken]),
        ("app_update_status", &[]),
        ("app_delete", &[]),
        ("stats_get", &[]),
    ]
};
