//! The OAuth 2.0 endpoints of an app: `oauth/token` (client credentials, RFC 6749 §4.4),
//! `oauth/introspect` (RFC 7662) and `oauth/revoke` (RFC 7009).
//!
//! Bodies may be JSON (the contract) or `application/x-www-form-urlencoded` (RFC 6749), and the
//! client may authenticate with HTTP Basic (`client_secret_basic`) or in the body
//! (`client_secret_post`), so standard OAuth libraries work unmodified. Errors carry RFC 6749
//! §5.2 `error` / `error_description` next to Heimdall's usual fields.

use std::{sync::Arc, time::Duration};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use base64::{Engine, engine::general_purpose::STANDARD};
use poem::{Request, web::Data};
use poem_openapi::{
    ApiRequest, ApiResponse, Object, OpenApi,
    param::Path,
    payload::{Form, Json},
};
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

use super::service::{CLIENT_ID_MAX, ClientRecord};
use crate::access::Origin;
use crate::audit::Action;
use crate::audit::ActorKind;
use crate::error::Code;
use crate::tags::ApiTags;
use crate::tokens::TokenType;
use crate::{
    apps::AppRef,
    audit::{Actor, Entry},
    clock,
    coherence::Change,
    entity::revoked_token,
    http::error::{Error, ErrorSet, Errors},
    permissions,
    ratelimit::Limit,
    secrets::hash_secret,
    sessions,
    state::AppState,
    tokens::{self, AccessClaims},
};

/// Failed client authentications per client and IP before the endpoint answers 429.
pub const CLIENT_FAILURE_LIMIT: Limit = Limit { max: 20, window: Duration::from_secs(300) };
/// Failed client authentications per IP and app, whatever the client id (bounds guessing and
/// the audit entries failures write).
pub const IP_FAILURE_LIMIT: Limit = Limit { max: 100, window: Duration::from_secs(300) };

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

fn invalid_client(basic: bool, message: &str) -> Error {
    let e = Error::new(Code::InvalidClient, message);
    if basic { e.with_challenge("Basic realm=\"heimdall\"") } else { e }
}

/// One half of HTTP Basic client credentials, which RFC 6749 §2.3.1 form-urlencodes: `+` is a
/// space, `%XX` a byte, and the result must be UTF-8. As in form bodies, a `%` not followed by
/// two hex digits stands for itself.
fn form_decode(raw: &str) -> Option<String> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8().ok().map(std::borrow::Cow::into_owned)
}

/// Client credentials from HTTP Basic or the body — exactly one method (RFC 6749 §2.3).
/// Returns `(client_id, secret, used_basic)`.
fn client_credentials(
    req: &Request,
    body_id: Option<String>,
    body_secret: Option<String>,
) -> Result<(String, String, bool), Error> {
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
                .and_then(|(i, s)| Some((form_decode(i)?, form_decode(s)?)))
                .ok_or_else(|| invalid_client(true, "malformed Basic credentials"))?;
            Ok((id, secret, true))
        }
        (None, Some(secret)) => {
            let id = body_id.filter(|i| !i.is_empty()).ok_or_else(|| invalid_client(false, "client_id is missing"))?;
            Ok((id, secret, false))
        }
        (None, None) => Err(invalid_client(false, "client authentication is missing")),
    }
}

/// Authenticates the calling client of `app`, throttling failures per client and IP.
async fn authenticate_client(
    state: &AppState,
    app: &AppRef,
    ctx: &Origin,
    (client_id, secret, basic): (String, String, bool),
) -> Result<Arc<ClientRecord>, Error> {
    let ip = ctx.ip_string().unwrap_or_default();
    let throttle = format!("oauth:{}:{}:{ip}", app.id, hash_secret(&client_id));
    let ip_throttle = format!("oauth:{}:ip:{ip}", app.id);
    state.limits.check(&throttle, CLIENT_FAILURE_LIMIT).await?;
    state.limits.check(&ip_throttle, IP_FAILURE_LIMIT).await?;
    let record = state.clients.get(state, &client_id).await?.filter(|c| c.app_id == app.id);
    let reason = match &record {
        None => Some("unknown_client"),
        Some(c) if verify_slices_are_equal(c.secret_hash.as_bytes(), hash_secret(&secret).as_bytes()).is_err() => {
            Some("bad_secret")
        }
        Some(c) if !c.active => Some("inactive_client"),
        Some(_) => None,
    };
    if let Some(reason) = reason {
        state.limits.hit(&throttle, CLIENT_FAILURE_LIMIT).await?;
        state.limits.hit(&ip_throttle, IP_FAILURE_LIMIT).await?;
        // The audit keeps what was claimed, but no more of it than a real id could be.
        let claimed: String = client_id.chars().take(CLIENT_ID_MAX).collect();
        Entry::new(app.id, &Actor::new(ActorKind::M2mClient, &claimed), Action::OauthClientAuthFailed, ctx)
            .resource("m2m_client", &claimed)
            .details(serde_json::json!({ "reason": reason }))
            .record(&state.db)
            .await?;
        let message =
            if reason == "inactive_client" { "the client is deactivated" } else { "client authentication failed" };
        return Err(invalid_client(basic, message));
    }
    Ok(record.expect("checked above"))
}

/// The scopes a token request is granted: all of the client's when `requested` is absent or
/// blank, else each space-separated scope asked for (once), provided the client holds it. `Err`
/// is the first scope it does not hold.
fn granted_scopes<'a>(held: &[String], requested: Option<&'a str>) -> Result<Vec<String>, &'a str> {
    let Some(requested) = requested.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(held.to_vec());
    };
    let mut out: Vec<String> = Vec::new();
    for s in requested.split_whitespace() {
        if !permissions::grants(held, s) {
            return Err(s);
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    Ok(out)
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
        match b.grant_type.as_deref() {
            Some("client_credentials") => {}
            Some(other) => {
                return Err(Error::new(
                    Code::UnsupportedGrantType,
                    format!("grant_type '{other}' is not supported; use client_credentials"),
                )
                .into());
            }
            None => {
                return Err(Error::new(Code::InvalidRequest, "grant_type is missing").into());
            }
        }
        let ctx = crate::http::context::origin(req);
        let creds = client_credentials(req, b.client_id, b.client_secret)?;
        let client = authenticate_client(&state, &app, &ctx, creds).await?;
        let granted = granted_scopes(&client.scopes, b.scope.as_deref())
            .map_err(|s| Error::new(Code::InvalidScope, format!("scope '{s}' is not granted to this client")))?;
        let ttl = state.config.access_token_ttl.as_secs();
        let now = chrono::Utc::now().timestamp();
        let scope = granted.join(" ");
        let claims = AccessClaims {
            iss: state.issuer(&app.slug),
            aud: app.slug.clone(),
            sub: client.client_id.clone(),
            aid: app.id,
            sid: None,
            role: None,
            token_type: TokenType::M2m,
            amr: None,
            permissions: granted,
            scope: Some(scope.clone()),
            iat: now,
            exp: now + ttl as i64,
            nbf: None,
            jti: Uuid::now_v7().to_string(),
        };
        let access_token = tokens::sign(&state, app.id, &claims).await?;
        state.usage.touch(crate::usage::Credential::Client, client.id);
        let (cache, pragma) = no_store();
        Ok(TokenOk::Ok(
            Json(OauthTokenResponse { access_token, token_type: "Bearer".into(), expires_in: ttl, scope }),
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
        authenticate_client(&state, &app, &ctx, creds).await?;
        let token = b.token.trim();
        if token.starts_with(sessions::service::REFRESH_PREFIX) {
            let live = match sessions::store::find_refresh(&state.db, app.id, &hash_secret(token)).await? {
                Some(r) if r.used_at.is_none() => sessions::store::find(&state.db, app.id, r.session_id)
                    .await?
                    .filter(|s| s.revoked_at.is_none() && s.expires_at > clock::now())
                    .map(|s| (s.end_user_id, s.expires_at)),
                _ => None,
            };
            return Ok(Json(match live {
                Some((user, exp)) => IntrospectionResponse {
                    active: true,
                    sub: Some(user.to_string()),
                    aud: Some(app.slug.clone()),
                    iss: Some(state.issuer(&app.slug)),
                    exp: Some(exp.timestamp()),
                    token_type: Some("refresh_token".into()),
                    principal_type: Some("end_user".into()),
                    ..Default::default()
                },
                None => IntrospectionResponse::default(),
            }));
        }
        Ok(Json(match state.authz.check(&state, &app, token).await? {
            Ok(p) => IntrospectionResponse {
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
            Err(_) => IntrospectionResponse::default(),
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
        let caller = authenticate_client(&state, &app, &ctx, creds).await?;
        let token = b.token.trim();
        let actor = Actor::new(ActorKind::M2mClient, &caller.client_id);
        if token.starts_with(sessions::service::REFRESH_PREFIX) {
            let Some(r) = sessions::store::find_refresh(&state.db, app.id, &hash_secret(token)).await? else {
                return Ok(Json(RevocationResponse { revoked: false }));
            };
            let revoked =
                sessions::service::revoke_session(&state, app.id, r.session_id, "oauth_revoked", &actor, &ctx).await?;
            return Ok(Json(RevocationResponse { revoked }));
        }
        let claims: AccessClaims = match tokens::verify(&state, &app, token).await? {
            Ok(c) => c,
            Err(_) => return Ok(Json(RevocationResponse { revoked: false })),
        };
        let revoked = match (claims.token_type, claims.sid) {
            (TokenType::EndUser, Some(sid)) => {
                sessions::service::revoke_session(&state, app.id, sid, "oauth_revoked", &actor, &ctx).await?
            }
            _ if claims.sub != caller.client_id => {
                return Err(Error::new(
                    Code::UnauthorizedClient,
                    "an M2M token can only be revoked by the client it was issued to",
                )
                .into());
            }
            _ => {
                let expires = chrono::DateTime::from_timestamp(claims.exp + tokens::LEEWAY_SECS as i64, 0)
                    .unwrap_or_else(clock::now);
                let inserted = revoked_token::ActiveModel {
                    jti: Set(claims.jti.clone()),
                    app_id: Set(app.id),
                    expires_at: Set(expires),
                }
                .insert(&state.db)
                .await;
                match inserted {
                    Ok(_) => {}
                    Err(e) if crate::db::is_unique_violation(&e) => {}
                    Err(e) => return Err(Error::from(e).into()),
                }
                Entry::new(app.id, &actor, Action::OauthTokenRevoked, &ctx)
                    .resource("token", &claims.jti)
                    .details(serde_json::json!({ "sub": claims.sub }))
                    .record(&state.db)
                    .await
                    .map_err(Error::from)?;
                state.bus.publish(Change::TokenRevoked(claims.jti)).await;
                true
            }
        };
        Ok(Json(RevocationResponse { revoked }))
    }
}

#[cfg(test)]
mod tests {
    use poem::IntoResponse;

    use super::*;

    fn basic(decoded: &[u8]) -> Request {
        Request::builder().header("authorization", format!("Basic {}", STANDARD.encode(decoded))).finish()
    }

    fn from_basic(decoded: &str) -> Option<(String, String)> {
        from_basic_bytes(decoded.as_bytes())
    }

    fn from_basic_bytes(decoded: &[u8]) -> Option<(String, String)> {
        client_credentials(&basic(decoded), None, None).ok().map(|(id, secret, used_basic)| {
            assert!(used_basic);
            (id, secret)
        })
    }

    fn pair(id: &str, secret: &str) -> Option<(String, String)> {
        Some((id.to_owned(), secret.to_owned()))
    }

    fn scopes(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn basic_credentials_split_at_the_first_colon() {
        assert_eq!(from_basic("m2m_abc:m2ms_secret"), pair("m2m_abc", "m2ms_secret"));
        assert_eq!(from_basic("m2m_abc:sec:ret"), pair("m2m_abc", "sec:ret"));
        assert_eq!(from_basic("m2m_abc:"), pair("m2m_abc", ""));
        assert_eq!(from_basic(":secret"), pair("", "secret"));
    }

    #[test]
    fn basic_credentials_are_form_urlencoded() {
        // `+` is a space; an encoded `+`, `:` or `%` is the character itself.
        assert_eq!(from_basic("a+b:c+d"), pair("a b", "c d"));
        assert_eq!(from_basic("a%2Bb:c%2bd"), pair("a+b", "c+d"));
        assert_eq!(from_basic("m2m%3Aid:sec%3Aret"), pair("m2m:id", "sec:ret"));
        assert_eq!(from_basic("id:100%25"), pair("id", "100%"));
        assert_eq!(from_basic("id:%C3%A9t%C3%A9"), pair("id", "été"));
        // As in form bodies, a `%` without two hex digits stands for itself.
        assert_eq!(from_basic("id:%zz%4"), pair("id", "%zz%4"));
    }

    #[test]
    fn the_basic_scheme_name_may_be_lowercase_and_padded() {
        let encoded = STANDARD.encode("m2m_abc:secret");
        for header in [format!("basic {encoded}"), format!("  Basic  {encoded}  ")] {
            let req = Request::builder().header("authorization", header.as_str()).finish();
            let (id, _, used_basic) = client_credentials(&req, None, None).expect(&header);
            assert_eq!((id.as_str(), used_basic), ("m2m_abc", true));
        }
    }

    #[test]
    fn malformed_basic_credentials_are_an_invalid_client_with_a_challenge() {
        let garbage = Request::builder().header("authorization", "Basic not*base64").finish();
        let cases = [
            ("no colon", basic(b"m2m_abc")),
            ("bad base64", garbage),
            ("raw bytes that are not UTF-8", basic(b"m2m_abc:\xff\xfe")),
            ("escaped bytes that are not UTF-8 in the secret", basic(b"m2m_abc:%FF")),
            ("escaped bytes that are not UTF-8 in the id", basic(b"m2m_%C3:secret")),
        ];
        for (what, req) in cases {
            let err = client_credentials(&req, None, None).expect_err(what);
            assert_eq!(
                (crate::http::error::status(err.code).as_u16(), err.code.as_str(), err.message.as_str()),
                (401, "invalid_client", "malformed Basic credentials"),
                "{what}"
            );
            let response = err.into_response();
            assert_eq!(response.headers().get("www-authenticate").unwrap(), "Basic realm=\"heimdall\"", "{what}");
        }
    }

    #[test]
    fn body_credentials_need_a_client_id_and_answer_without_a_challenge() {
        let req = Request::default();
        assert_eq!(
            client_credentials(&req, Some("m2m_abc".into()), Some("s".into())).unwrap(),
            ("m2m_abc".to_owned(), "s".to_owned(), false)
        );
        for id in [None, Some(String::new())] {
            let err = client_credentials(&req, id, Some("s".into())).unwrap_err();
            assert_eq!(
                (crate::http::error::status(err.code).as_u16(), err.message.as_str()),
                (401, "client_id is missing")
            );
            assert!(err.into_response().headers().get("www-authenticate").is_none());
        }
        let err = client_credentials(&req, Some("m2m_abc".into()), None).unwrap_err();
        assert_eq!((crate::http::error::status(err.code).as_u16(), err.code.as_str()), (401, "invalid_client"));
        assert_eq!(err.message, "client authentication is missing");
    }

    #[test]
    fn basic_and_a_body_secret_together_are_refused() {
        let err = client_credentials(&basic(b"m2m_abc:s"), None, Some("s".into())).unwrap_err();
        assert_eq!((crate::http::error::status(err.code).as_u16(), err.code.as_str()), (400, "invalid_request"));
        // A body `client_id` beside Basic is not a second method; Basic names the client.
        let (id, _, used_basic) = client_credentials(&basic(b"m2m_abc:s"), Some("m2m_other".into()), None).unwrap();
        assert_eq!((id.as_str(), used_basic), ("m2m_abc", true));
    }

    #[test]
    fn without_a_scope_request_the_token_gets_every_client_scope() {
        let held = scopes(&["docs.read", "billing.*"]);
        assert_eq!(granted_scopes(&held, None).unwrap(), held);
        assert_eq!(granted_scopes(&held, Some("")).unwrap(), held);
        assert_eq!(granted_scopes(&held, Some("  \t ")).unwrap(), held);
    }

    #[test]
    fn a_scope_request_narrows_to_what_is_asked_once_each() {
        let held = scopes(&["docs.read", "billing.*"]);
        assert_eq!(granted_scopes(&held, Some("docs.read")).unwrap(), ["docs.read"]);
        assert_eq!(
            granted_scopes(&held, Some(" billing.refund  docs.read billing.refund ")).unwrap(),
            ["billing.refund", "docs.read"]
        );
        assert_eq!(granted_scopes(&held, Some("billing.*")).unwrap(), ["billing.*"]);
        assert_eq!(granted_scopes(&scopes(&["*"]), Some("docs.* docs.read")).unwrap(), ["docs.*", "docs.read"]);
    }

    #[test]
    fn a_scope_the_client_does_not_hold_is_named() {
        let held = scopes(&["docs.read", "billing.*"]);
        assert_eq!(granted_scopes(&held, Some("docs.read docs.write billing.x")), Err("docs.write"));
        assert_eq!(granted_scopes(&held, Some("docs.*")), Err("docs.*"));
        assert_eq!(granted_scopes(&held, Some("*")), Err("*"));
        assert_eq!(granted_scopes(&[], Some("docs.read")), Err("docs.read"));
    }
}
