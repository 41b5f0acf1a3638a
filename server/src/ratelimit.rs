//! Fixed-window counters stored in the database, so every instance sees the same counts. They
//! are written only on failure paths (failed sign-ins, wrong codes), so the happy path pays a
//! read at most.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel, QuerySelect, Set};

use crate::{clock, db, entity::rate_limit, http::error::ApiError};

/// At most `max` events per `window`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

fn window_end(start: DateTime<Utc>, limit: Limit) -> DateTime<Utc> {
    start + chrono::Duration::from_std(limit.window).unwrap_or(chrono::Duration::MAX)
}

/// 429 with `Retry-After` if `key` has used up `limit` in its current window.
pub async fn check(db: &DatabaseConnection, key: &str, limit: Limit) -> Result<(), ApiError> {
    let Some(row) = rate_limit::Entity::find_by_id(key.to_owned()).one(db).await? else {
        return Ok(());
    };
    let now = clock::now();
    let end = window_end(row.window_start, limit);
    if end > now && row.count as u32 >= limit.max {
        return Err(ApiError::too_many_requests((end - now).num_seconds().max(1) as u64));
    }
    Ok(())
}

/// Counts one event for `key`; returns the count in the current window.
pub async fn hit(db: &DatabaseConnection, key: &str, limit: Limit) -> Result<u32, DbErr> {
    for _ in 0..3 {
        let now = clock::now();
        let tx = db::begin_write(db).await?;
        let row = rate_limit::Entity::find_by_id(key.to_owned()).lock_exclusive().one(&tx).await?;
        let result = match row {
            None => rate_limit::ActiveModel { key: Set(key.to_owned()), window_start: Set(now), count: Set(1) }
                .insert(&tx)
                .await
                .map(|r| r.count),
            Some(row) => {
                let fresh = window_end(row.window_start, limit) <= now;
                let mut m = row.clone().into_active_model();
                if fresh {
                    m.window_start = Set(now);
                    m.count = Set(1);
                } else {
                    m.count = Set(row.count.saturating_add(1));
                }
                m.update(&tx).await.map(|r| r.count)
            }
        };
        match result {
            Ok(count) => {
                tx.commit().await?;
                return Ok(count.max(0) as u32);
            }
            // Another instance created the row first: count again on top of it.
            Err(e) if db::is_unique_violation(&e) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(u32::MAX)
}

/// Forgets `key` (e.g. after a successful sign-in).
pub async fn clear(db: &DatabaseConnection, key: &str) -> Result<(), DbErr> {
    rate_limit::Entity::delete_by_id(key.to_owned()).exec(db).await?;
    Ok(())
}
