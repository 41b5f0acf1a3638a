//! M2M client queries, always scoped by app (except the lookup by the public `client_id`, which
//! is globally unique and checked against the app by the caller).

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entity::m2m_client;

/// By row id or by `m2m_…` client id.
pub async fn find(db: &impl ConnectionTrait, app_id: Uuid, key: &str) -> Result<Option<m2m_client::Model>, DbErr> {
    let q = m2m_client::Entity::find().filter(m2m_client::Column::AppId.eq(app_id));
    match key.parse::<Uuid>() {
        Ok(id) => q.filter(m2m_client::Column::Id.eq(id)).one(db).await,
        Err(_) => q.filter(m2m_client::Column::ClientId.eq(key)).one(db).await,
    }
}

pub async fn find_by_client_id(db: &impl ConnectionTrait, client_id: &str) -> Result<Option<m2m_client::Model>, DbErr> {
    m2m_client::Entity::find().filter(m2m_client::Column::ClientId.eq(client_id)).one(db).await
}

pub async fn list(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<m2m_client::Model>, DbErr> {
    use m2m_client::Column as C;
    crate::db::scoped_page(m2m_client::Entity::find(), (C::AppId, app_id), C::Id, after, limit).all(db).await
}
