//! M2M client queries, always scoped by app (except the lookup by the public `client_id`, which
//! is globally unique and checked against the app by the caller).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Set,
};
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

pub async fn insert(db: &impl ConnectionTrait, c: m2m_client::Model) -> Result<m2m_client::Model, DbErr> {
    m2m_client::ActiveModel {
        id: Set(c.id),
        app_id: Set(c.app_id),
        client_id: Set(c.client_id),
        name: Set(c.name),
        secret_hash: Set(c.secret_hash),
        is_active: Set(c.is_active),
        scopes: Set(c.scopes),
        created_at: Set(c.created_at),
        updated_at: Set(c.updated_at),
        last_used_at: Set(c.last_used_at),
        tenant_id: Set(c.tenant_id),
    }
    .insert(db)
    .await
}

/// The fields an update sets (`None`: left as they are).
#[derive(Default)]
pub struct Update {
    pub is_active: Option<bool>,
    pub name: Option<String>,
    pub scopes: Option<serde_json::Value>,
    pub secret_hash: Option<String>,
}

/// Writes the `Some` fields of `update` over `current`, stamping `updated_at`.
pub async fn update(
    db: &impl ConnectionTrait,
    current: m2m_client::Model,
    update: Update,
    now: DateTime<Utc>,
) -> Result<m2m_client::Model, DbErr> {
    let mut model = current.into_active_model();
    if let Some(active) = update.is_active {
        model.is_active = Set(active);
    }
    if let Some(name) = update.name {
        model.name = Set(name);
    }
    if let Some(scopes) = update.scopes {
        model.scopes = Set(scopes);
    }
    if let Some(hash) = update.secret_hash {
        model.secret_hash = Set(hash);
    }
    model.updated_at = Set(now);
    model.update(db).await
}

pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    m2m_client::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Deletes the app's clients bound to `tenant_id`; their row ids.
pub async fn delete_bound_to(db: &impl ConnectionTrait, app_id: Uuid, tenant_id: Uuid) -> Result<Vec<Uuid>, DbErr> {
    use m2m_client::Column as C;
    let ids: Vec<Uuid> = m2m_client::Entity::find()
        .select_only()
        .column(C::Id)
        .filter(C::AppId.eq(app_id))
        .filter(C::TenantId.eq(tenant_id))
        .into_tuple()
        .all(db)
        .await?;
    if !ids.is_empty() {
        m2m_client::Entity::delete_many().filter(C::Id.is_in(ids.clone())).exec(db).await?;
    }
    Ok(ids)
}
