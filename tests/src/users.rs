//! End-users seen from both sides: [`ConsumerApp`] is one app of a [`TestServer`], addressed by
//! slug on the consumer surface (`/{slug}/v1/…`) and by id on the admin surface
//! (`/v1/apps/{id}/…`), with helpers for sign-up, sign-in, refresh, codes and the audit log.
//!
//! Consumer calls go out without a credential unless a helper says otherwise; admin calls use
//! the bootstrap platform API key.

use heimdall_server::tokens::{self, AccessClaims, TokenType};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Reply, TestServer};

/// Claims shaped like an end-user token of app `slug` (five minutes to live), for tests that
/// sign tokens themselves with `tokens::sign`.
pub fn end_user_claims(server: &TestServer, slug: &str, app: Uuid) -> AccessClaims {
    let now = chrono::Utc::now().timestamp();
    AccessClaims {
        iss: server.state().issuer(slug),
        aud: slug.to_owned(),
        sub: "user-1".into(),
        aid: app,
        sid: Some(Uuid::now_v7()),
        role: Some("member".into()),
        tid: None,
        trole: None,
        token_type: TokenType::EndUser,
        amr: Some(vec!["pwd".into()]),
        permissions: vec!["docs.read".into()],
        scope: None,
        iat: now,
        exp: now + 300,
        nbf: None,
        jti: Uuid::new_v4().to_string(),
    }
}

/// A password that satisfies every policy the tests switch on (number, uppercase, symbol).
pub const PASSWORD: &str = "Correct-Horse-42";

/// The two tokens of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

impl Tokens {
    /// Reads a token response after checking its status and shape: `token_type` `Bearer`, a
    /// positive `expires_in`, an `hrt_…` refresh token and `Cache-Control: no-store`.
    #[track_caller]
    pub fn from_reply(reply: &Reply, status: u16) -> Tokens {
        let body = reply.expect(status);
        assert_eq!(body["token_type"], "Bearer", "{reply}");
        assert!(body["expires_in"].as_u64().is_some_and(|s| s > 0), "expires_in: {reply}");
        assert_eq!(reply.header("cache-control"), Some("no-store"), "token responses are not cached: {reply}");
        let access = body["access_token"].as_str().unwrap_or_else(|| panic!("no access_token: {reply}")).to_owned();
        let refresh = body["refresh_token"].as_str().unwrap_or_else(|| panic!("no refresh_token: {reply}")).to_owned();
        assert!(refresh.starts_with("hrt_"), "refresh token prefix: {reply}");
        assert_eq!(access.split('.').count(), 3, "access token is a JWT: {reply}");
        Tokens { access, refresh }
    }
}

/// The JSON body without `request_id`, to compare two error answers.
pub fn without_request_id(reply: &Reply) -> Value {
    let mut body = reply.body.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("request_id");
    }
    body
}

/// One app of a server, with its id and slug.
#[derive(Clone, Copy)]
pub struct ConsumerApp<'a> {
    pub server: &'a TestServer,
    pub id: Uuid,
    pub slug: &'a str,
}

impl<'a> ConsumerApp<'a> {
    /// Creates the app `slug` with the bootstrap PAK.
    pub async fn create(server: &'a TestServer, slug: &'a str) -> ConsumerApp<'a> {
        let app = server.create_app(slug).await;
        let id = app["id"].as_str().expect("app id").parse().expect("app id is a UUID");
        ConsumerApp { server, id, slug }
    }

    /// The same app, reached through another server (a second instance on the same database).
    pub fn via(self, server: &'a TestServer) -> ConsumerApp<'a> {
        ConsumerApp { server, ..self }
    }

    /// `/{slug}/v1{rest}`.
    pub fn path(&self, rest: &str) -> String {
        format!("/{}/v1{rest}", self.slug)
    }

    /// `/v1/apps/{id}{rest}`.
    pub fn admin_path(&self, rest: &str) -> String {
        format!("/v1/apps/{}{rest}", self.id)
    }

    /// A consumer `POST` without any credential.
    pub async fn post(&self, rest: &str, body: &Value) -> Reply {
        TestServer::send(self.server.request(Method::POST, &self.path(rest)).json(body)).await
    }

    /// A consumer `POST` carrying `Authorization: Bearer <key>`.
    pub async fn post_as(&self, key: &str, rest: &str, body: &Value) -> Reply {
        self.server.post_json_as(key, &self.path(rest), body).await
    }

    /// A consumer `GET` with an access token.
    pub async fn get_as(&self, token: &str, rest: &str) -> Reply {
        self.server.get_as(token, &self.path(rest)).await
    }

    /// `PATCH /v1/apps/{id}/auth-config`; panics unless 200.
    pub async fn configure(&self, changes: Value) -> Value {
        let reply = self.server.patch(&self.admin_path("/auth-config"), &changes).await;
        reply.expect(200).clone()
    }

    /// `PATCH /v1/apps/{id}/status`; panics unless 200.
    pub async fn set_status(&self, status: &str) {
        let reply = self.server.patch(&self.admin_path("/status"), &json!({ "status": status })).await;
        reply.expect(200);
    }

    pub async fn signup(&self, username: &str, email: &str, password: &str) -> Reply {
        self.post("/auth/signup", &json!({ "username": username, "email": email, "password": password })).await
    }

    /// Signs up with [`PASSWORD`]; panics unless 201. Returns the account id and the tokens.
    pub async fn signup_ok(&self, username: &str, email: &str) -> (Uuid, Tokens) {
        let reply = self.signup(username, email, PASSWORD).await;
        let tokens = Tokens::from_reply(&reply, 201);
        (self.claims(&tokens.access).await.sub.parse().expect("sub is the account id"), tokens)
    }

    /// Signs up and verifies the email through `request-verification` + `auth/verify`.
    pub async fn verified_user(&self, username: &str, email: &str) -> (Uuid, Tokens) {
        let (id, tokens) = self.signup_ok(username, email).await;
        self.verify_email(email).await;
        (id, tokens)
    }

    pub async fn signin(&self, identifier: &str, password: &str) -> Reply {
        self.post("/auth/signin", &json!({ "identifier": identifier, "password": password })).await
    }

    /// Signs in; panics unless 200.
    pub async fn signin_ok(&self, identifier: &str, password: &str) -> Tokens {
        Tokens::from_reply(&self.signin(identifier, password).await, 200)
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.post("/auth/refresh", &json!({ "refresh_token": refresh_token })).await
    }

    pub async fn logout(&self, refresh_token: &str) -> Reply {
        self.post("/auth/logout", &json!({ "refresh_token": refresh_token })).await
    }

    /// `GET /{slug}/v1/me` with an access token.
    pub async fn me(&self, access_token: &str) -> Reply {
        self.get_as(access_token, "/me").await
    }

    /// Mints a code with the bootstrap PAK: `kind` is `request-password-reset` or
    /// `request-verification`.
    pub async fn request_code(&self, kind: &str, email: &str) -> Reply {
        self.post_as(&self.server.pak, &format!("/auth/{kind}"), &json!({ "email": email })).await
    }

    /// Mints a code that must be issued; returns the six digits.
    pub async fn code_for(&self, kind: &str, email: &str) -> String {
        let reply = self.request_code(kind, email).await;
        let code =
            reply.expect(200)["code"].as_str().unwrap_or_else(|| panic!("no code for {email}: {reply}")).to_owned();
        assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "six digits: {reply}");
        code
    }

    /// Verifies `email` with a freshly minted verification code.
    pub async fn verify_email(&self, email: &str) -> Value {
        let code = self.code_for("request-verification", email).await;
        let reply = self.post("/auth/verify", &json!({ "code": code })).await;
        reply.expect(200).clone()
    }

    /// The claims of an access token, checked by the server's own verifier for this app.
    pub async fn claims(&self, access_token: &str) -> AccessClaims {
        let state = self.server.state();
        let app = state.directory.resolve(&state.db, self.slug).await.expect("app resolves");
        tokens::verify(state, &app, access_token).await.expect("key set loads").expect("access token verifies")
    }

    /// Verifies an access token the way a resource server does, without Heimdall's code: the
    /// app's JWKS over HTTP, then the algorithm the key names (RS256, ES256 or EdDSA, which the
    /// header must agree with) with the issuer `<base>/<slug>` and the audience `<slug>`.
    /// Returns the claims.
    pub async fn verify_offline(&self, token: &str) -> Value {
        use jsonwebtoken::{DecodingKey, Validation, jwk::Jwk};
        let header = jsonwebtoken::decode_header(token).expect("JWT header");
        let kid = header.kid.expect("kid");
        let jwks = self.server.get_public(&self.path("/.well-known/jwks.json")).await;
        let jwk = jwks.expect(200)["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .unwrap_or_else(|| panic!("kid {kid} is not published: {jwks}"))
            .clone();
        let alg: jsonwebtoken::Algorithm =
            jwk["alg"].as_str().expect("the JWK names its alg").parse().expect("known alg");
        assert_eq!(header.alg, alg, "the token's alg is its key's");
        let jwk: Jwk = serde_json::from_value(jwk).expect("a JWK");
        let key = DecodingKey::from_jwk(&jwk).expect("a public key");
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[format!("{}/{}", self.server.base, self.slug)]);
        validation.set_audience(&[self.slug]);
        jsonwebtoken::decode::<Value>(token, &key, &validation).expect("token verifies against the JWKS").claims
    }

    /// `GET /v1/apps/{id}/end-users/{user}`; panics unless 200.
    pub async fn end_user(&self, user: Uuid) -> Value {
        let reply = self.server.get(&self.admin_path(&format!("/end-users/{user}"))).await;
        reply.expect(200).clone()
    }

    /// Audit entries with `action`, newest first (up to 200).
    pub async fn audit(&self, action: &str) -> Vec<Value> {
        let reply = self.server.get(&self.admin_path(&format!("/audit-logs?limit=200&action={action}"))).await;
        reply.expect(200)["data"].as_array().expect("audit data").clone()
    }
}
