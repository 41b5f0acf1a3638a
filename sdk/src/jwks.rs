//! Local verification of Heimdall access tokens against the app's published keys (JWKS).
//!
//! [`JwksVerifier`] checks a token the way the Node SDK's `scope.verifyToken` does (API contract
//! §8), without a round trip to Heimdall for each token:
//!
//! 1. the header's `alg` must be in the allow-list (RS256 by default), *before* any key lookup;
//! 2. the header must name a `kid`, and the app's JWKS must hold a key with that id whose `kty`,
//!    `alg`, `use` and `key_ops` fit the algorithm;
//! 3. the signature must verify with that key;
//! 4. then the claims: `iss` present and equal to `<origin of the base URL>/<slug>`, `aud`
//!    present and containing the slug, `exp` present and not past, `nbf` (when present) not in
//!    the future, both with a small clock leeway (5 s).
//!
//! The key set is cached:
//! - it is fetched on first use and kept for a TTL taken from the answer's
//!   `Cache-Control: max-age` (bounded by [`VerifierOptions::min_ttl`] and
//!   [`VerifierOptions::max_ttl`]), or [`VerifierOptions::ttl`] when the header has none;
//! - concurrent misses share one fetch (single-flight);
//! - a token whose `kid` is not in a cached set triggers one refetch, but only when the cached
//!   set is older than a cooldown (30 s), so a stream of forged `kid`s cannot make it hammer
//!   Heimdall; Heimdall publishes keys before signing with them, so a legitimate new `kid` is
//!   normally already in the set;
//! - a failed fetch is remembered for a short while (negative cache) and answered from memory;
//! - while the server is unreachable, tokens keep verifying from the cached set until its TTL
//!   runs out; after that they fail with [`VerifyError::FetchFailed`].
//!
//! The JWKS request carries no credential and does not follow redirects: anything but a direct
//! 200 with `{"keys": [...]}` is a failed fetch (contract §7.5).

use std::{
    collections::HashMap,
    fmt,
    str::FromStr,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use reqwest::{StatusCode, header::HeaderMap};
use serde::{Deserialize, Deserializer, Serialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::error::Error;

/// The issuer tokens carried before per-app issuers (contract §8). Not accepted unless added
/// with [`VerifierOptions::accept_issuer`]; such tokens also lack `aud`.
pub const LEGACY_ISSUER: &str = "heimdall";

/// Why a token was refused. [`code`](Self::code) gives the Node SDK's error code for each kind.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// `exp` is more than the leeway in the past.
    #[error("token has expired")]
    Expired,
    /// `nbf` is more than the leeway in the future.
    #[error("token is not valid yet")]
    NotYetValid,
    /// `iss` is missing or is not this app's issuer for the configured base URL.
    #[error("token issuer does not match the app")]
    IssuerMismatch,
    /// `aud` is missing or does not contain the app's slug.
    #[error("token audience does not match the app")]
    AudienceMismatch,
    /// No key in the app's JWKS fits the token's `kid` and algorithm, even after the one
    /// refetch an unknown `kid` allows.
    #[error("no key `{kid}` in the app's JWKS")]
    KeyNotFound {
        /// The `kid` the token names.
        kid: String,
    },
    /// The app's JWKS could not be fetched (or was unusable) and no fresh copy is cached.
    #[error("fetching the app's JWKS failed: {0}")]
    FetchFailed(Arc<JwksFetchError>),
    /// Anything else: not a JWT, disallowed algorithm, no `kid`, bad signature, malformed or
    /// missing claims.
    #[error("token is invalid: {0}")]
    Invalid(InvalidToken),
}

impl VerifyError {
    /// The error code the Node SDK uses for this kind of failure (`ERR_JWT_EXPIRED`, …).
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Expired => "ERR_JWT_EXPIRED",
            VerifyError::NotYetValid => "ERR_JWT_NOT_YET_VALID",
            VerifyError::IssuerMismatch => "ERR_JWT_ISS_MISMATCH",
            VerifyError::AudienceMismatch => "ERR_JWT_AUD_MISMATCH",
            VerifyError::KeyNotFound { .. } => "ERR_JWKS_KID_NOT_FOUND",
            VerifyError::FetchFailed(_) => "ERR_JWKS_FETCH",
            VerifyError::Invalid(_) => "ERR_JWT_INVALID",
        }
    }
}

/// What exactly was wrong with a token refused as [`VerifyError::Invalid`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidToken {
    /// Not three base64url parts with a JSON header and payload.
    #[error("not a well-formed JWT")]
    Malformed,
    /// The header's `alg` is not in the allow-list (or does not fit the key).
    #[error("algorithm is not allowed")]
    DisallowedAlgorithm,
    /// The header has no `kid`; Heimdall always sets one.
    #[error("header has no `kid`")]
    MissingKeyId,
    /// The signature does not verify with the app's key.
    #[error("signature does not verify")]
    BadSignature,
    /// A claim the verifier requires is absent (e.g. `exp`).
    #[error("claim `{0}` is missing")]
    MissingClaim(String),
    /// The claims do not have the expected types or shape.
    #[error("claims are malformed: {0}")]
    BadClaims(String),
}

/// Why the JWKS could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksFetchError {
    /// The server answered something other than a direct 200 (redirects included).
    #[error("JWKS answered {0}")]
    Status(StatusCode),
    /// The request was redirected to another URL.
    #[error("JWKS request was redirected to {0}")]
    Redirected(String),
    /// No answer within [`VerifierOptions::fetch_timeout`].
    #[error("JWKS request timed out")]
    Timeout,
    /// The request failed before an answer arrived (connection refused, DNS, TLS, …).
    #[error("JWKS request failed: {0}")]
    Transport(#[source] reqwest::Error),
    /// The body is not a JSON key set, or a key in it is unusable or unsafe (e.g. contains
    /// private key material, or two keys share a `kid`).
    #[error("JWKS is malformed: {0}")]
    Malformed(String),
}

/// Settings of a [`JwksVerifier`]. The defaults mirror the Node SDK where it has one.
#[derive(Debug, Clone)]
pub struct VerifierOptions {
    ttl: Duration,
    honour_cache_control: bool,
    min_ttl: Duration,
    max_ttl: Duration,
    kid_miss_cooldown: Duration,
    negative_ttl: Duration,
    fetch_timeout: Duration,
    leeway: Duration,
    algorithms: Vec<Algorithm>,
    issuers: Option<Vec<String>>,
    extra_issuers: Vec<String>,
    audience: Option<String>,
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
            algorithms: vec![Algorithm::RS256],
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

    /// The allowed signature algorithms. Default `[RS256]`, the only one Heimdall signs with.
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
    fn ttl_for(&self, headers: &HeaderMap) -> Duration {
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

/// The claims of a Heimdall access token (contract §8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Claims {
    /// Issuer: `<public origin>/<slug>`.
    pub iss: String,
    /// Audience: the app's slug (a single string in Heimdall's tokens; an array is accepted).
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// End-user account id, or the M2M `client_id`.
    pub sub: String,
    /// The app's id.
    pub aid: Uuid,
    /// Session id (end-user tokens); the id `me().revoke_session` takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    /// The end-user's role name when the token was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `end_user` or `m2m`.
    #[serde(rename = "type")]
    pub token_type: TokenType,
    /// Authentication methods (end-user tokens), e.g. `["pwd"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The role's permissions (end-users) or the granted scopes (M2M) when the token was issued,
    /// possibly with wildcards (`docs.*`, `*`).
    #[serde(default)]
    pub permissions: Vec<String>,
    /// M2M tokens: the granted scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Issued at (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Not before (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Tenant id, after a tenant sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<Uuid>,
    /// Role within the tenant, after a tenant sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trole: Option<String>,
    /// The end-user's email, when the token carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether that email is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl Claims {
    /// Whether the token's permissions cover `permission`, with Heimdall's wildcard rules:
    /// `*` covers everything, `docs.*` covers `docs.<anything>`.
    ///
    /// This reflects the permissions at issuance; ask `consumer.authz().authorize(..)` for the
    /// live answer after a role change.
    pub fn has_permission(&self, permission: &str) -> bool {
        grants(&self.permissions, permission)
    }

    /// The permissions in `wanted` that the token does not cover.
    pub fn missing_permissions<'a>(&self, wanted: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        wanted.into_iter().filter(|p| !self.has_permission(p)).map(str::to_owned).collect()
    }

    /// Whether this is an end-user's token.
    pub fn is_end_user(&self) -> bool {
        self.token_type == TokenType::EndUser
    }

    /// Whether this is a machine-to-machine (client credentials) token.
    pub fn is_m2m(&self) -> bool {
        self.token_type == TokenType::M2m
    }

    /// `exp` as a timestamp.
    pub fn expires_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::from_timestamp(self.exp, 0)
    }
}

/// Whether `granted` covers `wanted`, as Heimdall's server decides it.
pub(crate) fn grants(granted: &[String], wanted: &str) -> bool {
    let resource = wanted.split_once('.').map(|(r, _)| r);
    granted.iter().any(|g| g == "*" || g == wanted || resource.is_some_and(|r| g.strip_suffix(".*") == Some(r)))
}

/// The `type` claim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TokenType {
    /// An end-user's access token.
    EndUser,
    /// A client-credentials token.
    M2m,
    /// A value this SDK version does not know.
    Other(String),
}

impl TokenType {
    /// The claim's value.
    pub fn as_str(&self) -> &str {
        match self {
            TokenType::EndUser => "end_user",
            TokenType::M2m => "m2m",
            TokenType::Other(other) => other,
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TokenType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TokenType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(match value.as_ref() {
            "end_user" => TokenType::EndUser,
            "m2m" => TokenType::M2m,
            _ => TokenType::Other(value.into_owned()),
        })
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

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

/// One usable public key of the set.
#[derive(Clone)]
pub(crate) struct VerifyKey {
    pub(crate) decoding: DecodingKey,
    /// The JWK's `alg`: `None` when absent (fits any algorithm of the key's family),
    /// `Some(None)` when it names an algorithm this crate does not know (fits nothing).
    alg: Option<Option<Algorithm>>,
}

impl VerifyKey {
    fn fits(&self, alg: Algorithm) -> bool {
        self.decoding.family() == alg.family()
            && match self.alg {
                None => true,
                Some(key_alg) => key_alg == Some(alg),
            }
    }
}

/// A fetched key set.
pub(crate) struct KeySet {
    keys: HashMap<String, VerifyKey>,
    expires_at: Instant,
}

impl KeySet {
    pub(crate) fn find(&self, kid: &str, alg: Algorithm) -> Option<&VerifyKey> {
        self.keys.get(kid).filter(|k| k.fits(alg))
    }
}

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

struct Inner {
    jwks_url: String,
    issuers: Vec<String>,
    audience: String,
    options: VerifierOptions,
    validation: Validation,
    http: reqwest::Client,
    state: RwLock<CacheState>,
    /// Held for the duration of a fetch: concurrent misses queue here and find the new set.
    fetch_lock: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
    fetch_failures: AtomicU64,
}

/// A caching verifier of one app's access tokens. Cheap to clone; clones share the cache.
///
/// Get one from `heimdall.consumer(slug).verifier()` (shared by every scope of that slug) or
/// build one on its own with [`JwksVerifier::builder`] in a service that only verifies tokens.
#[derive(Clone)]
pub struct JwksVerifier {
    inner: Arc<Inner>,
}

impl fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksVerifier")
            .field("jwks_url", &self.inner.jwks_url)
            .field("issuers", &self.inner.issuers)
            .field("audience", &self.inner.audience)
            .finish_non_exhaustive()
    }
}

/// Builds a [`JwksVerifier`].
#[derive(Debug, Clone)]
pub struct JwksVerifierBuilder {
    base_url: String,
    app_slug: String,
    options: VerifierOptions,
    http: Option<reqwest::Client>,
}

impl JwksVerifierBuilder {
    /// Replaces all options.
    pub fn options(mut self, options: VerifierOptions) -> Self {
        self.options = options;
        self
    }

    /// Adjusts the options in place, e.g. `.configure(|o| o.ttl(Duration::from_secs(60)))`.
    pub fn configure(mut self, f: impl FnOnce(VerifierOptions) -> VerifierOptions) -> Self {
        self.options = f(self.options);
        self
    }

    /// The HTTP client for JWKS requests. It should not follow redirects nor send credentials
    /// (redirected answers are refused either way). Default: a client of its own.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Checks the base URL and builds the verifier. Nothing is fetched yet.
    pub fn build(self) -> Result<JwksVerifier, Error> {
        let origin = origin(&self.base_url)?;
        let options = self.options;
        if options.algorithms.is_empty() {
            return Err(Error::Config("the verifier needs at least one allowed algorithm".into()));
        }
        // jsonwebtoken checks every allowed algorithm against the key's family, so a mixed list
        // (RS256 with ES256) would refuse every token.
        if options.algorithms.iter().any(|a| a.family() != options.algorithms[0].family()) {
            return Err(Error::Config("the allowed algorithms must all be of one key type (RSA, EC or EdDSA)".into()));
        }
        let mut issuers = options.issuers.clone().unwrap_or_else(|| vec![format!("{origin}/{}", self.app_slug)]);
        issuers.extend(options.extra_issuers.iter().cloned());
        let audience = options.audience.clone().unwrap_or_else(|| self.app_slug.clone());

        let mut validation = Validation::new(options.algorithms[0]);
        validation.algorithms = options.algorithms.clone();
        validation.leeway = options.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&issuers);
        validation.set_audience(&[&audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);

        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("heimdall-sdk-rust/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| Error::Config(format!("cannot build the JWKS HTTP client: {e}")))?,
        };
        let jwks_url = format!("{origin}/{}/v1/.well-known/jwks.json", progenitor_client::encode_path(&self.app_slug));
        Ok(JwksVerifier {
            inner: Arc::new(Inner {
                jwks_url,
                issuers,
                audience,
                options,
                validation,
                http,
                state: RwLock::new(CacheState::default()),
                fetch_lock: tokio::sync::Mutex::new(()),
                fetches: AtomicU64::new(0),
                fetch_failures: AtomicU64::new(0),
            }),
        })
    }
}

/// `scheme://host[:port]` of an `http(s)` URL: the host in lower case, the port only when it is
/// not the scheme's default. Any path, query or fragment is dropped (contract §1 and §8).
pub(crate) fn origin(base_url: &str) -> Result<String, Error> {
    let url = reqwest::Url::parse(base_url.trim())
        .map_err(|e| Error::Config(format!("base URL `{base_url}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::Config(format!("base URL `{base_url}` must be http(s)://host[:port]")));
    }
    Ok(url.origin().ascii_serialization())
}

/// The issuer Heimdall puts in the tokens of app `slug` when clients reach it at `base_url`:
/// `<origin>/<slug>` (contract §8). `http://LocalHost:80/api/` and `acme` give
/// `http://localhost/acme`.
pub fn issuer_for(base_url: &str, slug: &str) -> Result<String, Error> {
    Ok(format!("{}/{slug}", origin(base_url)?))
}

impl JwksVerifier {
    /// A verifier for the tokens of app `app_slug` served at `base_url` (only its origin counts).
    pub fn builder(base_url: impl Into<String>, app_slug: impl Into<String>) -> JwksVerifierBuilder {
        JwksVerifierBuilder {
            base_url: base_url.into(),
            app_slug: app_slug.into(),
            options: VerifierOptions::default(),
            http: None,
        }
    }

    /// Verifies `token` and returns its claims. See the [module docs](self) for every check.
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        self.verify_as(token).await
    }

    /// Like [`verify`](Self::verify), deserialising the claims into a type of the caller's.
    pub async fn verify_as<C: DeserializeOwned>(&self, token: &str) -> Result<C, VerifyError> {
        let token = token.trim();
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Invalid(InvalidToken::Malformed))?;
        if !self.inner.validation.algorithms.contains(&header.alg) {
            return Err(VerifyError::Invalid(InvalidToken::DisallowedAlgorithm));
        }
        let kid = header.kid.ok_or(VerifyError::Invalid(InvalidToken::MissingKeyId))?;
        let set = self.key_set_for(&kid, header.alg).await?;
        let key = set.find(&kid, header.alg).ok_or_else(|| VerifyError::KeyNotFound { kid: kid.clone() })?;
        match jsonwebtoken::decode::<C>(token, &key.decoding, &self.inner.validation) {
            Ok(data) => Ok(data.claims),
            // `decode` deserialises the claims before validating them, so a token without
            // `iss` fails as malformed `C` before it can fail as an issuer mismatch. Validate
            // without a target type to report the more specific error (failure path only).
            Err(e) if matches!(e.kind(), ErrorKind::Json(_)) => {
                let validated =
                    jsonwebtoken::decode::<serde::de::IgnoredAny>(token, &key.decoding, &self.inner.validation);
                Err(claims_error(validated.err().map_or_else(|| e.into_kind(), |v| v.into_kind())))
            }
            Err(e) => Err(claims_error(e.into_kind())),
        }
    }

    /// Fetches the key set now (sharing a fetch already under way), ignoring TTL, cooldown and
    /// negative cache. Useful to warm the cache at start-up.
    pub async fn refresh(&self) -> Result<(), VerifyError> {
        let generation = self.inner.state.read().expect("jwks cache").generation;
        self.fetch_shared(generation).await.map(drop).map_err(VerifyError::FetchFailed)
    }

    /// The issuers a token may name.
    pub fn issuers(&self) -> &[String] {
        &self.inner.issuers
    }

    /// The audience a token must name.
    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    /// Where the key set is fetched from.
    pub fn jwks_url(&self) -> &str {
        &self.inner.jwks_url
    }

    /// Fetch counters and cache state.
    pub fn stats(&self) -> VerifierStats {
        let state = self.inner.state.read().expect("jwks cache");
        let now = Instant::now();
        VerifierStats {
            fetches: self.inner.fetches.load(Ordering::Relaxed),
            fetch_failures: self.inner.fetch_failures.load(Ordering::Relaxed),
            cached_keys: state.keys.as_ref().map_or(0, |s| s.keys.len()),
            fresh_for: state.keys.as_ref().and_then(|s| s.expires_at.checked_duration_since(now)),
        }
    }

    /// A key set that may hold `kid`, fetching when the cache is empty or stale, or when `kid`
    /// is unknown and the cooldown allows it.
    async fn key_set_for(&self, kid: &str, alg: Algorithm) -> Result<Arc<KeySet>, VerifyError> {
        let now = Instant::now();
        let (cached, failing, last_attempt, generation) = {
            let state = self.inner.state.read().expect("jwks cache");
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
        if failing.is_some()
            || last_attempt.is_some_and(|at| now.duration_since(at) < self.inner.options.kid_miss_cooldown)
        {
            tracing::debug!(kid, "unknown kid; not refetching yet");
            return Err(not_found());
        }
        self.fetch_shared(generation).await.map_err(|_| not_found())
    }

    /// Fetches the key set unless another task completed a fetch since `seen_generation`, in
    /// which case that fetch's outcome is returned.
    async fn fetch_shared(&self, seen_generation: u64) -> Result<Arc<KeySet>, Arc<JwksFetchError>> {
        let _fetching = self.inner.fetch_lock.lock().await;
        {
            let state = self.inner.state.read().expect("jwks cache");
            if state.generation != seen_generation {
                return match (&state.failure, &state.keys) {
                    (Some(failure), _) => Err(failure.error.clone()),
                    (None, Some(keys)) => Ok(keys.clone()),
                    (None, None) => Err(Arc::new(JwksFetchError::Malformed("no key set".into()))),
                };
            }
        }
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        let outcome = self.fetch().await;
        let mut state = self.inner.state.write().expect("jwks cache");
        state.generation += 1;
        state.last_attempt = Some(Instant::now());
        match outcome {
            Ok(set) => {
                let set = Arc::new(set);
                state.keys = Some(set.clone());
                state.failure = None;
                Ok(set)
            }
            Err(error) => {
                self.inner.fetch_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(url = %self.inner.jwks_url, %error, "JWKS fetch failed");
                let error = Arc::new(error);
                state.failure = Some(Failure {
                    until: after(Instant::now(), self.inner.options.negative_ttl),
                    error: error.clone(),
                });
                Err(error)
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, JwksFetchError> {
        let inner = &self.inner;
        let response = inner
            .http
            .get(&inner.jwks_url)
            .header(reqwest::header::ACCEPT, "application/json, application/jwk-set+json")
            .timeout(inner.options.fetch_timeout)
            .send()
            .await
            .map_err(transport_error)?;
        if response.status() != StatusCode::OK {
            return Err(JwksFetchError::Status(response.status()));
        }
        if response.url().as_str() != inner.jwks_url {
            return Err(JwksFetchError::Redirected(response.url().to_string()));
        }
        let ttl = inner.options.ttl_for(response.headers());
        let body = response.bytes().await.map_err(transport_error)?;
        let keys = parse_key_set(&body)?;
        Ok(KeySet { keys, expires_at: after(Instant::now(), ttl) })
    }
}

/// `at + d`, saturating at a far future instead of panicking on huge configured durations.
fn after(at: Instant, d: Duration) -> Instant {
    at.checked_add(d).or_else(|| at.checked_add(Duration::from_secs(100 * 365 * 24 * 3600))).unwrap_or(at)
}

fn transport_error(error: reqwest::Error) -> JwksFetchError {
    if error.is_timeout() { JwksFetchError::Timeout } else { JwksFetchError::Transport(error) }
}

/// JWK members that only private keys have.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Parses `{"keys": [...]}` into the usable verification keys by `kid`. Keys without a `kid`,
/// of an unknown type, not meant for signatures or not allowing `verify` are skipped; private
/// material or a repeated `kid` make the whole set unusable.
fn parse_key_set(body: &[u8]) -> Result<HashMap<String, VerifyKey>, JwksFetchError> {
    #[derive(Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Map<String, serde_json::Value>>,
    }
    let raw: RawSet =
        serde_json::from_slice(body).map_err(|e| JwksFetchError::Malformed(format!("not a JSON key set: {e}")))?;
    let mut keys = HashMap::with_capacity(raw.keys.len());
    for member in raw.keys {
        let kid = member.get("kid").and_then(|v| v.as_str()).map(str::to_owned);
        if let Some(private) = PRIVATE_MEMBERS.iter().find(|m| member.contains_key(**m)) {
            return Err(JwksFetchError::Malformed(format!(
                "key {} contains private key material (`{private}`)",
                kid.as_deref().unwrap_or("without kid")
            )));
        }
        let Some(kid) = kid else { continue };
        if member.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
            continue;
        }
        if let Some(ops) = member.get("key_ops") {
            let verifies = ops.as_array().is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
            if !verifies {
                continue;
            }
        }
        let alg = member.get("alg").map(|a| a.as_str().and_then(|a| Algorithm::from_str(a).ok()));
        let jwk: jsonwebtoken::jwk::Jwk = match serde_json::from_value(serde_json::Value::Object(member)) {
            Ok(jwk) => jwk,
            Err(_) => continue,
        };
        let Ok(decoding) = DecodingKey::from_jwk(&jwk) else { continue };
        if keys.insert(kid.clone(), VerifyKey { decoding, alg }).is_some() {
            return Err(JwksFetchError::Malformed(format!("two keys share the kid `{kid}`")));
        }
    }
    Ok(keys)
}

/// Maps a `jsonwebtoken` failure after the key was found to the verifier's error kinds.
fn claims_error(kind: ErrorKind) -> VerifyError {
    match kind {
        ErrorKind::ExpiredSignature => VerifyError::Expired,
        ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
        ErrorKind::InvalidIssuer => VerifyError::IssuerMismatch,
        ErrorKind::InvalidAudience => VerifyError::AudienceMismatch,
        ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => VerifyError::IssuerMismatch,
        ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => VerifyError::AudienceMismatch,
        ErrorKind::MissingRequiredClaim(claim) => VerifyError::Invalid(InvalidToken::MissingClaim(claim)),
        ErrorKind::InvalidSignature => VerifyError::Invalid(InvalidToken::BadSignature),
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            VerifyError::Invalid(InvalidToken::DisallowedAlgorithm)
        }
        ErrorKind::InvalidClaimFormat(claim) => {
            VerifyError::Invalid(InvalidToken::BadClaims(format!("`{claim}` has the wrong type")))
        }
        ErrorKind::Json(e) => VerifyError::Invalid(InvalidToken::BadClaims(e.to_string())),
        _ => VerifyError::Invalid(InvalidToken::Malformed),
    }
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
    fn issuer_keeps_only_the_normalised_origin() {
        assert_eq!(issuer_for("http://LocalHost:80/api/", "acme").unwrap(), "http://localhost/acme");
        assert_eq!(issuer_for("http://127.0.0.1:8080", "acme").unwrap(), "http://127.0.0.1:8080/acme");
        assert_eq!(issuer_for("https://Auth.Example.com:443/x?y#z", "acme").unwrap(), "https://auth.example.com/acme");
        assert_eq!(issuer_for("http://[::1]:9000/", "acme").unwrap(), "http://[::1]:9000/acme");
        assert!(issuer_for("ftp://example.com", "acme").is_err());
        assert!(issuer_for("not a url", "acme").is_err());
    }

    #[test]
    fn algorithms_of_different_key_types_are_refused_at_build() {
        let mixed = JwksVerifier::builder("http://127.0.0.1:1", "acme")
            .configure(|o| o.algorithms([Algorithm::RS256, Algorithm::ES256]))
            .build();
        assert!(matches!(mixed, Err(Error::Config(_))));
        let rsa = JwksVerifier::builder("http://127.0.0.1:1", "acme")
            .configure(|o| o.algorithms([Algorithm::RS256, Algorithm::PS256]))
            .build();
        assert!(rsa.is_ok());
    }

    #[test]
    fn huge_durations_saturate_instead_of_overflowing() {
        let now = Instant::now();
        assert!(after(now, Duration::MAX) > now + Duration::from_secs(365 * 24 * 3600));
        assert_eq!(after(now, Duration::from_secs(5)), now + Duration::from_secs(5));
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

    #[test]
    fn wildcards_grant_only_what_they_name() {
        let granted = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(grants(&granted(&["*"]), "docs.read"));
        assert!(grants(&granted(&["docs.*"]), "docs.delete"));
        assert!(!grants(&granted(&["docs.*"]), "audit.read"));
        assert!(!grants(&granted(&["docs.read"]), "docs.write"));
        assert!(!grants(&granted(&["DOCS.READ"]), "docs.read"));
    }

    #[test]
    fn key_sets_with_private_material_or_repeated_kids_are_refused() {
        let private = br#"{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB","d":"AQAB"}]}"#;
        assert!(matches!(parse_key_set(private), Err(JwksFetchError::Malformed(m)) if m.contains("private")));
        let secret = br#"{"keys":[{"kty":"oct","kid":"a","k":"c2VjcmV0"}]}"#;
        assert!(matches!(parse_key_set(secret), Err(JwksFetchError::Malformed(_))));
        let twice = br#"{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"},{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}"#;
        assert!(matches!(parse_key_set(twice), Err(JwksFetchError::Malformed(m)) if m.contains("share")));
        assert!(matches!(parse_key_set(b"[]"), Err(JwksFetchError::Malformed(_))));
    }

    #[test]
    fn unusable_keys_are_skipped() {
        let body = br#"{"keys":[
            {"kty":"RSA","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"ops","key_ops":["encrypt"],"n":"AQAB","e":"AQAB"},
            {"kty":"XYZ","kid":"odd"},
            {"kty":"RSA","kid":"ok","use":"sig","alg":"RS256","n":"AQAB","e":"AQAB"}
        ]}"#;
        let keys = parse_key_set(body).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["ok"]);
        assert!(keys["ok"].fits(Algorithm::RS256));
        assert!(!keys["ok"].fits(Algorithm::RS512), "the JWK's alg pins the algorithm");
        assert!(!keys["ok"].fits(Algorithm::ES256));
    }

    #[test]
    fn claims_accept_a_single_audience_or_an_array() {
        let base = serde_json::json!({
            "iss": "http://h/acme", "sub": "u", "aid": Uuid::nil(), "type": "end_user", "exp": 1
        });
        let mut one = base.clone();
        one["aud"] = "acme".into();
        let claims: Claims = serde_json::from_value(one).unwrap();
        assert_eq!(claims.aud, ["acme"]);
        assert!(claims.is_end_user());
        let mut many = base;
        many["aud"] = serde_json::json!(["acme", "other"]);
        many["type"] = "robot".into();
        let claims: Claims = serde_json::from_value(many).unwrap();
        assert_eq!(claims.aud, ["acme", "other"]);
        assert_eq!(claims.token_type, TokenType::Other("robot".into()));
    }

    #[test]
    fn error_codes_mirror_the_node_sdk() {
        assert_eq!(VerifyError::Expired.code(), "ERR_JWT_EXPIRED");
        assert_eq!(VerifyError::KeyNotFound { kid: "x".into() }.code(), "ERR_JWKS_KID_NOT_FOUND");
        assert_eq!(VerifyError::Invalid(InvalidToken::BadSignature).code(), "ERR_JWT_INVALID");
        assert_eq!(VerifyError::FetchFailed(Arc::new(JwksFetchError::Timeout)).code(), "ERR_JWKS_FETCH");
    }

    #[tokio::test]
    async fn refused_before_any_fetch_when_the_header_is_wrong() {
        let verifier = JwksVerifier::builder("http://127.0.0.1:9", "acme").build().unwrap();
        let b64 = |s: &str| base64_url(s.as_bytes());
        let hs256 = format!("{}.{}.sig", b64(r#"{"alg":"HS256","kid":"a"}"#), b64("{}"));
        let no_kid = format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64("{}"));
        assert!(matches!(verifier.verify("nonsense").await, Err(VerifyError::Invalid(InvalidToken::Malformed))));
        assert!(matches!(verifier.verify(&hs256).await, Err(VerifyError::Invalid(InvalidToken::DisallowedAlgorithm))));
        assert!(matches!(verifier.verify(&no_kid).await, Err(VerifyError::Invalid(InvalidToken::MissingKeyId))));
        assert_eq!(verifier.stats().fetches, 0);
    }

    /// Minimal base64url without padding, to build test tokens without another dependency.
    fn base64_url(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            }
        }
        out
    }
}
