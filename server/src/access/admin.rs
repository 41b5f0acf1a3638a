//! The admin lanes: resolving an API key to its principal, and which apps it may reach.
//!
//! Keys are looked up by their SHA-256. Why a credential was refused is logged at debug level;
//! the client always sees the same plain `unauthorized`. Apps a key cannot see are `not_found`,
//! never `forbidden`, so keys cannot probe for other tenants' apps.

use uuid::Uuid;

use super::{principal::AdminPrincipal, store};
use crate::{
    apps::{self, AppRef},
    entity::app,
    error::Error,
    secrets::{self, AppKey, PlatformKey},
    state::AppState,
    usage::Credential,
};

fn refused(reason: &str) -> Error {
    tracing::debug!(reason, "admin credential refused");
    Error::unauthorized("missing or invalid API key")
}

fn permission_list(value: serde_json::Value) -> Vec<String> {
    serde_json::from_value(value).unwrap_or_default()
}

/// Resolves the bearer credential (`pcft_live_…` or `hdk_live_…`) of an admin request.
pub async fn authenticate(state: &AppState, raw: &str) -> Result<AdminPrincipal, Error> {
    let raw = raw.trim();
    if let Some(key) = PlatformKey::parse(raw) {
        let row = store::platform_key(&state.db, &secrets::hash_secret(key.expose()))
            .await?
            .ok_or_else(|| refused("unknown platform key"))?;
        // Read from the database on every request, so a revocation holds on every instance at once.
        if row.revoked_at.is_some() {
            return Err(refused("revoked platform key"));
        }
        if row.expires_at.is_some_and(|at| at <= crate::clock::now()) {
            return Err(refused("expired platform key"));
        }
        state.usage.touch(Credential::PlatformKey, row.id);
        return Ok(AdminPrincipal::Platform {
            key_id: row.id,
            workspace_id: row.workspace_id,
            permissions: permission_list(row.permissions),
        });
    }
    if let Some(key) = AppKey::parse(raw) {
        let (row, workspace_id) = store::app_key(&state.db, &secrets::hash_secret(key.expose()))
            .await?
            .ok_or_else(|| refused("unknown app key"))?;
        state.usage.touch(Credential::AppKey, row.id);
        return Ok(AdminPrincipal::App {
            key_id: row.id,
            app_id: row.app_id,
            workspace_id,
            permissions: permission_list(row.permissions),
        });
    }
    if raw.split('.').count() == 3 {
        return Err(Error::unauthorized(
            "bearer tokens are not accepted on the admin API; use a platform API key (pcft_live_…) or an app API key (hdk_live_…)",
        ));
    }
    Err(refused("not an API key"))
}

/// The app `app_id` if the caller may see it and holds `permission`.
pub async fn visible(
    state: &AppState,
    principal: &AdminPrincipal,
    app_id: Uuid,
    permission: &str,
) -> Result<app::Model, Error> {
    principal.visible(apps::service::find(state, app_id).await?, permission)
}

/// The API-key lane on consumer routes: the key must be able to see this app and hold
/// `permission`.
pub async fn for_consumer_app(
    state: &AppState,
    raw: &str,
    app: &AppRef,
    permission: &str,
) -> Result<AdminPrincipal, Error> {
    let principal = authenticate(state, raw).await?;
    let visible = match &principal {
        AdminPrincipal::Platform { workspace_id, .. } => *workspace_id == app.workspace_id,
        AdminPrincipal::App { app_id, .. } => *app_id == app.id,
    };
    if !visible {
        return Err(Error::forbidden("this key is not valid for this app"));
    }
    principal.require(permission)?;
    Ok(principal)
}
