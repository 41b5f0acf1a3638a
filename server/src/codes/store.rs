//! One-time code queries, always scoped by app.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IdenStatic, QueryFilter, Set,
    sea_query::{Expr, ExprTrait, OnConflict, Query},
};
use uuid::Uuid;

use crate::entity::{code_attempt_counter, one_time_code};

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
    pub attempts_at_mint: i64,
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
        attempts_at_mint: Set(new.attempts_at_mint),
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

/// The app's code-attempt counter for `purpose` (0 before its first attempt).
pub(super) async fn attempts(db: &impl ConnectionTrait, app_id: Uuid, purpose: &str) -> Result<i64, DbErr> {
    let row = code_attempt_counter::Entity::find_by_id((app_id, purpose.to_owned())).one(db).await?;
    Ok(row.map_or(0, |r| r.attempts))
}

/// Draws the next number of the app's code-attempt counter for `purpose`, in one statement:
/// concurrent attempts, on any instance, each get a different number.
pub(super) async fn draw_attempt(db: &impl ConnectionTrait, app_id: Uuid, purpose: &str) -> Result<i64, DbErr> {
    use code_attempt_counter::Column::{AppId, Attempts, Purpose};
    let insert = Query::insert()
        .into_table(code_attempt_counter::Entity)
        .columns([AppId, Purpose, Attempts])
        .values_panic([app_id.into(), purpose.into(), 1i64.into()])
        .on_conflict(
            OnConflict::columns([AppId, Purpose])
                .value(Attempts, Expr::col((code_attempt_counter::Entity, Attempts)).add(1i64))
                .to_owned(),
        )
        .returning(Query::returning().column(Attempts))
        .to_owned();
    let row = db.query_one(&insert).await?.ok_or_else(|| DbErr::RecordNotFound("code attempt counter".into()))?;
    row.try_get("", Attempts.as_str())
}

/// Gives back a number drawn by an attempt that succeeded.
pub(super) async fn return_attempt(db: &impl ConnectionTrait, app_id: Uuid, purpose: &str) -> Result<(), DbErr> {
    code_attempt_counter::Entity::update_many()
        .col_expr(code_attempt_counter::Column::Attempts, Expr::col(code_attempt_counter::Column::Attempts).sub(1i64))
        .filter(code_attempt_counter::Column::AppId.eq(app_id))
        .filter(code_attempt_counter::Column::Purpose.eq(purpose))
        .exec(db)
        .await?;
    Ok(())
}
