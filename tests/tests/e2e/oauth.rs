//! The OAuth 2.0 endpoints of an app: the client-credentials token endpoint (JSON as the
//! contract, form with `client_secret_post`, HTTP Basic with `client_secret_basic`, and a stock
//! OAuth client library), the tokens it issues checked against the JWKS, RFC 6749 §5.2 errors,
//! scope narrowing, throttling of failed client authentication and its audit trail, RFC 7662
//! introspection, RFC 7009 revocation, and the discovery metadata that advertises them.

use heimdall_tests::{
    TestServer,
    authz::M2mClient,
    db_test,
    users::{ConsumerApp, Tokens},
};
use oauth2::{
    AuthType, ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl,
    basic::{BasicClient, BasicErrorResponseType},
};
use reqwest::Method;
use serde_json::{Value, json};

fn token_url(app: &ConsumerApp<'_>) -> String {
    app.server.url(&app.path("/oauth/token"))
}

/// A form POST to `/{slug}/v1/oauth/{endpoint}` authenticated with HTTP Basic.
async fn form_basic(
    app: &ConsumerApp<'_>,
    endpoint: &str,
    client: &M2mClient,
    form: &[(&str, &str)],
) -> heimdall_tests::Reply {
    let request = app
        .server
        .request(Method::POST, &app.path(&format!("/oauth/{endpoint}")))
        .basic_auth(&client.client_id, Some(&client.secret))
        .form(form);
    TestServer::send(request).await
}

/// A form POST to `/{slug}/v1/oauth/{endpoint}` with the client's credentials in the body.
async fn form_post(
    app: &ConsumerApp<'_>,
    endpoint: &str,
    client: &M2mClient,
    form: &[(&str, &str)],
) -> heimdall_tests::Reply {
    let mut fields = vec![("client_id", client.client_id.as_str()), ("client_secret", client.secret.as_str())];
    fields.extend_from_slice(form);
    let request = app.server.request(Method::POST, &app.path(&format!("/oauth/{endpoint}"))).form(&fields);
    TestServer::send(request).await
}

/// The `error` values of RFC 6749 (§5.2, and §4.1.2.1's `server_error` and
/// `temporarily_unavailable`).
const RFC_6749_ERRORS: [&str; 7] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "temporarily_unavailable",
];

/// What the caller sends in the adversarial cases: a quote, a backslash, markup, non-ASCII.
const HOSTILE: &str = "\"\\<script>é";

/// RFC 6749 §5.2: `error_description` is %x20-21 / %x23-5B / %x5D-7E.
fn in_rfc_6749_charset(text: &str) -> bool {
    text.bytes().all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// An OAuth refusal with Heimdall `code` and RFC 6749 `error` (the same when OAuth defines the
/// code), whose texts never repeat what the caller sent.
#[track_caller]
fn expect_rfc_6749_error(reply: &heimdall_tests::Reply, status: u16, code: &str, error: &str) {
    reply.expect_error(status, code);
    assert!(RFC_6749_ERRORS.contains(&error), "test bug: {error}");
    assert_eq!(reply["error"], error, "RFC 6749 error field: {reply}");
    let description = reply["error_description"].as_str().unwrap_or_else(|| panic!("error_description: {reply}"));
    assert!(!description.is_empty() && in_rfc_6749_charset(description), "RFC 6749 charset: {reply}");
    for hostile in [HOSTILE, "<script>", "\\", "é"] {
        assert!(!reply.text.contains(hostile), "the answer repeats the caller's {hostile:?}: {reply}");
    }
}

#[track_caller]
fn expect_oauth_error(reply: &heimdall_tests::Reply, status: u16, error: &str) {
    expect_rfc_6749_error(reply, status, error, error);
}

/// oauth2's async HTTP client trait, backed by the test's reqwest client.
fn http_client(
    client: reqwest::Client,
) -> impl Fn(
    oauth2::HttpRequest,
) -> std::pin::Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, std::io::Error>> + Send>> {
    move |request: oauth2::HttpRequest| {
        let client = client.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut builder = client.request(parts.method, parts.uri.to_string()).body(body);
            for (name, value) in &parts.headers {
                builder = builder.header(name, value);
            }
            let response = builder.send().await.map_err(std::io::Error::other)?;
            let mut out = oauth2::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                out = out.header(name, value);
            }
            let bytes = response.bytes().await.map_err(std::io::Error::other)?;
            out.body(bytes.to_vec()).map_err(std::io::Error::other)
        })
    }
}

db_test!(
    async fn the_token_endpoint_issues_an_m2m_token_that_verifies_against_the_jwks(server) {
        let app = ConsumerApp::create(&server, "oauth-token").await;
        let client = app.create_client("svc", &["docs.read", "billing.*"]).await;
        let before = chrono::Utc::now().timestamp();
        // The SDK's form: a JSON body, with its own PAK in the Authorization header.
        let r = app
            .post_as(
                &server.pak,
                "/oauth/token",
                &json!({ "grant_type": "client_credentials", "client_id": client.client_id, "client_secret": client.secret }),
            )
            .await;
        let body = r.expect(200).clone();
        assert_eq!(r.header("cache-control"), Some("no-store"), "{r}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "docs.read billing.*");
        let expires_in = body["expires_in"].as_i64().expect("expires_in");
        assert!(expires_in > 0);
        let mut fields: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["access_token", "expires_in", "scope", "token_type"]);

        let token = body["access_token"].as_str().unwrap();
        let claims = app.verify_offline(token).await;
        assert_eq!(claims["iss"], format!("{}/oauth-token", server.base));
        assert_eq!(claims["aud"], "oauth-token");
        assert_eq!(claims["type"], "m2m");
        assert_eq!(claims["sub"], client.client_id.as_str());
        assert_eq!(claims["aid"], app.id.to_string());
        assert_eq!(claims["permissions"], json!(["docs.read", "billing.*"]));
        assert!(claims.get("sid").is_none_or(Value::is_null), "no session: {claims}");
        assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
        let iat = claims["iat"].as_i64().unwrap();
        assert!(iat >= before - 5, "{claims}");
        assert_eq!(claims["exp"].as_i64().unwrap() - iat, expires_in);

        // Two tokens are two tokens.
        let again = app.m2m_token(&client).await;
        assert_ne!(again, token);
    }
);

db_test!(
    async fn the_token_endpoint_accepts_form_bodies_with_client_secret_post_and_basic(server) {
        let app = ConsumerApp::create(&server, "oauth-form").await;
        let client = app.create_client("svc", &["docs.read", "docs.write"]).await;

        let r = form_post(&app, "token", &client, &[("grant_type", "client_credentials")]).await;
        assert_eq!(r.expect(200)["scope"], "docs.read docs.write");
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let claims = app.verify_offline(r["access_token"].as_str().unwrap()).await;
        assert_eq!(claims["sub"], client.client_id.as_str());

        let r = form_basic(&app, "token", &client, &[("grant_type", "client_credentials"), ("scope", "docs.write")]).await;
        assert_eq!(r.expect(200)["scope"], "docs.write");
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let claims = app.verify_offline(r["access_token"].as_str().unwrap()).await;
        assert_eq!(claims["permissions"], json!(["docs.write"]));

        // Basic with a JSON body works as well.
        let request = server
            .request(Method::POST, &app.path("/oauth/token"))
            .basic_auth(&client.client_id, Some(&client.secret))
            .json(&json!({ "grant_type": "client_credentials" }));
        TestServer::send(request).await.expect(200);
    }
);

db_test!(
    async fn a_stock_oauth2_client_gets_tokens_with_basic_and_post_authentication(server) {
        let app = ConsumerApp::create(&server, "oauth-lib").await;
        let client = app.create_client("svc", &["docs.read", "docs.write"]).await;
        let http = http_client(server.client.clone());
        let oauth = BasicClient::new(ClientId::new(client.client_id.clone()))
            .set_client_secret(ClientSecret::new(client.secret.clone()))
            .set_token_uri(TokenUrl::new(token_url(&app)).expect("token URL"));

        // client_secret_basic is the library's default.
        let token = oauth.exchange_client_credentials().request_async(&http).await.expect("client credentials with Basic");
        let scopes: Vec<String> = token.scopes().expect("scope").iter().map(|s| s.as_str().to_owned()).collect();
        assert_eq!(scopes, ["docs.read", "docs.write"]);
        assert!(token.expires_in().is_some_and(|d| d.as_secs() > 0));
        let claims = app.verify_offline(token.access_token().secret()).await;
        assert_eq!(claims["type"], "m2m");
        assert!(app.allows(token.access_token().secret(), "docs.write").await);

        // client_secret_post, narrowed to one scope.
        let post = oauth.clone().set_auth_type(AuthType::RequestBody);
        let token = post
            .exchange_client_credentials()
            .add_scope(Scope::new("docs.read".into()))
            .request_async(&http)
            .await
            .expect("client credentials in the body");
        let scopes: Vec<String> = token.scopes().expect("scope").iter().map(|s| s.as_str().to_owned()).collect();
        assert_eq!(scopes, ["docs.read"]);
        assert!(!app.allows(token.access_token().secret(), "docs.write").await);

        // The library understands the server's errors.
        let wrong = BasicClient::new(ClientId::new(client.client_id.clone()))
            .set_client_secret(ClientSecret::new("m2ms_wrong".into()))
            .set_token_uri(TokenUrl::new(token_url(&app)).expect("token URL"));
        match wrong.exchange_client_credentials().request_async(&http).await {
            Err(RequestTokenError::ServerResponse(e)) => assert_eq!(*e.error(), BasicErrorResponseType::InvalidClient),
            other => panic!("expected invalid_client, got {other:?}"),
        }
        match oauth.exchange_client_credentials().add_scope(Scope::new("billing.read".into())).request_async(&http).await {
            Err(RequestTokenError::ServerResponse(e)) => assert_eq!(*e.error(), BasicErrorResponseType::InvalidScope),
            other => panic!("expected invalid_scope, got {other:?}"),
        }
    }
);

db_test!(
    async fn token_endpoint_errors_follow_rfc_6749(server) {
        let app = ConsumerApp::create(&server, "oauth-errors").await;
        let client = app.create_client("svc", &["docs.read"]).await;
        let creds = |extra: Value| {
            let mut body = json!({ "client_id": client.client_id, "client_secret": client.secret });
            body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            body
        };

        let r = app.post("/oauth/token", &creds(json!({ "grant_type": "password" }))).await;
        expect_oauth_error(&r, 400, "unsupported_grant_type");
        let r = app.post("/oauth/token", &creds(json!({ "grant_type": "authorization_code" }))).await;
        expect_oauth_error(&r, 400, "unsupported_grant_type");
        let r = app.post("/oauth/token", &creds(json!({}))).await;
        expect_oauth_error(&r, 400, "invalid_request");

        // A wrong secret, an unknown client, no credentials at all.
        let r = app.post("/oauth/token", &json!({ "grant_type": "client_credentials", "client_id": client.client_id, "client_secret": "m2ms_nope" })).await;
        expect_oauth_error(&r, 401, "invalid_client");
        let r = app.post("/oauth/token", &json!({ "grant_type": "client_credentials", "client_id": "m2m_nobody", "client_secret": client.secret })).await;
        expect_oauth_error(&r, 401, "invalid_client");
        let r = app.post("/oauth/token", &json!({ "grant_type": "client_credentials" })).await;
        expect_oauth_error(&r, 401, "invalid_client");

        // With Basic, the 401 carries a Basic challenge.
        let wrong = M2mClient { secret: "m2ms_nope".into(), ..client.clone() };
        let r = form_basic(&app, "token", &wrong, &[("grant_type", "client_credentials")]).await;
        expect_oauth_error(&r, 401, "invalid_client");
        assert!(r.header("www-authenticate").is_some_and(|h| h.starts_with("Basic")), "{r:?}");

        // Two authentication methods at once.
        let request = server
            .request(Method::POST, &app.path("/oauth/token"))
            .basic_auth(&client.client_id, Some(&client.secret))
            .form(&[("grant_type", "client_credentials"), ("client_secret", client.secret.as_str())]);
        expect_oauth_error(&TestServer::send(request).await, 400, "invalid_request");

        // Scopes outside the client's.
        let r = app.client_token(&client, Some("docs.write")).await;
        expect_oauth_error(&r, 400, "invalid_scope");
        let r = app.client_token(&client, Some("docs.read docs.write")).await;
        expect_oauth_error(&r, 400, "invalid_scope");
        let r = app.client_token(&client, Some("docs.*")).await;
        expect_oauth_error(&r, 400, "invalid_scope");

        // An unknown app.
        let r = TestServer::send(server.request(Method::POST, "/no-such-app/v1/oauth/token").json(&creds(json!({ "grant_type": "client_credentials" })))).await;
        expect_rfc_6749_error(&r, 404, "app_not_found", "invalid_request");

        // The client still works: none of this locked it.
        app.client_token(&client, None).await.expect(200);
    }
);

/// A POST of raw `body` with `content_type` to `/{slug}/v1/oauth/{endpoint}`.
async fn raw_post(app: &ConsumerApp<'_>, endpoint: &str, content_type: &str, body: &str) -> heimdall_tests::Reply {
    let request = app
        .server
        .request(Method::POST, &app.path(&format!("/oauth/{endpoint}")))
        .header("content-type", content_type)
        .body(body.to_owned());
    TestServer::send(request).await
}

db_test!(
    async fn every_refusal_of_the_oauth_endpoints_is_an_rfc_6749_error_that_never_repeats_the_request(server) {
        let app = ConsumerApp::create(&server, "oauth-unreadable").await;
        let client = app.create_client("svc", &["docs.read"]).await;
        let form = "application/x-www-form-urlencoded";
        let hostile_form = HOSTILE.replace('"', "%22").replace('\\', "%5C").replace('<', "%3C").replace('>', "%3E").replace('é', "%C3%A9");

        for endpoint in ["token", "introspect", "revoke"] {
            let what = |case: &str| format!("{endpoint}: {case}");
            // Malformed JSON, including the caller's text.
            for body in ["{\"grant_type\": ", "[]", "{\"token\": {}, \"grant_type\": []}", format!("{{\"grant_type\": \"{HOSTILE}").as_str()] {
                let r = raw_post(&app, endpoint, "application/json", body).await;
                expect_rfc_6749_error(&r, 400, "invalid_request", "invalid_request");
                assert!(!r["message"].as_str().unwrap().contains("line"), "{}: {r}", what("no parser internals"));
            }
            // A malformed form: a parameter repeated (RFC 6749 §3.2), or a required one missing.
            let repeated = if endpoint == "token" { "grant_type" } else { "token" };
            let body = format!("{repeated}=client_credentials&token=t&grant_type=client_credentials&{repeated}=x");
            let r = raw_post(&app, endpoint, form, &body).await;
            expect_rfc_6749_error(&r, 400, "invalid_request", "invalid_request");
            assert_eq!(r["details"]["field"], repeated, "{}: {r}", what("the repeated parameter is named"));
            if endpoint != "token" {
                let r = raw_post(&app, endpoint, form, &format!("client_id={hostile_form}")).await;
                expect_rfc_6749_error(&r, 400, "invalid_request", "invalid_request");
            }
            // A content type that is neither JSON nor a form, or none, including the caller's text.
            for content_type in ["text/plain", format!("text/{}", HOSTILE.replace('é', "e")).as_str()] {
                let r = raw_post(&app, endpoint, content_type, "grant_type=client_credentials").await;
                expect_rfc_6749_error(&r, 415, "unsupported_media_type", "invalid_request");
            }
            let r = TestServer::send(server.request(Method::POST, &app.path(&format!("/oauth/{endpoint}"))).body("x")).await;
            expect_rfc_6749_error(&r, 415, "unsupported_media_type", "invalid_request");
            // Not a POST.
            let r = TestServer::send(server.request(Method::GET, &app.path(&format!("/oauth/{endpoint}")))).await;
            expect_rfc_6749_error(&r, 405, "method_not_allowed", "invalid_request");
            // An unknown app, named with the caller's text.
            let r = TestServer::send(
                server.request(Method::POST, &format!("/{hostile_form}/v1/oauth/{endpoint}")).form(&[("token", "t")]),
            )
            .await;
            expect_rfc_6749_error(&r, 404, "app_not_found", "invalid_request");
            // No client authentication.
            let r = raw_post(&app, endpoint, form, "grant_type=client_credentials&token=t").await;
            expect_rfc_6749_error(&r, 401, "invalid_client", "invalid_client");
        }

        // A hostile grant type or scope, as JSON and as a form.
        let creds = [("client_id", client.client_id.as_str()), ("client_secret", client.secret.as_str())];
        let r = form_post(&app, "token", &client, &[("grant_type", HOSTILE)]).await;
        expect_oauth_error(&r, 400, "unsupported_grant_type");
        let r = app.post("/oauth/token", &json!({ "grant_type": HOSTILE, "client_id": client.client_id, "client_secret": client.secret })).await;
        expect_oauth_error(&r, 400, "unsupported_grant_type");
        let r = form_post(&app, "token", &client, &[("grant_type", "client_credentials"), ("scope", HOSTILE)]).await;
        expect_oauth_error(&r, 400, "invalid_scope");
        let r = app.client_token(&client, Some(&format!("docs.read {HOSTILE}"))).await;
        expect_oauth_error(&r, 400, "invalid_scope");
        let r = TestServer::send(server.request(Method::POST, &app.path("/oauth/token")).form(&[
            ("grant_type", "client_credentials"),
            creds[0],
            creds[1],
            ("scope", "docs.read"),
            ("scope", "docs.read"),
        ]))
        .await;
        expect_oauth_error(&r, 400, "invalid_request");

        // None of it locked the client.
        app.client_token(&client, None).await.expect(200);
    }
);

db_test!(
    async fn a_parameter_repeated_in_a_json_body_is_refused_as_in_a_form(server) {
        // JSON once kept the last value of a repeated member, so a body a proxy read one way
        // was read another here; now it is refused as RFC 6749 §3.2 refuses a form's.
        let app = ConsumerApp::create(&server, "oauth-json-twice").await;
        let client = app.create_client("svc", &["docs.read"]).await;
        let (id, secret) = (client.client_id.as_str(), client.secret.as_str());
        let bodies = [
            ("token", "client_id", format!(r#"{{"grant_type":"client_credentials","client_id":"m2m_decoy","client_secret":"{secret}","client_id":"{id}"}}"#)),
            ("introspect", "token", format!(r#"{{"token":"decoy","client_id":"{id}","client_secret":"{secret}","token":"t"}}"#)),
            ("revoke", "token", format!(r#"{{"token":"decoy","client_id":"{id}","client_secret":"{secret}","token":"t"}}"#)),
        ];
        for (endpoint, repeated, body) in bodies {
            let r = raw_post(&app, endpoint, "application/json", &body).await;
            expect_rfc_6749_error(&r, 400, "invalid_request", "invalid_request");
            assert_eq!(r["details"]["field"], repeated, "{endpoint}: {r}");
        }
        // Said once, the same parameters work.
        let once = format!(r#"{{"grant_type":"client_credentials","client_id":"{id}","client_secret":"{secret}"}}"#);
        raw_post(&app, "token", "application/json", &once).await.expect(200);
    }
);

db_test!(
    async fn oversized_oauth_bodies_are_rfc_6749_errors(db: Db) {
        let server = TestServer::spawn_with(db, |config| config.max_body_bytes = 4096).await;
        let app = ConsumerApp::create(&server, "oauth-oversized").await;
        let big = format!("grant_type=client_credentials&token={}", "x".repeat(10 * 1024));
        for endpoint in ["token", "introspect", "revoke"] {
            let r = raw_post(&app, endpoint, "application/x-www-form-urlencoded", &big).await;
            expect_rfc_6749_error(&r, 413, "payload_too_large", "invalid_request");
        }
    }
);

db_test!(
    async fn scope_narrows_the_granted_scopes_and_wildcards_cover_their_actions(server) {
        let app = ConsumerApp::create(&server, "oauth-scope").await;
        let client = app.create_client("svc", &["docs.*", "billing.read"]).await;

        let r = app.client_token(&client, Some("docs.read  docs.read billing.read")).await;
        assert_eq!(r.expect(200)["scope"], "docs.read billing.read", "{r}");
        let token = r["access_token"].as_str().unwrap().to_owned();
        assert_eq!(app.verify_offline(&token).await["permissions"], json!(["docs.read", "billing.read"]));
        assert!(app.allows(&token, "docs.read").await);
        assert!(!app.allows(&token, "docs.write").await, "a narrowed token does not hold the rest");

        let r = app.client_token(&client, Some("docs.*")).await;
        assert_eq!(r.expect(200)["scope"], "docs.*");
        let wide = r["access_token"].as_str().unwrap().to_owned();
        assert!(app.allows(&wide, "docs.write").await);
        assert!(!app.allows(&wide, "billing.read").await);
        let r = app.client_token(&client, Some("   ")).await;
        assert_eq!(r.expect(200)["scope"], "docs.* billing.read", "a blank scope means all of them");
    }
);

db_test!(
    async fn deactivated_clients_and_suspended_apps_get_no_tokens(server) {
        let app = ConsumerApp::create(&server, "oauth-inactive").await;
        let client = app.create_client("svc", &["docs.read"]).await;
        app.set_client_active(&client, false).await;
        expect_oauth_error(&app.client_token(&client, None).await, 401, "invalid_client");
        let r = form_basic(&app, "token", &client, &[("grant_type", "client_credentials")]).await;
        expect_oauth_error(&r, 401, "invalid_client");
        app.set_client_active(&client, true).await;
        app.client_token(&client, None).await.expect(200);

        app.set_status("suspended").await;
        let r = app.client_token(&client, None).await;
        assert_eq!(r.status, 403, "{r}");
        assert!(r["error"].is_string(), "{r}");
        expect_rfc_6749_error(&r, 403, "app_inactive", "unauthorized_client");
    }
);

db_test!(
    async fn failed_client_authentication_is_throttled_per_client_and_audited_without_secrets(server) {
        let app = ConsumerApp::create(&server, "oauth-throttle").await;
        let client = app.create_client("svc", &["docs.read"]).await;
        let bystander = app.create_client("other", &["docs.read"]).await;
        let wrong = M2mClient { secret: "m2ms_wrong-secret-guess".into(), ..client.clone() };

        for attempt in 0..20 {
            let r = app.client_token(&wrong, None).await;
            assert_eq!(r.status, 401, "attempt {attempt}: {r}");
        }
        // The 21st attempt is refused before the secret is even looked at, right or wrong.
        for c in [&wrong, &client] {
            let r = app.client_token(c, None).await;
            assert_eq!(r.status, 429, "{r}");
            let retry: u64 = r.header("retry-after").expect("Retry-After").parse().expect("seconds");
            assert!(retry > 0 && retry <= 300, "{r:?}");
            expect_rfc_6749_error(&r, 429, "rate_limited", "temporarily_unavailable");
        }
        let r = form_basic(&app, "token", &client, &[("grant_type", "client_credentials")]).await;
        assert_eq!(r.status, 429, "Basic counts against the same client: {r}");
        // Another client from the same address is not affected.
        app.client_token(&bystander, None).await.expect(200);

        let failures = app.audit("oauth.client_auth_failed").await;
        assert_eq!(failures.len(), 20, "one entry per failed authentication");
        for entry in &failures {
            assert_eq!(entry["resource_id"], client.client_id.as_str());
            assert_eq!(entry["details"]["reason"], "bad_secret", "{entry}");
            let text = entry.to_string();
            assert!(!text.contains("wrong-secret-guess") && !text.contains(&client.secret), "no secret in {entry}");
        }
        let unknown = M2mClient { client_id: "m2m_ghost".into(), ..wrong.clone() };
        app.client_token(&unknown, None).await;
        let failures = app.audit("oauth.client_auth_failed").await;
        assert_eq!(failures[0]["details"]["reason"], "unknown_client");
        // A huge claimed id is an unknown client like any other, and the audit keeps 64 characters.
        let huge = M2mClient { client_id: format!("m2m_{}", "x".repeat(100_000)), ..wrong };
        let r = app.client_token(&huge, None).await;
        assert_eq!(r.status, 401, "{}", r.status);
        assert_eq!(r.body["error"], "invalid_client");
        let failures = app.audit("oauth.client_auth_failed").await;
        assert_eq!(failures[0]["details"]["reason"], "unknown_client");
        assert_eq!(failures[0]["resource_id"].as_str().map(str::len), Some(64));
        assert_eq!(failures[0]["actor_id"].as_str().map(str::len), Some(64));
    }
);

db_test!(
    async fn introspection_reports_active_tokens_with_claims_and_nothing_else_for_inactive_ones(server) {
        let app = ConsumerApp::create(&server, "oauth-introspect").await;
        let caller = app.create_client("gateway", &[]).await;
        let worker = app.create_client("worker", &["docs.read", "docs.write"]).await;
        let token = app.m2m_token(&worker).await;

        let r = form_basic(&app, "introspect", &caller, &[("token", token.as_str())]).await;
        let body = r.expect(200).clone();
        assert_eq!(body["active"], true, "{r}");
        assert_eq!(body["sub"], worker.client_id.as_str());
        assert_eq!(body["client_id"], worker.client_id.as_str());
        assert_eq!(body["scope"], "docs.read docs.write");
        assert_eq!(body["aud"], "oauth-introspect");
        assert_eq!(body["iss"], format!("{}/oauth-introspect", server.base));
        let claims = app.verify_offline(&token).await;
        assert_eq!(body["exp"], claims["exp"]);
        assert_eq!(body["iat"], claims["iat"]);
        assert_eq!(body["jti"], claims["jti"]);

        // JSON with the credentials in the body gives the same answer.
        let r = app
            .post("/oauth/introspect", &json!({ "token": token, "client_id": caller.client_id, "client_secret": caller.secret }))
            .await;
        assert_eq!(r.expect(200), &body);
        let r = form_post(&app, "introspect", &caller, &[("token", token.as_str()), ("token_type_hint", "access_token")]).await;
        assert_eq!(r.expect(200), &body);

        // An end-user's access and refresh tokens.
        let (user, tokens) = app.signup_ok("erin", "erin@example.com").await;
        let r = form_basic(&app, "introspect", &caller, &[("token", tokens.access.as_str())]).await;
        assert_eq!(r.expect(200)["active"], true, "{r}");
        assert_eq!(r["sub"], user.to_string());
        assert_eq!(r["role"], "member");
        let r = form_basic(&app, "introspect", &caller, &[("token", tokens.refresh.as_str())]).await;
        assert_eq!(r.expect(200)["active"], true, "{r}");
        assert_eq!(r["sub"], user.to_string());

        // Garbage, another app's token, a narrowed-away scope set: `{active: false}` and nothing else.
        let other = ConsumerApp::create(&server, "oauth-introspect-b").await;
        let foreign = other.create_client("x", &["docs.read"]).await;
        let foreign_token = other.m2m_token(&foreign).await;
        for inactive in ["garbage", "a.b.c", "hrt_unknown", foreign_token.as_str()] {
            let r = form_basic(&app, "introspect", &caller, &[("token", inactive)]).await;
            assert_eq!(r.expect(200), &json!({ "active": false }), "{inactive}");
        }

        // The caller must authenticate.
        let r = app.post("/oauth/introspect", &json!({ "token": token })).await;
        expect_oauth_error(&r, 401, "invalid_client");
        let wrong = M2mClient { secret: "m2ms_nope".into(), ..caller.clone() };
        expect_oauth_error(&form_basic(&app, "introspect", &wrong, &[("token", token.as_str())]).await, 401, "invalid_client");
        // Another app's client cannot introspect here.
        expect_oauth_error(&form_basic(&app, "introspect", &foreign, &[("token", token.as_str())]).await, 401, "invalid_client");
    }
);

db_test!(
    async fn revoking_an_m2m_access_token_refuses_it_at_once(server) {
        let app = ConsumerApp::create(&server, "oauth-revoke").await;
        let caller = app.create_client("gateway", &[]).await;
        let worker = app.create_client("worker", &["docs.read"]).await;
        let token = app.m2m_token(&worker).await;
        let sibling = app.m2m_token(&worker).await;
        assert!(app.allows(&token, "docs.read").await);

        // Another client of the app may not revoke the worker's tokens (RFC 7009 §2.1).
        let r = form_basic(&app, "revoke", &caller, &[("token", token.as_str())]).await;
        expect_oauth_error(&r, 403, "unauthorized_client");
        assert!(app.allows(&token, "docs.read").await, "still valid after a refused revocation");

        // The client it was issued to may.
        let r = form_basic(&app, "revoke", &worker, &[("token", token.as_str()), ("token_type_hint", "access_token")]).await;
        r.expect(200);
        assert_eq!(app.verify_error(&token).await, "TOKEN_REVOKED");
        assert_eq!(app.authorize_error(&token, "docs.read").await.as_deref(), Some("TOKEN_REVOKED"));
        let r = form_basic(&app, "introspect", &caller, &[("token", token.as_str())]).await;
        assert_eq!(r.expect(200), &json!({ "active": false }));
        // Only that token: the client and its other tokens are fine.
        assert!(app.allows(&sibling, "docs.read").await);
        app.client_token(&worker, None).await.expect(200);
        // Revoking again, or revoking unknown tokens, still answers 200.
        form_basic(&app, "revoke", &worker, &[("token", token.as_str())]).await.expect(200);
        for unknown in ["garbage", "hrt_unknown", "a.b.c"] {
            form_basic(&app, "revoke", &caller, &[("token", unknown)]).await.expect(200);
        }
        let entries = app.audit("oauth.token_revoked").await;
        assert!(!entries.is_empty());
        assert_eq!(entries[0]["actor_id"], worker.client_id.as_str());

        // The caller must authenticate.
        let r = app.post("/oauth/revoke", &json!({ "token": sibling })).await;
        expect_oauth_error(&r, 401, "invalid_client");
        assert!(app.allows(&sibling, "docs.read").await);
    }
);

db_test!(
    async fn revoking_an_end_user_refresh_or_access_token_ends_the_session(server) {
        let app = ConsumerApp::create(&server, "oauth-revoke-user").await;
        let caller = app.create_client("bff", &[]).await;
        app.create_permission("docs.read").await;
        app.grant("member", &["docs.read"]).await;

        // By refresh token (JSON body, credentials in the body).
        let (_, first) = app.signup_ok("fay", "fay@example.com").await;
        assert!(app.allows(&first.access, "docs.read").await);
        let r = app
            .post("/oauth/revoke", &json!({ "token": first.refresh, "token_type_hint": "refresh_token", "client_id": caller.client_id, "client_secret": caller.secret }))
            .await;
        r.expect(200);
        assert_eq!(app.verify_error(&first.access).await, "TOKEN_REVOKED");
        let refreshed = app.refresh(&first.refresh).await;
        assert_eq!(refreshed.status, 401, "{refreshed}");
        assert_eq!(app.me(&first.access).await.status, 401);

        // By access token (form, Basic).
        let second = app.signin_ok("fay", heimdall_tests::users::PASSWORD).await;
        assert!(app.allows(&second.access, "docs.read").await);
        form_basic(&app, "revoke", &caller, &[("token", second.access.as_str())]).await.expect(200);
        assert_eq!(app.verify_error(&second.access).await, "TOKEN_REVOKED");
        assert_eq!(app.refresh(&second.refresh).await.status, 401, "the session's refresh token dies with it");

        // Other sessions of the user live on.
        let third: Tokens = app.signin_ok("fay", heimdall_tests::users::PASSWORD).await;
        assert!(app.allows(&third.access, "docs.read").await);
    }
);

db_test!(
    async fn discovery_advertises_the_oauth_endpoints(server) {
        let app = ConsumerApp::create(&server, "oauth-discovery").await;
        let issuer = format!("{}/oauth-discovery", server.base);
        for path in ["/oauth-discovery/.well-known/openid-configuration", "/oauth-discovery/v1/.well-known/openid-configuration"] {
            let r = server.get_public(path).await;
            let doc = r.expect(200);
            assert_eq!(doc["issuer"], issuer);
            assert_eq!(doc["token_endpoint"], format!("{issuer}/v1/oauth/token"), "{r}");
            assert_eq!(doc["introspection_endpoint"], format!("{issuer}/v1/oauth/introspect"), "{r}");
            assert_eq!(doc["revocation_endpoint"], format!("{issuer}/v1/oauth/revoke"), "{r}");
            assert_eq!(doc["token_endpoint_auth_methods_supported"], json!(["client_secret_basic", "client_secret_post"]), "{r}");
            assert_eq!(doc["grant_types_supported"], json!(["client_credentials"]), "{r}");
        }
        // The advertised token endpoint is the one that works.
        let client = app.create_client("svc", &[]).await;
        let doc = server.get_public("/oauth-discovery/.well-known/openid-configuration").await;
        let request = server
            .client
            .post(doc["token_endpoint"].as_str().unwrap())
            .basic_auth(&client.client_id, Some(&client.secret))
            .form(&[("grant_type", "client_credentials")]);
        TestServer::send(request).await.expect(200);
    }
);
