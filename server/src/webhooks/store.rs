//! Webhook endpoint rows and their delivery log, always scoped by app (the delivery task finds
//! an endpoint by id, then works within its app).

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, Set};
use uuid::Uuid;

use crate::entity::{webhook_attempt, webhook_endpoint};

/// One page of the app's endpoints, oldest first.
pub(super) async fn list(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<webhook_endpoint::Model>, DbErr> {
    use webhook_endpoint::Column as C;
    crate::db::scoped_page(webhook_endpoint::Entity::find(), (C::AppId, app_id), C::Id, after, limit).all(db).await
}

/// The app's endpoint `id`.
pub(super) async fn get(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    id: Uuid,
) -> Result<Option<webhook_endpoint::Model>, DbErr> {
    webhook_endpoint::Entity::find_by_id(id).filter(webhook_endpoint::Column::AppId.eq(app_id)).one(db).await
}

pub(super) async fn insert(
    db: &impl ConnectionTrait,
    row: webhook_endpoint::Model,
) -> Result<webhook_endpoint::Model, DbErr> {
    row.into_active_model().reset_all().insert(db).await
}

/// Writes every column of `row` (found by id within its app).
pub(super) async fn save(
    db: &impl ConnectionTrait,
    row: webhook_endpoint::Model,
) -> Result<webhook_endpoint::Model, DbErr> {
    row.into_active_model().reset_all().update(db).await
}

/// Deletes the app's endpoint `id`; `false` when the app has no such endpoint.
pub(super) async fn delete(db: &impl ConnectionTrait, app_id: Uuid, id: Uuid) -> Result<bool, DbErr> {
    let deleted = webhook_endpoint::Entity::delete_many()
        .filter(webhook_endpoint::Column::Id.eq(id))
        .filter(webhook_endpoint::Column::AppId.eq(app_id))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}

/// Disables the endpoint with `reason` unless it is disabled already; `false` when it was.
pub(super) async fn disable(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    id: Uuid,
    reason: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    use webhook_endpoint::Column as C;
    let updated = webhook_endpoint::Entity::update_many()
        .col_expr(C::Enabled, sea_orm::sea_query::Expr::value(false))
        .col_expr(C::DisabledReason, sea_orm::sea_query::Expr::value(reason))
        .col_expr(C::UpdatedAt, sea_orm::sea_query::Expr::value(at))
        .filter(C::Id.eq(id))
        .filter(C::AppId.eq(app_id))
        .filter(C::Enabled.eq(true))
        .exec(db)
        .await?;
    Ok(updated.rows_affected > 0)
}

pub(super) async fn log_attempt(db: &impl ConnectionTrait, row: webhook_attempt::Model) -> Result<(), DbErr> {
    webhook_attempt::ActiveModel {
        id: Set(row.id),
        endpoint_id: Set(row.endpoint_id),
        app_id: Set(row.app_id),
        event_id: Set(row.event_id),
        event_seq: Set(row.event_seq),
        event_type: Set(row.event_type),
        attempted_at: Set(row.attempted_at),
        status_code: Set(row.status_code),
        latency_ms: Set(row.latency_ms),
        error: Set(row.error),
        manual: Set(row.manual),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// One page of the endpoint's attempts, newest first (ids before `before`).
pub(super) async fn attempts(
    db: &impl ConnectionTrait,
    endpoint_id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<webhook_attempt::Model>, DbErr> {
    use webhook_attempt::Column as C;
    crate::db::scoped_page_newest_first(
        webhook_attempt::Entity::find(),
        (C::EndpointId, endpoint_id),
        C::Id,
        before,
        limit,
    )
    .all(db)
    .await
}

/// The endpoint `id` in whatever app it is (the delivery task's read).
pub(super) async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<webhook_endpoint::Model>, DbErr> {
    webhook_endpoint::Entity::find_by_id(id).one(db).await
}

/// Deletes log entries older than `cutoff`.
pub(super) async fn prune_attempts(
    db: &impl ConnectionTrait,
    cutoff: chrono::DateTime<chrono::Utc>,
) -> Result<u64, DbErr> {
    Ok(webhook_attempt::Entity::delete_many()
        .filter(webhook_attempt::Column::AttemptedAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}
