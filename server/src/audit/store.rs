//! Audit-log queries; every read is filtered by app.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::entry::{Entry, Filter, Scope};
use crate::{
    clock,
    entity::{audit_log, workspace_audit_log},
};

pub async fn insert(conn: &impl ConnectionTrait, e: Entry) -> Result<(), DbErr> {
    let app_id = match e.scope {
        Scope::App(app_id) => app_id,
        Scope::Workspace(workspace_id) => return insert_workspace(conn, workspace_id, e).await,
    };
    audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(app_id),
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

async fn insert_workspace(conn: &impl ConnectionTrait, workspace_id: Uuid, e: Entry) -> Result<(), DbErr> {
    workspace_audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(workspace_id),
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

/// The workspace's own log, newest first, `limit` rows strictly older than `before`.
pub async fn list_workspace(
    conn: &impl ConnectionTrait,
    workspace_id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<workspace_audit_log::Model>, DbErr> {
    use workspace_audit_log::Column as C;
    crate::db::scoped_page_newest_first(
        workspace_audit_log::Entity::find(),
        (C::WorkspaceId, workspace_id),
        C::Id,
        before,
        limit,
    )
    .all(conn)
    .await
}

/// Newest first, `limit` rows strictly older than `before`.
pub async fn list(
    conn: &impl ConnectionTrait,
    app_id: Uuid,
    filter: &Filter,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<audit_log::Model>, DbErr> {
    let mut q = audit_log::Entity::find();
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
    use audit_log::Column as C;
    crate::db::scoped_page_newest_first(q, (C::AppId, app_id), C::Id, before, limit).all(conn).await
}
