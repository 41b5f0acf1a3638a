//! Fixed-window failure counters stored in the database, so every instance sees the same counts.
//! They are written only on failure paths (failed sign-ins, wrong codes, bad client secrets).
//!
//! A key checked again within a couple of seconds costs no database read: each instance
//! remembers what it last learned about a key (clean, or blocked until a time) for
//! `VERDICT_TTL` — so a client authenticating over and over (the token endpoint) reads the
//! database once per key and interval, while a first sign-in of an identifier still reads it.
//! Failures always go to the database and return the shared count, so a key blocked elsewhere is
//! known here after at most one more failure or `VERDICT_TTL`, whichever comes first.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel, QuerySelect, Set};

use crate::{clock, db, entity::rate_limit, http::error::Error, ttl_cache::TtlCache};

/// How long a verdict read from the database is trusted by this instance.
const VERDICT_TTL: Duration = Duration::from_secs(2);

/// At most `max` events per `window`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

fn window_end(start: DateTime<Utc>, limit: Limit) -> DateTime<Utc> {
    start + chrono::Duration::from_std(limit.window).unwrap_or(chrono::Duration::MAX)
}

/// The counters, with this instance's short-lived memory of their verdicts.
pub struct RateLimiter {
    db: DatabaseConnection,
    /// Key → `Some(end of the blocked window)` or `None` (not blocked).
    verdicts: TtlCache<String, Option<DateTime<Utc>>>,
}

impl RateLimiter {
    pub fn new(db: DatabaseConnection) -> Self {
        RateLimiter { db, verdicts: TtlCache::new(VERDICT_TTL, 100_000) }
    }

    /// 429 with `Retry-After` if `key` has used up `limit` in its current window.
    pub async fn check(&self, key: &str, limit: Limit) -> Result<(), Error> {
        let blocked_until = match self.verdicts.get(key) {
            Some(verdict) => verdict,
            None => {
                let verdict = self.read(key, limit).await?;
                // A failure counted meanwhile may have stored a newer verdict: keep it.
                self.verdicts.insert_if_absent(key.to_owned(), verdict);
                verdict
            }
        };
        let now = clock::now();
        match blocked_until {
            Some(end) if end > now => Err(Error::too_many_requests((end - now).num_seconds().max(1) as u64)),
            _ => Ok(()),
        }
    }

    async fn read(&self, key: &str, limit: Limit) -> Result<Option<DateTime<Utc>>, DbErr> {
        let Some(row) = rate_limit::Entity::find_by_id(key.to_owned()).one(&self.db).await? else {
            return Ok(None);
        };
        let end = window_end(row.window_start, limit);
        Ok((end > clock::now() && row.count as u32 >= limit.max).then_some(end))
    }

    /// Counts one failure for `key`; returns the count in the current window.
    pub async fn hit(&self, key: &str, limit: Limit) -> Result<u32, DbErr> {
        let (count, window_start) = hit(&self.db, key, limit).await?;
        // Only a block is stored: concurrent failures finish in any order, and an earlier one's
        // "not yet" must never replace a later one's block.
        if count >= limit.max {
            self.verdicts.insert(key.to_owned(), Some(window_end(window_start, limit)));
        }
        Ok(count)
    }

    /// Forgets `key` (e.g. after a successful sign-in).
    pub async fn clear(&self, key: &str) -> Result<(), DbErr> {
        self.verdicts.remove(key);
        rate_limit::Entity::delete_by_id(key.to_owned()).exec(&self.db).await?;
        Ok(())
    }
}

/// Counts one event for `key` in the database; returns the count and the start of its window.
async fn hit(db: &DatabaseConnection, key: &str, limit: Limit) -> Result<(u32, DateTime<Utc>), DbErr> {
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
                let fresh = window_end(row.window_start, limit) <= now;
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
