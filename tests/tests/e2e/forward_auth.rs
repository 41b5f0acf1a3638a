//! Gateway forward-auth (`GET /{slug}/v1/forward-auth`, for Traefik `forwardAuth`, nginx
//! `auth_request`, Envoy `ext_authz`): 200 with the `X-Heimdall-*` identity headers for a valid
//! token holding every requested permission, 401 with a `WWW-Authenticate` challenge without a
//! valid token, 403 without the permission, for end-user and M2M tokens alike.

use heimdall_tests::{TestServer, db_test, users::ConsumerApp};
use reqwest::Method;
use serde_json::json;

async fn forward(app: &ConsumerApp<'_>, query: &str, authorization: Option<&str>) -> heimdall_tests::Reply {
    let mut request = app.server.request(Method::GET, &app.path(&format!("/forward-auth{query}")));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    TestServer::send(request).await
}

#[track_caller]
fn assert_challenge(reply: &heimdall_tests::Reply, slug: &str) {
    assert_eq!(reply.status, 401, "{reply}");
    reply.assert_error_shape();
    let challenge = reply.header("www-authenticate").unwrap_or_else(|| panic!("no WWW-Authenticate: {reply:?}"));
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(challenge.contains(slug), "the realm names the app: {challenge}");
}

db_test!(
    async fn forward_auth_passes_a_permitted_user_with_identity_headers(server) {
        let app = ConsumerApp::create(&server, "fwd-user").await;
        app.create_permissions(&["docs.read", "docs.write"]).await;
        app.create_role("editor").await;
        app.grant("editor", &["docs.read"]).await;
        let (user, tokens) = app.signup_ok("kim", "kim@example.com").await;
        app.assign(user, "editor").await.expect(200);
        let bearer = format!("Bearer {}", tokens.access);

        let r = forward(&app, "?permission=docs.read", Some(&bearer)).await;
        let body = r.expect(200);
        assert_eq!(r.header("x-heimdall-subject"), Some(user.to_string().as_str()), "{r:?}");
        assert_eq!(r.header("x-heimdall-role"), Some("editor"));
        assert_eq!(r.header("x-heimdall-app"), Some(app.id.to_string().as_str()));
        assert_eq!(body["allowed"], true);
        assert_eq!(body["subject"], user.to_string());

        // No permission asked: any valid token passes.
        forward(&app, "", Some(&bearer)).await.expect(200);

        // Without the permission: 403, naming what is missing.
        let r = forward(&app, "?permission=docs.write", Some(&bearer)).await;
        let body = r.expect_error(403, "forbidden");
        assert_eq!(body["details"]["missing_permissions"], json!(["docs.write"]), "{r}");
        assert!(r.header("x-heimdall-subject").is_none());
        // Several permissions are all required.
        let r = forward(&app, "?permission=docs.read&permission=docs.write", Some(&bearer)).await;
        assert_eq!(r.expect_error(403, "forbidden")["details"]["missing_permissions"], json!(["docs.write"]));
        app.grant("editor", &["docs.read", "docs.write"]).await;
        forward(&app, "?permission=docs.read&permission=docs.write", Some(&bearer)).await.expect(200);

        // `permissions` (the name `/authorize`'s body uses) is refused, never ignored: a gateway
        // configured with it must not let every valid token through.
        for query in ["?permissions=docs.read", "?permissions=docs.admin", "?permission=docs.read&permissions=docs.admin"]
        {
            let r = forward(&app, query, Some(&bearer)).await;
            let body = r.expect_error(400, "invalid_request");
            assert!(body["message"].as_str().unwrap().contains("`permission`"), "{query}: {r}");
            assert!(r.header("x-heimdall-subject").is_none(), "{query}: {r:?}");
        }

        // Malformed permissions are the gateway's configuration error.
        forward(&app, "?permission=docs.*", Some(&bearer)).await.expect_error(400, "invalid_permission");
        forward(&app, "?permission=Docs.Read", Some(&bearer)).await.expect_error(400, "invalid_permission");
    }
);

db_test!(
    async fn forward_auth_challenges_requests_without_a_valid_token(server) {
        let app = ConsumerApp::create(&server, "fwd-deny").await;
        let (_, tokens) = app.signup_ok("lee", "lee@example.com").await;
        let pak = format!("Bearer {}", server.pak);
        for authorization in [None, Some(""), Some("Bearer "), Some("Bearer garbage"), Some("Basic dXNlcjpwYXNz"), Some(pak.as_str())] {
            let r = forward(&app, "?permission=docs.read", authorization).await;
            assert_challenge(&r, "fwd-deny");
            assert!(r.header("x-heimdall-subject").is_none(), "{r:?}");
        }
        // A token that has been revoked, and one of another app.
        let bearer = format!("Bearer {}", tokens.access);
        forward(&app, "", Some(&bearer)).await.expect(200);
        assert_eq!(app.logout(&tokens.refresh).await.status, 204);
        assert_challenge(&forward(&app, "", Some(&bearer)).await, "fwd-deny");
        let other = ConsumerApp::create(&server, "fwd-deny-other").await;
        let (_, theirs) = other.signup_ok("lee", "lee@example.com").await;
        assert_challenge(&forward(&app, "", Some(&format!("Bearer {}", theirs.access))).await, "fwd-deny");

        // An unknown app is a 404.
        let r = TestServer::send(server.request(Method::GET, "/no-such-app/v1/forward-auth").bearer_auth(&theirs.access)).await;
        r.expect_error(404, "app_not_found");
    }
);

db_test!(
    async fn forward_auth_passes_m2m_tokens_within_their_scopes(server) {
        let app = ConsumerApp::create(&server, "fwd-m2m").await;
        let client = app.create_client("svc", &["docs.read"]).await;
        let bearer = format!("Bearer {}", app.m2m_token(&client).await);

        let r = forward(&app, "?permission=docs.read", Some(&bearer)).await;
        r.expect(200);
        assert_eq!(r.header("x-heimdall-subject"), Some(client.client_id.as_str()));
        assert_eq!(r.header("x-heimdall-role"), Some(""), "M2M tokens have no role: {r:?}");
        assert_eq!(r.header("x-heimdall-app"), Some(app.id.to_string().as_str()));
        forward(&app, "?permission=docs.write", Some(&bearer)).await.expect_error(403, "forbidden");

        app.set_client_active(&client, false).await;
        assert_challenge(&forward(&app, "?permission=docs.read", Some(&bearer)).await, "fwd-m2m");
    }
);

db_test!(
    async fn forward_auth_accepts_the_request_as_traefik_forwards_it(server) {
        let app = ConsumerApp::create(&server, "fwd-traefik").await;
        app.create_permission("docs.read").await;
        app.grant("member", &["docs.read"]).await;
        let (user, tokens) = app.signup_ok("max", "max@example.com").await;
        // Traefik calls the address with GET and copies the client's headers, adding X-Forwarded-*.
        let request = server
            .request(Method::GET, &app.path("/forward-auth?permission=docs.read"))
            .bearer_auth(&tokens.access)
            .header("content-type", "application/json")
            .header("cookie", "session=abc")
            .header("x-forwarded-method", "DELETE")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "docs.example.com")
            .header("x-forwarded-uri", "/documents/42?draft=1")
            .header("x-forwarded-for", "203.0.113.7")
            .header("x-heimdall-subject", "spoofed");
        let r = TestServer::send(request).await;
        r.expect(200);
        assert_eq!(r.header("x-heimdall-subject"), Some(user.to_string().as_str()), "{r:?}");
        // HEAD, which some gateways use, is not a way around the check.
        let head = TestServer::send(server.request(Method::HEAD, &app.path("/forward-auth?permission=docs.read"))).await;
        assert!(head.status == 401 || head.status == 405, "{head:?}");
        // Nor with a valid token that lacks the permission.
        let head = TestServer::send(
            server.request(Method::HEAD, &app.path("/forward-auth?permission=billing.delete")).bearer_auth(&tokens.access),
        )
        .await;
        assert!(head.status == 403 || head.status == 405, "{head:?}");
    }
);
