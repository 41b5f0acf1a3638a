//! The cached key set of one app and the rules for refetching it: a TTL, one fetch shared by
//! concurrent misses, a `kid`-miss refetch at most once per cooldown, and a negative cache for
//! failed fetches (see the [module docs](super) for why each exists).

use std::{
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use jsonwebtoken::Algorithm;

use super::{
    errors::{JwksFetchError, VerifyError},
    fetch::{self, VerifyKey},
    options::VerifierOptions,
};

/// Counters and cache state of a verifier, for metrics and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifierStats {
    /// JWKS requests sent so far (successful or not).
    pub fetches: u64,
    /// Of those, the ones that failed.
    pub fetch_failures: u64,
    /// Keys in the cached set (0 when nothing is cached).
    pub cached_keys: usize,
    /// How long the cached set stays fresh; `None` when nothing fresh is cached.
    pub fresh_for: Option<Duration>,
}

/// A fetched key set and when it stops being trusted.
pub(super) struct KeySet {
    keys: std::collections::HashMap<String, VerifyKey>,
    expires_at: Instant,
}

impl KeySet {
    /// The key named `kid`, if it fits `alg`.
    pub(super) fn find(&self, kid: &str, alg: Algorithm) -> Option<&VerifyKey> {
        self.keys.get(kid).filter(|k| k.fits(alg))
    }
}

/// A failed fetch, answered from memory until `until`.
struct Failure {
    until: Instant,
    error: Arc<JwksFetchError>,
}

#[derive(Default)]
struct CacheState {
    keys: Option<Arc<KeySet>>,
    failure: Option<Failure>,
    /// When the last fetch ended, however it ended: the `kid`-miss cooldown counts from here, so
    /// forged `kid`s cannot make a failing endpoint be asked more often.
    last_attempt: Option<Instant>,
    /// Bumped by every completed fetch, so a task that waited for someone else's fetch can tell
    /// that one happened and use its outcome instead of fetching again.
    generation: u64,
}

/// The key set of one JWKS URL, fetched on demand.
pub(super) struct KeyCache {
    url: String,
    http: reqwest::Client,
    options: VerifierOptions,
    state: RwLock<CacheState>,
    /// Held for the duration of a fetch: concurrent misses queue here and find the new set.
    fetch_lock: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
    fetch_failures: AtomicU64,
}

impl KeyCache {
    /// An empty cache of the key set at `url`; nothing is fetched yet.
    pub(super) fn new(url: String, http: reqwest::Client, options: VerifierOptions) -> Self {
        KeyCache {
            url,
            http,
            options,
            state: RwLock::new(CacheState::default()),
            fetch_lock: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
            fetch_failures: AtomicU64::new(0),
        }
    }

    /// Where the key set is fetched from.
    pub(super) fn url(&self) -> &str {
        &self.url
    }

    /// Fetches now (sharing a fetch already under way), ignoring TTL, cooldown and negative
    /// cache.
    pub(super) async fn refresh(&self) -> Result<(), Arc<JwksFetchError>> {
        let generation = self.state.read().expect("jwks cache").generation;
        self.fetch_shared(generation).await.map(drop)
    }

    /// Fetch counters and cache state.
    pub(super) fn stats(&self) -> VerifierStats {
        let state = self.state.read().expect("jwks cache");
        let now = Instant::now();
        VerifierStats {
            fetches: self.fetches.load(Ordering::Relaxed),
            fetch_failures: self.fetch_failures.load(Ordering::Relaxed),
            cached_keys: state.keys.as_ref().map_or(0, |s| s.keys.len()),
            fresh_for: state.keys.as_ref().and_then(|s| s.expires_at.checked_duration_since(now)),
        }
    }

    /// A key set that may hold `kid`, fetching when the cache is empty or stale, or when `kid`
    /// is unknown and the cooldown allows it.
    pub(super) async fn key_set_for(&self, kid: &str, alg: Algorithm) -> Result<Arc<KeySet>, VerifyError> {
        let now = Instant::now();
        let (cached, failing, last_attempt, generation) = {
            let state = self.state.read().expect("jwks cache");
            let cached = state.keys.clone().filter(|s| s.expires_at > now);
            let failing = state.failure.as_ref().filter(|f| f.until > now).map(|f| f.error.clone());
            (cached, failing, state.last_attempt, state.generation)
        };
        let Some(set) = cached else {
            if let Some(error) = failing {
                return Err(VerifyError::FetchFailed(error));
            }
            return self.fetch_shared(generation).await.map_err(VerifyError::FetchFailed);
        };
        if set.find(kid, alg).is_some() {
            return Ok(set);
        }
        // A fresh set without this kid: refetch once per cooldown, in case the key is new. If
        // that fetch fails, the token still names a key we do not know: that is the answer, not
        // an outage (the cached keys still verify every other token).
        let not_found = || VerifyError::KeyNotFound { kid: kid.to_owned() };
        if failing.is_some() || last_attempt.is_some_and(|at| now.duration_since(at) < self.options.kid_miss_cooldown) {
            tracing::debug!(kid, "unknown kid; not refetching yet");
            return Err(not_found());
        }
        self.fetch_shared(generation).await.map_err(|_| not_found())
    }

    /// Fetches the key set unless another task completed a fetch since `seen_generation`, in
    /// which case that fetch's outcome is returned.
    async fn fetch_shared(&self, seen_generation: u64) -> Result<Arc<KeySet>, Arc<JwksFetchError>> {
        let _fetching = self.fetch_lock.lock().await;
        {
            let state = self.state.read().expect("jwks cache");
            if state.generation != seen_generation {
                return match (&state.failure, &state.keys) {
                    (Some(failure), _) => Err(failure.error.clone()),
                    (None, Some(keys)) => Ok(keys.clone()),
                    (None, None) => Err(Arc::new(JwksFetchError::Malformed("no key set".into()))),
                };
            }
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let outcome = fetch::fetch(&self.http, &self.url, &self.options).await;
        let mut state = self.state.write().expect("jwks cache");
        state.generation += 1;
        state.last_attempt = Some(Instant::now());
        match outcome {
            Ok(fetched) => {
                let set = Arc::new(KeySet { keys: fetched.keys, expires_at: after(Instant::now(), fetched.ttl) });
                state.keys = Some(set.clone());
                state.failure = None;
                Ok(set)
            }
            Err(error) => {
                self.fetch_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(url = %self.url, %error, "JWKS fetch failed");
                let error = Arc::new(error);
                state.failure =
                    Some(Failure { until: after(Instant::now(), self.options.negative_ttl), error: error.clone() });
                Err(error)
            }
        }
    }
}

/// `at + d`, saturating at a far future instead of panicking on huge configured durations.
fn after(at: Instant, d: Duration) -> Instant {
    at.checked_add(d).or_else(|| at.checked_add(Duration::from_secs(100 * 365 * 24 * 3600))).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_saturate_instead_of_overflowing() {
        let now = Instant::now();
        assert!(after(now, Duration::MAX) > now + Duration::from_secs(365 * 24 * 3600));
        assert_eq!(after(now, Duration::from_secs(5)), now + Duration::from_secs(5));
    }
}
