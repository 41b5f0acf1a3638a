//! The one error model: every failure leaves Heimdall as `{statusCode, code, message, request_id}`
//! JSON with a stable snake_case `code`.
//!
//! Domain code returns [`crate::error::Error`], which knows nothing of HTTP; [`status`] maps its
//! code to the status here and nowhere else. Operations declare which statuses they can answer
//! through an [`ErrorSet`], so the spec documents each operation's errors with the shared
//! [`ErrorBody`] schema; `http::spec` adds the catalogue codes each operation answers.

use std::marker::PhantomData;

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{
    ApiResponse, Object,
    registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::Type,
};

use super::context::current_request_id;
pub use crate::error::{Code, Error};

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
    /// OAuth endpoints only: the RFC 6749 error code (`invalid_request`, `invalid_client`,
    /// `invalid_scope`, `unsupported_grant_type`, `unauthorized_client`, `server_error`,
    /// `temporarily_unavailable`).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// OAuth endpoints only: a fixed description of `error` (RFC 6749 §5.2 charset, never the
    /// request's own text); `message` may say more.
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

/// The HTTP status of each code: the one place where the domain's catalogue meets HTTP.
pub fn status(code: Code) -> StatusCode {
    use Code::*;
    match code {
        InvalidRequest
        | ValidationFailed
        | InvalidCursor
        | InvalidPermission
        | WeakPassword
        | TokenRequired
        | UnsupportedGrantType
        | InvalidScope
        | WebhookUrlInvalid
        | WebhookDestinationForbidden => StatusCode::BAD_REQUEST,
        Unauthorized | InvalidCredentials | InvalidRefreshToken | RefreshTokenReused | SessionRevoked
        | TokenExpired | InvalidClient => StatusCode::UNAUTHORIZED,
        Forbidden
        | AppInactive
        | AccountInactive
        | SigninDisabled
        | SignupDisabled
        | EmailDomainNotAllowed
        | TenantMembershipRequired
        | UnauthorizedClient => StatusCode::FORBIDDEN,
        NotFound | AppNotFound | RoleNotFound | InviteNotFound | TenantNotFound | WebhookNotFound | EventNotFound => {
            StatusCode::NOT_FOUND
        }
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        Conflict
        | SlugTaken
        | TenantSlugTaken
        | UsernameTaken
        | EmailTaken
        | AccountExists
        | RoleExists
        | RoleInUse
        | PermissionExists
        | RotationInProgress
        | IdempotencyRequestInProgress => StatusCode::CONFLICT,
        CodeInvalid | InviteUnusable => StatusCode::GONE,
        LengthRequired => StatusCode::LENGTH_REQUIRED,
        MailNotConfigured => StatusCode::PRECONDITION_FAILED,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        IdempotencyKeyReused | UnprocessableEntity => StatusCode::UNPROCESSABLE_ENTITY,
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        Unavailable | Overloaded | MailDispatchFailed => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The JSON body of `err`; `oauth` adds RFC 6749 `error` / `error_description`.
pub fn body(err: &Error, oauth: bool) -> ErrorBody {
    ErrorBody {
        status_code: status(err.code).as_u16(),
        code: err.code.as_str().to_owned(),
        message: err.message.clone(),
        request_id: current_request_id(),
        details: err.details().cloned(),
        error: oauth.then(|| oauth_error(err.code).to_owned()),
        error_description: oauth.then(|| oauth_description(err.code).to_owned()),
    }
}

/// The RFC 6749 `error` answered for `code` on the OAuth endpoints: the §5.2 codes, plus
/// `server_error` and `temporarily_unavailable` (§4.1.2.1) for the server's own failures and
/// throttling. Codes with no OAuth counterpart (an unknown app, a malformed body, …) are
/// `invalid_request`.
pub fn oauth_error(code: Code) -> &'static str {
    use Code::*;
    match code {
        InvalidClient => "invalid_client",
        UnsupportedGrantType => "unsupported_grant_type",
        InvalidScope => "invalid_scope",
        UnauthorizedClient | AppInactive => "unauthorized_client",
        RateLimited | Unavailable | Overloaded => "temporarily_unavailable",
        _ if status(code).is_server_error() => "server_error",
        _ => "invalid_request",
    }
}

/// The RFC 6749 `error_description` for `code`: a fixed text in the charset §5.2 allows
/// (%x20-21 / %x23-5B / %x5D-7E), so it never carries anything the caller sent.
pub fn oauth_description(code: Code) -> &'static str {
    use Code::*;
    match code {
        InvalidClient => "Client authentication failed.",
        UnsupportedGrantType => "The grant type is not supported; use client_credentials.",
        InvalidScope => "A requested scope is invalid or not granted to this client.",
        UnauthorizedClient => "The client is not authorized for this operation.",
        AppInactive => "The app is deactivated.",
        AppNotFound => "The app does not exist.",
        NotFound => "No such route.",
        MethodNotAllowed => "Method not allowed; use POST.",
        PayloadTooLarge => "The request body is too large.",
        UnsupportedMediaType => "The body must be application/json or application/x-www-form-urlencoded.",
        RateLimited => "Too many failed attempts; retry after the Retry-After delay.",
        Unavailable | Overloaded => "The server is temporarily unavailable; retry later.",
        _ if status(code).is_server_error() => "The server encountered an unexpected condition.",
        _ => "The request is malformed, lacks a required parameter or repeats one.",
    }
}

/// Whether `text` keeps to the characters RFC 6749 §5.2 allows in `error` and
/// `error_description`: %x20-21 / %x23-5B / %x5D-7E (printable ASCII without `"` and `\`).
pub fn is_oauth_text(text: &str) -> bool {
    text.bytes().all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// The response for `err`: status, JSON body, `Retry-After` and `WWW-Authenticate` headers.
pub fn respond(err: &Error, oauth: bool) -> Response {
    let body = serde_json::to_vec(&body(err, oauth)).unwrap_or_default();
    let mut resp =
        Response::builder().status(status(err.code)).content_type("application/json; charset=utf-8").body(body);
    if let Some(secs) = err.retry_after() {
        resp.headers_mut().insert("retry-after", secs.into());
    }
    if let Some(challenge) = err.challenge().and_then(|c| c.parse().ok()) {
        resp.headers_mut().insert("www-authenticate", challenge);
    }
    resp
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        respond(&self, false)
    }
}

impl From<Error> for poem::Error {
    fn from(err: Error) -> Self {
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

/// An [`Error`] documented in the spec with the statuses of `S`.
pub struct Errors<S: ErrorSet>(pub Error, PhantomData<S>);

impl<S: ErrorSet> From<Error> for Errors<S> {
    fn from(err: Error) -> Self {
        Errors(err, PhantomData)
    }
}

impl<S: ErrorSet> From<Errors<S>> for poem::Error {
    fn from(err: Errors<S>) -> Self {
        poem::Error::from_response(err.into_response())
    }
}

impl<S: ErrorSet> IntoResponse for Errors<S> {
    fn into_response(self) -> Response {
        respond(&self.0, S::OAUTH)
    }
}

/// What a status means; `http::spec` adds the codes each operation answers with it.
fn describe(status_code: u16) -> &'static str {
    match status_code {
        400 => "The request is malformed or fails validation.",
        401 => "The credential is missing, malformed, unknown or expired.",
        403 => "The credential is valid but lacks the permission, or the action is not allowed.",
        404 => "The resource does not exist or is not visible to this credential.",
        409 => "The request conflicts with the current state.",
        410 => "The code, invite or token was valid once but is used, expired or revoked.",
        412 => "A precondition on the server's configuration is not met.",
        413 => "The request body is larger than the server accepts.",
        422 => "The request cannot be processed as sent.",
        429 => "Too many attempts; wait the number of seconds in `Retry-After`.",
        503 => "A dependency is unavailable or the server is saturated; retry after `Retry-After` seconds.",
        _ => "Unexpected server error; the body carries the request id to report.",
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
    /// Operator endpoints (400: a request the front door cannot read, e.g. a bad `Content-Length`).
    SystemErrors = [400, 500, 503];
    /// Admin reads.
    AdminReadErrors = [400, 401, 403, 404, 500];
    /// Admin changes.
    AdminWriteErrors = [400, 401, 403, 404, 409, 500];
    /// Admin creates that honour `Idempotency-Key`.
    AdminCreateErrors = [400, 401, 403, 404, 409, 422, 500];
}

/// The code for an error that did not come from Heimdall's own code (poem's routing, parsing
/// and security layers): the catalogue code of that status.
pub fn code_for_status(status: StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::InvalidRequest,
        401 => Code::Unauthorized,
        403 => Code::Forbidden,
        404 => Code::NotFound,
        405 => Code::MethodNotAllowed,
        408 => Code::RequestTimeout,
        409 => Code::Conflict,
        411 => Code::LengthRequired,
        413 => Code::PayloadTooLarge,
        415 => Code::UnsupportedMediaType,
        422 => Code::UnprocessableEntity,
        429 => Code::RateLimited,
        503 => Code::Unavailable,
        s if s >= 500 => Code::InternalError,
        _ => Code::InvalidRequest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_an_rfc_6749_error_and_a_fixed_description_in_its_charset() {
        const RFC: [&str; 7] = [
            "invalid_request",
            "invalid_client",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "server_error",
            "temporarily_unavailable",
        ];
        for code in Code::ALL {
            assert!(RFC.contains(&oauth_error(*code)), "{code}");
            let description = oauth_description(*code);
            assert!(!description.is_empty() && is_oauth_text(description), "{code}: {description}");
            let body = body(&Error::new(*code, "grant_type '\"<script>é' is odd"), true);
            assert_eq!(body.error.as_deref(), Some(oauth_error(*code)));
            assert_eq!(body.error_description.as_deref(), Some(description), "never the message");
        }
        // The codes OAuth defines are answered as themselves, with their statuses.
        for (code, error, status_code) in [
            (Code::InvalidRequest, "invalid_request", 400),
            (Code::InvalidScope, "invalid_scope", 400),
            (Code::UnsupportedGrantType, "unsupported_grant_type", 400),
            (Code::InvalidClient, "invalid_client", 401),
            (Code::UnauthorizedClient, "unauthorized_client", 403),
            (Code::AppNotFound, "invalid_request", 404),
            (Code::RateLimited, "temporarily_unavailable", 429),
            (Code::InternalError, "server_error", 500),
        ] {
            assert_eq!((oauth_error(code), status(code).as_u16()), (error, status_code), "{code}");
        }
        assert!(body(&Error::new(Code::InvalidScope, "x"), false).error.is_none(), "only OAuth endpoints");
    }

    #[test]
    fn the_oauth_charset_excludes_quotes_backslashes_controls_and_non_ascii() {
        assert!(is_oauth_text("Client authentication failed; use `Basic` (or the body) [x] {y} ~!#"));
        for bad in ["\"", "\\", "é", "\n", "\t", "\u{7f}"] {
            assert!(!is_oauth_text(bad), "{bad:?}");
        }
    }

    #[test]
    fn every_code_of_a_status_maps_back_to_that_status() {
        for code in Code::ALL {
            let s = status(*code);
            assert!(s.is_client_error() || s.is_server_error(), "{code}");
        }
        for s in [400u16, 401, 403, 404, 405, 408, 409, 411, 413, 415, 422, 429, 500, 503] {
            let s = StatusCode::from_u16(s).unwrap();
            assert_eq!(status(code_for_status(s)), s);
        }
    }
}
