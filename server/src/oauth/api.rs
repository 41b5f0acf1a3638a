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
    access::Origin,
    apps::AppRef,
    http::{
        direct_json::{Direct, DirectJson},
        error::{Error, ErrorSet, Errors},
    },
    m2m::clients::ClientRecord,
    state::AppState,
};

/// The operation ids of this API: the front door answers their errors, poem's own included
/// (unreadable bodies, content types), with the RFC 6749 fields.
pub const OPERATION_IDS: [&str; 3] = ["oauth_token_issue", "oauth_introspect", "oauth_revoke"];

/// The parameters of this API's bodies: the only field names its parse failures may name.
pub const PARAMETERS: [&str; 6] = ["grant_type", "client_id", "client_secret", "scope", "token", "token_type_hint"];

/// Whether `path` is one of this API's (`/{app_slug}/v1/oauth/{token,introspect,revoke}`), for
/// refusals before an operation is matched (body limit, method).
pub fn is_oauth_path(path: &str) -> bool {
    let mut segments = path.strip_prefix('/').unwrap_or(path).split('/');
    let (Some(slug), Some("v1"), Some("oauth"), Some(endpoint), None) =
        (segments.next(), segments.next(), segments.next(), segments.next(), segments.next())
    else {
        return false;
    };
    !slug.is_empty() && matches!(endpoint, "token" | "introspect" | "revoke")
}

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
// Both read by serde: a parameter sent twice is refused (RFC 6749 §3.2), never read as one of
// its values. (Doc comments here are the spec's request description.)
#[derive(ApiRequest)]
pub enum TokenBody {
    Json(DirectJson<TokenRequest>),
    Form(Form<TokenRequest>),
}

/// An access token for a client.
#[derive(Debug, Clone, Object)]
pub struct OauthTokenResponse {
    /// RS256 JWT with `type: "m2m"`, `sub` = client id, `permissions` = granted scopes.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
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
    /// The token to introspect or revoke.
    pub token: String,
    /// `access_token` or `refresh_token`; a hint only.
    #[oai(nullable)]
    pub token_type_hint: Option<String>,
    /// The calling client's id, unless sent with HTTP Basic.
    #[oai(nullable)]
    pub client_id: Option<String>,
    /// The calling client's secret, unless sent with HTTP Basic.
    #[oai(nullable)]
    pub client_secret: Option<String>,
}

// As `TokenBody`.
#[derive(ApiRequest)]
pub enum TokenOperationBody {
    Json(DirectJson<TokenOperationRequest>),
    Form(Form<TokenOperationRequest>),
}

impl Direct for TokenRequest {}
impl Direct for TokenOperationRequest {}

/// RFC 7662 introspection answer; only `active` when the token is not active.
#[derive(Debug, Clone, Object, Default)]
pub struct IntrospectionResponse {
    /// Whether the token is valid now (signature, expiry, not revoked).
    pub active: bool,
    /// Permissions of an M2M token, separated by spaces.
    #[oai(skip_serializing_if_is_none)]
    pub scope: Option<String>,
    /// The M2M client the token was issued to.
    #[oai(skip_serializing_if_is_none)]
    pub client_id: Option<String>,
    /// Subject: account id or M2M client id.
    #[oai(skip_serializing_if_is_none)]
    pub sub: Option<String>,
    /// Audience: the app's slug.
    #[oai(skip_serializing_if_is_none)]
    pub aud: Option<String>,
    /// Issuer: `<public origin>/<slug>`.
    #[oai(skip_serializing_if_is_none)]
    pub iss: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    #[oai(skip_serializing_if_is_none)]
    pub exp: Option<i64>,
    /// Issue time, seconds since the Unix epoch.
    #[oai(skip_serializing_if_is_none)]
    pub iat: Option<i64>,
    /// The token's unique id.
    #[oai(skip_serializing_if_is_none)]
    pub jti: Option<String>,
    /// `Bearer`.
    #[oai(skip_serializing_if_is_none)]
    pub token_type: Option<String>,
    /// Heimdall's principal type: `end_user` or `m2m`.
    #[oai(skip_serializing_if_is_none)]
    pub principal_type: Option<String>,
    /// The end-user's role (end-user tokens).
    #[oai(skip_serializing_if_is_none)]
    pub role: Option<String>,
}

/// Answer of revocation (always 200 for a well-formed request, RFC 7009 §2.2).
#[derive(Debug, Clone, Object)]
pub struct RevocationResponse {
    /// Whether a live token was revoked by this request.
    pub revoked: bool,
}

/// One half of HTTP Basic client credentials, which RFC 6749 §2.3.1 form-urlencodes: `+` is a
/// space, `%XX` a byte, and the result must be UTF-8. As in form bodies, a `%` not followed by
/// two hex digits stands for itself.
fn form_decode(raw: &str) -> Option<String> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8().ok().map(std::borrow::Cow::into_owned)
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
        // The scheme name is case-insensitive (RFC 9110 §11.1).
        .and_then(|v| v.trim().split_once(' ').filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic")))
        .map(|(_, credentials)| credentials);
    match (basic, body_secret) {
        (Some(_), Some(_)) => Err(Error::new(Code::InvalidRequest, "use one client authentication method, not two")),
        (Some(b), None) => {
            let decoded = STANDARD.decode(b.trim()).ok().and_then(|d| String::from_utf8(d).ok());
            let (id, secret) = decoded
                .as_deref()
                .and_then(|d| d.split_once(':'))
                .and_then(|(i, s)| Some((form_decode(i)?, form_decode(s)?)))
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

/// An introspection or revocation request whose client has authenticated.
struct TokenOperation {
    app: Arc<AppRef>,
    origin: Origin,
    caller: Arc<ClientRecord>,
    /// The token the operation is about.
    token: String,
}

impl TokenOperation {
    async fn authenticate(
        state: &AppState,
        req: &Request,
        slug: &str,
        body: TokenOperationBody,
    ) -> Result<TokenOperation, Error> {
        let b = match body {
            TokenOperationBody::Json(j) => j.0,
            TokenOperationBody::Form(f) => f.0,
        };
        let app = crate::access::end_user::consumer_app(state, slug).await?;
        let origin = crate::http::context::origin(req);
        let creds = client_credentials(req, b.client_id, b.client_secret)?;
        let caller = service::authenticate_client(state, &app, &origin, creds).await?;
        Ok(TokenOperation { app, origin, caller, token: b.token })
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
        let call = TokenOperation::authenticate(&state, req, &app_slug.0, body).await?;
        let app = call.app;
        Ok(Json(match service::introspect(&state, &app, call.token.trim()).await? {
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
        let call = TokenOperation::authenticate(&state, req, &app_slug.0, body).await?;
        let revoked = service::revoke(&state, &call.app, &call.origin, &call.caller, call.token.trim()).await?;
        Ok(Json(RevocationResponse { revoked }))
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[
        ("oauth_token_issue", &[InvalidClient, UnsupportedGrantType, InvalidScope, AppInactive]),
        ("oauth_introspect", &[InvalidClient]),
        ("oauth_revoke", &[InvalidClient, UnauthorizedClient]),
    ]
};

#[cfg(test)]
mod tests {
    use poem::IntoResponse;

    use super::{service::granted_scopes, *};

    /// The credentials as `(client_id, secret, used Basic)`.
    fn creds(req: &Request, id: Option<String>, secret: Option<String>) -> Result<(String, String, bool), Error> {
        client_credentials(req, id, secret).map(|c| (c.client_id, c.secret, c.basic))
    }

    fn basic(decoded: &[u8]) -> Request {
        Request::builder().header("authorization", format!("Basic {}", STANDARD.encode(decoded))).finish()
    }

    #[test]
    fn the_front_door_knows_every_oauth_operation_and_path() {
        let mut ids: Vec<&str> = OauthApi::meta()
            .iter()
            .flat_map(|api| api.paths.iter())
            .flat_map(|path| path.operations.iter())
            .filter_map(|op| op.operation_id)
            .collect();
        ids.sort_unstable();
        let mut expected = OPERATION_IDS.to_vec();
        expected.sort_unstable();
        assert_eq!(ids, expected);
        for path in ["/acme/v1/oauth/token", "/acme/v1/oauth/introspect", "/a/v1/oauth/revoke"] {
            assert!(is_oauth_path(path), "{path}");
        }
        for path in [
            "/acme/v1/oauth/authorize",
            "//v1/oauth/token",
            "/acme/v1/oauth/token/x",
            "/v1/oauth/token",
            "/acme/v1/auth/token",
        ] {
            assert!(!is_oauth_path(path), "{path}");
        }
    }

    #[test]
    fn json_bodies_read_as_poem_openapi_reads_them_but_refuse_a_repeated_parameter() {
        use crate::http::direct_json::testing::assert_reads_alike;
        let bodies = [
            r#"{"grant_type":"client_credentials","client_id":"m2m_a","client_secret":"s","scope":"docs.read"}"#,
            r#"{"token":"a.b.c","token_type_hint":null,"client_id":"m2m_a","unknown":{}}"#,
            r#"{"grant_type":5,"token":"t"}"#,
            r#"{}"#,
        ];
        assert_reads_alike::<TokenRequest>(&bodies);
        assert_reads_alike::<TokenOperationRequest>(&bodies);
        // Found by the `oauth_body` fuzz target: the last value used to win silently.
        let err =
            DirectJson::<TokenRequest>::parse(br#"{"client_id":"m2m_a","client_secret":"s","client_id":"m2m_b"}"#)
                .unwrap_err();
        assert_eq!(err.to_string(), "malformed JSON body: field `client_id` appears more than once");
        let err = DirectJson::<TokenOperationRequest>::parse(br#"{"token":"a","tok\u0065n":"b"}"#).unwrap_err();
        assert_eq!(err.to_string(), "malformed JSON body: field `token` appears more than once");
    }

    #[test]
    fn the_basic_scheme_name_is_case_insensitive() {
        for scheme in ["Basic", "basic", "BASIC", "bAsIc"] {
            let req = Request::builder()
                .header("authorization", format!("{scheme} {}", STANDARD.encode("m2m_abc:s")))
                .finish();
            assert_eq!(creds(&req, None, None).unwrap(), ("m2m_abc".to_owned(), "s".to_owned(), true), "{scheme}");
        }
        let bearer = Request::builder().header("authorization", "Bearer abc").finish();
        assert!(creds(&bearer, None, None).is_err(), "not Basic: no client authentication");
    }

    fn from_basic(decoded: &str) -> Option<(String, String)> {
        from_basic_bytes(decoded.as_bytes())
    }

    fn from_basic_bytes(decoded: &[u8]) -> Option<(String, String)> {
        creds(&basic(decoded), None, None).ok().map(|(id, secret, used_basic)| {
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
            let (id, _, used_basic) = creds(&req, None, None).expect(&header);
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
            let err = creds(&req, None, None).expect_err(what);
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
            creds(&req, Some("m2m_abc".into()), Some("s".into())).unwrap(),
            ("m2m_abc".to_owned(), "s".to_owned(), false)
        );
        for id in [None, Some(String::new())] {
            let err = creds(&req, id, Some("s".into())).unwrap_err();
            assert_eq!(
                (crate::http::error::status(err.code).as_u16(), err.message.as_str()),
                (401, "client_id is missing")
            );
            assert!(err.into_response().headers().get("www-authenticate").is_none());
        }
        let err = creds(&req, Some("m2m_abc".into()), None).unwrap_err();
        assert_eq!((crate::http::error::status(err.code).as_u16(), err.code.as_str()), (401, "invalid_client"));
        assert_eq!(err.message, "client authentication is missing");
    }

    #[test]
    fn basic_and_a_body_secret_together_are_refused() {
        let err = creds(&basic(b"m2m_abc:s"), None, Some("s".into())).unwrap_err();
        assert_eq!((crate::http::error::status(err.code).as_u16(), err.code.as_str()), (400, "invalid_request"));
        // A body `client_id` beside Basic is not a second method; Basic names the client.
        let (id, _, used_basic) = creds(&basic(b"m2m_abc:s"), Some("m2m_other".into()), None).unwrap();
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
        // Holding `*` grants permissions, not arbitrary strings.
        assert_eq!(granted_scopes(&scopes(&["*"]), Some("docs.read openid")), Err("openid"));
        assert_eq!(granted_scopes(&scopes(&["*"]), Some("Docs.Read")), Err("Docs.Read"));
    }
}
