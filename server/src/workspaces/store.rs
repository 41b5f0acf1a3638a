//! Workspaces, platform API keys and the first-start marker (`server_meta`).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    sea_query::Expr,
};
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
        expires_at: Set(None),
        revoked_at: Set(None),
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

/// The workspace `id`.
pub async fn workspace(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<workspace::Model>, DbErr> {
    workspace::Entity::find_by_id(id).one(db).await
}

/// The oldest workspace, which `heimdall bootstrap` issues keys for when one exists.
pub async fn oldest_workspace(db: &impl ConnectionTrait) -> Result<Option<workspace::Model>, DbErr> {
    workspace::Entity::find()
        .order_by_asc(workspace::Column::CreatedAt)
        .order_by_asc(workspace::Column::Id)
        .one(db)
        .await
}

/// One page of the workspace's platform keys, oldest first (revoked ones included).
pub async fn list_keys(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<platform_api_key::Model>, DbErr> {
    use platform_api_key::Column as C;
    db::scoped_page(platform_api_key::Entity::find(), (C::WorkspaceId, workspace_id), C::Id, after, limit).all(db).await
}

pub async fn insert_key(
    db: &impl ConnectionTrait,
    row: platform_api_key::Model,
) -> Result<platform_api_key::Model, DbErr> {
    platform_api_key::ActiveModel {
        id: Set(row.id),
        workspace_id: Set(row.workspace_id),
        name: Set(row.name),
        key_prefix: Set(row.key_prefix),
        key_hash: Set(row.key_hash),
        permissions: Set(row.permissions),
        created_at: Set(row.created_at),
        last_used_at: Set(row.last_used_at),
        expires_at: Set(row.expires_at),
        revoked_at: Set(row.revoked_at),
    }
    .insert(db)
    .await
}

/// The workspace's key `key_id`.
pub async fn find_key(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    key_id: Uuid,
) -> Result<Option<platform_api_key::Model>, DbErr> {
    platform_api_key::Entity::find_by_id(key_id)
        .filter(platform_api_key::Column::WorkspaceId.eq(workspace_id))
        .one(db)
        .await
}

/// Stamps the workspace's key `key_id` revoked at `at`; `false` when it was already revoked
/// (or is not the workspace's).
pub async fn revoke_key(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    key_id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    use platform_api_key::Column as C;
    let updated = platform_api_key::Entity::update_many()
        .col_expr(C::RevokedAt, Expr::value(at))
        .filter(C::Id.eq(key_id))
        .filter(C::WorkspaceId.eq(workspace_id))
        .filter(C::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(updated.rows_affected > 0)
}
