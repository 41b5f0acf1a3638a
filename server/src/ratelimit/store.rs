//! The rate-limit counters' rows (`rate_limits`): one row per key and window.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, DbErr, EntityTrait, IntoActiveModel, QuerySelect, Set};

use crate::{
    clock,
    db::{self, Db},
    entity::rate_limit,
};

/// The window start and count stored for `key`.
pub async fn find(db: &Db, key: &str) -> Result<Option<(DateTime<Utc>, i32)>, DbErr> {
    Ok(rate_limit::Entity::find_by_id(key.to_owned()).one(db).await?.map(|row| (row.window_start, row.count)))
}

/// Forgets `key`'s counter.
pub async fn delete(db: &Db, key: &str) -> Result<(), DbErr> {
    rate_limit::Entity::delete_by_id(key.to_owned()).exec(db).await?;
    Ok(())
}

/// Counts one event for `key` in the database; returns the count and the start of its window.
pub async fn hit(db: &Db, key: &str, window: Duration) -> Result<(u32, DateTime<Utc>), DbErr> {
    for _ in 0..3 {
        let now = clock::now();
        let tx = db::begin_write(db).await?;
        let row = rate_limit::Entity::find_by_id(key.to_owned()).lock_exclusive().one(&tx).await?;
        let result = match row {
            None => rate_limit::ActiveModel { key: Set(key.to_owned()), window_start: Set(now), count: Set(1) }
                .insert(&tx)
                .await
                .map(|r| (r.count, r.window_start)),
            Some(row) => {
                let fresh =
                    row.window_start + chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX) <= now;
                let mut m = row.clone().into_active_model();
                if fresh {
                    m.window_start = Set(now);
                    m.count = Set(1);
                } else {
                    m.count = Set(row.count.saturating_add(1));
                }
                m.update(&tx).await.map(|r| (r.count, r.window_start))
            }
        };
        match result {
            Ok((count, start)) => {
                tx.commit().await?;
                return Ok((count.max(0) as u32, start));
            }
            // Another instance created the row first: count again on top of it.
            Err(e) if db::is_unique_violation(&e) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok((u32::MAX, clock::now()))
}
