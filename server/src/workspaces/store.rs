//! Workspaces, platform API keys and the first-start marker (`server_meta`).

use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, Set};
use uuid::Uuid;

use crate::{
    clock,
    db::{self, Db},
    entity::{platform_api_key, server_meta, workspace},
    secrets::{self, PlatformKey},
};

/// Marker row that makes the first-start bootstrap happen once even with concurrent instances.
const BOOTSTRAP_MARKER: &str = "bootstrapped";

/// Whether any workspace exists.
pub async fn any_workspace(db: &Db) -> Result<bool, DbErr> {
    Ok(workspace::Entity::find().count(db).await? > 0)
}

/// A new workspace and its first platform API key (holding every permission).
pub async fn insert_with_key(db: &impl ConnectionTrait, name: &str, key: &PlatformKey) -> Result<Uuid, DbErr> {
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

/// Writes the bootstrap marker and the `default` workspace with `key` in one transaction;
/// `false` when another instance bootstrapped concurrently (the marker was already there).
pub async fn bootstrap(db: &Db, key: &PlatformKey) -> Result<bool, DbErr> {
    let tx = db::begin_write(db).await?;
    let marker = server_meta::ActiveModel { name: Set(BOOTSTRAP_MARKER.into()), value: Set(clock::now().to_rfc3339()) }
        .insert(&tx)
        .await;
    match marker {
        Ok(_) => {}
        // Another instance bootstrapped concurrently.
        Err(e) if db::is_unique_violation(&e) => return Ok(false),
        Err(e) => return Err(e),
    }
    insert_with_key(&tx, "default", key).await?;
    tx.commit().await?;
    Ok(true)
}
