//! Credential lookups by SHA-256.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entity::{app, app_api_key, platform_api_key};

pub(super) async fn platform_key(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Option<platform_api_key::Model>, DbErr> {
    platform_api_key::Entity::find().filter(platform_api_key::Column::KeyHash.eq(hash)).one(db).await
}

/// An app key with its app's workspace (`None` also when the app is gone).
pub(super) async fn app_key(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Option<(app_api_key::Model, Uuid)>, DbErr> {
    let Some(key) = app_api_key::Entity::find().filter(app_api_key::Column::KeyHash.eq(hash)).one(db).await? else {
        return Ok(None);
    };
    Ok(app::Entity::find_by_id(key.app_id).one(db).await?.map(|a| (key, a.workspace_id)))
}
