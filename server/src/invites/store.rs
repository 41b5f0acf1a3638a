//! Invite queries, always scoped by app.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::entity::invite;

/// An invite row to store.
pub(super) struct NewInvite {
    pub app_id: Uuid,
    pub code_hash: String,
    pub code_prefix: String,
    pub email: String,
    pub name: Option<String>,
    pub role_id: Uuid,
    pub max_uses: i32,
    pub created_by: String,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub tenant_id: Option<Uuid>,
}

pub(super) async fn insert(db: &impl ConnectionTrait, new: NewInvite) -> Result<invite::Model, DbErr> {
    invite::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(new.app_id),
        code_hash: Set(new.code_hash),
        code_prefix: Set(new.code_prefix),
        email: Set(new.email),
        name: Set(new.name),
        role_id: Set(new.role_id),
        max_uses: Set(new.max_uses),
        use_count: Set(0),
        created_by: Set(new.created_by),
        created_at: Set(new.now),
        expires_at: Set(new.expires_at),
        revoked_at: Set(None),
        tenant_id: Set(new.tenant_id),
    }
    .insert(db)
    .await
}

/// A page of the app's invites, oldest first.
pub(super) async fn list(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<invite::Model>, DbErr> {
    use invite::Column as C;
    crate::db::scoped_page(invite::Entity::find(), (C::AppId, app_id), C::Id, after, limit).all(db).await
}

pub(super) async fn find(db: &impl ConnectionTrait, app_id: Uuid, id: Uuid) -> Result<Option<invite::Model>, DbErr> {
    invite::Entity::find_by_id(id).filter(invite::Column::AppId.eq(app_id)).one(db).await
}

pub(super) async fn find_by_code_hash(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    code_hash: &str,
) -> Result<Option<invite::Model>, DbErr> {
    invite::Entity::find()
        .filter(invite::Column::AppId.eq(app_id))
        .filter(invite::Column::CodeHash.eq(code_hash))
        .one(db)
        .await
}

pub(super) async fn revoke(db: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> Result<(), DbErr> {
    invite::Entity::update_many()
        .col_expr(invite::Column::RevokedAt, Expr::value(now))
        .filter(invite::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Revokes the app's unrevoked invites into `tenant_id`; how many.
pub(super) async fn revoke_into_tenant(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    tenant_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let done = invite::Entity::update_many()
        .col_expr(invite::Column::RevokedAt, Expr::value(now))
        .filter(invite::Column::AppId.eq(app_id))
        .filter(invite::Column::TenantId.eq(tenant_id))
        .filter(invite::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

/// Claims one use of a live invite with a conditional update; false when it is revoked,
/// expired or used up (exactly `max_uses` concurrent claims win).
pub(super) async fn claim_use(db: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let claimed = invite::Entity::update_many()
        .col_expr(invite::Column::UseCount, Expr::col(invite::Column::UseCount).add(1))
        .filter(invite::Column::Id.eq(id))
        .filter(invite::Column::RevokedAt.is_null())
        .filter(invite::Column::ExpiresAt.gt(now))
        .filter(Expr::col(invite::Column::UseCount).lt(Expr::col(invite::Column::MaxUses)))
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}
