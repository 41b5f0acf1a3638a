//! The auth configuration rows (`auth_configs`): one JSON document per app.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set, sea_query::OnConflict};
use uuid::Uuid;

use crate::entity::auth_config;

/// The app's stored document, if it has one.
pub async fn load(db: &impl ConnectionTrait, app_id: Uuid) -> Result<Option<serde_json::Value>, DbErr> {
    Ok(auth_config::Entity::find_by_id(app_id).one(db).await?.map(|row| row.config))
}

/// Stores (inserts or replaces) the app's document.
pub async fn save(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    config: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    auth_config::Entity::insert(auth_config::ActiveModel {
        app_id: Set(app_id),
        config: Set(config),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(auth_config::Column::AppId)
            .update_columns([auth_config::Column::Config, auth_config::Column::UpdatedAt])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}
