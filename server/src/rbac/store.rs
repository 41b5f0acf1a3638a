//! Role queries, always scoped by app.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entity::role;

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

/// Permissions granted by a role. Role permissions arrive with the authorization domain; until
/// then roles grant nothing.
pub async fn permissions_of(_db: &impl ConnectionTrait, _app_id: Uuid, _role_id: Option<Uuid>) -> Result<Vec<String>, DbErr> {
    Ok(Vec::new())
}
