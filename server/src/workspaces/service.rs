//! Platform API key lifecycle: a key hands out only what it holds, may expire, and a revoked
//! key is refused from the next request on, on every instance (the admin lane reads the key's
//! row on each request). Creation and revocation are audited in the workspace's own log.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::store;
use crate::{
    access::{AdminPrincipal, Origin},
    audit::{Action, Entry},
    clock,
    entity::{platform_api_key, workspace, workspace_audit_log},
    error::Error,
    m2m, permissions,
    secrets::{self, PlatformKey},
    state::AppState,
    write,
};

/// A platform key just created: the only time its secret exists in clear.
pub struct Created {
    pub row: platform_api_key::Model,
    pub key: PlatformKey,
    pub permissions: Vec<String>,
}

/// The workspaces the caller may see: a platform key sees its own.
pub async fn visible(state: &AppState, principal: &AdminPrincipal) -> Result<Vec<workspace::Model>, Error> {
    let workspace_id = principal.require_platform()?;
    Ok(store::workspace(&state.db, workspace_id).await?.into_iter().collect())
}

/// One page of the caller's workspace keys, oldest first.
pub async fn list(
    state: &AppState,
    principal: &AdminPrincipal,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<platform_api_key::Model>, Error> {
    let workspace_id = principal.require_platform()?;
    principal.require(permissions::PLATFORM_KEY_READ)?;
    Ok(store::list_keys(&state.db, workspace_id, after, limit).await?)
}

/// Creates a key in the caller's workspace holding `permissions` (each held by the caller),
/// refused from `expires_at` on when given.
pub async fn create(
    state: &AppState,
    principal: &AdminPrincipal,
    origin: &Origin,
    name: &str,
    permissions: &[String],
    expires_at: Option<DateTime<Utc>>,
) -> Result<Created, Error> {
    let workspace_id = principal.require_platform()?;
    principal.require(permissions::PLATFORM_KEY_WRITE)?;
    let name = Error::check_name("name", name)?;
    let grants = m2m::service::grantable(principal, permissions)?;
    let now = clock::now();
    if expires_at.is_some_and(|at| at <= now) {
        return Err(Error::validation("expires_at", "must be in the future"));
    }
    let key = PlatformKey::generate();
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let row = store::insert_key(
        unit.conn(),
        platform_api_key::Model {
            id: Uuid::now_v7(),
            workspace_id,
            name,
            key_prefix: secrets::display_prefix(key.expose()),
            key_hash: secrets::hash_secret(key.expose()),
            permissions: serde_json::json!(grants),
            created_at: now,
            last_used_at: None,
            expires_at,
            revoked_at: None,
        },
    )
    .await?;
    unit.audit(
        Entry::workspace(workspace_id, &principal.actor(), Action::PlatformKeyCreated, origin)
            .resource("platform_key", row.id)
            .details(serde_json::json!({
                "name": row.name,
                "permissions": grants,
                "key_prefix": row.key_prefix,
                "expires_at": row.expires_at,
            })),
    )
    .await?;
    unit.commit().await?;
    tracing::info!(key_id = %row.id, key_prefix = %row.key_prefix, "platform API key created");
    Ok(Created { row, key, permissions: grants })
}

/// Revokes the caller's workspace key `key_id`: refused from the next request on. Revoking a
/// revoked key changes nothing; 404 when the workspace has no such key.
pub async fn revoke(state: &AppState, principal: &AdminPrincipal, origin: &Origin, key_id: Uuid) -> Result<(), Error> {
    let workspace_id = principal.require_platform()?;
    principal.require(permissions::PLATFORM_KEY_WRITE)?;
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let Some(row) = store::find_key(unit.conn(), workspace_id, key_id).await? else {
        return Err(Error::not_found("platform API key"));
    };
    if !store::revoke_key(unit.conn(), workspace_id, key_id, clock::now()).await? {
        return unit.commit_unaudited("the key was already revoked: nothing changed").await;
    }
    unit.audit(
        Entry::workspace(workspace_id, &principal.actor(), Action::PlatformKeyRevoked, origin)
            .resource("platform_key", key_id)
            .details(serde_json::json!({ "name": row.name, "key_prefix": row.key_prefix })),
    )
    .await?;
    unit.commit().await?;
    tracing::info!(key_id = %key_id, key_prefix = %row.key_prefix, "platform API key revoked");
    Ok(())
}

/// One page of the caller's workspace log, newest first.
pub async fn audit_log(
    state: &AppState,
    principal: &AdminPrincipal,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<workspace_audit_log::Model>, Error> {
    let workspace_id = principal.require_platform()?;
    principal.require(permissions::PLATFORM_KEY_READ)?;
    crate::audit::list_workspace(&state.db, workspace_id, before, limit).await
}
