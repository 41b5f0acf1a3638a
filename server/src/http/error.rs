//! The one error model: every failure leaves Heimdall as `{statusCode, code, message, request_id}`
//! JSON with a stable snake_case `code`.
//!
//! Domain code returns [`ApiError`]. Operations declare which statuses they can answer through an
//! [`ErrorSet`], so the spec documents each operation's errors with the shared [`ErrorBody`]
//! schema; the codes themselves are part of the API contract and never change meaning.

use std::{borrow::Cow, marker::PhantomData};

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{
    ApiResponse, Object,
    registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::Type,
};

use super::context::current_request_id;

/// The JSON body of every error response.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
#[oai(example)]
pub struct ErrorBody {
    /// HTTP status code, repeated for clients that only see the body.
    #[oai(rename = "statusCode")]
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    /// Stable machine-readable code in snake_case, e.g. `slug_taken`.
    pub code: String,
    /// Human-readable explanation; may change between versions.
    pub message: String,
    /// Id of the request, also sent as the `x-request-id` header; quote it in support requests.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Structured detail for some codes, e.g. the field that failed validation.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// OAuth endpoints only: the RFC 6749 §5.2 error code (`invalid_client`, …).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// OAuth endpoints only: the same text as `message`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> Self {
        ErrorBody {
            status_code: 409,
            code: "slug_taken".into(),
            message: "the slug 'acme' is already in use".into(),
            request_id: Some("0193a3f0-6b1c-7d2e-9f00-1a2b3c4d5e6f".into()),
            details: None,
            error: None,
            error_description: None,
        }
    }
}

/// A failure with its HTTP status and stable code. Kept small (rare parts are boxed) because it
/// is the error type of nearly every function.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: String,
    extra: Option<Box<Extra>>,
}

#[derive(Debug, Clone, Default)]
struct Extra {
    details: Option<serde_json::Value>,
    retry_after: Option<u64>,
    www_authenticate: Option<String>,
    /// Also carry RFC 6749 `error` / `error_description` (OAuth endpoints).
    oauth: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        ApiError { status, code: code.into(), message: message.into(), extra: None }
    }

    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    pub fn bad_request(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 `validation_failed` naming the offending field.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation_failed", format!("{field}: {}", message.into()))
            .with_details(serde_json::json!({ "field": field }))
    }

    /// A display name (apps, API keys, M2M clients): trimmed, 1 to 120 characters, else 400
    /// `validation_failed` naming `field`.
    pub fn check_name(field: &str, raw: &str) -> Result<String, Self> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(Self::validation(field, "must be 1 to 120 characters"));
        }
        Ok(name.to_owned())
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn conflict(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests; retry after {retry_after_secs} s"),
        )
        .with_retry_after(retry_after_secs)
    }

    /// 500 `internal_error`; the cause is logged here and never sent to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal error")
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.extra().details = Some(details);
        self
    }

    /// Sets `Retry-After` (at least one second).
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.extra().retry_after = Some(secs.max(1));
        self
    }

    /// Sets a `WWW-Authenticate` challenge.
    pub fn with_www_authenticate(mut self, challenge: impl Into<String>) -> Self {
        self.extra().www_authenticate = Some(challenge.into());
        self
    }

    /// Marks the error as an OAuth one: the body also carries `error` and `error_description`.
    pub fn oauth(mut self) -> Self {
        self.extra().oauth = true;
        self
    }

    pub fn details(&self) -> Option<&serde_json::Value> {
        self.extra.as_ref().and_then(|e| e.details.as_ref())
    }

    pub fn retry_after(&self) -> Option<u64> {
        self.extra.as_ref().and_then(|e| e.retry_after)
    }

    pub fn body(&self) -> ErrorBody {
        let oauth = self.extra.as_ref().is_some_and(|e| e.oauth);
        ErrorBody {
            status_code: self.status.as_u16(),
            code: self.code.to_string(),
            message: self.message.clone(),
            request_id: current_request_id(),
            details: self.details().cloned(),
            error: oauth.then(|| self.code.to_string()),
            error_description: oauth.then(|| self.message.clone()),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        ApiError::internal(format_args!("database: {err}"))
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        ApiError::internal(format_args!("{err:#}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut resp =
            Response::builder().status(self.status).content_type("application/json; charset=utf-8").body(body);
        if let Some(secs) = self.retry_after() {
            resp.headers_mut().insert("retry-after", secs.into());
        }
        let challenge = self.extra.as_ref().and_then(|e| e.www_authenticate.as_deref()).and_then(|c| c.parse().ok());
        if let Some(challenge) = challenge {
            resp.headers_mut().insert("www-authenticate", challenge);
        }
        resp
    }
}

impl From<ApiError> for poem::Error {
    fn from(err: ApiError) -> Self {
        poem::Error::from_response(err.into_response())
    }
}

/// A set of error statuses an operation documents.
pub trait ErrorSet: Send + Sync + 'static {
    const STATUSES: &'static [u16];
    /// OAuth endpoints: every error also carries RFC 6749 §5.2 `error`/`error_description`,
    /// whatever produced it (a domain rule, a missing app, a database failure).
    const OAUTH: bool = false;
}

/// An [`ApiError`] documented in the spec with the statuses of `S`.
pub struct Errors<S: ErrorSet>(pub ApiError, PhantomData<S>);

impl<S: ErrorSet> From<ApiError> for Errors<S> {
    fn from(err: ApiError) -> Self {
        Errors(if S::OAUTH { err.oauth() } else { err }, PhantomData)
    }
}

impl<S: ErrorSet> From<sea_orm::DbErr> for Errors<S> {
    fn from(err: sea_orm::DbErr) -> Self {
        ApiError::from(err).into()
    }
}

impl<S: ErrorSet> From<Errors<S>> for poem::Error {
    fn from(err: Errors<S>) -> Self {
        err.0.into()
    }
}

impl<S: ErrorSet> IntoResponse for Errors<S> {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

fn describe(status: u16) -> &'static str {
    match status {
        400 => {
            "The request is malformed or fails validation (`invalid_request`, `validation_failed`, `invalid_cursor`)."
        }
        401 => "The credential is missing, malformed, unknown or expired (`unauthorized`).",
        403 => "The credential is valid but lacks the permission, or the action is not allowed (`forbidden`).",
        404 => "The resource does not exist or is not visible to this credential (`not_found`).",
        409 => {
            "The request conflicts with current state, e.g. a slug in use (`slug_taken`, `conflict`, `idempotency_request_in_progress`)."
        }
        410 => "The code, invite or token was valid once but is used, expired or revoked (`gone`).",
        412 => "A precondition on the server's configuration is not met, e.g. mail delivery is not configured.",
        413 => "The request body is larger than the server accepts (`payload_too_large`).",
        422 => "The `Idempotency-Key` was already used with a different request (`idempotency_key_reused`).",
        429 => "Too many attempts; wait the number of seconds in `Retry-After` (`rate_limited`).",
        503 => "A dependency is unavailable; retry later (`unavailable`).",
        _ => "Unexpected server error (`internal_error`); the body carries the request id to report.",
    }
}

impl<S: ErrorSet> ApiResponse for Errors<S> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: S::STATUSES
                .iter()
                .map(|&status| MetaResponse {
                    description: describe(status),
                    status: Some(status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: ErrorBody::schema_ref(),
                    }],
                    headers: if status == 429 {
                        vec![MetaHeader {
                            name: "retry-after".into(),
                            description: Some("Seconds to wait before retrying.".into()),
                            required: true,
                            deprecated: false,
                            schema: u64::schema_ref(),
                        }]
                    } else {
                        vec![]
                    },
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

macro_rules! error_sets {
    ($($(#[$doc:meta])* $name:ident = [$($status:literal),*];)*) => {$(
        $(#[$doc])*
        pub struct $name;
        impl ErrorSet for $name {
            const STATUSES: &'static [u16] = &[$($status),*];
        }
    )*};
}

error_sets! {
    /// Public endpoints with no credential.
    PublicErrors = [400, 404, 429, 500];
    /// Operator endpoints.
    SystemErrors = [500, 503];
    /// Admin reads.
    AdminReadErrors = [400, 401, 403, 404, 500];
    /// Admin changes.
    AdminWriteErrors = [400, 401, 403, 404, 409, 500];
    /// Admin creates that honour `Idempotency-Key`.
    AdminCreateErrors = [400, 401, 403, 404, 409, 422, 500];
}

/// Maps a status to the code used when the error did not come from Heimdall's own code (poem's
/// routing, parsing and security layers).
pub fn code_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        409 => "conflict",
        411 => "length_required",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable_entity",
        429 => "rate_limited",
        503 => "unavailable",
        s if s >= 500 => "internal_error",
        _ => "error",
    }
}
