//! Workspaces and platform API keys: bootstrap of the first key, and creation of more.

use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, Set};
use uuid::Uuid;

use crate::{
    clock, db,
    entity::{platform_api_key, server_meta, workspace},
    secrets::{self, PlatformKey},
};

/// Marker row that makes the first-start bootstrap happen once even with concurrent instances.
const BOOTSTRAP_MARKER: &str = "bootstrapped";

/// A new workspace and its first platform API key (holding every permission).
pub async fn create_with_key(db: &impl ConnectionTrait, name: &str, key: &PlatformKey) -> Result<Uuid, DbErr> {
    let now = clock::now();
    let workspace_id = Uuid::now_v7();
    workspace::ActiveModel { id: Set(workspace_id), name: Set(name.to_owned()), created_at: Set(now) }
        .insert(db)
        .await?;
    platform_api_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(workspace_id),
        name: Set("bootstrap".into()),
        key_prefix: Set(secrets::display_prefix(key.expose())),
        key_hash: Set(secrets::hash_secret(key.expose())),
        permissions: Set(serde_json::json!(["*"])),
        created_at: Set(now),
        last_used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(workspace_id)
}

/// What first start did.
pub enum FirstStart {
    /// The database already had a workspace.
    AlreadyBootstrapped,
    /// Seeded the operator-supplied key.
    Seeded,
    /// Generated a key; it must be shown to the operator once.
    Generated(PlatformKey),
}

/// On an empty database, creates the default workspace with `seed` (or a generated key).
pub async fn first_start(db: &DatabaseConnection, seed: Option<&PlatformKey>) -> Result<FirstStart, DbErr> {
    if workspace::Entity::find().count(db).await? > 0 {
        return Ok(FirstStart::AlreadyBootstrapped);
    }
    let key = seed.cloned().unwrap_or_else(PlatformKey::generate);
    let tx = db::begin_write(db).await?;
    let marker = server_meta::ActiveModel { name: Set(BOOTSTRAP_MARKER.into()), value: Set(clock::now().to_rfc3339()) }
        .insert(&tx)
        .await;
    match marker {
        Ok(_) => {}
        // Another instance bootstrapped concurrently.
        Err(e) if db::is_unique_violation(&e) => return Ok(FirstStart::AlreadyBootstrapped),
        Err(e) => return Err(e),
    }
    create_with_key(&tx, "default", &key).await?;
    tx.commit().await?;
    Ok(if seed.is_some() { FirstStart::Seeded } else { FirstStart::Generated(key) })
}
