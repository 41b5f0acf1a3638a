//! HTTP surface of authorization: `/{slug}/v1/verify`, `/{slug}/v1/authorize`,
//! `/{slug}/v1/authorize/batch`, the slug-less `/v1/authorize`, and `/{slug}/v1/forward-auth`
//! for gateways (Traefik `forwardAuth`, nginx `auth_request`, Envoy `ext_authz`).
//!
//! A bad token is not an HTTP error here: the answer is 200 with `valid: false` /
//! `authorized: false` and an `error` code, so callers branch on one field — until a client
//! address has sent more invalid tokens than `invalid_tokens` allows, which is a 429.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use super::{Deny, Principal};
use crate::error::Code;
use crate::http::strict_json::StrictJson;
use crate::tags::ApiTags;
use crate::{
    apps::AppRef,
    http::{
        context::client_ip,
        direct_json::{Direct, DirectJson},
        error::{Error, ErrorSet, Errors},
    },
    permissions::parse_permission,
    state::AppState,
};

/// Errors of verify/authorize: only malformed requests, unknown apps and too many invalid
/// tokens are HTTP errors.
pub struct DecisionErrors;
impl ErrorSet for DecisionErrors {
    const STATUSES: &'static [u16] = &[400, 404, 429, 500];
}

/// Errors of forward-auth: 401 without a valid token, 403 without the permission, 429 past too
/// many invalid tokens.
pub struct ForwardAuthErrors;
impl ErrorSet for ForwardAuthErrors {
    const STATUSES: &'static [u16] = &[400, 401, 403, 404, 429, 500];
}

/// A token to check. Without `token`, the `Authorization: Bearer` header is used.
#[derive(Debug, Clone, Object, serde::Deserialize)]
pub struct VerifyRequest {
    /// The access token. Takes precedence over the `Authorization` header (which may carry
    /// the caller's own API key).
    #[oai(nullable)]
    pub token: Option<String>,
}

/// Who a valid token speaks for.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct VerifyPrincipal {
    /// End-user account id, or the M2M `client_id`.
    pub sub: String,
    /// App id.
    pub aid: String,
    /// `end_user` or `m2m`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub principal_type: String,
    /// Current role name (end-users); for a tenant token, the role held in its tenant now.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Current permissions: the role's (end-users) or the granted scopes (M2M).
    pub permissions: Vec<String>,
    /// Tenant id, for a token issued into a tenant of the app.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
}

/// Result of `/verify`.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct VerifyResponse {
    /// True only if signature, issuer, audience, expiry and session (or client) are all valid.
    pub valid: bool,
    /// When not valid: `TOKEN_INVALID`, `TOKEN_EXPIRED`, `TOKEN_REVOKED`, `ACCOUNT_SUSPENDED`,
    /// `TENANT_REVOKED` (a tenant token whose user left the tenant, or whose tenant is suspended
    /// or deleted), `CLIENT_INACTIVE` or `APP_INACTIVE` (an open set). Upper-case, unlike the
    /// snake_case `code` of error bodies: the API contract fixes these values, which SDKs compare.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Who the token speaks for, when it is valid.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<VerifyPrincipal>,
}

/// A permission check. Send `permission`, or `permissions` (all required), or both.
#[derive(Debug, Clone, Object, serde::Deserialize)]
pub struct AuthorizeRequest {
    /// The access token; without it the `Authorization: Bearer` header is used.
    #[oai(nullable)]
    pub token: Option<String>,
    /// One permission, `resource.action`.
    #[oai(nullable)]
    pub permission: Option<String>,
    /// Several permissions, all required.
    #[oai(nullable)]
    pub permissions: Option<Vec<String>>,
}

/// Result of `/authorize`.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct AuthorizeResponse {
    /// Whether the token is valid and holds every permission asked for.
    pub authorized: bool,
    /// Same as `authorized`.
    pub allowed: bool,
    /// The end-user's current role; for a tenant token, the role held in its tenant now.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Why the token was refused, as in `/verify` (`TOKEN_INVALID`, `TOKEN_EXPIRED`,
    /// `TOKEN_REVOKED`, …); absent when the token is valid but lacks a permission. Upper-case,
    /// unlike the snake_case `code` of error bodies: these are the values the API contract fixes
    /// for this field, which SDKs compare.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The requested permissions not held (present when not authorized).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_permissions: Option<Vec<String>>,
}

// Read and written by `DirectJson` on the per-request hot paths (tests below compare the two).
impl Direct for VerifyRequest {}
impl Direct for VerifyResponse {}
impl Direct for AuthorizeRequest {}
impl Direct for AuthorizeResponse {}

/// One check of a batch.
#[derive(Debug, Clone, Object)]
pub struct BatchCheck {
    /// Echoed back in the result.
    #[oai(nullable)]
    pub id: Option<String>,
    /// One permission to check, `resource.action`.
    #[oai(nullable)]
    pub permission: Option<String>,
    /// Several permissions, all required.
    #[oai(nullable)]
    pub permissions: Option<Vec<String>>,
}

/// Up to 100 checks against one token.
#[derive(Debug, Clone, Object)]
pub struct AuthorizeBatchRequest {
    /// The access token. Takes precedence over the `Authorization` header.
    #[oai(nullable)]
    pub token: Option<String>,
    /// The checks, 1–100; each result echoes the check's `id`.
    #[oai(validator(max_items = 100))]
    pub checks: Vec<BatchCheck>,
}

/// Result of one check.
#[derive(Debug, Clone, Object)]
pub struct BatchResult {
    /// The check's `id`, echoed back when it was sent.
    #[oai(skip_serializing_if_is_none)]
    pub id: Option<String>,
    /// Whether the token holds every permission of this check.
    pub authorized: bool,
    /// Same as `authorized` (kept for clients that read this name).
    pub allowed: bool,
    /// Permissions of this check the token does not hold.
    pub missing_permissions: Vec<String>,
}

/// Results in the order of the checks.
#[derive(Debug, Clone, Object)]
pub struct AuthorizeBatchResponse {
    /// One result per check, in the order of the checks.
    pub results: Vec<BatchResult>,
    /// Set when the token itself was refused (then every check is unauthorized): the
    /// upper-case codes of `/verify`'s `error`, which the API contract fixes.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
    /// The token's role (end-user tokens), when the token is valid; for a tenant token, the role held in its tenant now.
    #[oai(skip_serializing_if_is_none)]
    pub role: Option<String>,
}

/// Answer of forward-auth.
#[derive(Debug, Clone, Object)]
pub struct ForwardAuthBody {
    /// Always `true` (refusals are 401 or 403).
    pub allowed: bool,
    /// The token's `sub`: account id or M2M client id.
    pub subject: String,
    /// The end-user's role, when the token is an end-user's; for a tenant token, the role held in its tenant now.
    #[oai(skip_serializing_if_is_none)]
    pub role: Option<String>,
    /// Tenant id, for a token issued into a tenant of the app.
    #[oai(skip_serializing_if_is_none)]
    pub tenant_id: Option<String>,
}

#[derive(ApiResponse)]
pub enum ForwardAuthResponse {
    /// Allowed; the gateway copies these headers to the upstream request.
    #[oai(status = 200)]
    Ok(
        Json<ForwardAuthBody>,
        /// Account id or M2M client id.
        #[oai(header = "X-Heimdall-Subject")]
        String,
        /// Current role (empty for M2M).
        #[oai(header = "X-Heimdall-Role")]
        String,
        /// App id.
        #[oai(header = "X-Heimdall-App")]
        String,
        /// Tenant id of a tenant token (empty otherwise).
        #[oai(header = "X-Heimdall-Tenant")]
        String,
    ),
}

fn wanted(permission: Option<String>, permissions: Option<Vec<String>>) -> Result<Vec<String>, Error> {
    let all: Vec<String> = permission.into_iter().chain(permissions.unwrap_or_default()).collect();
    if all.is_empty() {
        return Err(Error::validation("permission", "send permission or permissions"));
    }
    for p in &all {
        parse_permission(p)?;
    }
    Ok(all)
}

/// The token to check: the body's, else the `Authorization: Bearer` header's.
fn token_of(body_token: Option<String>, req: &Request) -> Result<String, Error> {
    if let Some(t) = body_token {
        let trimmed = t.trim();
        if !trimmed.is_empty() {
            // Tokens are ~900 bytes: keep the body's string unless it needs trimming.
            return Ok(if trimmed.len() == t.len() { t } else { trimmed.to_owned() });
        }
    }
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("Bearer ").or_else(|| v.trim().strip_prefix("bearer ")))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::new(Code::TokenRequired, "send the token in the body or as Authorization: Bearer"))
}

/// `Authz::check` of a token any caller may send: an invalid one counts against the caller's
/// address, and past the limit is a 429 (`invalid_tokens`). A valid token never reaches the
/// counter.
async fn decide(state: &AppState, app: &AppRef, token: &str, req: &Request) -> Result<Result<Principal, Deny>, Error> {
    let decision = state.authz.check(state, app, token).await?;
    if decision.as_ref().err() == Some(&Deny::Invalid) {
        state.authz.invalid_tokens.count(client_ip(req))?;
    }
    Ok(decision)
}

async fn authorize_with(
    state: &AppState,
    app: &AppRef,
    token: &str,
    req: &Request,
    wanted: Vec<String>,
) -> Result<AuthorizeResponse, Error> {
    Ok(match decide(state, app, token, req).await? {
        Ok(p) => {
            let missing = p.missing(&wanted);
            let authorized = missing.is_empty();
            AuthorizeResponse {
                authorized,
                allowed: authorized,
                role: p.role.clone(),
                error: None,
                missing_permissions: (!authorized).then_some(missing),
            }
        }
        Err(deny) => AuthorizeResponse {
            authorized: false,
            allowed: false,
            role: None,
            error: Some(deny.code().into()),
            missing_permissions: Some(wanted),
        },
    })
}

/// The app a token claims to belong to, from its (unverified) `aud`; verification follows.
async fn app_from_token(state: &AppState, token: &str) -> Result<Option<Arc<AppRef>>, Error> {
    /// Heimdall's tokens carry one audience, the slug (an array never verifies).
    #[derive(serde::Deserialize)]
    struct Audience {
        aud: String,
    }
    let Some(payload) = token.split('.').nth(1) else { return Ok(None) };
    let Some(Audience { aud: slug }) =
        URL_SAFE_NO_PAD.decode(payload).ok().and_then(|b| serde_json::from_slice(&b).ok())
    else {
        return Ok(None);
    };
    match crate::access::end_user::consumer_app(state, &slug).await {
        Ok(app) => Ok(Some(app)),
        Err(e) if e.code == Code::AppNotFound => Ok(None),
        Err(e) => Err(e),
    }
}

pub struct AuthzApi;

#[OpenApi]
impl AuthzApi {
    /// Verify a token
    ///
    /// Checks an access token of this app: signature, issuer, audience, expiry, and that its
    /// session (end-users) or client (M2M) is still live. No caller credential is needed besides
    /// the token. An invalid token is a 200 with `valid: false` and an `error` code.
    ///
    /// Past 60 invalid tokens (`TOKEN_INVALID`) from one client address in a minute, each
    /// further invalid token is answered 429 with `Retry-After` (the seconds left of that
    /// minute); valid tokens are always answered, and expired or revoked ones are not counted.
    #[oai(
        path = "/:app_slug/v1/verify",
        method = "post",
        operation_id = "token_verify",
        tag = "ApiTags::Authorization"
    )]
    async fn verify(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        body: DirectJson<VerifyRequest>,
    ) -> Result<DirectJson<VerifyResponse>, Errors<DecisionErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let token = token_of(body.0.token, req)?;
        Ok(DirectJson(match decide(&state, &app, &token, req).await? {
            Ok(p) => VerifyResponse {
                valid: true,
                error: None,
                principal: Some(VerifyPrincipal {
                    sub: p.claims.sub.clone(),
                    aid: p.claims.aid.to_string(),
                    principal_type: p.claims.token_type.as_str().to_owned(),
                    role: p.role.clone(),
                    permissions: p.permissions.to_vec(),
                    tid: p.claims.tid.map(|t| t.to_string()),
                }),
            },
            Err(deny) => VerifyResponse { valid: false, error: Some(deny.code().into()), principal: None },
        }))
    }

    /// Authorize a token
    ///
    /// Whether the token's principal holds the permission(s) *now*: the end-user's current role
    /// permissions or the M2M client's current scopes, so role and scope changes apply to tokens
    /// already issued. Answers `{authorized, allowed, role}` plus `missing_permissions` and
    /// `error` when refused. Invalid tokens are throttled as in `token_verify`.
    #[oai(
        path = "/:app_slug/v1/authorize",
        method = "post",
        operation_id = "token_authorize",
        tag = "ApiTags::Authorization"
    )]
    async fn authorize(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        body: DirectJson<AuthorizeRequest>,
    ) -> Result<DirectJson<AuthorizeResponse>, Errors<DecisionErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let b = body.0;
        let token = token_of(b.token, req)?;
        let wanted = wanted(b.permission, b.permissions)?;
        Ok(DirectJson(authorize_with(&state, &app, &token, req, wanted).await?))
    }

    /// Authorize several checks
    ///
    /// Up to 100 checks against one token in one call; each `id` is echoed back. Invalid tokens
    /// are throttled as in `token_verify`.
    #[oai(
        path = "/:app_slug/v1/authorize/batch",
        method = "post",
        operation_id = "token_authorize_batch",
        tag = "ApiTags::Authorization"
    )]
    async fn authorize_batch(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        body: StrictJson<AuthorizeBatchRequest>,
    ) -> Result<Json<AuthorizeBatchResponse>, Errors<DecisionErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let b = body.0;
        let token = token_of(b.token, req)?;
        let checks = b
            .checks
            .into_iter()
            .map(|c| Ok((c.id, wanted(c.permission, c.permissions)?)))
            .collect::<Result<Vec<_>, Error>>()?;
        let decision = decide(&state, &app, &token, req).await?;
        let (error, role) = match &decision {
            Ok(p) => (None, p.role.clone()),
            Err(deny) => (Some(deny.code().to_owned()), None),
        };
        let results = checks
            .into_iter()
            .map(|(id, wanted)| {
                let missing = match &decision {
                    Ok(p) => p.missing(&wanted),
                    Err(_) => wanted,
                };
                BatchResult {
                    id,
                    authorized: missing.is_empty(),
                    allowed: missing.is_empty(),
                    missing_permissions: missing,
                }
            })
            .collect();
        Ok(Json(AuthorizeBatchResponse { results, error, role }))
    }

    /// Authorize a token of any app
    ///
    /// Like `token_authorize`, with the app taken from the token's `aud`. A token naming no
    /// known app answers `authorized: false` with `TOKEN_INVALID`. Invalid tokens are throttled
    /// as in `token_verify`.
    #[oai(
        path = "/v1/authorize",
        method = "post",
        operation_id = "token_authorize_any_app",
        tag = "ApiTags::Authorization"
    )]
    async fn authorize_any(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        body: DirectJson<AuthorizeRequest>,
    ) -> Result<DirectJson<AuthorizeResponse>, Errors<DecisionErrors>> {
        let b = body.0;
        let token = token_of(b.token, req)?;
        let wanted = wanted(b.permission, b.permissions)?;
        match app_from_token(&state, &token).await? {
            Some(app) => Ok(DirectJson(authorize_with(&state, &app, &token, req, wanted).await?)),
            None => {
                state.authz.invalid_tokens.count(client_ip(req))?;
                Ok(DirectJson(AuthorizeResponse {
                    authorized: false,
                    allowed: false,
                    role: None,
                    error: Some(Deny::Invalid.code().into()),
                    missing_permissions: Some(wanted),
                }))
            }
        }
    }

    /// Gateway forward-auth
    ///
    /// For Traefik `forwardAuth`, nginx `auth_request` and Envoy `ext_authz`: reads the
    /// `Authorization: Bearer` header of the forwarded request. 200 with `X-Heimdall-Subject`,
    /// `X-Heimdall-Role` and `X-Heimdall-App` when the token is valid and holds every
    /// `permission` asked for (repeat the parameter for several); 401 without a valid token;
    /// 403 without the permission. Invalid tokens are throttled as in `token_verify` (429
    /// instead of 401). A `permissions` parameter (the name `/authorize` uses in its body) is
    /// refused with 400 `invalid_request`: ignoring it would let every valid token through a
    /// gateway configured with it.
    #[oai(
        path = "/:app_slug/v1/forward-auth",
        method = "get",
        operation_id = "forward_auth_check",
        tag = "ApiTags::Authorization"
    )]
    async fn forward_auth(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        /// Permission(s) the token must hold, `resource.action`; repeat the parameter for
        /// several (`?permission=docs.read&permission=docs.write`). Leave it out to accept
        /// any valid token of the app.
        permission: Query<Option<Vec<String>>>,
    ) -> Result<ForwardAuthResponse, Errors<ForwardAuthErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        if names_permissions(req.uri().query()) {
            return Err(Error::new(
                Code::InvalidRequest,
                "forward-auth takes `permission` (repeat it for several), not `permissions`",
            )
            .into());
        }
        let wanted =
            permission.0.unwrap_or_default().iter().map(|p| parse_permission(p)).collect::<Result<Vec<_>, _>>()?;
        let unauthorized = |code: &str| {
            Error::new(Code::Unauthorized, format!("no valid token ({code})"))
                .with_challenge(format!("Bearer realm=\"{}\"", app.slug))
        };
        let token = token_of(None, req).map_err(|_| unauthorized("TOKEN_REQUIRED"))?;
        let p = match decide(&state, &app, &token, req).await? {
            Ok(p) => p,
            Err(deny) => return Err(unauthorized(deny.code()).into()),
        };
        let missing = p.missing(&wanted);
        if !missing.is_empty() {
            return Err(Error::forbidden(format!("missing permission(s): {}", missing.join(", ")))
                .with_details(serde_json::json!({ "missing_permissions": missing }))
                .into());
        }
        let role = p.role.clone().unwrap_or_default();
        let tenant_id = p.claims.tid.map(|t| t.to_string());
        Ok(ForwardAuthResponse::Ok(
            Json(ForwardAuthBody {
                allowed: true,
                subject: p.claims.sub.clone(),
                role: p.role.clone(),
                tenant_id: tenant_id.clone(),
            }),
            p.claims.sub.clone(),
            role,
            app.id.to_string(),
            tenant_id.unwrap_or_default(),
        ))
    }
}

/// Whether a query string has a `permissions` parameter (`permissions=…`, `permissions[]=…`).
fn names_permissions(query: Option<&str>) -> bool {
    query.unwrap_or("").split('&').any(|pair| {
        let key = pair.split('=').next().unwrap_or("");
        key == "permissions" || key.starts_with("permissions[") || key.starts_with("permissions%5B")
    })
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[
        ("token_verify", &[TokenRequired]),
        ("token_authorize", &[TokenRequired, InvalidPermission]),
        ("token_authorize_batch", &[TokenRequired, InvalidPermission]),
        ("token_authorize_any_app", &[TokenRequired, InvalidPermission]),
        ("forward_auth_check", &[Unauthorized, Forbidden, InvalidPermission]),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::direct_json::testing::{assert_reads_alike, assert_writes_alike};

    const BODIES: &[&str] = &[
        r#"{"token":"a.b.c","permission":"posts.read"}"#,
        r#"{"token":"a.b.c","permissions":["posts.read","posts.write"],"permission":null}"#,
        r#"{"token":null,"permission":"posts.read","unknown":[1,2,3]}"#,
        r#"{"permissions":[]}"#,
        r#"  {"token":"a\"b\u0041"}  "#,
        r#"{}"#,
        // Refused by serde (and by the strict reading).
        r#"{"token":5,"permission":"posts.read"}"#,
        r#"{"token":"a","token":"b"}"#,
        r#"["a.b.c","posts.read",null]"#,
    ];

    #[test]
    fn requests_read_as_poem_openapi_reads_them() {
        assert_reads_alike::<AuthorizeRequest>(BODIES);
        assert_reads_alike::<VerifyRequest>(BODIES);
        // An array is never read as a struct (serde would read it positionally).
        assert!(DirectJson::<AuthorizeRequest>::parse(br#"["a.b.c","posts.read",null]"#).is_err());
        assert!(DirectJson::<AuthorizeRequest>::parse(b"").is_err());
        // What serde refuses takes the strict path: a number is no token.
        let err = DirectJson::<AuthorizeRequest>::parse(br#"{"token":5}"#).expect_err("strict reading");
        assert_eq!(err.to_string(), "malformed JSON body: field `token` must be a string");
    }

    #[test]
    fn the_documented_throttle_is_the_one_applied() {
        use super::super::invalid_tokens::{LIMIT, WINDOW};
        let spec = crate::routes::spec_json();
        assert!(spec.contains(&format!("Past {LIMIT} invalid tokens")), "the descriptions name the limit");
        assert_eq!(WINDOW.as_secs(), 60, "the descriptions say a minute");
    }

    #[test]
    fn a_member_sent_twice_is_refused_not_read_as_its_last_value() {
        // Found by the `decision_body` fuzz target.
        for body in
            [&br#"{"token":"a","token":"b"}"#[..], br#"{"permission":"docs.read","token":"t","permission":"x.y"}"#]
        {
            assert!(DirectJson::<AuthorizeRequest>::parse(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
        let err = DirectJson::<VerifyRequest>::parse(br#"{"token":"a", "token":null}"#).unwrap_err();
        assert_eq!(err.to_string(), "malformed JSON body: field `token` appears more than once");
        // Found by it too: bytes that are not UTF-8 in a member serde ignores.
        assert!(DirectJson::<VerifyRequest>::parse(b"{\"x\":\"\xa9\",\"token\":\"a\"}").is_err());
        // Unknown members are not read, once or twice.
        let read = DirectJson::<VerifyRequest>::parse(br#"{"token":"a","x":1,"x":2}"#).unwrap();
        assert_eq!(read.token.as_deref(), Some("a"));
    }

    #[test]
    fn responses_write_as_poem_openapi_writes_them() {
        let refused = AuthorizeResponse {
            authorized: false,
            allowed: false,
            role: None,
            error: Some("TOKEN_EXPIRED".into()),
            missing_permissions: Some(vec!["posts.read".into()]),
        };
        let granted = AuthorizeResponse {
            authorized: true,
            allowed: true,
            role: Some("member".into()),
            error: None,
            missing_permissions: None,
        };
        assert_writes_alike(&[refused, granted]);
        let valid = VerifyResponse {
            valid: true,
            error: None,
            principal: Some(VerifyPrincipal {
                sub: "u".into(),
                aid: "a".into(),
                principal_type: "end_user".into(),
                role: None,
                permissions: vec!["posts.read".into()],
                tid: None,
            }),
        };
        let invalid = VerifyResponse { valid: false, error: Some("TOKEN_INVALID".into()), principal: None };
        assert_writes_alike(&[valid, invalid]);
    }
}
