//! Authorization helpers on a [`ConsumerApp`]: custom permissions, roles and their permission
//! sets, role assignment, M2M clients and their tokens, and calls to `/verify`, `/authorize`
//! and `/authorize/batch`. [`within_a_second`] polls a condition that another instance must
//! reflect (cache coherence), failing when it takes longer than a second.
//!
//! Admin calls use the bootstrap platform API key; consumer calls carry no credential unless a
//! helper says otherwise.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Reply, TestServer, users::ConsumerApp};

/// How long another instance may take to reflect a change (DESIGN §7: "within one second").
pub const COHERENCE_WINDOW: Duration = Duration::from_secs(1);

/// An M2M client as created: row id, public `m2m_…` id and the `m2ms_…` secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct M2mClient {
    pub id: String,
    pub client_id: String,
    pub secret: String,
}

/// Polls `probe` until it answers true, for at most [`COHERENCE_WINDOW`]; panics naming `what`
/// otherwise. Returns how long it took.
pub async fn within_a_second<F, Fut>(what: &str, mut probe: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if probe().await {
            return start.elapsed();
        }
        if start.elapsed() > COHERENCE_WINDOW {
            panic!("{what}: not reflected within {COHERENCE_WINDOW:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl<'a> ConsumerApp<'a> {
    /// Creates the custom permission `resource.action`; panics unless 201.
    pub async fn create_permission(&self, key: &str) -> Value {
        let (resource, action) = key.rsplit_once('.').expect("resource.action");
        let reply = self
            .server
            .post(&self.admin_path("/permissions"), &json!({ "resource": resource, "action": action }))
            .await;
        reply.expect(201).clone()
    }

    /// Creates each custom permission.
    pub async fn create_permissions(&self, keys: &[&str]) {
        for key in keys {
            self.create_permission(key).await;
        }
    }

    /// Creates a role with the bootstrap PAK; panics unless 201.
    pub async fn create_role(&self, name: &str) -> Value {
        let reply = self.server.post(&self.admin_path("/roles"), &json!({ "name": name })).await;
        reply.expect(201).clone()
    }

    /// `PUT …/roles/{role}/permissions` with `key`.
    pub async fn set_role_permissions_as(&self, key: &str, role: &str, permissions: &[&str]) -> Reply {
        let path = self.admin_path(&format!("/roles/{role}/permissions"));
        let request = self.server.request_as(key, Method::PUT, &path).json(&json!({ "permissions": permissions }));
        TestServer::send(request).await
    }

    /// Replaces a role's permissions with the bootstrap PAK; panics unless 200.
    pub async fn grant(&self, role: &str, permissions: &[&str]) -> Value {
        let reply = self.set_role_permissions_as(&self.server.pak, role, permissions).await;
        reply.expect(200).clone()
    }

    /// `POST …/roles/assign` with the bootstrap PAK.
    pub async fn assign(&self, account_id: impl std::fmt::Display, role: &str) -> Reply {
        let body = json!({ "account_id": account_id.to_string(), "role": role });
        self.server.post(&self.admin_path("/roles/assign"), &body).await
    }

    /// Creates an M2M client with the bootstrap PAK; panics unless 201.
    pub async fn create_client(&self, name: &str, scopes: &[&str]) -> M2mClient {
        let reply =
            self.server.post(&self.admin_path("/credentials"), &json!({ "name": name, "scopes": scopes })).await;
        let body = reply.expect(201);
        let text = |field: &str| body[field].as_str().unwrap_or_else(|| panic!("no {field}: {reply}")).to_owned();
        M2mClient { id: text("id"), client_id: text("client_id"), secret: text("client_secret") }
    }

    /// `PUT …/credentials/{client}/scopes` with the bootstrap PAK; panics unless 200.
    pub async fn set_client_scopes(&self, client: &M2mClient, scopes: &[&str]) -> Value {
        let path = self.admin_path(&format!("/credentials/{}/scopes", client.id));
        let request =
            self.server.request_as(&self.server.pak, Method::PUT, &path).json(&json!({ "permissions": scopes }));
        TestServer::send(request).await.expect(200).clone()
    }

    /// `PATCH …/credentials/{client}` `{is_active}` with the bootstrap PAK; panics unless 200.
    pub async fn set_client_active(&self, client: &M2mClient, active: bool) -> Value {
        let path = self.admin_path(&format!("/credentials/{}", client.id));
        self.server.patch(&path, &json!({ "is_active": active })).await.expect(200).clone()
    }

    /// `POST /{slug}/v1/oauth/token` with a JSON body (the contract's form), optionally narrowed
    /// to `scope`.
    pub async fn client_token(&self, client: &M2mClient, scope: Option<&str>) -> Reply {
        let mut body = json!({
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": client.secret,
        });
        if let Some(scope) = scope {
            body["scope"] = json!(scope);
        }
        self.post("/oauth/token", &body).await
    }

    /// An access token for the client (all its scopes); panics unless 200.
    pub async fn m2m_token(&self, client: &M2mClient) -> String {
        let reply = self.client_token(client, None).await;
        reply.expect(200)["access_token"].as_str().unwrap_or_else(|| panic!("no access_token: {reply}")).to_owned()
    }

    /// `POST /{slug}/v1/verify` with the token in the body.
    pub async fn verify_token(&self, token: &str) -> Reply {
        self.post("/verify", &json!({ "token": token })).await
    }

    /// `POST /{slug}/v1/authorize` with the token in the body and one permission.
    pub async fn authorize(&self, token: &str, permission: &str) -> Reply {
        self.post("/authorize", &json!({ "token": token, "permission": permission })).await
    }

    /// Whether `/authorize` allows `permission` for `token`; checks the answer is 200 and that
    /// `allowed` agrees with `authorized`.
    pub async fn allows(&self, token: &str, permission: &str) -> bool {
        let reply = self.authorize(token, permission).await;
        decision(&reply)
    }

    /// The `error` of a refused `/verify` (panics if the token is valid).
    pub async fn verify_error(&self, token: &str) -> String {
        let reply = self.verify_token(token).await;
        let body = reply.expect(200);
        assert_eq!(body["valid"], false, "token should be refused: {reply}");
        assert!(body.get("principal").is_none_or(Value::is_null), "no principal for a refused token: {reply}");
        body["error"].as_str().unwrap_or_else(|| panic!("refusal without error code: {reply}")).to_owned()
    }

    /// The `error` of `/authorize` for the token (`None` when the token itself was accepted).
    pub async fn authorize_error(&self, token: &str, permission: &str) -> Option<String> {
        let reply = self.authorize(token, permission).await;
        let authorized = decision(&reply);
        let error = reply.body["error"].as_str().map(str::to_owned);
        if error.is_some() {
            assert!(!authorized, "a refused token never authorizes: {reply}");
            assert_eq!(reply.body["missing_permissions"], json!([permission]), "{reply}");
        }
        error
    }
}

/// `authorized` of an `/authorize` answer, after checking it is a 200 whose `allowed` agrees
/// and whose `missing_permissions` is present exactly when refused.
#[track_caller]
pub fn decision(reply: &Reply) -> bool {
    let body = reply.expect(200);
    let authorized = body["authorized"].as_bool().unwrap_or_else(|| panic!("no authorized: {reply}"));
    assert_eq!(body["allowed"], authorized, "allowed agrees with authorized: {reply}");
    if authorized {
        assert!(body.get("missing_permissions").is_none_or(Value::is_null), "{reply}");
    } else {
        assert!(body["missing_permissions"].is_array(), "missing_permissions when refused: {reply}");
    }
    authorized
}
