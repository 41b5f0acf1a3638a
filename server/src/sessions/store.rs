//! Session and refresh-token queries, always scoped by app.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Set,
    sea_query::{Alias, Expr, ExprTrait, JoinType, Query},
};
use uuid::Uuid;

use crate::entity::{end_user, end_user::EndUserStatus, refresh_token, role, session};

pub(super) async fn insert_refresh(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    session_id: Uuid,
    token_hash: String,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session_id),
        app_id: Set(app_id),
        token_hash: Set(token_hash),
        created_at: Set(now),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub(super) async fn find_refresh(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    hash: &str,
) -> Result<Option<refresh_token::Model>, DbErr> {
    refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .filter(refresh_token::Column::AppId.eq(app_id))
        .one(db)
        .await
}

/// Marks a refresh token used; false if it already was (a concurrent refresh won).
pub(super) async fn mark_used(db: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let res = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub(super) async fn find(db: &impl ConnectionTrait, app_id: Uuid, id: Uuid) -> Result<Option<session::Model>, DbErr> {
    session::Entity::find_by_id(id).filter(session::Column::AppId.eq(app_id)).one(db).await
}

/// Moves a session to another tenant (`None`: app-wide).
pub(super) async fn set_tenant(db: &impl ConnectionTrait, id: Uuid, tenant_id: Option<Uuid>) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::TenantId, Expr::value(tenant_id))
        .filter(session::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub(super) async fn touch(db: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::LastUsedAt, Expr::value(now))
        .filter(session::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Revokes one live session; false if it was not live.
pub(super) async fn revoke(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .col_expr(session::Column::RevokeReason, Expr::value(reason))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::AppId.eq(app_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Revokes every live session of a user; returns how many.
pub(super) async fn revoke_all(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    user_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let res = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .col_expr(session::Column::RevokeReason, Expr::value(reason))
        .filter(session::Column::AppId.eq(app_id))
        .filter(session::Column::EndUserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// A user's live sessions, oldest first (`after`/`limit` page by id).
pub(super) async fn live(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
    after: Option<Uuid>,
    limit: Option<u64>,
) -> Result<Vec<session::Model>, DbErr> {
    let mut q = session::Entity::find()
        .filter(session::Column::AppId.eq(app_id))
        .filter(session::Column::EndUserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now));
    if let Some(after) = after {
        q = q.filter(session::Column::Id.gt(after));
    }
    if let Some(limit) = limit {
        q = q.limit(limit);
    }
    q.order_by_asc(session::Column::Id).all(db).await
}

/// What an authorization decision needs of a session, in one query: the session, its user's
/// status and role, and the role's name (all of the app; a missing user or role reads as `None`).
#[derive(Debug, Clone, FromQueryResult)]
pub struct SessionRow {
    pub end_user_id: Uuid,
    pub revoked_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    /// The user's status.
    pub status: Option<EndUserStatus>,
    pub role_id: Option<Uuid>,
    pub role_name: Option<String>,
}

pub(super) async fn facts(db: &impl ConnectionTrait, app_id: Uuid, sid: Uuid) -> Result<Option<SessionRow>, DbErr> {
    let query = Query::select()
        .column((session::Entity, session::Column::EndUserId))
        .column((session::Entity, session::Column::RevokedAt))
        .column((session::Entity, session::Column::ExpiresAt))
        .expr_as(Expr::col((end_user::Entity, end_user::Column::Status)), Alias::new("status"))
        .expr_as(Expr::col((end_user::Entity, end_user::Column::RoleId)), Alias::new("role_id"))
        .expr_as(Expr::col((role::Entity, role::Column::Name)), Alias::new("role_name"))
        .from(session::Entity)
        .join(
            JoinType::LeftJoin,
            end_user::Entity,
            Expr::col((end_user::Entity, end_user::Column::Id))
                .equals((session::Entity, session::Column::EndUserId))
                .and(Expr::col((end_user::Entity, end_user::Column::AppId)).eq(app_id)),
        )
        .join(
            JoinType::LeftJoin,
            role::Entity,
            Expr::col((role::Entity, role::Column::Id))
                .equals((end_user::Entity, end_user::Column::RoleId))
                .and(Expr::col((role::Entity, role::Column::AppId)).eq(app_id)),
        )
        .and_where(Expr::col((session::Entity, session::Column::Id)).eq(sid))
        .and_where(Expr::col((session::Entity, session::Column::AppId)).eq(app_id))
        .to_owned();
    let statement = db.get_database_backend().build(&query);
    SessionRow::find_by_statement(statement).one(db).await
}

/// A session to open.
pub(super) struct NewSession {
    pub app_id: Uuid,
    pub end_user_id: Uuid,
    pub amr: serde_json::Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub tenant_id: Option<Uuid>,
}

/// Inserts a session.
pub(super) async fn insert(db: &impl ConnectionTrait, new: NewSession) -> Result<session::Model, DbErr> {
    session::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(new.app_id),
        end_user_id: Set(new.end_user_id),
        amr: Set(new.amr),
        ip: Set(new.ip),
        user_agent: Set(new.user_agent),
        created_at: Set(new.now),
        last_used_at: Set(new.now),
        expires_at: Set(new.expires_at),
        revoked_at: Set(None),
        revoke_reason: Set(None),
        tenant_id: Set(new.tenant_id),
    }
    .insert(db)
    .await
}
