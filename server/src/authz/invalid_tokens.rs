//! The throttle on invalid tokens sent to the endpoints that check tokens for any caller
//! (`/verify`, `/authorize` and its batch and slug-less forms, forward-auth): without it each
//! guess costs the caller nothing and is answered at full speed.
//!
//! Only tokens refused as invalid (`TOKEN_INVALID`: malformed, forged, another app's) are
//! counted, per client address (IPv6 by /64, which one host can fill), in memory, in a fixed
//! window opened by the first one. Past [`LIMIT`] in a window, each further invalid token is
//! answered 429 with `Retry-After` until the window ends. Valid tokens are not guesses: they
//! neither read nor touch the counter and are always answered, so a gateway or backend that
//! relays one client's garbage still serves its other users; expired or revoked tokens were
//! genuine and are not counted either. Each instance counts on its own, and the map of
//! addresses is bounded (`TtlCache`).

use std::{
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use crate::{
    error::{Code, Error},
    ttl_cache::TtlCache,
};

/// Invalid tokens answered per address and window; the operations' descriptions say so.
pub const LIMIT: u32 = 60;
/// The window, opened by an address's first invalid token.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at once.
const ADDRESSES: usize = 100_000;

struct Window {
    opened: Instant,
    count: AtomicU32,
}

/// See the module docs.
pub struct InvalidTokens {
    windows: TtlCache<Option<IpAddr>, Arc<Window>>,
}

impl Default for InvalidTokens {
    fn default() -> Self {
        InvalidTokens { windows: TtlCache::new(WINDOW, ADDRESSES) }
    }
}

impl InvalidTokens {
    /// Counts an invalid token from `ip`: `rate_limited` with the seconds left in the window
    /// once the address has sent more than [`LIMIT`] in it.
    pub fn count(&self, ip: Option<IpAddr>) -> Result<(), Error> {
        let key = crate::ratelimit::client_network(ip);
        let window = self.windows.get(&key).unwrap_or_else(|| {
            self.windows.insert_if_absent(key, Arc::new(Window { opened: Instant::now(), count: AtomicU32::new(0) }));
            // Another request may have opened it first; the map may also have just been emptied.
            self.windows
                .get(&key)
                .unwrap_or_else(|| Arc::new(Window { opened: Instant::now(), count: AtomicU32::new(0) }))
        });
        if window.count.fetch_add(1, Ordering::Relaxed) < LIMIT {
            return Ok(());
        }
        let left = WINDOW.saturating_sub(window.opened.elapsed()).as_secs_f64().ceil().max(1.0) as u64;
        Err(Error::new(
            Code::RateLimited,
            format!(
                "more than {LIMIT} invalid tokens from this address in {} s; retry after {left} s",
                WINDOW.as_secs()
            ),
        )
        .with_retry_after(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_limit_an_address_is_refused_with_the_rest_of_its_window() {
        let throttle = InvalidTokens::default();
        let ip = Some("192.0.2.7".parse().unwrap());
        for _ in 0..LIMIT {
            throttle.count(ip).expect("within the limit");
        }
        let refused = throttle.count(ip).expect_err("past the limit");
        assert_eq!(refused.code, Code::RateLimited);
        assert!((1..=WINDOW.as_secs()).contains(&refused.retry_after().unwrap()), "{:?}", refused.retry_after());
        // Other addresses have their own count.
        throttle.count(Some("192.0.2.8".parse().unwrap())).expect("another address");
        throttle.count(None).expect("an unknown address");
    }

    #[test]
    fn an_ipv6_host_counts_as_its_slash_64() {
        let throttle = InvalidTokens::default();
        for i in 0..LIMIT {
            throttle.count(Some(format!("2001:db8:1:2::{i:x}").parse().unwrap())).expect("within the limit");
        }
        assert!(throttle.count(Some("2001:db8:1:2:ffff::1".parse().unwrap())).is_err(), "same /64");
        throttle.count(Some("2001:db8:1:3::1".parse().unwrap())).expect("another /64");
        assert_eq!(
            crate::ratelimit::client_network(Some("::ffff:192.0.2.7".parse().unwrap())),
            Some("192.0.2.7".parse().unwrap())
        );
    }
}
