//! `/verify`, `/authorize`, `/authorize/batch` and the slug-less `/v1/authorize`: where the
//! token comes from (the body before the `Authorization` header, which may carry the caller's
//! PAK), refusals as `200` with an error code, end-user tokens judged by their role's *current*
//! permissions, M2M tokens by their client's *current* scopes, revocation (logout, admin
//! revoke-all, suspension, client deactivation and deletion) taking effect at once, wildcard
//! grants, and the shape of the permissions that may be asked about.

use heimdall_tests::{
    TestServer,
    authz::decision,
    db_test,
    users::{ConsumerApp, PASSWORD},
};
use reqwest::Method;
use serde_json::{Value, json};

db_test!(
    async fn verify_takes_the_token_from_the_body_before_the_authorization_header(server) {
        let app = ConsumerApp::create(&server, "verify-source").await;
        let (user, tokens) = app.signup_ok("alice", "alice@example.com").await;

        // Body token, with the SDK's PAK in the header: the PAK is not the token.
        let r = app.post_as(&server.pak, "/verify", &json!({ "token": tokens.access })).await;
        let body = r.expect(200);
        assert_eq!(body["valid"], true, "{r}");
        assert!(body.get("error").is_none_or(Value::is_null), "{r}");
        let principal = &body["principal"];
        assert_eq!(principal["sub"], user.to_string());
        assert_eq!(principal["aid"], app.id.to_string());
        assert_eq!(principal["type"], "end_user");
        assert_eq!(principal["role"], "member");
        assert_eq!(principal["permissions"], json!([]));

        // Header only.
        let r = app.post_as(&tokens.access, "/verify", &json!({})).await;
        assert_eq!(r.expect(200)["valid"], true, "{r}");
        let r = TestServer::send(server.request(Method::POST, &app.path("/verify")).header("authorization", format!("bearer {}", tokens.access)).json(&json!({}))).await;
        assert_eq!(r.expect(200)["valid"], true, "a lowercase scheme works too: {r}");

        // The body wins over a valid header token.
        let r = app.post_as(&tokens.access, "/verify", &json!({ "token": "garbage" })).await;
        assert_eq!(r.expect(200)["valid"], false, "{r}");
        assert_eq!(r["error"], "TOKEN_INVALID");

        // Without a body token the header is the token, even if it is a PAK.
        let r = app.post_as(&server.pak, "/verify", &json!({})).await;
        assert_eq!(r.expect(200)["valid"], false, "{r}");
        assert_eq!(r["error"], "TOKEN_INVALID");

        // No token at all: 400 token_required, also for an empty header or an empty body token.
        for request in [
            server.request(Method::POST, &app.path("/verify")).json(&json!({})),
            server.request(Method::POST, &app.path("/verify")).header("authorization", "").json(&json!({})),
            server.request(Method::POST, &app.path("/verify")).header("authorization", "Bearer ").json(&json!({})),
            server.request(Method::POST, &app.path("/verify")).json(&json!({ "token": "" })),
            server.request(Method::POST, &app.path("/verify")).header("authorization", "Basic Zm9vOmJhcg==").json(&json!({})),
        ] {
            TestServer::send(request).await.expect_error(400, "token_required");
        }
        for rest in ["/authorize", "/authorize/batch"] {
            let body = json!({ "permission": "docs.read", "checks": [{ "permission": "docs.read" }] });
            app.post(rest, &body).await.expect_error(400, "token_required");
        }
        server.post_json_as("", "/v1/authorize", &json!({ "permission": "docs.read" })).await.expect_error(400, "token_required");

        // An unknown app is a 404, not a refusal.
        let r = TestServer::send(server.request(Method::POST, "/no-such-app/v1/verify").json(&json!({ "token": tokens.access }))).await;
        r.expect_error(404, "app_not_found");
    }
);

db_test!(
    async fn a_bad_token_is_a_200_with_valid_false_and_an_error_code(server) {
        let app = ConsumerApp::create(&server, "verify-bad").await;
        for bad in ["garbage", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.AAAA", "hrt_refresh-is-not-an-access-token"] {
            assert_eq!(app.verify_error(bad).await, "TOKEN_INVALID", "{bad}");
            assert_eq!(app.authorize_error(bad, "docs.read").await.as_deref(), Some("TOKEN_INVALID"), "{bad}");
            let r = app.post("/authorize/batch", &json!({ "token": bad, "checks": [{ "id": "a", "permission": "docs.read" }] })).await;
            let body = r.expect(200);
            assert_eq!(body["error"], "TOKEN_INVALID", "{r}");
            assert_eq!(body["results"], json!([{ "id": "a", "authorized": false, "allowed": false, "missing_permissions": ["docs.read"] }]));
        }
        // A refresh token is not an access token.
        let (_, tokens) = app.signup_ok("bob", "bob@example.com").await;
        assert_eq!(app.verify_error(&tokens.refresh).await, "TOKEN_INVALID");
    }
);

db_test!(
    async fn a_body_that_repeats_a_member_is_refused_instead_of_read_as_its_last_value(server) {
        let app = ConsumerApp::create(&server, "authz-twice").await;
        let (_, tokens) = app.signup_ok("dave", "dave@example.com").await;
        let send = |rest: &str, body: String| {
            let request = server.request(Method::POST, &app.path(rest)).header("content-type", "application/json");
            TestServer::send(request.body(body))
        };
        let twice = format!(r#"{{"token":"garbage","token":"{}"}}"#, tokens.access);
        for rest in ["/verify", "/authorize"] {
            let r = send(rest, twice.replace("}", r#","permission":"docs.read"}"#)).await;
            assert_eq!(r.status, 400, "{rest}: {r}");
            assert!(r["message"].as_str().unwrap().contains("`token` appears more than once"), "{rest}: {r}");
        }
        let r = send("/verify", format!(r#"{{"token":"{}"}}"#, tokens.access)).await;
        assert_eq!(r.expect(200)["valid"], true, "said once: {r}");
    }
);

db_test!(
    async fn end_user_tokens_are_judged_by_their_roles_current_permissions(server) {
        let app = ConsumerApp::create(&server, "authz-roles").await;
        app.create_permissions(&["docs.read", "docs.write", "billing.read"]).await;
        app.create_role("editor").await;
        app.grant("editor", &["docs.read", "docs.write"]).await;
        let (user, tokens) = app.signup_ok("carol", "carol@example.com").await;
        let token = tokens.access.as_str();

        let r = app.authorize(token, "docs.read").await;
        assert!(!decision(&r));
        assert_eq!(r["role"], "member", "{r}");
        assert_eq!(r["missing_permissions"], json!(["docs.read"]));
        assert!(r.body.get("error").is_none_or(Value::is_null), "the token itself is fine: {r}");

        // Granting the role a permission applies to the token already issued.
        app.grant("member", &["docs.read"]).await;
        let r = app.authorize(token, "docs.read").await;
        assert!(decision(&r), "{r}");
        assert_eq!(r["role"], "member");
        assert_eq!(app.verify_token(token).await["principal"]["permissions"], json!(["docs.read"]));

        // And taking it away, at once.
        app.grant("member", &[]).await;
        assert!(!app.allows(token, "docs.read").await);

        // A new role applies at once as well.
        app.assign(user, "editor").await.expect(200);
        let r = app.authorize(token, "docs.write").await;
        assert!(decision(&r), "{r}");
        assert_eq!(r["role"], "editor");
        assert_eq!(app.verify_token(token).await["principal"]["role"], "editor");

        // `permissions` are all required; `permission` and `permissions` combine.
        let r = app.post("/authorize", &json!({ "token": token, "permissions": ["docs.read", "docs.write"] })).await;
        assert!(decision(&r), "{r}");
        let r = app.post("/authorize", &json!({ "token": token, "permissions": ["docs.read", "billing.read"] })).await;
        assert!(!decision(&r));
        assert_eq!(r["missing_permissions"], json!(["billing.read"]));
        let r = app.post("/authorize", &json!({ "token": token, "permission": "billing.read", "permissions": ["docs.write"] })).await;
        assert!(!decision(&r));
        assert_eq!(r["missing_permissions"], json!(["billing.read"]));
        // Asking about nothing is a malformed request.
        app.post("/authorize", &json!({ "token": token })).await.expect_error(400, "validation_failed");
        app.post("/authorize", &json!({ "token": token, "permissions": [] })).await.expect_error(400, "validation_failed");

        // Deleting a permission from the catalogue takes it from the role at once.
        assert_eq!(server.delete(&app.admin_path("/permissions/docs.write")).await.status, 204);
        assert!(!app.allows(token, "docs.write").await);
        assert!(app.allows(token, "docs.read").await);
    }
);

db_test!(
    async fn authorize_batch_answers_each_check_and_echoes_its_id(server) {
        let app = ConsumerApp::create(&server, "authz-batch").await;
        app.create_permissions(&["docs.read", "docs.write"]).await;
        app.grant("member", &["docs.read"]).await;
        let (_, tokens) = app.signup_ok("dan", "dan@example.com").await;

        let checks = json!([
            { "id": "read", "permission": "docs.read" },
            { "id": "write", "permission": "docs.write" },
            { "id": "both", "permissions": ["docs.read", "docs.write"] },
            { "permission": "docs.read" },
        ]);
        // Header token, as a gateway would send it.
        let r = app.post_as(&tokens.access, "/authorize/batch", &json!({ "checks": checks })).await;
        let body = r.expect(200);
        assert_eq!(
            body["results"],
            json!([
                { "id": "read", "authorized": true, "allowed": true, "missing_permissions": [] },
                { "id": "write", "authorized": false, "allowed": false, "missing_permissions": ["docs.write"] },
                { "id": "both", "authorized": false, "allowed": false, "missing_permissions": ["docs.write"] },
                { "authorized": true, "allowed": true, "missing_permissions": [] },
            ]),
            "{r}"
        );
        assert_eq!(body["role"], "member");
        assert!(body.get("error").is_none_or(Value::is_null));

        // Body token with a PAK in the header.
        let r = app.post_as(&server.pak, "/authorize/batch", &json!({ "token": tokens.access, "checks": [{ "id": "x", "permission": "docs.read" }] })).await;
        assert_eq!(r.expect(200)["results"][0]["authorized"], true, "{r}");

        let r = app.post("/authorize/batch", &json!({ "token": tokens.access, "checks": [] })).await;
        assert_eq!(r.expect(200)["results"], json!([]));
        let too_many: Vec<Value> = (0..101).map(|i| json!({ "id": i.to_string(), "permission": "docs.read" })).collect();
        let r = app.post("/authorize/batch", &json!({ "token": tokens.access, "checks": too_many })).await;
        assert_eq!(r.status, 400, "at most 100 checks: {r}");
        r.expect_error(400, "validation_failed");
        let r = app.post("/authorize/batch", &json!({ "token": tokens.access, "checks": [{ "id": "bad", "permission": "docs.*" }] })).await;
        r.expect_error(400, "invalid_permission");
    }
);

db_test!(
    async fn slug_less_authorize_finds_the_app_from_the_tokens_audience(server) {
        let a = ConsumerApp::create(&server, "authz-any-a").await;
        let b = ConsumerApp::create(&server, "authz-any-b").await;
        for app in [&a, &b] {
            app.create_permission("docs.read").await;
        }
        a.grant("member", &["docs.read"]).await;
        let (_, in_a) = a.signup_ok("erin", "erin@example.com").await;
        let (_, in_b) = b.signup_ok("erin", "erin@example.com").await;

        let r = server.post_json_as(&server.pak, "/v1/authorize", &json!({ "token": in_a.access, "permission": "docs.read" })).await;
        assert!(decision(&r), "{r}");
        assert_eq!(r["role"], "member");
        let r = server.post_json_as(&in_b.access, "/v1/authorize", &json!({ "permission": "docs.read" })).await;
        assert!(!decision(&r), "b's member role has nothing: {r}");
        assert!(r.body.get("error").is_none_or(Value::is_null), "{r}");

        let r = TestServer::send(server.request(Method::POST, "/v1/authorize").json(&json!({ "token": "garbage", "permission": "docs.read" }))).await;
        assert!(!decision(&r));
        assert_eq!(r["error"], "TOKEN_INVALID");
        assert_eq!(r["missing_permissions"], json!(["docs.read"]));

        // A token claiming an app it was not issued by is invalid there.
        let (head, rest) = in_a.access.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let payload = base64_url(&serde_json::to_vec(&json!({ "aud": "authz-any-b", "sub": "x" })).unwrap());
        let forged = format!("{head}.{payload}.{sig}");
        let r = TestServer::send(server.request(Method::POST, "/v1/authorize").json(&json!({ "token": forged, "permission": "docs.read" }))).await;
        assert!(!decision(&r));
        assert_eq!(r["error"], "TOKEN_INVALID");
        let r = server.post_json_as("", "/v1/authorize", &json!({ "token": in_a.access, "permission": "Docs.Read" })).await;
        r.expect_error(400, "invalid_permission");
    }
);

fn base64_url(bytes: &[u8]) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    URL_SAFE_NO_PAD.encode(bytes)
}

db_test!(
    async fn m2m_tokens_are_judged_by_their_clients_current_scopes(server) {
        let app = ConsumerApp::create(&server, "authz-m2m").await;
        let client = app.create_client("svc", &["docs.read", "docs.write"]).await;
        let token = app.m2m_token(&client).await;

        let r = app.verify_token(&token).await;
        let principal = &r.expect(200)["principal"];
        assert_eq!(r["valid"], true);
        assert_eq!(principal["sub"], client.client_id.as_str());
        assert_eq!(principal["type"], "m2m");
        assert_eq!(principal["aid"], app.id.to_string());
        assert_eq!(principal["permissions"], json!(["docs.read", "docs.write"]));
        assert!(principal.get("role").is_none_or(Value::is_null), "{r}");
        assert!(app.allows(&token, "docs.write").await);

        // Narrowing the client's scopes applies to the issued token at once.
        app.set_client_scopes(&client, &["docs.read"]).await;
        assert!(app.allows(&token, "docs.read").await);
        let r = app.authorize(&token, "docs.write").await;
        assert!(!decision(&r));
        assert_eq!(r["missing_permissions"], json!(["docs.write"]));
        assert_eq!(app.verify_token(&token).await["principal"]["permissions"], json!(["docs.read"]));

        // Widening them does not give the issued token anything it was not issued with.
        app.set_client_scopes(&client, &["docs.read", "docs.write", "billing.read"]).await;
        assert!(app.allows(&token, "docs.write").await, "issued with docs.write, granted again");
        assert!(!app.allows(&token, "billing.read").await, "never issued with billing.read");
        let fresh = app.m2m_token(&client).await;
        assert!(app.allows(&fresh, "billing.read").await);

        // A wildcard scope narrowed to one action.
        app.set_client_scopes(&client, &["docs.*"]).await;
        let wide = app.m2m_token(&client).await;
        assert!(app.allows(&wide, "docs.delete").await);
        app.set_client_scopes(&client, &["docs.read"]).await;
        assert!(!app.allows(&wide, "docs.delete").await, "docs.* is no longer granted");
        assert!(app.allows(&wide, "docs.read").await, "issued with docs.*, still granted docs.read");
        assert_eq!(app.verify_token(&wide).await["principal"]["permissions"], json!(["docs.read"]));
    }
);

db_test!(
    async fn deactivating_or_deleting_a_client_refuses_its_tokens_at_once(server) {
        let app = ConsumerApp::create(&server, "authz-client-off").await;
        let client = app.create_client("svc", &["docs.read"]).await;
        let token = app.m2m_token(&client).await;
        assert!(app.allows(&token, "docs.read").await);

        app.set_client_active(&client, false).await;
        assert_eq!(app.verify_error(&token).await, "CLIENT_INACTIVE");
        assert_eq!(app.authorize_error(&token, "docs.read").await.as_deref(), Some("CLIENT_INACTIVE"));
        app.set_client_active(&client, true).await;
        assert!(app.allows(&token, "docs.read").await, "reactivation restores the issued token");

        assert_eq!(server.delete(&app.admin_path(&format!("/credentials/{}", client.id))).await.status, 204);
        assert_eq!(app.verify_error(&token).await, "CLIENT_INACTIVE");
        assert_eq!(app.authorize_error(&token, "docs.read").await.as_deref(), Some("CLIENT_INACTIVE"));
    }
);

db_test!(
    async fn logout_revoke_all_and_suspension_refuse_user_tokens_at_once(server) {
        let app = ConsumerApp::create(&server, "authz-revoke").await;
        app.create_permission("docs.read").await;
        app.grant("member", &["docs.read"]).await;
        let (user, first) = app.signup_ok("gus", "gus@example.com").await;
        let second = app.signin_ok("gus", PASSWORD).await;
        assert!(app.allows(&first.access, "docs.read").await);
        assert!(app.allows(&second.access, "docs.read").await);

        // Logout ends that session only.
        assert!(app.logout(&first.refresh).await.status < 300);
        assert_eq!(app.verify_error(&first.access).await, "TOKEN_REVOKED");
        assert_eq!(app.authorize_error(&first.access, "docs.read").await.as_deref(), Some("TOKEN_REVOKED"));
        assert!(app.allows(&second.access, "docs.read").await);

        // Admin revoke-all ends every session (no body, as the SDK sends it).
        let third = app.signin_ok("gus", PASSWORD).await;
        let revoke_all = server.request_as(&server.pak, Method::POST, &app.admin_path(&format!("/end-users/{user}/sessions/revoke-all")));
        let r = TestServer::send(revoke_all).await;
        assert!(r.status == 200 || r.status == 204, "{r}");
        for token in [&second.access, &third.access] {
            assert_eq!(app.verify_error(token).await, "TOKEN_REVOKED");
            assert_eq!(app.authorize_error(token, "docs.read").await.as_deref(), Some("TOKEN_REVOKED"));
        }

        // Suspension refuses the account's tokens, saying why.
        let fourth = app.signin_ok("gus", PASSWORD).await;
        assert!(app.allows(&fourth.access, "docs.read").await);
        server.patch(&app.admin_path(&format!("/end-users/{user}/status")), &json!({ "status": "suspended" })).await.expect(200);
        assert_eq!(app.verify_error(&fourth.access).await, "ACCOUNT_SUSPENDED");
        assert_eq!(app.authorize_error(&fourth.access, "docs.read").await.as_deref(), Some("ACCOUNT_SUSPENDED"));

        // Reactivation does not bring revoked sessions back.
        server.patch(&app.admin_path(&format!("/end-users/{user}/status")), &json!({ "status": "active" })).await.expect(200);
        assert_eq!(app.verify_error(&fourth.access).await, "TOKEN_REVOKED");
        let fifth = app.signin_ok("gus", PASSWORD).await;
        assert!(app.allows(&fifth.access, "docs.read").await);
    }
);

db_test!(
    async fn a_role_granted_docs_wildcard_covers_docs_actions_only(server) {
        let app = ConsumerApp::create(&server, "authz-wildcard").await;
        app.create_permissions(&["docs.read", "docs.write", "billing.read"]).await;
        app.grant("member", &["docs.*"]).await;
        let (user, tokens) = app.signup_ok("hal", "hal@example.com").await;
        let token = tokens.access.as_str();
        assert!(app.allows(token, "docs.read").await);
        assert!(app.allows(token, "docs.write").await);
        assert!(app.allows(token, "docs.archive").await, "any action on docs");
        assert!(!app.allows(token, "billing.read").await);
        assert!(!app.allows(token, "docsx.read").await);
        assert!(!app.allows(token, "doc.read").await);

        app.create_role("root").await;
        app.grant("root", &["*"]).await;
        app.assign(user, "root").await.expect(200);
        for p in ["docs.read", "billing.read", "anything.at_all"] {
            assert!(app.allows(token, p).await, "{p}");
        }
    }
);

db_test!(
    async fn permissions_asked_about_must_be_plain_lowercase_resource_actions(server) {
        let app = ConsumerApp::create(&server, "authz-shapes").await;
        let (_, tokens) = app.signup_ok("ivy", "ivy@example.com").await;
        for bad in ["*", "docs.*", "Docs.Read", "DOCS.READ", " docs.read", "docs.read ", "docs. read", "docs", "", ".read", "docs..read", "docs.re*d"] {
            let r = app.authorize(&tokens.access, bad).await;
            r.expect_error(400, "invalid_permission");
            let r = app.post("/authorize", &json!({ "token": tokens.access, "permissions": ["docs.read", bad] })).await;
            r.expect_error(400, "invalid_permission");
            let r = app.post("/authorize/batch", &json!({ "token": tokens.access, "checks": [{ "permission": bad }] })).await;
            r.expect_error(400, "invalid_permission");
        }
        // Well-formed ones may have several segments, digits, `_` and `-`.
        for ok in ["docs.read", "auth.user.password-reset.create", "v2_docs.read-all"] {
            decision(&app.authorize(&tokens.access, ok).await);
        }
    }
);

db_test!(
    async fn tokens_of_a_suspended_app_are_refused(server) {
        let app = ConsumerApp::create(&server, "authz-app-off").await;
        let (_, tokens) = app.signup_ok("joan", "joan@example.com").await;
        let client = app.create_client("svc", &[]).await;
        let m2m = app.m2m_token(&client).await;
        app.set_status("suspended").await;
        assert_eq!(app.verify_error(&tokens.access).await, "APP_INACTIVE");
        assert_eq!(app.verify_error(&m2m).await, "APP_INACTIVE");
        app.set_status("active").await;
        let r = app.verify_token(&tokens.access).await;
        assert_eq!(r.expect(200)["valid"], true, "{r}");
    }
);

db_test!(
    async fn tokens_verified_before_an_immediate_key_rotation_are_refused_after_it(server) {
        let app = ConsumerApp::create(&server, "withdrawn-key").await;
        app.create_permission("docs.read").await;
        let client = app.create_client("worker", &["docs.read"]).await;
        let m2m = app.m2m_token(&client).await;
        let (_, user) = app.signup_ok("alice", "alice@example.com").await;
        // Both are verified (and so cached) before the rotation.
        assert!(app.allows(&m2m, "docs.read").await);
        assert_eq!(app.verify_token(&user.access).await.expect(200)["valid"], true);

        let path = app.admin_path("/signing-keys/rotate?immediate=true");
        TestServer::send(server.request_as(&server.pak, Method::POST, &path)).await.expect(200);

        // The compromised key is withdrawn: what it signed is refused, cached or not.
        assert_eq!(app.verify_error(&m2m).await, "TOKEN_INVALID");
        assert_eq!(app.authorize_error(&m2m, "docs.read").await.as_deref(), Some("TOKEN_INVALID"));
        assert_eq!(app.verify_error(&user.access).await, "TOKEN_INVALID");
        // Tokens signed with the new key work.
        let fresh = app.m2m_token(&client).await;
        assert!(app.allows(&fresh, "docs.read").await);
    }
);
