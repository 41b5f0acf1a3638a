//! Admin HTTP surface of the auth configuration (`/v1/apps/{app_id}/auth-config`).

use std::sync::Arc;

use poem::{Request, web::Data};
use poem_openapi::{Enum, Object, OpenApi, param::Path, payload::Json};
use uuid::Uuid;

use super::{
    AuthConfig, load,
    service::{self, Changes},
};
use crate::access::api::{AdminKey, authenticate};
use crate::http::strict_json::StrictJson;
use crate::tags::ApiTags;
use crate::{
    http::error::{AdminReadErrors, AdminWriteErrors, Errors},
    permissions,
    state::AppState,
};

/// What federated sign-in does when the provider's email matches an existing account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum OauthLinkPolicy {
    /// Link when the provider says the email is verified (never for private-relay addresses).
    Auto,
    /// Refuse with 409 `link_required` until the user confirms.
    Confirm,
    /// Refuse with 409 `account_exists_with_different_provider`.
    Reject,
}

impl OauthLinkPolicy {
    fn as_str(self) -> &'static str {
        match self {
            OauthLinkPolicy::Auto => "auto",
            OauthLinkPolicy::Confirm => "confirm",
            OauthLinkPolicy::Reject => "reject",
        }
    }

    fn from_str(s: &str) -> Self {
        match s {
            "auto" => OauthLinkPolicy::Auto,
            "reject" => OauthLinkPolicy::Reject,
            _ => OauthLinkPolicy::Confirm,
        }
    }
}

/// The auth configuration of an app; every field is always present.
#[derive(Debug, Clone, Object)]
pub struct AuthConfigResponse {
    /// Exact origins allowed as `return_to` of the web OAuth flow.
    pub allowed_redirect_origins: Vec<String>,
    /// Whether new passwords (sign-up, password reset, invite acceptance) on the built-in list
    /// of commonly used passwords are refused with 400 `weak_password`. On by default.
    pub block_common_passwords: bool,
    /// While false, permission checks on Heimdall routes marked permission-protected are skipped.
    pub enforce_app_permissions: bool,
    /// Failed sign-ins for one account (by username or email alike) within 15 minutes before it
    /// is locked for the rest of the window.
    pub max_failed_login_attempts: u32,
    /// Live sessions per user; the oldest is ended when a new one would exceed it.
    pub max_sessions: u32,
    pub oauth_link_policy: OauthLinkPolicy,
    /// Minimum password length, in characters.
    pub password_min_length: u32,
    /// Whether passwords must contain a digit.
    pub password_require_number: bool,
    /// Whether passwords must contain a symbol.
    pub password_require_symbol: bool,
    /// Whether passwords must contain an uppercase letter.
    pub password_require_uppercase: bool,
    /// Seconds after a refresh token was exchanged during which presenting it again is only
    /// refused (401 `refresh_token_reused`) instead of revoking the whole session. 0 means any
    /// reuse revokes the session (RFC 9700 §4.14.2).
    pub refresh_reuse_grace_seconds: u32,
    /// Lifetime of a session (and its refresh tokens), in minutes.
    pub session_duration_minutes: u32,
    /// Whether end-users may sign in.
    pub signin_enabled: bool,
    /// Sign-up is open only to these email domains; empty means any.
    pub signup_allowed_email_domains: Vec<String>,
    /// Role given to new sign-ups.
    pub signup_default_role: String,
    /// Whether new end-users may sign up without an invite.
    pub signup_enabled: bool,
}

impl From<AuthConfig> for AuthConfigResponse {
    fn from(c: AuthConfig) -> Self {
        AuthConfigResponse {
            allowed_redirect_origins: c.allowed_redirect_origins,
            block_common_passwords: c.block_common_passwords,
            enforce_app_permissions: c.enforce_app_permissions,
            max_failed_login_attempts: c.max_failed_login_attempts,
            max_sessions: c.max_sessions,
            oauth_link_policy: OauthLinkPolicy::from_str(&c.oauth_link_policy),
            password_min_length: c.password_min_length,
            password_require_number: c.password_require_number,
            password_require_symbol: c.password_require_symbol,
            password_require_uppercase: c.password_require_uppercase,
            refresh_reuse_grace_seconds: c.refresh_reuse_grace_seconds,
            session_duration_minutes: c.session_duration_minutes,
            signin_enabled: c.signin_enabled,
            signup_allowed_email_domains: c.signup_allowed_email_domains,
            signup_default_role: c.signup_default_role,
            signup_enabled: c.signup_enabled,
        }
    }
}

/// Changes to the auth configuration; only the fields sent change.
#[derive(Debug, Clone, Object)]
pub struct UpdateAuthConfig {
    /// Exact origins (scheme, host, port); no paths, no wildcards.
    #[oai(nullable)]
    pub allowed_redirect_origins: Option<Vec<String>>,
    /// Refuse new passwords that are on the built-in list of about 11,600 commonly used
    /// passwords (the most frequent in leaked password sets, NIST SP 800-63B §3.1.1.2), compared
    /// case-insensitively: sign-up, password reset and invite acceptance answer 400
    /// `weak_password` saying it is a commonly used password. Default true. Existing passwords
    /// keep working; only a new password is checked.
    #[oai(nullable)]
    pub block_common_passwords: Option<bool>,
    /// While false, permission checks on Heimdall routes marked permission-protected are skipped.
    #[oai(nullable)]
    pub enforce_app_permissions: Option<bool>,
    /// 1–100.
    #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
    #[oai(nullable)]
    pub max_failed_login_attempts: Option<u32>,
    /// 1–50.
    #[oai(validator(minimum(value = "1"), maximum(value = "50")))]
    #[oai(nullable)]
    pub max_sessions: Option<u32>,
    /// What happens when a social sign-in matches an existing account's email.
    #[oai(nullable)]
    pub oauth_link_policy: Option<OauthLinkPolicy>,
    /// 8–128.
    #[oai(validator(minimum(value = "8"), maximum(value = "128")))]
    #[oai(nullable)]
    pub password_min_length: Option<u32>,
    /// Whether passwords must contain a digit.
    #[oai(nullable)]
    pub password_require_number: Option<bool>,
    /// Whether passwords must contain a symbol.
    #[oai(nullable)]
    pub password_require_symbol: Option<bool>,
    /// Whether passwords must contain an uppercase letter.
    #[oai(nullable)]
    pub password_require_uppercase: Option<bool>,
    /// 0–60, default 0. A leeway for clients that may send the same refresh token twice at
    /// once (several tabs, a retry after a lost response): within this many seconds of a refresh
    /// token's exchange, presenting it again answers 401 `refresh_token_reused` and the session
    /// lives on. With 0, and after the leeway, any reuse of a refresh token is taken as theft and
    /// revokes the whole session, its newest refresh and access tokens included (RFC 9700
    /// §4.14.2). Raising it weakens that detection for its duration.
    #[oai(validator(minimum(value = "0"), maximum(value = "60")))]
    #[oai(nullable)]
    pub refresh_reuse_grace_seconds: Option<u32>,
    /// 1–43200 (30 days).
    #[oai(validator(minimum(value = "1"), maximum(value = "43200")))]
    #[oai(nullable)]
    pub session_duration_minutes: Option<u32>,
    /// Whether end-users may sign in.
    #[oai(nullable)]
    pub signin_enabled: Option<bool>,
    /// Domains like `example.com`; empty list opens sign-up to any domain.
    #[oai(nullable)]
    pub signup_allowed_email_domains: Option<Vec<String>>,
    /// Name of an existing role.
    #[oai(nullable)]
    pub signup_default_role: Option<String>,
    /// Whether new end-users may sign up without an invite.
    #[oai(nullable)]
    pub signup_enabled: Option<bool>,
}

pub struct AuthConfigApi;

#[OpenApi]
impl AuthConfigApi {
    /// Get the auth configuration
    ///
    /// The app's current sign-in and sign-up settings. Every field is present, defaults
    /// included.
    #[oai(
        path = "/v1/apps/:app_id/auth-config",
        method = "get",
        operation_id = "auth_config_get",
        tag = "ApiTags::AuthConfig"
    )]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id.
        app_id: Path<Uuid>,
    ) -> Result<Json<AuthConfigResponse>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::AUTH_CONFIG_READ).await?;
        Ok(Json(load(&state.db, app_id.0).await?.into()))
    }

    /// Update the auth configuration
    ///
    /// Changes only the fields sent. Out-of-range numbers, malformed origins or domains and
    /// unknown roles answer 400. Takes effect on the next sign-in, sign-up or refresh.
    #[oai(
        path = "/v1/apps/:app_id/auth-config",
        method = "patch",
        operation_id = "auth_config_update",
        tag = "ApiTags::AuthConfig"
    )]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        body: StrictJson<UpdateAuthConfig>,
    ) -> Result<Json<AuthConfigResponse>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::AUTH_CONFIG_UPDATE).await?;
        let b = body.0;
        let changes = Changes {
            allowed_redirect_origins: b.allowed_redirect_origins,
            block_common_passwords: b.block_common_passwords,
            enforce_app_permissions: b.enforce_app_permissions,
            max_failed_login_attempts: b.max_failed_login_attempts,
            max_sessions: b.max_sessions,
            oauth_link_policy: b.oauth_link_policy.map(OauthLinkPolicy::as_str),
            password_min_length: b.password_min_length,
            password_require_number: b.password_require_number,
            password_require_symbol: b.password_require_symbol,
            password_require_uppercase: b.password_require_uppercase,
            refresh_reuse_grace_seconds: b.refresh_reuse_grace_seconds,
            session_duration_minutes: b.session_duration_minutes,
            signin_enabled: b.signin_enabled,
            signup_allowed_email_domains: b.signup_allowed_email_domains,
            signup_default_role: b.signup_default_role,
            signup_enabled: b.signup_enabled,
        };
        let c = service::update(&state, &principal, &crate::http::context::origin(req), app_id.0, changes).await?;
        Ok(Json(c.into()))
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[("auth_config_get", &[]), ("auth_config_update", &[])]
};
