//! Fixed-window attempt counters stored in the database, so every instance sees the same counts.
//! They are written only where an attempt can fail (sign-ins, codes, client secrets), never on a
//! success that needed no budget (a correct client secret).
//!
//! An attempt is counted *before* the work it guards (`reserve`): one statement increments the
//! shared count and returns it, so of N concurrent attempts — on any number of instances — exactly
//! those that drew a count within the budget go on; the rest get 429 without being evaluated.
//! An attempt that succeeds gives its count back (`release`). Where the check itself is cheap and
//! a success must not write (the token endpoint), the caller evaluates first and counts only a
//! failure (`hit`), whose drawn count decides between the failure's own answer and 429.
//!
//! A key already blocked costs no database write: each instance remembers a block it learned
//! (from its own count or a `check`) until the window ends, for at most `VERDICT_TTL`, and
//! `check` remembers a clean read as long — so a client authenticating over and over (the token
//! endpoint) reads the database once per key and interval.

use std::{net::IpAddr, time::Duration};

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
            Some(end) if end > now => Err(retry_at(end, now)),
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

    /// Counts one attempt for `key` before it is evaluated: 429 with `Retry-After` (and nothing
    /// to evaluate) when the count it drew is beyond `limit`. Give the reservation back with
    /// `release` if the attempt succeeds.
    pub async fn reserve(&self, key: &str, limit: Limit) -> Result<Reservation, Error> {
        // Known blocked: refused without a write.
        if let Some(Some(end)) = self.verdicts.get(key) {
            let now = clock::now();
            if end > now {
                return Err(retry_at(end, now));
            }
        }
        let (count, window_start) = store::hit(&self.db, key, limit.window).await?;
        let end = window_end(window_start, limit);
        if count >= limit.max {
            // Only a block is stored: concurrent attempts finish in any order, and an earlier
            // one's "not yet" must never replace a later one's block.
            self.verdicts.insert(key.to_owned(), Some(end));
        }
        if count > limit.max {
            return Err(retry_at(end, clock::now()));
        }
        Ok(Reservation { key: key.to_owned(), window_start })
    }

    /// Counts one failure that was already evaluated: 429 with `Retry-After` when it was beyond
    /// `limit` (the caller answers it instead of the failure).
    pub async fn hit(&self, key: &str, limit: Limit) -> Result<(), Error> {
        self.reserve(key, limit).await.map(|_counted| ())
    }

    /// Gives back a reserved attempt that succeeded. Best effort: if the database fails, the
    /// attempt stays counted, which errs on the safe side.
    pub async fn release(&self, reservation: Reservation) {
        // The block this attempt may have completed is no longer certain: ask the database next.
        self.verdicts.remove(&reservation.key);
        if let Err(e) = store::release(&self.db, &reservation.key, reservation.window_start).await {
            tracing::warn!(error = %e, "could not release a rate-limit reservation");
        }
    }

    /// Forgets `key` (e.g. after a successful sign-in).
    pub async fn clear(&self, key: &str) -> Result<(), Error> {
        self.verdicts.remove(key);
        store::delete(&self.db, key).await?;
        Ok(())
    }
}

/// An attempt counted under a budget before it was evaluated.
#[derive(Debug)]
#[must_use = "a reservation is either kept (the attempt failed) or released"]
pub struct Reservation {
    key: String,
    window_start: DateTime<Utc>,
}

fn retry_at(end: DateTime<Utc>, now: DateTime<Utc>) -> Error {
    Error::too_many_requests((end - now).num_seconds().max(1) as u64)
}

/// The network a per-client budget is kept for: an IPv4 address, or the /64 network of an IPv6
/// one — a single host is routinely given a whole /64, so counting its addresses one by one would
/// let it rotate through 2⁶⁴ budgets. IPv4-mapped addresses count as IPv4.
pub fn client_network(ip: Option<IpAddr>) -> Option<IpAddr> {
    ip.map(|ip| match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & (u128::MAX << 64)).into()),
        v4 => v4,
    })
}

/// [`client_network`] as a budget key (`2001:db8::/64`; empty for an unknown address).
pub fn client_address(ip: Option<IpAddr>) -> String {
    match client_network(ip) {
        None => String::new(),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => format!("{v6}/64"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_share_a_budget_per_64_and_mapped_ipv4_is_ipv4() {
        let addr = |s: &str| client_address(Some(s.parse().unwrap()));
        assert_eq!(addr("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(addr("2001:db8:1:2:ffff:ffff:ffff:ffff"), addr("2001:db8:1:2::"));
        assert_ne!(addr("2001:db8:1:3::1"), addr("2001:db8:1:2::1"));
        assert_eq!(addr("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(addr("203.0.113.7"), "203.0.113.7");
        assert_eq!(client_address(None), "");
    }
}
