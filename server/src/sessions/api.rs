//! Consumer HTTP surface of sessions: sign-up, sign-in, refresh, logout
//! (`/{app_slug}/v1/auth/…`). Public: any `Authorization` header sent along is ignored.

use std::sync::Arc;

use poem::{Request, web::Data};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};
use uuid::Uuid;

use super::{
    flows::{self, Signin, Signup},
    service::{self, Tokens},
};
use crate::http::strict_json::StrictJson;
use crate::tags::ApiTags;
use crate::{
    http::{
        error::{ErrorSet, Errors},
        responses::NoContent,
    },
    state::AppState,
};

/// Access and refresh token of a session.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct TokenResponse {
    /// RS256 JWT for API calls; verify it offline with the app's JWKS.
    pub access_token: String,
    /// Single-use: every refresh returns a new one. Presenting a used one again ends the session.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime of the access token in seconds.
    pub expires_in: u64,
}

impl From<Tokens> for TokenResponse {
    fn from(t: Tokens) -> Self {
        TokenResponse {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            token_type: "Bearer".into(),
            expires_in: t.expires_in,
        }
    }
}

/// Token responses are never cached (RFC 6749 §5.1).
#[derive(ApiResponse)]
pub enum TokenOk {
    /// The session's tokens.
    #[oai(status = 200)]
    Ok(Json<TokenResponse>, #[oai(header = "Cache-Control")] String, #[oai(header = "Pragma")] String),
}

/// Like [`TokenOk`], for operations that create an account.
#[derive(ApiResponse)]
pub enum TokenCreated {
    /// The account was created; the session's tokens.
    #[oai(status = 201)]
    Created(Json<TokenResponse>, #[oai(header = "Cache-Control")] String, #[oai(header = "Pragma")] String),
}

impl TokenOk {
    pub fn new(t: Tokens) -> Self {
        TokenOk::Ok(Json(t.into()), "no-store".into(), "no-cache".into())
    }
}

impl TokenCreated {
    pub fn new(t: Tokens) -> Self {
        TokenCreated::Created(Json(t.into()), "no-store".into(), "no-cache".into())
    }
}

/// Errors of sign-in: 401 for bad credentials (identical whatever was wrong), 403 for a
/// disabled app/flow/account, 429 while the identifier or IP is locked, 503 when password
/// hashing is saturated.
pub struct SigninErrors;
impl ErrorSet for SigninErrors {
    const STATUSES: &'static [u16] = &[400, 401, 403, 404, 429, 500, 503];
}

/// Errors of sign-up and invite acceptance.
pub struct SignupErrors;
impl ErrorSet for SignupErrors {
    const STATUSES: &'static [u16] = &[400, 403, 404, 409, 410, 500, 503];
}

/// Errors of refresh and logout (403 `app_inactive` for a suspended or archived app).
pub struct RefreshErrors;
impl ErrorSet for RefreshErrors {
    const STATUSES: &'static [u16] = &[400, 401, 403, 404, 500];
}

/// Sign-in with a username or verified email.
#[derive(Debug, Clone, Object)]
pub struct SigninRequest {
    /// Username, or the account's *verified* primary email.
    pub identifier: String,
    /// The account's password.
    pub password: String,
    /// Signs in to this tenant of the app: the session's tokens carry `tid` and `trole` (the
    /// role the user holds in the tenant) and the tenant role's permissions. 403
    /// `tenant_membership_required` (only once the password is right) when the account is not a
    /// member, or the tenant is suspended, unknown or another app's.
    #[oai(nullable)]
    pub tenant_id: Option<Uuid>,
}

/// A new account.
#[derive(Debug, Clone, Object)]
pub struct SignupRequest {
    /// Becomes the primary email, unverified.
    pub email: String,
    /// Checked against the app's password policy.
    pub password: String,
    /// 3–64 letters, digits, `_`, `.`, `-`; unique in the app (case-insensitive).
    pub username: String,
    /// Up to 120 characters.
    #[oai(nullable)]
    pub display_name: Option<String>,
}

/// A refresh token.
#[derive(Debug, Clone, Object)]
pub struct RefreshRequest {
    /// The refresh token from sign-in or the previous refresh (single use).
    pub refresh_token: String,
}

/// Moving a session to another tenant.
#[derive(Debug, Clone, Object)]
pub struct SwitchTenantRequest {
    /// The session's current refresh token; it is spent as by a refresh.
    pub refresh_token: String,
    /// A tenant of the app the user belongs to; `null` returns the session to app-wide tokens
    /// (no `tid`, the app role's permissions).
    #[oai(nullable)]
    pub tenant_id: Option<Uuid>,
}

pub struct SessionsApi;

#[OpenApi]
impl SessionsApi {
    /// Sign in
    ///
    /// Checks the password and opens a session. Wrong password, unknown identifier and empty
    /// password all answer the same 401 `invalid_credentials` in the same time. After the
    /// app's `max_failed_login_attempts` failures for one account within 15 minutes (one
    /// budget whether its username or its email was given; an identifier naming no account has
    /// one of its own), or 50 from one IP, attempts get 429 with `Retry-After` until the window
    /// ends. Suspended or archived apps and disabled sign-in answer 403.
    #[oai(path = "/:app_slug/v1/auth/signin", method = "post", operation_id = "auth_signin", tag = "ApiTags::Auth")]
    async fn signin(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        body: StrictJson<SigninRequest>,
    ) -> Result<TokenOk, Errors<SigninErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let b = body.0;
        let input = Signin { identifier: b.identifier, password: b.password, tenant_id: b.tenant_id };
        Ok(TokenOk::new(flows::signin(&state, &app, &crate::http::context::origin(req), input).await?))
    }

    /// Sign up
    ///
    /// Creates an account with the app's `signup_default_role` and signs it in. Refused with
    /// 403 when sign-up is disabled or the email's domain is not in
    /// `signup_allowed_email_domains`; 409 `username_taken` / `email_taken`; 400
    /// `weak_password` listing the unmet password rules, or saying the password is a commonly
    /// used one (`block_common_passwords`).
    #[oai(path = "/:app_slug/v1/auth/signup", method = "post", operation_id = "auth_signup", tag = "ApiTags::Auth")]
    async fn signup(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        body: StrictJson<SignupRequest>,
    ) -> Result<TokenCreated, Errors<SignupErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let b = body.0;
        let input = Signup { email: b.email, password: b.password, username: b.username, display_name: b.display_name };
        Ok(TokenCreated::new(flows::signup(&state, &app, &crate::http::context::origin(req), input).await?))
    }

    /// Refresh tokens
    ///
    /// Exchanges a refresh token for a new access and refresh token. Each refresh token works
    /// once; presenting a used one again (more than 2 s after it was used) revokes the whole
    /// session, since it means the token leaked. 401 `invalid_refresh_token` or
    /// `refresh_token_reused`; 403 `app_inactive` while the app is suspended or archived. A
    /// tenant session stays in its tenant: 403 `tenant_membership_required` once the user left it
    /// or it was suspended or deleted (the refresh token is not spent).
    #[oai(path = "/:app_slug/v1/auth/refresh", method = "post", operation_id = "auth_refresh", tag = "ApiTags::Auth")]
    async fn refresh(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        body: StrictJson<RefreshRequest>,
    ) -> Result<TokenOk, Errors<RefreshErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        Ok(TokenOk::new(flows::refresh(&state, &app, &body.0.refresh_token, &crate::http::context::origin(req)).await?))
    }

    /// Switch tenant
    ///
    /// Gives the session tokens for another tenant the user belongs to, without a password: the
    /// refresh token is rotated as by a refresh and the new access token carries that tenant's
    /// `tid` and `trole`. Later refreshes stay in the tenant. 403 `tenant_membership_required`
    /// when the user is not a member of an active tenant of the app; 401 as refresh does.
    #[oai(
        path = "/:app_slug/v1/auth/switch-tenant",
        method = "post",
        operation_id = "auth_switch_tenant",
        tag = "ApiTags::Auth"
    )]
    async fn switch_tenant(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        body: StrictJson<SwitchTenantRequest>,
    ) -> Result<TokenOk, Errors<RefreshErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let b = body.0;
        let ctx = crate::http::context::origin(req);
        Ok(TokenOk::new(flows::switch_tenant(&state, &app, &b.refresh_token, b.tenant_id, &ctx).await?))
    }

    /// Log out
    ///
    /// Ends the session that owns the refresh token. Its access tokens stop working on `/me`
    /// at once; offline verifiers accept them until they expire. Unknown tokens also answer 204.
    #[oai(path = "/:app_slug/v1/auth/logout", method = "post", operation_id = "auth_logout", tag = "ApiTags::Auth")]
    async fn logout(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        body: StrictJson<RefreshRequest>,
    ) -> Result<NoContent, Errors<RefreshErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        service::logout(&state, &app, &body.0.refresh_token, &crate::http::context::origin(req)).await?;
        Ok(NoContent::NoContent)
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[
        (
            "auth_signup",
            &[
                SignupDisabled,
                EmailDomainNotAllowed,
                AppInactive,
                AccountExists,
                UsernameTaken,
                EmailTaken,
                WeakPassword,
            ],
        ),
        ("auth_signin", &[InvalidCredentials, SigninDisabled, TenantMembershipRequired, AccountInactive, AppInactive]),
        ("auth_refresh", &[InvalidRefreshToken, RefreshTokenReused, AppInactive]),
        ("auth_switch_tenant", &[InvalidRefreshToken, RefreshTokenReused, TenantMembershipRequired, AppInactive]),
        ("auth_logout", &[]),
    ]
};
