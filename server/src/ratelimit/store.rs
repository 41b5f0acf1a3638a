//! The rate-limit counters' rows (`rate_limits`): one row per key and window.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IdenStatic, QueryFilter,
    sea_query::{Expr, ExprTrait, OnConflict, Query},
};

use crate::{clock, db::Db, entity::rate_limit};

/// The window start and count stored for `key`.
pub async fn find(db: &Db, key: &str) -> Result<Option<(DateTime<Utc>, i32)>, DbErr> {
    Ok(rate_limit::Entity::find_by_id(key.to_owned()).one(db).await?.map(|row| (row.window_start, row.count)))
}

/// Forgets `key`'s counter.
pub async fn delete(db: &Db, key: &str) -> Result<(), DbErr> {
    rate_limit::Entity::delete_by_id(key.to_owned()).exec(db).await?;
    Ok(())
}

/// Counts one event for `key` in one statement — the row is created, restarted when its window
/// has ended, or incremented — and returns the count and the start of its window. Concurrent
/// callers, on any instance, each get a different count.
pub async fn hit(db: &Db, key: &str, window: Duration) -> Result<(u32, DateTime<Utc>), DbErr> {
    use rate_limit::Column::{Count, Key, WindowStart};
    let now = clock::now();
    let last_ended_start = chrono::Duration::from_std(window)
        .ok()
        .and_then(|w| now.checked_sub_signed(w))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let ended = Expr::col((rate_limit::Entity, WindowStart)).lte(last_ended_start);
    let insert = Query::insert()
        .into_table(rate_limit::Entity)
        .columns([Key, WindowStart, Count])
        .values_panic([key.into(), now.into(), 1i32.into()])
        // Every assignment reads the row as it was, on both databases.
        .on_conflict(
            OnConflict::column(Key)
                .value(Count, Expr::case(ended.clone(), 1i32).finally(Expr::col((rate_limit::Entity, Count)).add(1i32)))
                .value(WindowStart, Expr::case(ended, now).finally(Expr::col((rate_limit::Entity, WindowStart))))
                .to_owned(),
        )
        .returning(Query::returning().columns([Count, WindowStart]))
        .to_owned();
    let row = db.query_one(&insert).await?.ok_or_else(|| DbErr::RecordNotFound("rate limit row".into()))?;
    let count: i32 = row.try_get("", Count.as_str())?;
    Ok((u32::try_from(count).unwrap_or(0), row.try_get("", WindowStart.as_str())?))
}

/// Takes back one event counted for `key` in the window that started at `window_start` (a
/// window that has since restarted has nothing to take back).
pub async fn release(db: &Db, key: &str, window_start: DateTime<Utc>) -> Result<(), DbErr> {
    rate_limit::Entity::update_many()
        .col_expr(rate_limit::Column::Count, Expr::col(rate_limit::Column::Count).sub(1i32))
        .filter(rate_limit::Column::Key.eq(key))
        .filter(rate_limit::Column::WindowStart.eq(window_start))
        .filter(rate_limit::Column::Count.gt(0))
        .exec(db)
        .await?;
    Ok(())
}
