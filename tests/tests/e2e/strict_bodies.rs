//! Request bodies are read strictly: a JSON value whose type is not its field's (a number or a
//! boolean for a string, a string for a number, …) is a 400 naming the field by its path, on
//! consumer and admin bodies alike, nested values included — never a silent conversion.

use heimdall_tests::{
    TestServer, db_test,
    users::{ConsumerApp, PASSWORD},
};
use reqwest::Method;
use serde_json::{Value, json};

/// A 400 `invalid_request` whose details and message name `field`.
#[track_caller]
fn assert_names(reply: &heimdall_tests::Reply, field: &str) {
    reply.expect_error(400, "invalid_request");
    assert_eq!(reply.body["details"]["field"], field, "{reply}");
    let message = reply.body["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("malformed JSON body") && message.contains(&format!("`{field}`")), "{reply}");
}

db_test!(
    async fn sign_up_and_sign_in_refuse_numbers_and_booleans_for_strings(server) {
        let app = ConsumerApp::create(&server, "strict-consumer").await;
        let signup = |username: Value| json!({ "username": username, "email": "kim@example.com", "password": PASSWORD });
        assert_names(&app.post("/auth/signup", &signup(json!(4242))).await, "username");
        assert_names(&app.post("/auth/signup", &signup(json!(true))).await, "username");
        // Nothing was created: the same name as a string is free.
        app.signup("4242", "kim@example.com", PASSWORD).await.expect(201);

        let signin = |identifier: Value, password: Value| json!({ "identifier": identifier, "password": password });
        assert_names(&app.post("/auth/signin", &signin(json!(4242), json!(PASSWORD))).await, "identifier");
        assert_names(&app.post("/auth/signin", &signin(json!("4242"), json!(true))).await, "password");
        assert_names(&app.post("/auth/signin", &signin(json!("4242"), json!(12345678))).await, "password");
        assert_names(&app.post("/auth/refresh", &json!({ "refresh_token": 5 })).await, "refresh_token");
        // A required field left out is named too.
        assert_names(&app.post("/auth/signin", &json!({ "identifier": "4242" })).await, "password");
        app.signin_ok("4242", PASSWORD).await;

        // The hot-path bodies of /verify and /authorize, and the OAuth token endpoint.
        assert_names(&app.post("/verify", &json!({ "token": 5 })).await, "token");
        assert_names(&app.post("/authorize", &json!({ "token": "a.b.c", "permissions": ["docs.read", 1] })).await, "permissions[1]");
        let batch = json!({ "token": "a.b.c", "checks": [{ "permission": "docs.read" }, { "permission": false }] });
        assert_names(&app.post("/authorize/batch", &batch).await, "checks[1].permission");
        // OAuth: RFC 6749 `error`, and a message that says "request body" (JSON or form).
        let token = app.post("/oauth/token", &json!({ "grant_type": "client_credentials", "client_id": 5 })).await;
        token.expect_error(400, "invalid_request");
        assert_eq!((&token.body["details"]["field"], &token.body["error"]), (&json!("client_id"), &json!("invalid_request")));
        assert_eq!(token.body["message"], "malformed request body: field `client_id` must be a string", "{token}");
    }
);

db_test!(
    async fn admin_bodies_refuse_values_of_another_type_naming_the_field(server) {
        let app = ConsumerApp::create(&server, "strict-admin").await;
        assert_names(&server.post("/v1/apps", &json!({ "display_name": 5, "slug": "typed" })).await, "display_name");
        assert_names(&server.post("/v1/apps", &json!({ "display_name": "A", "slug": ["typed"] })).await, "slug");
        assert_names(&server.post("/v1/apps", &json!({ "display_name": "A" })).await, "slug");
        assert_names(&server.post(&app.admin_path("/roles"), &json!({ "name": 42 })).await, "name");
        assert_names(&server.post(&app.admin_path("/roles"), &json!({ "name": "ok", "description": 1 })).await, "description");

        let config = app.admin_path("/auth-config");
        // Strings are not numbers or booleans either.
        assert_names(&server.patch(&config, &json!({ "max_sessions": "5" })).await, "max_sessions");
        assert_names(&server.patch(&config, &json!({ "signup_enabled": "false" })).await, "signup_enabled");
        let origins = json!({ "allowed_redirect_origins": ["https://a.example", 7] });
        assert_names(&server.patch(&config, &origins).await, "allowed_redirect_origins[1]");
        let invite = json!({ "email": "kim@example.com", "max_uses": 1.5 });
        assert_names(&server.post(&app.admin_path("/end-users/invites"), &invite).await, "max_uses");

        // Nothing changed along the way.
        let apps = server.get("/v1/apps").await;
        assert_eq!(apps.expect(200)["data"].as_array().map(Vec::len), Some(1), "{apps}");
        let roles = server.get(&app.admin_path("/roles")).await;
        assert!(roles.expect(200)["data"].as_array().unwrap().iter().all(|r| r["name"] != "42" && r["name"] != "ok"), "{roles}");
        let current = server.get(&config).await;
        assert_eq!(current.expect(200)["signup_enabled"], true, "{current}");
        let raw = TestServer::send(
            server.request_as(&server.pak, Method::PATCH, &config).header("content-type", "application/json").body("[]"),
        )
        .await;
        raw.expect_error(400, "invalid_request");
        assert_eq!(raw.body["message"], "malformed JSON body: the body must be a JSON object", "{raw}");
    }
);
