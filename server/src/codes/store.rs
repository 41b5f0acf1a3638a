//! One-time code queries, always scoped by app.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, sea_query::Expr};
use uuid::Uuid;

use crate::entity::one_time_code;

/// Deletes the codes of `end_user_id` (the nil id for decoys) for `purpose`.
pub(super) async fn delete_for(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    end_user_id: Uuid,
    purpose: &str,
) -> Result<(), DbErr> {
    one_time_code::Entity::delete_many()
        .filter(one_time_code::Column::AppId.eq(app_id))
        .filter(one_time_code::Column::EndUserId.eq(end_user_id))
        .filter(one_time_code::Column::Purpose.eq(purpose))
        .exec(db)
        .await?;
    Ok(())
}

/// A code row to store.
pub(super) struct NewCode {
    pub app_id: Uuid,
    pub end_user_id: Option<Uuid>,
    pub purpose: String,
    pub code_hash: String,
    pub contact: Option<String>,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

pub(super) async fn insert(db: &impl ConnectionTrait, new: NewCode) -> Result<one_time_code::Model, DbErr> {
    one_time_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(new.app_id),
        end_user_id: Set(new.end_user_id),
        purpose: Set(new.purpose),
        code_hash: Set(new.code_hash),
        contact: Set(new.contact),
        created_at: Set(new.now),
        expires_at: Set(new.expires_at),
        used_at: Set(new.used_at),
    }
    .insert(db)
    .await
}

/// The code with this hash for `purpose`, in any state.
pub(super) async fn find(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    code_hash: &str,
    purpose: &str,
) -> Result<Option<one_time_code::Model>, DbErr> {
    one_time_code::Entity::find()
        .filter(one_time_code::Column::AppId.eq(app_id))
        .filter(one_time_code::Column::CodeHash.eq(code_hash))
        .filter(one_time_code::Column::Purpose.eq(purpose))
        .one(db)
        .await
}

/// Marks the code used; false if it already was (a concurrent consumer won).
pub(super) async fn claim(db: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let res = one_time_code::Entity::update_many()
        .col_expr(one_time_code::Column::UsedAt, Expr::value(now))
        .filter(one_time_code::Column::Id.eq(id))
        .filter(one_time_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Deletes codes that expired before `cutoff`; returns how many.
pub(super) async fn prune(db: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(one_time_code::Entity::delete_many()
        .filter(one_time_code::Column::ExpiresAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}
