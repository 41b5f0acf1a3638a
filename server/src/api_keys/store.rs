//! App API key rows (`app_api_keys`), always scoped by app.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::entity::app_api_key;

/// One page of the app's keys, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<app_api_key::Model>, DbErr> {
    use app_api_key::Column as C;
    crate::db::scoped_page(app_api_key::Entity::find(), (C::AppId, app_id), C::Id, after, limit).all(db).await
}

pub async fn insert(db: &impl ConnectionTrait, row: app_api_key::Model) -> Result<app_api_key::Model, DbErr> {
    app_api_key::ActiveModel {
        id: Set(row.id),
        app_id: Set(row.app_id),
        name: Set(row.name),
        key_prefix: Set(row.key_prefix),
        key_hash: Set(row.key_hash),
        permissions: Set(row.permissions),
        created_at: Set(row.created_at),
        last_used_at: Set(row.last_used_at),
    }
    .insert(db)
    .await
}

/// Deletes the app's key `key_id`; `false` when the app has no such key.
pub async fn delete(db: &impl ConnectionTrait, app_id: Uuid, key_id: Uuid) -> Result<bool, DbErr> {
    let deleted = app_api_key::Entity::delete_many()
        .filter(app_api_key::Column::Id.eq(key_id))
        .filter(app_api_key::Column::AppId.eq(app_id))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}
