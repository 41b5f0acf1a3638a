//! Behind a load balancer (`HEIMDALL_TRUSTED_PROXIES`): the client address comes from
//! `X-Forwarded-For` when — and only when — the connection comes from a trusted proxy, and it is
//! that address that per-IP throttling, sessions and audit entries use. The header is read from
//! the right, so a client cannot pick its address by writing the header itself.

use heimdall_tests::{TestServer, client_from, db_test, users::ConsumerApp};
use reqwest::Client;
use serde_json::{Value, json};

/// 127.0.0.2 plays the load balancer; the tests' other loopback addresses are clients.
const PROXY: &str = "127.0.0.2";

async fn post_from(
    client: &Client,
    app: &ConsumerApp<'_>,
    path: &str,
    xff: Option<&str>,
    body: &Value,
) -> heimdall_tests::Reply {
    let mut request = client.post(app.server.url(&app.path(path))).json(body);
    if let Some(xff) = xff {
        request = request.header("x-forwarded-for", xff);
    }
    TestServer::send(request).await
}

/// The `ip` of the app's newest audit entry with `action`.
async fn audited_ip(app: &ConsumerApp<'_>, action: &str) -> Value {
    let page = app.server.get(&app.admin_path("/audit-logs")).await;
    let entries = page.expect(200)["data"].as_array().expect("data").clone();
    let entry = entries.iter().find(|e| e["action"] == action).unwrap_or_else(|| panic!("no {action}: {page}"));
    entry["ip"].clone()
}

db_test!(
    async fn a_trusted_proxy_names_the_client_for_throttling_sessions_and_audit(db: Db) {
        let server = TestServer::spawn_with(db, |config| {
            config.trusted_proxies = heimdall_server::http::client_ip::TrustedProxies::parse(PROXY).unwrap();
        })
        .await;
        let app = ConsumerApp::create(&server, "proxied").await;
        let proxy = client_from(PROXY);

        // The client wrote a first entry itself; the balancer appended the address it saw.
        let body = json!({ "username": "kim", "email": "kim@example.io", "password": heimdall_tests::users::PASSWORD });
        let signup = post_from(&proxy, &app, "/auth/signup", Some("198.51.100.1, 203.0.113.7"), &body).await;
        let access = signup.expect(201)["access_token"].as_str().unwrap().to_owned();
        assert_eq!(audited_ip(&app, "end_user.signup").await, "203.0.113.7");
        let sessions = app.get_as(&access, "/me/sessions").await;
        assert_eq!(sessions.expect(200)["data"][0]["ip"], "203.0.113.7", "{sessions}");

        // Wrong codes are budgeted per client address, not per balancer.
        let code = app.code_for("request-verification", "kim@example.io").await;
        let wrong = json!({ "code": format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000) });
        for _ in 0..5 {
            post_from(&proxy, &app, "/auth/verify", Some("203.0.113.7"), &wrong)
                .await
                .expect_error(410, "code_invalid");
        }
        post_from(&proxy, &app, "/auth/verify", Some("203.0.113.7"), &wrong).await.expect_error(429, "rate_limited");
        post_from(&proxy, &app, "/auth/verify", Some("203.0.113.8"), &wrong).await.expect_error(410, "code_invalid");
        // A client that is not a trusted proxy cannot claim another address (or borrow its block).
        let direct = client_from("127.0.0.3");
        post_from(&direct, &app, "/auth/verify", Some("203.0.113.7"), &wrong).await.expect_error(410, "code_invalid");
        let r = post_from(&direct, &app, "/auth/verify", Some("203.0.113.8"), &json!({ "code": code })).await;
        assert_eq!(r.expect(200)["type"], "email", "{r}");
    }
);

db_test!(
    async fn without_trusted_proxies_forwarded_for_is_ignored(server) {
        let app = ConsumerApp::create(&server, "unproxied").await;
        let body = json!({ "username": "lee", "email": "lee@example.io", "password": heimdall_tests::users::PASSWORD });
        let signup = post_from(&client_from("127.0.0.1"), &app, "/auth/signup", Some("203.0.113.7"), &body).await;
        let access = signup.expect(201)["access_token"].as_str().unwrap().to_owned();
        assert_eq!(audited_ip(&app, "end_user.signup").await, "127.0.0.1");
        assert_eq!(app.get_as(&access, "/me/sessions").await.expect(200)["data"][0]["ip"], "127.0.0.1");
    }
);
