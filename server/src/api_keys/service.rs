//! App API key rules: a key holds only what its creator holds; creation and deletion are audited
//! in the transaction that makes them.

use uuid::Uuid;

use super::store;
use crate::{
    access::{AdminPrincipal, Origin},
    audit::{Action, Entry},
    clock,
    entity::app_api_key,
    error::Error,
    m2m,
    secrets::{self, AppKey},
    state::AppState,
    write,
};

/// A key just created: the only time its secret exists in clear.
pub struct Created {
    pub row: app_api_key::Model,
    pub key: AppKey,
    pub permissions: Vec<String>,
}

/// One page of the app's keys, oldest first.
pub async fn list(
    state: &AppState,
    app_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<app_api_key::Model>, Error> {
    Ok(store::list(&state.db, app_id, after, limit).await?)
}

/// Creates a key on `app_id` named `name` with `permissions` (each held by `principal`).
pub async fn create(
    state: &AppState,
    principal: &AdminPrincipal,
    origin: &Origin,
    app_id: Uuid,
    name: &str,
    permissions: &[String],
) -> Result<Created, Error> {
    let name = Error::check_name("name", name)?;
    let grants = m2m::service::grantable(principal, permissions)?;
    let key = AppKey::generate();
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let row = store::insert(
        unit.conn(),
        app_api_key::Model {
            id: Uuid::now_v7(),
            app_id,
            name,
            key_prefix: secrets::display_prefix(key.expose()),
            key_hash: secrets::hash_secret(key.expose()),
            permissions: serde_json::json!(grants),
            created_at: clock::now(),
            last_used_at: None,
        },
    )
    .await?;
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::ApiKeyCreated, origin)
            .resource("api_key", row.id)
            .details(serde_json::json!({ "name": row.name, "permissions": grants, "key_prefix": row.key_prefix })),
    )
    .await?;
    unit.commit().await?;
    Ok(Created { row, key, permissions: grants })
}

/// Deletes the app's key `key_id` (it stops working at once); 404 when the app has no such key.
pub async fn delete(
    state: &AppState,
    principal: &AdminPrincipal,
    origin: &Origin,
    app_id: Uuid,
    key_id: Uuid,
) -> Result<(), Error> {
    let mut unit = write::begin(&state.db, &state.bus).await?;
    if !store::delete(unit.conn(), app_id, key_id).await? {
        return Err(Error::not_found("API key"));
    }
    unit.audit(Entry::new(app_id, &principal.actor(), Action::ApiKeyDeleted, origin).resource("api_key", key_id))
        .await?;
    unit.commit().await
}
