//! Local verification of Heimdall access tokens against the app's published keys (JWKS).
//!
//! [`JwksVerifier`] checks a token the way the Node SDK's `scope.verifyToken` does (API contract
//! §8), without a round trip to Heimdall for each token:
//!
//! 1. the header's `alg` must be in the allow-list (RS256, ES256 and EdDSA by default), *before* any key lookup;
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
//!
//! The parts: `errors.rs` (why a token or key set was refused; depends on nothing else in the
//! crate, so [`crate::error`] can wrap it one way), `options.rs` ([`VerifierOptions`]),
//! `claims.rs` ([`Claims`]), `fetch.rs` (one JWKS request and its parsing), `cache.rs` (when to
//! fetch) and `verifier.rs` ([`JwksVerifier`], which puts them together).

mod cache;
mod claims;
pub(crate) mod errors;
mod fetch;
mod options;
mod verifier;

pub use cache::VerifierStats;
pub use claims::{Claims, TokenType};
pub use errors::{InvalidToken, JwksFetchError, VerifyError};
pub use options::{LEGACY_ISSUER, VerifierOptions};
pub(crate) use verifier::origin;
pub use verifier::{JwksVerifier, JwksVerifierBuilder, issuer_for};
