//! Role queries, always scoped by app.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::entity::{role, role_permission};

pub async fn find_by_name(db: &impl ConnectionTrait, app_id: Uuid, name: &str) -> Result<Option<role::Model>, DbErr> {
    role::Entity::find().filter(role::Column::AppId.eq(app_id)).filter(role::Column::Name.eq(name)).one(db).await
}

pub async fn find(db: &impl ConnectionTrait, app_id: Uuid, id: Uuid) -> Result<Option<role::Model>, DbErr> {
    role::Entity::find_by_id(id).filter(role::Column::AppId.eq(app_id)).one(db).await
}

/// Role id → name for every role of the app.
pub async fn names(db: &impl ConnectionTrait, app_id: Uuid) -> Result<HashMap<Uuid, String>, DbErr> {
    Ok(role::Entity::find()
        .filter(role::Column::AppId.eq(app_id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect())
}

/// Permissions granted by a role (none without a role), as carried in new access tokens.
pub async fn permissions_of(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    role_id: Option<Uuid>,
) -> Result<Vec<String>, DbErr> {
    let Some(role_id) = role_id else { return Ok(Vec::new()) };
    Ok(role_permission::Entity::find()
        .filter(role_permission::Column::RoleId.eq(role_id))
        .filter(role_permission::Column::AppId.eq(app_id))
        .order_by_asc(role_permission::Column::Permission)
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.permission)
        .collect())
}

/// A page of the app's roles, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<role::Model>, DbErr> {
    use role::Column as C;
    crate::db::scoped_page(role::Entity::find(), (C::AppId, app_id), C::Id, after, limit).all(db).await
}
