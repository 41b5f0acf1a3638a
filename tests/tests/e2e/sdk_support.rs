//! Shared set-up of the SDK tests: an SDK client on a test server, an app with a signed-up
//! end-user, tokens forged with the app's real signing key (to reach every verifier failure),
//! and the server's own count of JWKS requests.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use heimdall_sdk::{Credential, Heimdall, types};
use heimdall_tests::{TestServer, users::PASSWORD};
use serde_json::{Value, json};
use uuid::Uuid;

/// An SDK client of `server` holding its bootstrap platform API key.
pub fn sdk(server: &TestServer) -> Heimdall {
    Heimdall::builder()
        .base_url(&server.base)
        .credential(Credential::PlatformKey(server.pak.clone()))
        .build()
        .expect("SDK client builds")
}

/// An app created through the SDK, with one end-user (`ada`) signed up through it.
pub struct AppWithUser {
    pub heimdall: Heimdall,
    pub app: types::App,
    pub tokens: types::TokenResponse,
}

pub async fn app_with_user(server: &TestServer, slug: &str) -> AppWithUser {
    let heimdall = sdk(server);
    let app = heimdall
        .apps()
        .create(types::CreateApp::builder().slug(slug).display_name(format!("App {slug}")))
        .await
        .expect("app created through the SDK");
    let tokens = signup(&heimdall, slug, "ada").await;
    AppWithUser { heimdall, app, tokens }
}

/// Signs `username` up to app `slug` through the SDK.
pub async fn signup(heimdall: &Heimdall, slug: &str, username: &str) -> types::TokenResponse {
    let body =
        types::SignupRequest::builder().username(username).email(format!("{username}@example.com")).password(PASSWORD);
    heimdall.consumer(slug).auth().signup(body).await.expect("signup through the SDK")
}

/// Signs `username` in to app `slug` through the SDK.
pub async fn signin(heimdall: &Heimdall, slug: &str, username: &str) -> types::TokenResponse {
    heimdall.consumer(slug).auth().signin(username, PASSWORD).await.expect("signin through the SDK")
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Claims the verifier accepts for app `slug` of `server`: right issuer and audience, valid for
/// five minutes. Tests change one thing at a time.
pub fn good_claims(server: &TestServer, slug: &str, app_id: Uuid) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": server.state().issuer(slug),
        "aud": slug,
        "sub": Uuid::now_v7().to_string(),
        "aid": app_id,
        "sid": Uuid::now_v7(),
        "role": "member",
        "type": "end_user",
        "amr": ["pwd"],
        "permissions": ["docs.read"],
        "iat": now,
        "exp": now + 300,
        "jti": Uuid::new_v4().to_string(),
    })
}

/// A token with exactly `header` and `claims`, signed with the app's current private key.
pub async fn forge_with_header(server: &TestServer, app_id: Uuid, header: &Value, claims: &Value) -> String {
    let signer = server.state().keys.signer(app_id).await.expect("the app has a signing key");
    let mut token =
        format!("{}.{}", b64(&serde_json::to_vec(header).unwrap()), b64(&serde_json::to_vec(claims).unwrap()));
    let signature = signer.sign(token.as_bytes());
    token.push('.');
    token.push_str(&b64(&signature));
    token
}

/// A token with `claims` signed like the server signs: RS256 with the current key and its `kid`.
pub async fn forge(server: &TestServer, app_id: Uuid, claims: &Value) -> String {
    let kid = server.state().keys.signer(app_id).await.expect("the app has a signing key").kid.clone();
    forge_with_header(server, app_id, &json!({ "alg": "RS256", "typ": "JWT", "kid": kid }), claims).await
}

/// How many JWKS requests the server has answered, from its `/metrics`.
pub async fn jwks_requests(server: &TestServer) -> u64 {
    let reply = server.get_public("/metrics").await;
    assert_eq!(reply.status, 200, "{reply}");
    reply
        .text
        .lines()
        .filter(|line| line.starts_with("heimdall_http_requests_total{operation=\"jwks_get\""))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}
