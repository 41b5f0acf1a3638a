//! Why a token or a key set was refused.
//!
//! These types depend on nothing else in the crate: [`crate::error::Error`] wraps
//! [`VerifyError`], so this module must not use it back (the verifier's configuration errors,
//! which are `Error`s, are raised in `verifier.rs`).

use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use reqwest::StatusCode;

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
    /// No answer within [`VerifierOptions::fetch_timeout`](super::VerifierOptions::fetch_timeout).
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

/// Maps a `jsonwebtoken` failure after the key was found to the verifier's error kinds.
pub(super) fn claims_error(kind: ErrorKind) -> VerifyError {
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
    use super::*;

    #[test]
    fn error_codes_mirror_the_node_sdk() {
        assert_eq!(VerifyError::Expired.code(), "ERR_JWT_EXPIRED");
        assert_eq!(VerifyError::KeyNotFound { kid: "x".into() }.code(), "ERR_JWKS_KID_NOT_FOUND");
        assert_eq!(VerifyError::Invalid(InvalidToken::BadSignature).code(), "ERR_JWT_INVALID");
        assert_eq!(VerifyError::FetchFailed(Arc::new(JwksFetchError::Timeout)).code(), "ERR_JWKS_FETCH");
    }
}
