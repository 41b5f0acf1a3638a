//! The OAuth 2.0 endpoints of an app: `oauth/token` (client credentials, RFC 6749 §4.4),
//! `oauth/introspect` (RFC 7662) and `oauth/revoke` (RFC 7009).
//!
//! Bodies may be JSON (the contract) or `application/x-www-form-urlencoded` (RFC 6749), and the
//! client may authenticate with HTTP Basic (`client_secret_basic`) or in the body
//! (`client_secret_post`), so standard OAuth libraries work unmodified. Errors carry RFC 6749
//! §5.2 `error` / `error_description` next to Heimdall's usual fields. The rules are in
//! `service.rs`.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::STANDARD};
use poem::{Request, web::Data};
use poem_openapi::{
    ApiRequest, ApiResponse, Object, OpenApi,
    param::Path,
    payload::{Form, Json},
};

use super::service::{self, ClientCredentials, Introspected};
use crate::error::Code;
use crate::tags::ApiTags;
use crate::tokens::TokenType;
use crate::{
    http::error::{Error, ErrorSet, Errors},
    state::AppState,
};

/// Errors of the OAuth endpoints (RFC 6749 §5.2 statuses).
pub struct OauthErrors;
impl ErrorSet for OauthErrors {
    const STATUSES: &'static [u16] = &[400, 401, 403, 404, 429, 500];
    const OAUTH: bool = true;
}

/// A token request (client credentials grant).
#[derive(Debug, Clone, Object, serde::Deserialize)]
pub struct TokenRequest {
    /// `client_credentials`.
    #[oai(nullable)]
    pub grant_type: Option<String>,
    /// `m2m_…`; or send it with HTTP Basic.
    #[oai(nullable)]
    pub client_id: Option<String>,
    /// Or send it with HTTP Basic.
    #[oai(nullable)]
    pub client_secret: Option<String>,
    /// Space-separated subset of the client's scopes; default all of them.
    #[oai(nullable)]
    pub scope: Option<String>,
}

/// JSON (as the contract) or form-encoded (as RFC 6749).
#[derive(ApiRequest)]
pub enum TokenBody {
    Json(Json<TokenRequest>),
    Form(Form<TokenRequest>),
}

/// An access token for a client.
#[derive(Debug, Clone, Object)]
pub struct OauthTokenResponse {
    /// RS256 JWT with `type: "m2m"`, `sub` = client id, `permissions` = granted scopes.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    pub expires_in: u64,
    /// Granted scopes, space-separated.
    pub scope: String,
}

#[derive(ApiResponse)]
pub enum TokenOk {
    /// The token. Never cached.
    #[oai(status = 200)]
    Ok(Json<OauthTokenResponse>, #[oai(header = "Cache-Control")] String, #[oai(header = "Pragma")] String),
}

/// A token to introspect or revoke, with the calling client's credentials when not sent with
/// HTTP Basic.
#[derive(Debug, Clone, Object, serde::Deserialize)]
pub struct TokenOperationRequest {
    pub token: String,
    /// `access_token` or `refresh_token`; a hint only.
    #[oai(nullable)]
    pub token_type_hint: Option<String>,
    #[oai(nullable)]
    pub client_id: Option<String>,
    #[oai(nullable)]
    pub client_secret: Option<String>,
}

#[derive(ApiRequest)]
pub enum TokenOperationBody {
    Json(Json<TokenOperationRequest>),
    Form(Form<TokenOperationRequest>),
}

/// RFC 7662 introspection answer; only `active` when the token is not active.
#[derive(Debug, Clone, Object, Default)]
pub struct IntrospectionResponse {
    pub active: bool,
    #[oai(skip_serializing_if_is_none)]
    pub scope: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub client_id: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub sub: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub aud: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub iss: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub exp: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub iat: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub jti: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub token_type: Option<String>,
    /// Heimdall's principal type: `end_user` or `m2m`.
    #[oai(skip_serializing_if_is_none)]
    pub principal_type: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub role: Option<String>,
}

/// Answer of revocation (always 200 for a well-formed request, RFC 7009 §2.2).
#[derive(Debug, Clone, Object)]
pub struct RevocationResponse {
    pub revoked: bool,
}

fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Client credentials from HTTP Basic or the body — exactly one method (RFC 6749 §2.3).
fn client_credentials(
    req: &Request,
    body_id: Option<String>,
    body_secret: Option<String>,
) -> Result<ClientCredentials, Error> {
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("Basic ").or_else(|| v.trim().strip_prefix("basic ")));
    match (basic, body_secret) {
        (Some(_), Some(_)) => Err(Error::new(Code::InvalidRequest, "use one client authentication method, not two")),
        (Some(b), None) => {
            let decoded = STANDARD.decode(b.trim()).ok().and_then(|d| String::from_utf8(d).ok());
            let (id, secret) = decoded
                .as_deref()
                .and_then(|d| d.split_once(':'))
                .and_then(|(i, s)| Some((percent_decode(i)?, percent_decode(s)?)))
                .ok_or_else(|| service::invalid_client(true, "malformed Basic credentials"))?;
            Ok(ClientCredentials { client_id: id, secret, basic: true })
        }
        (None, Some(secret)) => {
            let id = body_id
                .filter(|i| !i.is_empty())
                .ok_or_else(|| service::invalid_client(false, "client_id is missing"))?;
            Ok(ClientCredentials { client_id: id, secret, basic: false })
        }
        (None, None) => Err(service::invalid_client(false, "client authentication is missing")),
    }
}

fn no_store() -> (String, String) {
    ("no-store".into(), "no-cache".into())
}

pub struct OauthApi;

#[OpenApi]
impl OauthApi {
    /// Issue a client-credentials token
    ///
    /// OAuth 2.0 client credentials (RFC 6749 §4.4). Send JSON `{grant_type, client_id,
    /// client_secret}` or a form body; authenticate with HTTP Basic (`client_secret_basic`) or
    /// in the body (`client_secret_post`), not both. `scope` narrows the granted scopes. Errors
    /// follow RFC 6749 §5.2: 400 `invalid_request` / `unsupported_grant_type` / `invalid_scope`,
    /// 401 `invalid_client` (with `WWW-Authenticate` for Basic), 429 after 20 failed client
    /// authentications per client and IP (or 100 per IP) in 5 minutes.
    #[oai(
        path = "/:app_slug/v1/oauth/token",
        method = "post",
        operation_id = "oauth_token_issue",
        tag = "ApiTags::OAuth"
    )]
    async fn token(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        body: TokenBody,
    ) -> Result<TokenOk, Errors<OauthErrors>> {
        let b = match body {
            TokenBody::Json(j) => j.0,
            TokenBody::Form(f) => f.0,
        };
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        app.require_active()?;
        service::check_grant_type(b.grant_type.as_deref())?;
        let ctx = crate::http::context::origin(req);
        let creds = client_credentials(req, b.client_id, b.client_secret)?;
        let issued = service::issue_token(&state, &app, &ctx, creds, b.scope.as_deref()).await?;
        let (cache, pragma) = no_store();
        Ok(TokenOk::Ok(
            Json(OauthTokenResponse {
                access_token: issued.access_token,
                token_type: "Bearer".into(),
                expires_in: issued.expires_in,
                scope: issued.scope,
            }),
            cache,
            pragma,
        ))
    }

    /// Introspect a token
    ///
    /// RFC 7662: whether an access token (or refresh token) of this app is active now, with its
    /// claims. The caller authenticates with one of the app's M2M credentials (Basic or body).
    #[oai(
        path = "/:app_slug/v1/oauth/introspect",
        method = "post",
        operation_id = "oauth_introspect",
        tag = "ApiTags::OAuth"
    )]
    async fn introspect(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        body: TokenOperationBody,
    ) -> Result<Json<IntrospectionResponse>, Errors<OauthErrors>> {
        let b = match body {
            TokenOperationBody::Json(j) => j.0,
            TokenOperationBody::Form(f) => f.0,
        };
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let ctx = crate::http::context::origin(req);
        let creds = client_credentials(req, b.client_id, b.client_secret)?;
        service::authenticate_client(&state, &app, &ctx, creds).await?;
        Ok(Json(match service::introspect(&state, &app, b.token.trim()).await? {
            Introspected::Inactive => IntrospectionResponse::default(),
            Introspected::Refresh { user, expires_at } => IntrospectionResponse {
                active: true,
                sub: Some(user.to_string()),
                aud: Some(app.slug.clone()),
                iss: Some(state.issuer(&app.slug)),
                exp: Some(expires_at.timestamp()),
                token_type: Some("refresh_token".into()),
                principal_type: Some("end_user".into()),
                ..Default::default()
            },
            Introspected::Access(p) => IntrospectionResponse {
                active: true,
                scope: Some(p.permissions.join(" ")),
                client_id: (p.claims.token_type == TokenType::M2m).then(|| p.claims.sub.clone()),
                sub: Some(p.claims.sub.clone()),
                aud: Some(p.claims.aud.clone()),
                iss: Some(p.claims.iss.clone()),
                exp: Some(p.claims.exp),
                iat: Some(p.claims.iat),
                jti: Some(p.claims.jti.clone()),
                token_type: Some("Bearer".into()),
                principal_type: Some(p.claims.token_type.as_str().to_owned()),
                role: p.role.clone(),
            },
        }))
    }

    /// Revoke a token
    ///
    /// RFC 7009. A refresh token, or an end-user access token, ends its whole session; an M2M
    /// access token is refused from now on by `/verify`, `/authorize` and introspection. Unknown
    /// or already invalid tokens also answer 200. The caller authenticates with one of the app's
    /// M2M credentials (a backend ending a user's session); an M2M access token can be revoked
    /// only by the client it was issued to (RFC 7009 §2.1) — another client gets 403
    /// `unauthorized_client`.
    #[oai(path = "/:app_slug/v1/oauth/revoke", method = "post", operation_id = "oauth_revoke", tag = "ApiTags::OAuth")]
    async fn revoke(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        body: TokenOperationBody,
    ) -> Result<Json<RevocationResponse>, Errors<OauthErrors>> {
        let b = match body {
            TokenOperationBody::Json(j) => j.0,
            TokenOperationBody::Form(f) => f.0,
        };
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let ctx = crate::http::context::origin(req);
        let creds = client_credentials(req, b.client_id, b.client_secret)?;
        let caller = service::authenticate_client(&state, &app, &ctx, creds).await?;
        let revoked = service::revoke(&state, &app, &ctx, &caller, b.token.trim()).await?;
        Ok(Json(RevocationResponse { revoked }))
    }
}
