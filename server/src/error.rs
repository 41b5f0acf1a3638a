//! The domain error: what went wrong, as a stable [`Code`] from one catalogue, a message for
//! people, and optional structured details. Nothing here knows HTTP: `http::error` maps each
//! code to its status and the JSON error body in one place, and publishes the catalogue in the
//! spec.
//!
//! Codes are part of the API contract: clients branch on them, so a code never changes meaning
//! and is never reused. Server faults stay server faults all the way up (`unavailable`,
//! `internal_error`): a layer that cannot finish its work never answers as if the client erred.

use std::fmt;

/// Declares the catalogue: each code with the sentence that documents it.
macro_rules! catalogue {
    ($($(#[doc = $doc:literal])+ $variant:ident = $code:literal,)*) => {
        /// Every error code Heimdall answers with. The wire form is the snake_case string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[doc = $doc])+ $variant,)*
        }

        impl Code {
            /// The whole catalogue, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The wire form, e.g. `slug_taken`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// The sentence that documents the code in the spec.
            pub fn describe(self) -> &'static str {
                match self {
                    $(Code::$variant => concat!($($doc),+).trim_ascii(),)*
                }
            }

            /// The code with this wire form, if it is in the catalogue.
            pub fn parse(raw: &str) -> Option<Code> {
                Code::ALL.iter().copied().find(|c| c.as_str() == raw)
            }
        }
    };
}

catalogue! {
    /// The request is malformed: a body that does not parse, a missing parameter, a bad header.
    InvalidRequest = "invalid_request",
    /// A field fails validation; `details.field` names it.
    ValidationFailed = "validation_failed",
    /// The `cursor` is not one this server issued.
    InvalidCursor = "invalid_cursor",
    /// A permission is not `resource.action` (or an explicit `resource.*` / `*` wildcard).
    InvalidPermission = "invalid_permission",
    /// The password does not meet the app's password policy.
    WeakPassword = "weak_password",
    /// No token was sent, in the body or as `Authorization: Bearer`.
    TokenRequired = "token_required",
    /// OAuth: the `grant_type` is not supported (RFC 6749 §5.2).
    UnsupportedGrantType = "unsupported_grant_type",
    /// OAuth: a requested scope is not granted to the client (RFC 6749 §5.2).
    InvalidScope = "invalid_scope",
    /// The credential is missing, malformed, unknown or expired.
    Unauthorized = "unauthorized",
    /// Wrong identifier or password (the same answer whether or not the account exists).
    InvalidCredentials = "invalid_credentials",
    /// The refresh token is unknown, expired or its session ended.
    InvalidRefreshToken = "invalid_refresh_token",
    /// The refresh token was already used; the session has been revoked.
    RefreshTokenReused = "refresh_token_reused",
    /// The token's session has ended (logout, revocation, password reset, suspension).
    SessionRevoked = "session_revoked",
    /// The access token has expired.
    TokenExpired = "token_expired",
    /// OAuth: client authentication failed (RFC 6749 §5.2).
    InvalidClient = "invalid_client",
    /// The credential is valid but lacks the permission, or the action is not allowed.
    Forbidden = "forbidden",
    /// The app is suspended or archived and refuses sign-ins and token use.
    AppInactive = "app_inactive",
    /// The account is suspended or deactivated.
    AccountInactive = "account_inactive",
    /// Sign-in is disabled for this app.
    SigninDisabled = "signin_disabled",
    /// Sign-up is disabled for this app.
    SignupDisabled = "signup_disabled",
    /// The email's domain is not among the app's allowed sign-up domains.
    EmailDomainNotAllowed = "email_domain_not_allowed",
    /// The account is not a member of the requested tenant.
    TenantMembershipRequired = "tenant_membership_required",
    /// OAuth: the client may not perform this action, e.g. revoke another client's token.
    UnauthorizedClient = "unauthorized_client",
    /// The resource does not exist or is not visible to this credential.
    NotFound = "not_found",
    /// No app has this slug.
    AppNotFound = "app_not_found",
    /// No role has this name in the app.
    RoleNotFound = "role_not_found",
    /// No invite has this code.
    InviteNotFound = "invite_not_found",
    /// No tenant has this id in the app.
    TenantNotFound = "tenant_not_found",
    /// No webhook endpoint has this id in the app.
    WebhookNotFound = "webhook_not_found",
    /// The app's change feed has no event with this sequence number (never written, or swept by
    /// retention).
    EventNotFound = "event_not_found",
    /// The path exists but not with this method.
    MethodNotAllowed = "method_not_allowed",
    /// The client took too long to send its request.
    RequestTimeout = "request_timeout",
    /// The request conflicts with the current state.
    Conflict = "conflict",
    /// The slug is used by another app (or is a recent alias of one).
    SlugTaken = "slug_taken",
    /// The username is already registered in this app.
    UsernameTaken = "username_taken",
    /// The email is already registered in this app.
    EmailTaken = "email_taken",
    /// The username or email is already registered in this app.
    AccountExists = "account_exists",
    /// Another tenant of the app has this slug.
    TenantSlugTaken = "tenant_slug_taken",
    /// A role with this name exists.
    RoleExists = "role_exists",
    /// End-users still hold the role; reassign them first.
    RoleInUse = "role_in_use",
    /// The permission exists (or is a system permission).
    PermissionExists = "permission_exists",
    /// Another key rotation of the app is under way; retry.
    RotationInProgress = "rotation_in_progress",
    /// A request with this `Idempotency-Key` is still being processed; retry shortly.
    IdempotencyRequestInProgress = "idempotency_request_in_progress",
    /// The code is invalid, expired or already used.
    CodeInvalid = "code_invalid",
    /// The invite is revoked, expired or used up.
    InviteUnusable = "invite_unusable",
    /// The request needs a `Content-Length`.
    LengthRequired = "length_required",
    /// Mail delivery is not configured on this server (no `HEIMDALL_SMTP_URL`). Upper case: the
    /// contract fixes this value.
    MailNotConfigured = "ENVOI_NOT_ENABLED",
    /// The request body is larger than the server accepts.
    PayloadTooLarge = "payload_too_large",
    /// The body's content type is not one the operation accepts.
    UnsupportedMediaType = "unsupported_media_type",
    /// The `Idempotency-Key` was already used with a different request.
    IdempotencyKeyReused = "idempotency_key_reused",
    /// The webhook URL is not an absolute `http(s)` URL without credentials.
    WebhookUrlInvalid = "webhook_url_invalid",
    /// The webhook URL names a loopback, private or link-local address, which this server does
    /// not send to (`HEIMDALL_WEBHOOK_ALLOW_NETWORKS` relaxes it).
    WebhookDestinationForbidden = "webhook_destination_forbidden",
    /// The body is well-formed but cannot be processed.
    UnprocessableEntity = "unprocessable_entity",
    /// Too many attempts; wait `Retry-After` seconds.
    RateLimited = "rate_limited",
    /// Unexpected server error; quote the request id when reporting it.
    InternalError = "internal_error",
    /// A dependency (the database) is unavailable; retry after `Retry-After` seconds.
    Unavailable = "unavailable",
    /// The server is saturated (e.g. the password-hashing queue is full); retry later.
    Overloaded = "overloaded",
    /// The mail server refused or could not be reached; retry later. Upper case: the contract
    /// fixes this value.
    MailDispatchFailed = "ENVOI_DISPATCH_FAILED",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure with its stable code. Kept small (rare parts are boxed) because it is the error
/// type of nearly every function.
#[derive(Debug, Clone)]
pub struct Error {
    pub code: Code,
    pub message: String,
    extra: Option<Box<Extra>>,
}

#[derive(Debug, Clone, Default)]
struct Extra {
    details: Option<serde_json::Value>,
    retry_after: Option<u64>,
    /// The realm a client should authenticate against (a `WWW-Authenticate` challenge on HTTP).
    challenge: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), extra: None }
    }

    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// `validation_failed` naming the offending field.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::new(Code::ValidationFailed, format!("{field}: {}", message.into()))
            .with_details(serde_json::json!({ "field": field }))
    }

    /// A display name (apps, API keys, M2M clients): trimmed, 1 to 120 characters, else
    /// `validation_failed` naming `field`.
    pub fn check_name(field: &str, raw: &str) -> Result<String> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(Self::validation(field, "must be 1 to 120 characters"));
        }
        Ok(name.to_owned())
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(Code::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("{what} not found"))
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::new(Code::RateLimited, format!("too many requests; retry after {retry_after_secs} s"))
            .with_retry_after(retry_after_secs)
    }

    /// `internal_error`; the cause is logged here and never sent to the client.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(Code::InternalError, "internal error")
    }

    /// `unavailable` with a retry hint; the cause is logged here and never sent to the client.
    pub fn unavailable(cause: impl fmt::Display) -> Self {
        tracing::warn!(error = %cause, "dependency unavailable");
        Self::new(Code::Unavailable, "a dependency is unavailable; retry shortly").with_retry_after(1)
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.extra().details = Some(details);
        self
    }

    /// Asks the client to wait (at least one second) before retrying.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.extra().retry_after = Some(secs.max(1));
        self
    }

    /// Names the realm the client should authenticate against.
    pub fn with_challenge(mut self, challenge: impl Into<String>) -> Self {
        self.extra().challenge = Some(challenge.into());
        self
    }

    pub fn details(&self) -> Option<&serde_json::Value> {
        self.extra.as_ref().and_then(|e| e.details.as_ref())
    }

    pub fn retry_after(&self) -> Option<u64> {
        self.extra.as_ref().and_then(|e| e.retry_after)
    }

    pub fn challenge(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|e| e.challenge.as_deref())
    }

    /// Whether the failure is the server's (the client may retry the same request).
    pub fn is_server_fault(&self) -> bool {
        matches!(self.code, Code::InternalError | Code::Unavailable | Code::Overloaded | Code::MailDispatchFailed)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl From<anyhow::Error> for Error {
    fn from(err: anyhow::Error) -> Self {
        Error::internal(format_args!("{err:#}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            // The mail codes keep the values the contract fixes.
            let contract_fixed = s.starts_with("ENVOI_") && s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
            assert!(contract_fixed || s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{s}");
            assert!(code.describe().ends_with('.'), "{s}: {}", code.describe());
            assert_eq!(Code::parse(s), Some(*code));
        }
        assert_eq!(Code::parse("nope"), None);
    }
}
