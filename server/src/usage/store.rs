//! `last_used_at` stamps on the credential tables (platform keys, app keys, M2M clients).

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use crate::entity::{app_api_key, m2m_client, platform_api_key};

pub async fn stamp_platform_key(db: &impl ConnectionTrait, id: Uuid, at: DateTime<Utc>) -> Result<(), DbErr> {
    stamp::<platform_api_key::Entity>(db, platform_api_key::Column::Id, platform_api_key::Column::LastUsedAt, id, at)
        .await
}

pub async fn stamp_app_key(db: &impl ConnectionTrait, id: Uuid, at: DateTime<Utc>) -> Result<(), DbErr> {
    stamp::<app_api_key::Entity>(db, app_api_key::Column::Id, app_api_key::Column::LastUsedAt, id, at).await
}

pub async fn stamp_client(db: &impl ConnectionTrait, id: Uuid, at: DateTime<Utc>) -> Result<(), DbErr> {
    stamp::<m2m_client::Entity>(db, m2m_client::Column::Id, m2m_client::Column::LastUsedAt, id, at).await
}

async fn stamp<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id_column: E::Column,
    last_used: E::Column,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    E::update_many().col_expr(last_used, Expr::value(at)).filter(id_column.eq(id)).exec(db).await?;
    Ok(())
}
