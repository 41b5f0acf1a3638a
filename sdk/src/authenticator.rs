//! Request authentication for a backend (BFF or API) that accepts Heimdall access tokens.
//!
//! [`Authenticator`] is framework-agnostic: give it the `Authorization` header (or the token)
//! and it verifies the token locally with the app's [`JwksVerifier`] and checks the permissions
//! required with [`Authenticator::require`]. The `poem` and `axum` features add middleware that
//! does this for every request and puts the [`Claims`] into the request's extensions, where
//! handlers read them (`Data<&Claims>` in poem, `Extension<Claims>` or `Claims` in axum).
//!
//! Refusals are answered like Heimdall's own errors: JSON `{statusCode, code, message}` with
//! 401 and `WWW-Authenticate: Bearer …` (RFC 6750) for a missing or invalid token, 403 for
//! missing permissions, and 503 when the app's keys cannot be fetched. Why a token was refused
//! is logged at debug level, not told to the client.
//!
//! Permissions are those in the token, i.e. the role's permissions when it was issued. When a
//! role change must take effect before the token expires, ask Heimdall instead
//! (`consumer.authz().authorize(..)`).

use std::sync::Arc;

use crate::jwks::{Claims, JwksVerifier, VerifyError};

/// Why a request was refused.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization: Bearer <token>` header.
    #[error("a bearer token is required")]
    MissingToken,
    /// The token did not verify.
    #[error("the bearer token is not valid")]
    InvalidToken(#[source] VerifyError),
    /// The token is valid but lacks permissions.
    #[error("missing permissions: {}", missing.join(", "))]
    Forbidden {
        /// The required permissions the token does not hold.
        missing: Vec<String>,
    },
}

impl AuthError {
    /// The HTTP status to answer with: 401, 403, or 503 when the keys could not be fetched.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::MissingToken => 401,
            AuthError::InvalidToken(VerifyError::FetchFailed(_)) => 503,
            AuthError::InvalidToken(_) => 401,
            AuthError::Forbidden { .. } => 403,
        }
    }

    /// A stable snake_case code for the error body.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "missing_token",
            AuthError::InvalidToken(VerifyError::FetchFailed(_)) => "jwks_unavailable",
            AuthError::InvalidToken(VerifyError::Expired) => "token_expired",
            AuthError::InvalidToken(_) => "invalid_token",
            AuthError::Forbidden { .. } => "insufficient_permissions",
        }
    }

    /// The `WWW-Authenticate` header value (RFC 6750 §3), when the status calls for one.
    pub fn www_authenticate(&self) -> Option<&'static str> {
        match self {
            AuthError::MissingToken => Some("Bearer"),
            AuthError::InvalidToken(VerifyError::FetchFailed(_)) => None,
            AuthError::InvalidToken(_) => Some(r#"Bearer error="invalid_token""#),
            AuthError::Forbidden { .. } => Some(r#"Bearer error="insufficient_scope""#),
        }
    }

    /// The JSON error body, shaped like Heimdall's: `{statusCode, code, message}` plus
    /// `details.missing_permissions` for a 403. The message does not say why a token failed.
    pub fn body(&self) -> serde_json::Value {
        let message = match self {
            AuthError::InvalidToken(VerifyError::FetchFailed(_)) => "Tokens cannot be checked right now".to_owned(),
            AuthError::InvalidToken(_) => "The bearer token is not valid".to_owned(),
            other => other.to_string(),
        };
        let mut body = serde_json::json!({ "statusCode": self.status(), "code": self.code(), "message": message });
        if let AuthError::Forbidden { missing } = self {
            body["details"] = serde_json::json!({ "missing_permissions": missing });
        }
        body
    }
}

/// The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive).
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Verifies bearer tokens of one app and checks required permissions. Cheap to clone.
///
/// ```no_run
/// use heimdall_sdk::{Authenticator, JwksVerifier};
///
/// # async fn example(authorization: Option<&str>) -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = JwksVerifier::builder("https://auth.example.com", "acme").build()?;
/// let readers = Authenticator::new(verifier).require("docs.read");
/// match readers.authenticate_header(authorization).await {
///     Ok(claims) => println!("hello {}", claims.sub),
///     Err(refusal) => println!("{} {}", refusal.status(), refusal.body()),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticator {
    verifier: JwksVerifier,
    required: Arc<[String]>,
}

impl Authenticator {
    /// Accepts every valid token of the verifier's app.
    pub fn new(verifier: JwksVerifier) -> Self {
        Authenticator { verifier, required: Arc::from([]) }
    }

    /// A copy that also requires `permission` (all required permissions must be held;
    /// wildcards in the token count, see [`Claims::has_permission`]).
    pub fn require(&self, permission: impl Into<String>) -> Self {
        let mut required = self.required.to_vec();
        required.push(permission.into());
        Authenticator { verifier: self.verifier.clone(), required: required.into() }
    }

    /// The permissions a token must hold.
    pub fn required_permissions(&self) -> &[String] {
        &self.required
    }

    /// The verifier tokens are checked with.
    pub fn verifier(&self) -> &JwksVerifier {
        &self.verifier
    }

    /// Verifies `token` and checks the required permissions.
    pub async fn authenticate(&self, token: &str) -> Result<Claims, AuthError> {
        let claims = self.verifier.verify(token).await.map_err(|error| {
            tracing::debug!(%error, code = error.code(), "bearer token refused");
            AuthError::InvalidToken(error)
        })?;
        self.check(&claims)?;
        Ok(claims)
    }

    /// Like [`authenticate`](Self::authenticate), taking the `Authorization` header's value.
    pub async fn authenticate_header(&self, authorization: Option<&str>) -> Result<Claims, AuthError> {
        let token = authorization.and_then(bearer_token).ok_or_else(|| {
            tracing::debug!("request without a bearer token");
            AuthError::MissingToken
        })?;
        self.authenticate(token).await
    }

    /// Checks only the required permissions of already verified claims.
    pub fn check(&self, claims: &Claims) -> Result<(), AuthError> {
        let missing = claims.missing_permissions(self.required.iter().map(String::as_str));
        if missing.is_empty() {
            Ok(())
        } else {
            tracing::debug!(sub = %claims.sub, ?missing, "token lacks permissions");
            Err(AuthError::Forbidden { missing })
        }
    }
}

/// poem middleware: `route.with(authenticator.clone())`; handlers take `Data<&Claims>`.
#[cfg(feature = "poem")]
pub mod poem {
    use ::poem::{
        Endpoint, IntoResponse, Middleware, Request, Response, Result,
        http::{StatusCode, header},
    };

    use super::{AuthError, Authenticator};

    impl<E: Endpoint> Middleware<E> for Authenticator {
        type Output = AuthenticatedEndpoint<E>;

        fn transform(&self, inner: E) -> Self::Output {
            AuthenticatedEndpoint { inner, authenticator: self.clone() }
        }
    }

    /// An endpoint behind an [`Authenticator`].
    pub struct AuthenticatedEndpoint<E> {
        inner: E,
        authenticator: Authenticator,
    }

    impl<E: Endpoint> Endpoint for AuthenticatedEndpoint<E> {
        type Output = Response;

        async fn call(&self, mut req: Request) -> Result<Response> {
            let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            match self.authenticator.authenticate_header(authorization).await {
                Ok(claims) => {
                    req.extensions_mut().insert(claims);
                    self.inner.call(req).await.map(IntoResponse::into_response)
                }
                Err(refusal) => Ok(refusal.into_response()),
            }
        }
    }

    impl IntoResponse for AuthError {
        fn into_response(self) -> Response {
            let mut response = Response::builder()
                .status(StatusCode::from_u16(self.status()).unwrap_or(StatusCode::UNAUTHORIZED))
                .content_type("application/json")
                .body(self.body().to_string());
            if let Some(challenge) = self.www_authenticate() {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static(challenge));
            }
            response
        }
    }
}

/// axum middleware: `.layer(axum::middleware::from_fn_with_state(authenticator, authenticate))`;
/// handlers take `Claims` (or `Extension<Claims>`).
#[cfg(feature = "axum")]
pub mod axum {
    use ::axum::{
        body::Body,
        extract::{FromRequestParts, Request, State},
        http::{HeaderValue, StatusCode, header, request::Parts},
        middleware::Next,
        response::{IntoResponse, Response},
    };

    use super::{AuthError, Authenticator};
    use crate::jwks::Claims;

    /// Verifies the request's bearer token, stores the [`Claims`] in its extensions and runs
    /// the rest of the stack, or answers the refusal.
    pub async fn authenticate(State(authenticator): State<Authenticator>, mut req: Request, next: Next) -> Response {
        let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        match authenticator.authenticate_header(authorization).await {
            Ok(claims) => {
                req.extensions_mut().insert(claims);
                next.run(req).await
            }
            Err(refusal) => refusal.into_response(),
        }
    }

    impl IntoResponse for AuthError {
        fn into_response(self) -> Response {
            let mut response = Response::new(Body::from(self.body().to_string()));
            *response.status_mut() = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::UNAUTHORIZED);
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            if let Some(challenge) = self.www_authenticate() {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
            }
            response
        }
    }

    /// The claims put there by [`authenticate`]; a route without that middleware answers 401.
    impl<S: Send + Sync> FromRequestParts<S> for Claims {
        type Rejection = AuthError;

        async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
            parts.extensions.get::<Claims>().cloned().ok_or(AuthError::MissingToken)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_found_case_insensitively() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer   abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token(""), None);
    }

    #[test]
    fn refusals_map_to_status_code_and_challenge() {
        let missing = AuthError::MissingToken;
        assert_eq!(
            (missing.status(), missing.code(), missing.www_authenticate()),
            (401, "missing_token", Some("Bearer"))
        );
        let expired = AuthError::InvalidToken(VerifyError::Expired);
        assert_eq!((expired.status(), expired.code()), (401, "token_expired"));
        let forbidden = AuthError::Forbidden { missing: vec!["docs.write".into()] };
        assert_eq!(forbidden.status(), 403);
        assert_eq!(forbidden.body()["details"]["missing_permissions"][0], "docs.write");
        let down = AuthError::InvalidToken(VerifyError::FetchFailed(Arc::new(crate::jwks::JwksFetchError::Timeout)));
        assert_eq!((down.status(), down.www_authenticate()), (503, None));
    }
}
