//! [`VerifierOptions`]: what a verifier accepts and how long it trusts a fetched key set.

use std::time::Duration;

use jsonwebtoken::Algorithm;
use reqwest::header::HeaderMap;

/// The issuer tokens carried before per-app issuers (contract §8). Not accepted unless added
/// with [`VerifierOptions::accept_issuer`]; such tokens also lack `aud`.
pub const LEGACY_ISSUER: &str = "heimdall";

/// Settings of a [`JwksVerifier`](super::JwksVerifier). The defaults mirror the Node SDK where it has one.
#[derive(Debug, Clone)]
pub struct VerifierOptions {
    ttl: Duration,
    honour_cache_control: bool,
    min_ttl: Duration,
    max_ttl: Duration,
    pub(super) kid_miss_cooldown: Duration,
    pub(super) negative_ttl: Duration,
    pub(super) fetch_timeout: Duration,
    pub(super) leeway: Duration,
    pub(super) algorithms: Vec<Algorithm>,
    pub(super) issuers: Option<Vec<String>>,
    pub(super) extra_issuers: Vec<String>,
    pub(super) audience: Option<String>,
}

impl Default for VerifierOptions {
    fn default() -> Self {
        VerifierOptions {
            ttl: Duration::from_secs(600),
            honour_cache_control: true,
            min_ttl: Duration::from_secs(30),
            max_ttl: Duration::from_secs(3600),
            kid_miss_cooldown: Duration::from_secs(30),
            negative_ttl: Duration::from_secs(5),
            fetch_timeout: Duration::from_secs(5),
            leeway: Duration::from_secs(5),
            algorithms: vec![Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA],
            issuers: None,
            extra_issuers: Vec::new(),
            audience: None,
        }
    }
}

impl VerifierOptions {
    /// How long a fetched key set is used when the answer has no `Cache-Control: max-age`, or
    /// always when [`honour_cache_control`](Self::honour_cache_control) is off. Default 10 min.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Whether `Cache-Control: max-age` sets the TTL (bounded by [`min_ttl`](Self::min_ttl) and
    /// [`max_ttl`](Self::max_ttl)). Default on; Heimdall sends `max-age=3600`.
    pub fn honour_cache_control(mut self, honour: bool) -> Self {
        self.honour_cache_control = honour;
        self
    }

    /// The shortest TTL a `max-age` (or `no-cache`) can impose. Default 30 s.
    pub fn min_ttl(mut self, ttl: Duration) -> Self {
        self.min_ttl = ttl;
        self
    }

    /// The longest TTL a `max-age` can impose; this bounds how long a withdrawn key stays
    /// trusted. Default 1 h (set 10 min for the Node SDK's behaviour).
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.max_ttl = ttl;
        self
    }

    /// An unknown `kid` refetches the key set only if the cached set is at least this old.
    /// Default 30 s.
    pub fn kid_miss_cooldown(mut self, cooldown: Duration) -> Self {
        self.kid_miss_cooldown = cooldown;
        self
    }

    /// How long a failed fetch is remembered; verifications that would fetch meanwhile fail at
    /// once with the remembered error. Default 5 s.
    pub fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// Limit on one JWKS request. Default 5 s.
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// Clock tolerance for `exp` and `nbf`. Default 5 s. Whole seconds count.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The allowed signature algorithms. Default `[RS256, ES256, EdDSA]`, the ones Heimdall signs
    /// with (per app); narrow it to the one your app uses. Whatever is allowed, a token is only
    /// ever verified with the algorithm its key names in the JWKS.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Replaces the expected issuer (default `<origin of the base URL>/<slug>`), e.g. when the
    /// service reaches Heimdall by an internal address while tokens name its public origin.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers = Some(vec![issuer.into()]);
        self
    }

    /// Accepts one more issuer besides the expected one, e.g. [`LEGACY_ISSUER`].
    pub fn accept_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.extra_issuers.push(issuer.into());
        self
    }

    /// Replaces the expected audience (default: the app's slug).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The TTL for a set fetched with these response headers.
    pub(super) fn ttl_for(&self, headers: &HeaderMap) -> Duration {
        if !self.honour_cache_control {
            return self.ttl;
        }
        match cache_control_max_age(headers) {
            Some(max_age) => max_age.clamp(self.min_ttl, self.max_ttl.max(self.min_ttl)),
            None => self.ttl,
        }
    }
}

/// `max-age` of a `Cache-Control` header, with `no-cache`/`no-store` counting as zero.
fn cache_control_max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut max_age = None;
    for value in headers.get_all(reqwest::header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',').map(str::trim) {
            let (name, argument) = directive.split_once('=').unwrap_or((directive, ""));
            match name.trim().to_ascii_lowercase().as_str() {
                "no-cache" | "no-store" => return Some(Duration::ZERO),
                "max-age" => {
                    if let Ok(seconds) = argument.trim().trim_matches('"').parse::<u64>() {
                        max_age = Some(Duration::from_secs(seconds));
                    }
                }
                _ => {}
            }
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use reqwest::header::{CACHE_CONTROL, HeaderValue};

    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn ttl_follows_max_age_within_bounds() {
        let options = VerifierOptions::default();
        assert_eq!(options.ttl_for(&headers("public, max-age=3600")), Duration::from_secs(3600));
        assert_eq!(options.ttl_for(&headers("max-age=120")), Duration::from_secs(120));
        assert_eq!(options.ttl_for(&headers("max-age=5")), Duration::from_secs(30), "raised to min_ttl");
        assert_eq!(options.ttl_for(&headers("max-age=86400")), Duration::from_secs(3600), "capped at max_ttl");
        assert_eq!(options.ttl_for(&headers("no-store")), Duration::from_secs(30));
        assert_eq!(options.ttl_for(&HeaderMap::new()), Duration::from_secs(600), "no header: ttl");
        let fixed = VerifierOptions::default().honour_cache_control(false).ttl(Duration::from_secs(7));
        assert_eq!(fixed.ttl_for(&headers("max-age=3600")), Duration::from_secs(7));
    }
}
