//! The admin credential lanes: `Authorization: Bearer pcft_live_…` (platform API key, scoped to
//! a workspace) and `Bearer hdk_live_…` (app API key, scoped to one app and its permissions).
//!
//! Keys are looked up by their SHA-256. Why a credential was refused is logged at debug level;
//! the client always sees the same plain 401.

use poem_openapi::{SecurityScheme, auth::Bearer};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::error::ApiError;
use crate::{
    audit::Actor,
    entity::{app, app_api_key, platform_api_key},
    permissions,
    secrets::{self, AppKey, PlatformKey},
    state::AppState,
};

/// A platform API key (`pcft_live_…`) or an app API key (`hdk_live_…`) as a bearer token.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "pcft_live_… | hdk_live_…")]
pub struct AdminKey(pub Bearer);

/// Who is calling the admin API.
#[derive(Debug, Clone)]
pub enum AdminPrincipal {
    Platform { key_id: Uuid, workspace_id: Uuid, permissions: Vec<String> },
    App { key_id: Uuid, app_id: Uuid, workspace_id: Uuid, permissions: Vec<String> },
}

impl AdminPrincipal {
    pub fn actor(&self) -> Actor {
        match self {
            AdminPrincipal::Platform { key_id, .. } => Actor { kind: "platform_api_key", id: Some(key_id.to_string()) },
            AdminPrincipal::App { key_id, .. } => Actor { kind: "app_api_key", id: Some(key_id.to_string()) },
        }
    }

    pub fn workspace_id(&self) -> Uuid {
        match self {
            AdminPrincipal::Platform { workspace_id, .. } | AdminPrincipal::App { workspace_id, .. } => *workspace_id,
        }
    }

    /// The key's id, which scopes idempotency records.
    pub fn key_id(&self) -> Uuid {
        match self {
            AdminPrincipal::Platform { key_id, .. } | AdminPrincipal::App { key_id, .. } => *key_id,
        }
    }

    pub fn permissions(&self) -> &[String] {
        match self {
            AdminPrincipal::Platform { permissions, .. } | AdminPrincipal::App { permissions, .. } => permissions,
        }
    }

    /// 403 unless the key holds `permission`.
    pub fn require(&self, permission: &str) -> Result<(), ApiError> {
        if permissions::grants(self.permissions(), permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("this key lacks the permission '{permission}'"))
                .with_details(serde_json::json!({ "missing_permission": permission })))
        }
    }

    /// Workspace-level operations (creating and listing apps, stats) need a platform key.
    pub fn require_platform(&self) -> Result<Uuid, ApiError> {
        match self {
            AdminPrincipal::Platform { workspace_id, .. } => Ok(*workspace_id),
            AdminPrincipal::App { .. } => Err(ApiError::forbidden(
                "app API keys are limited to their app; this operation needs a platform API key",
            )),
        }
    }

    /// Whether this key may see `app` at all. Apps it cannot see are reported as not found,
    /// never as forbidden, so keys cannot probe for other tenants' apps.
    pub fn can_see(&self, app: &app::Model) -> bool {
        match self {
            AdminPrincipal::Platform { workspace_id, .. } => app.workspace_id == *workspace_id,
            AdminPrincipal::App { app_id, .. } => app.id == *app_id,
        }
    }
}

fn refused(reason: &str) -> ApiError {
    tracing::debug!(reason, "admin credential refused");
    ApiError::unauthorized("missing or invalid API key")
}

fn permission_list(value: serde_json::Value) -> Vec<String> {
    serde_json::from_value(value).unwrap_or_default()
}

/// Resolves the bearer credential of an admin request.
pub async fn authenticate(state: &AppState, key: &AdminKey) -> Result<AdminPrincipal, ApiError> {
    let raw = key.0.token.trim();
    if let Some(key) = PlatformKey::parse(raw) {
        let row = platform_api_key::Entity::find()
            .filter(platform_api_key::Column::KeyHash.eq(secrets::hash_secret(key.expose())))
            .one(&state.db)
            .await?
            .ok_or_else(|| refused("unknown platform key"))?;
        state.usage.touch(crate::usage::Credential::PlatformKey, row.id);
        return Ok(AdminPrincipal::Platform {
            key_id: row.id,
            workspace_id: row.workspace_id,
            permissions: permission_list(row.permissions),
        });
    }
    if let Some(key) = AppKey::parse(raw) {
        let row = app_api_key::Entity::find()
            .filter(app_api_key::Column::KeyHash.eq(secrets::hash_secret(key.expose())))
            .one(&state.db)
            .await?
            .ok_or_else(|| refused("unknown app key"))?;
        let app =
            app::Entity::find_by_id(row.app_id).one(&state.db).await?.ok_or_else(|| refused("app key without app"))?;
        state.usage.touch(crate::usage::Credential::AppKey, row.id);
        return Ok(AdminPrincipal::App {
            key_id: row.id,
            app_id: row.app_id,
            workspace_id: app.workspace_id,
            permissions: permission_list(row.permissions),
        });
    }
    if raw.split('.').count() == 3 {
        return Err(ApiError::unauthorized(
            "bearer tokens are not accepted on the admin API; use a platform API key (pcft_live_…) or an app API key (hdk_live_…)",
        ));
    }
    Err(refused("not an API key"))
}
