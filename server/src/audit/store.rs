//! Audit-log queries; every read is filtered by app.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::Entry;
use crate::{clock, entity::audit_log};

pub async fn insert(conn: &impl ConnectionTrait, e: Entry) -> Result<(), DbErr> {
    audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(e.app_id),
        actor_type: Set(e.actor.kind.as_str().to_owned()),
        actor_id: Set(e.actor.id),
        action: Set(e.action.as_str().to_owned()),
        resource_type: Set(e.resource_type),
        resource_id: Set(e.resource_id),
        details: Set(e.details),
        request_id: Set(e.request_id),
        ip: Set(e.ip),
        created_at: Set(clock::now()),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Filters of the admin listing.
#[derive(Debug, Default)]
pub struct Filter {
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
}

impl Filter {
    /// Entries by one actor.
    pub fn by_actor(actor_id: String) -> Self {
        Filter { actor_id: Some(actor_id), ..Default::default() }
    }
}

/// Newest first, `limit` rows strictly older than `before`.
pub async fn list(
    conn: &impl ConnectionTrait,
    app_id: Uuid,
    filter: &Filter,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<audit_log::Model>, DbErr> {
    let mut q = audit_log::Entity::find().filter(audit_log::Column::AppId.eq(app_id));
    if let Some(action) = &filter.action {
        q = q.filter(audit_log::Column::Action.eq(action.as_str()));
    }
    if let Some(actor) = &filter.actor_id {
        q = q.filter(audit_log::Column::ActorId.eq(actor.as_str()));
    }
    if let Some(kind) = &filter.resource_type {
        q = q.filter(audit_log::Column::ResourceType.eq(kind.as_str()));
    }
    if let Some(id) = &filter.resource_id {
        q = q.filter(audit_log::Column::ResourceId.eq(id.as_str()));
    }
    if let Some(before) = before {
        q = q.filter(audit_log::Column::Id.lt(before));
    }
    q.order_by_desc(audit_log::Column::Id).limit(limit).all(conn).await
}
