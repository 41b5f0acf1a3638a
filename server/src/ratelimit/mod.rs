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

use crate::{clock, db::Db, error::Error, ttl_cache::TtlCache};

mod store;

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
    db: Db,
    /// Key → `Some(end of the blocked window)` or `None` (not blocked).
    verdicts: TtlCache<String, Option<DateTime<Utc>>>,
}

impl RateLimiter {
    pub fn new(db: Db) -> Self {
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

    async fn read(&self, key: &str, limit: Limit) -> Result<Option<DateTime<Utc>>, Error> {
        let Some((window_start, count)) = store::find(&self.db, key).await? else {
            return Ok(None);
        };
        let end = window_end(window_start, limit);
        Ok((end > clock::now() && count as u32 >= limit.max).then_some(end))
    }

    /// Counts one failure for `key`; returns the count in the current window.
    pub async fn hit(&self, key: &str, limit: Limit) -> Result<u32, Error> {
        let (count, window_start) = store::hit(&self.db, key, limit.window).await?;
        // Only a block is stored: concurrent failures finish in any order, and an earlier one's
        // "not yet" must never replace a later one's block.
        if count >= limit.max {
            self.verdicts.insert(key.to_owned(), Some(window_end(window_start, limit)));
        }
        Ok(count)
    }

    /// Forgets `key` (e.g. after a successful sign-in).
    pub async fn clear(&self, key: &str) -> Result<(), Error> {
        self.verdicts.remove(key);
        store::delete(&self.db, key).await?;
        Ok(())
    }
}
