//! [`JwksVerifier`]: the header checks, the key lookup through the cache, and the signature and
//! claim checks by `jsonwebtoken`, in the order the [module docs](super) give.

use std::{fmt, sync::Arc};

use jsonwebtoken::{Validation, errors::ErrorKind};
use serde::de::DeserializeOwned;

use super::{
    cache::{KeyCache, VerifierStats},
    claims::Claims,
    errors::{InvalidToken, VerifyError, claims_error},
    options::VerifierOptions,
};
use crate::error::Error;

struct Inner {
    issuers: Vec<String>,
    audience: String,
    /// One validation per allowed algorithm: jsonwebtoken checks every algorithm of a
    /// validation against the key's family, so a token is validated with its own algorithm only.
    validations: Vec<(jsonwebtoken::Algorithm, Validation)>,
    keys: KeyCache,
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
            .field("jwks_url", &self.inner.keys.url())
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
        let mut issuers = options.issuers.clone().unwrap_or_else(|| vec![format!("{origin}/{}", self.app_slug)]);
        issuers.extend(options.extra_issuers.iter().cloned());
        let audience = options.audience.clone().unwrap_or_else(|| self.app_slug.clone());

        let validations = options
            .algorithms
            .iter()
            .map(|alg| {
                let mut validation = Validation::new(*alg);
                validation.leeway = options.leeway.as_secs();
                validation.validate_exp = true;
                validation.validate_nbf = true;
                validation.set_issuer(&issuers);
                validation.set_audience(&[&audience]);
                validation.set_required_spec_claims(&["exp", "iss", "aud"]);
                (*alg, validation)
            })
            .collect();

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
            inner: Arc::new(Inner { issuers, audience, validations, keys: KeyCache::new(jwks_url, http, options) }),
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

    /// Verifies `token` and returns its claims. See the [module docs](super) for every check.
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        self.verify_as(token).await
    }

    /// Like [`verify`](Self::verify), deserialising the claims into a type of the caller's.
    pub async fn verify_as<C: DeserializeOwned>(&self, token: &str) -> Result<C, VerifyError> {
        let token = token.trim();
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Invalid(InvalidToken::Malformed))?;
        let Some((_, validation)) = self.inner.validations.iter().find(|(alg, _)| *alg == header.alg) else {
            return Err(VerifyError::Invalid(InvalidToken::DisallowedAlgorithm));
        };
        let kid = header.kid.ok_or(VerifyError::Invalid(InvalidToken::MissingKeyId))?;
        let set = self.inner.keys.key_set_for(&kid, header.alg).await?;
        let key = set.find(&kid, header.alg).ok_or_else(|| VerifyError::KeyNotFound { kid: kid.clone() })?;
        match jsonwebtoken::decode::<C>(token, &key.decoding, validation) {
            Ok(data) => Ok(data.claims),
            // `decode` deserialises the claims before validating them, so a token without
            // `iss` fails as malformed `C` before it can fail as an issuer mismatch. Validate
            // without a target type to report the more specific error (failure path only).
            Err(e) if matches!(e.kind(), ErrorKind::Json(_)) => {
                let validated = jsonwebtoken::decode::<serde::de::IgnoredAny>(token, &key.decoding, validation);
                Err(claims_error(validated.err().map_or_else(|| e.into_kind(), |v| v.into_kind())))
            }
            Err(e) => Err(claims_error(e.into_kind())),
        }
    }

    /// Fetches the key set now (sharing a fetch already under way), ignoring TTL, cooldown and
    /// negative cache. Useful to warm the cache at start-up.
    pub async fn refresh(&self) -> Result<(), VerifyError> {
        self.inner.keys.refresh().await.map_err(VerifyError::FetchFailed)
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
        self.inner.keys.url()
    }

    /// Fetch counters and cache state.
    pub fn stats(&self) -> VerifierStats {
        self.inner.keys.stats()
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::Algorithm;

    use super::*;

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
    fn algorithms_of_different_key_types_may_be_allowed_together() {
        let mixed = JwksVerifier::builder("http://127.0.0.1:1", "acme")
            .configure(|o| o.algorithms([Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA]))
            .build();
        assert!(mixed.is_ok());
        let none = JwksVerifier::builder("http://127.0.0.1:1", "acme").configure(|o| o.algorithms([])).build();
        assert!(matches!(none, Err(Error::Config(_))));
        let rsa = JwksVerifier::builder("http://127.0.0.1:1", "acme")
            .configure(|o| o.algorithms([Algorithm::RS256, Algorithm::PS256]))
            .build();
        assert!(rsa.is_ok());
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
