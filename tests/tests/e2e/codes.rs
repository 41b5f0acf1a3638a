//! One-time codes: minting needs an API key with the named permission and answers the same
//! shape whether or not an account matched; password reset (policy checked before the code is
//! spent, every session revoked); contact verification; newer codes superseding older ones;
//! the per-address budget for code attempts, which one client cannot spend for others, and the
//! per-code exposure that bounds guessing from many addresses; and codes never crossing apps.

use chrono::{DateTime, Utc};
use heimdall_server::entity::one_time_code;
use heimdall_tests::{
    Reply, TestServer, client_from, db_test,
    users::{ConsumerApp, PASSWORD},
};
use reqwest::Method;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

const NEW_PASSWORD: &str = "Brand-New-Secret-7";

async fn verify_from(client: &reqwest::Client, app: &ConsumerApp<'_>, code: &str) -> Reply {
    TestServer::send(client.post(app.server.url(&app.path("/auth/verify"))).json(&json!({ "code": code }))).await
}

fn wrong_code(right: &str) -> String {
    format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000)
}

db_test!(
    async fn code_minting_needs_an_api_key_holding_the_named_permission(server) {
        let app = ConsumerApp::create(&server, "minting").await;
        let other = ConsumerApp::create(&server, "other-app").await;
        app.signup_ok("alice", "alice@example.io").await;
        let routes = ["/auth/request-password-reset", "/auth/request-verification", "/auth/send-verification-email"];
        let body = json!({ "email": "alice@example.io" });

        for route in routes {
            app.post(route, &body).await.expect_error(401, "unauthorized");
            for header in ["", "   ", "Bearer garbage", "Bearer pcft_live_unknown_key_that_does_not_exist_anywhere"] {
                let r = TestServer::send(server.request(Method::POST, &app.path(route)).header("authorization", header).json(&body)).await;
                r.expect_error(401, "unauthorized");
            }
        }
        // An app key of this app holding only the verification permission.
        let (verifier, _) = server.insert_app_key(app.id, &["auth.user.verify.create"]).await;
        let r = app.post_as(&verifier, "/auth/request-verification", &body).await;
        assert!(r.expect(200)["code"].is_string(), "{r}");
        let r = app.post_as(&verifier, "/auth/request-password-reset", &body).await;
        r.expect_error(403, "forbidden");
        app.post_as(&verifier, "/auth/send-verification-email", &body).await.expect_error(403, "forbidden");
        // Keys of another app or another workspace get nothing here.
        let (foreign, _) = server.insert_app_key(other.id, &["*"]).await;
        let (other_workspace, _) = server.other_workspace("elsewhere").await;
        for key in [&foreign, &other_workspace] {
            for route in routes {
                let r = app.post_as(key, route, &body).await;
                r.expect(403);
                r.assert_error_shape();
            }
        }
        // The bootstrap PAK (`*`) may mint; sending mail needs SMTP, which this server lacks.
        assert!(app.request_code("request-verification", "alice@example.io").await.expect(200)["code"].is_string());
        app.post_as(&server.pak, "/auth/send-verification-email", &body).await.expect_error(412, "ENVOI_NOT_ENABLED");

        // Exactly one of email or phone.
        for bad in [json!({}), json!({ "email": "alice@example.io", "phone": "+15550100" }), json!({ "email": "not-an-email" })] {
            let r = app.post_as(&server.pak, "/auth/request-verification", &bad).await;
            r.expect_error(400, "validation_failed");
        }
    }
);

db_test!(
    async fn password_reset_codes_are_issued_only_for_verified_emails_in_one_shape(server) {
        let app = ConsumerApp::create(&server, "resetting").await;
        app.verified_user("bob", "bob@example.io").await;
        app.signup_ok("carol", "carol@example.io").await;

        let r = app.request_code("request-password-reset", "BOB@example.io").await;
        let issued = r.expect(200);
        let mut keys: Vec<&str> = issued.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["code", "expires_at"]);
        let code = issued["code"].as_str().unwrap();
        assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{r}");
        let expires: DateTime<Utc> = issued["expires_at"].as_str().unwrap().parse().expect("ISO timestamp");
        let ttl = expires - Utc::now();
        assert!(ttl > chrono::Duration::minutes(9) && ttl <= chrono::Duration::minutes(10), "codes live 10 minutes: {r}");

        // Unknown and unverified emails, and phones, get exactly `{}`.
        for body in [json!({ "email": "nobody@example.io" }), json!({ "email": "carol@example.io" }), json!({ "phone": "+15550100" })] {
            let r = app.post_as(&server.pak, "/auth/request-password-reset", &body).await;
            assert_eq!(r.expect(200), &json!({}), "{body}");
            assert_eq!(r.text.trim(), "{}");
        }
    }
);

db_test!(
    async fn reset_password_sets_the_password_revokes_every_session_and_works_once(server) {
        let app = ConsumerApp::create(&server, "recovery").await;
        app.configure(json!({ "password_require_symbol": true })).await;
        let (user, first) = app.verified_user("dave", "dave@example.io").await;
        let second = app.signin_ok("dave", PASSWORD).await;
        let code = app.code_for("request-password-reset", "dave@example.io").await;

        // The policy is checked before the code is spent.
        let r = app.post("/auth/reset-password", &json!({ "code": code, "new_password": "NoSymbolsHere1" })).await;
        r.expect_error(400, "weak_password");
        app.signin_ok("dave", PASSWORD).await;

        let r = app.post_as(&server.pak, "/auth/reset-password", &json!({ "code": code, "new_password": NEW_PASSWORD })).await;
        assert_eq!(r.status, 204, "{r}");
        for tokens in [&first, &second] {
            app.me(&tokens.access).await.expect_error(401, "session_revoked");
            app.refresh(&tokens.refresh).await.expect_error(401, "invalid_refresh_token");
        }
        app.signin("dave", PASSWORD).await.expect_error(401, "invalid_credentials");
        let fresh = app.signin_ok("dave", NEW_PASSWORD).await;
        app.me(&fresh.access).await.expect(200);

        // A code works once.
        let r = app.post("/auth/reset-password", &json!({ "code": code, "new_password": "Another-Secret-8!" })).await;
        r.expect_error(410, "code_invalid");
        app.signin_ok("dave", NEW_PASSWORD).await;

        let entries = app.audit("end_user.password_reset").await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["resource_id"], user.to_string());
        assert_eq!(entries[0]["details"]["sessions_revoked"], 3);
        let text = serde_json::to_string(&entries).unwrap();
        assert!(!text.contains(NEW_PASSWORD) && !text.contains(&code), "{text}");

        // Malformed codes are 400, not a spent attempt.
        for bad in ["12345", "1234567", "abcdef", ""] {
            let r = app.post("/auth/reset-password", &json!({ "code": bad, "new_password": NEW_PASSWORD })).await;
            r.expect_error(400, "validation_failed");
        }
    }
);

db_test!(
    async fn codes_stop_working_once_the_account_email_changes(server) {
        let app = ConsumerApp::create(&server, "moved").await;
        let (erin, _) = app.verified_user("erin", "erin@old.io").await;
        let (fred, _) = app.signup_ok("fred", "fred@old.io").await;
        let reset = app.code_for("request-password-reset", "erin@old.io").await;
        let verification = app.code_for("request-verification", "fred@old.io").await;
        // Both accounts move to another address: whoever holds the old one must not take over
        // the account, nor verify the new address.
        for (user, email) in [(erin, "erin@new.io"), (fred, "fred@new.io")] {
            let r = server.patch(&app.admin_path(&format!("/end-users/{user}")), &json!({ "email": email })).await;
            r.expect(200);
        }
        let r = app.post("/auth/reset-password", &json!({ "code": reset, "new_password": NEW_PASSWORD })).await;
        r.expect_error(410, "code_invalid");
        app.signin_ok("erin", PASSWORD).await;
        app.post("/auth/verify", &json!({ "code": verification })).await.expect_error(410, "code_invalid");
        assert_eq!(app.end_user(fred).await["email_verified_at"], serde_json::Value::Null);
    }
);

db_test!(
    async fn expired_codes_are_refused(server) {
        let app = ConsumerApp::create(&server, "stale").await;
        app.verified_user("gwen", "gwen@example.io").await;
        app.signup_ok("hugo", "hugo@example.io").await;
        let reset = app.code_for("request-password-reset", "gwen@example.io").await;
        let verification = app.code_for("request-verification", "hugo@example.io").await;
        let rows = one_time_code::Entity::find()
            .filter(one_time_code::Column::AppId.eq(app.id))
            .filter(one_time_code::Column::UsedAt.is_null())
            .all(&server.state().db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        for row in rows {
            let mut row = row.into_active_model();
            row.expires_at = Set(Utc::now() - chrono::Duration::seconds(1));
            row.update(&server.state().db).await.unwrap();
        }
        let r = app.post("/auth/reset-password", &json!({ "code": reset, "new_password": NEW_PASSWORD })).await;
        r.expect_error(410, "code_invalid");
        app.post("/auth/verify", &json!({ "code": verification })).await.expect_error(410, "code_invalid");
        app.signin_ok("gwen", PASSWORD).await;
        app.signin("hugo@example.io", PASSWORD).await.expect_error(401, "invalid_credentials");
    }
);

db_test!(
    async fn verification_codes_verify_the_email_and_open_sign_in_by_email(server) {
        let app = ConsumerApp::create(&server, "verifying").await;
        let (user, _) = app.signup_ok("Frank", "Frank@Example.IO").await;
        app.signin("frank@example.io", PASSWORD).await.expect_error(401, "invalid_credentials");

        let code = app.code_for("request-verification", "frank@example.io").await;
        let before = Utc::now() - chrono::Duration::seconds(5);
        let r = app.post_as(&server.pak, "/auth/verify", &json!({ "code": code })).await;
        let verified = r.expect(200);
        let mut keys: Vec<&str> = verified.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["account_id", "contact_id", "type", "value", "verified_at"]);
        assert_eq!(verified["account_id"], user.to_string());
        assert!(verified["contact_id"].as_str().unwrap().parse::<Uuid>().is_ok(), "{r}");
        assert_eq!(verified["type"], "email");
        assert_eq!(verified["value"], "Frank@example.io");
        let at: DateTime<Utc> = verified["verified_at"].as_str().unwrap().parse().unwrap();
        assert!(at >= before && at <= Utc::now() + chrono::Duration::seconds(5), "{r}");
        assert_eq!(app.end_user(user).await["email_verified_at"].as_str().map(|s| s.parse::<DateTime<Utc>>().unwrap()), Some(at));

        app.signin_ok("frank@example.io", PASSWORD).await;
        app.post("/auth/verify", &json!({ "code": code })).await.expect_error(410, "code_invalid");
        // Verified contacts get no more verification codes.
        assert_eq!(app.request_code("request-verification", "frank@example.io").await.expect(200), &json!({}));
        assert_eq!(app.request_code("request-verification", "nobody@example.io").await.expect(200), &json!({}));

        let entries = app.audit("end_user.email_verified").await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["resource_id"], user.to_string());
    }
);

db_test!(
    async fn a_newer_code_supersedes_the_older_one(server) {
        let app = ConsumerApp::create(&server, "superseded").await;
        let (user, _) = app.signup_ok("gina", "gina@example.io").await;
        let older = app.code_for("request-verification", "gina@example.io").await;
        let newer = app.code_for("request-verification", "gina@example.io").await;
        assert_ne!(older, newer);
        app.post("/auth/verify", &json!({ "code": older })).await.expect_error(410, "code_invalid");
        assert_eq!(app.post("/auth/verify", &json!({ "code": newer })).await.expect(200)["account_id"], user.to_string());

        let older = app.code_for("request-password-reset", "gina@example.io").await;
        let newer = app.code_for("request-password-reset", "gina@example.io").await;
        let r = app.post("/auth/reset-password", &json!({ "code": older, "new_password": NEW_PASSWORD })).await;
        r.expect_error(410, "code_invalid");
        app.signin_ok("gina", PASSWORD).await;
        let r = app.post("/auth/reset-password", &json!({ "code": newer, "new_password": NEW_PASSWORD })).await;
        assert_eq!(r.status, 204, "{r}");
        app.signin_ok("gina", NEW_PASSWORD).await;
    }
);

db_test!(
    async fn wrong_codes_are_limited_per_address_and_one_client_cannot_block_everyone(server) {
        let app = ConsumerApp::create(&server, "guessing").await;
        app.signup_ok("henry", "henry@example.io").await;
        let code = app.code_for("request-verification", "henry@example.io").await;
        let wrong = wrong_code(&code);
        let first = client_from("127.0.0.2");

        // Five wrong codes from one address, then that address is refused — even with the right code.
        for _ in 0..5 {
            verify_from(&first, &app, &wrong).await.expect_error(410, "code_invalid");
        }
        for attempt in [&wrong, &code] {
            let r = verify_from(&first, &app, attempt).await;
            r.expect_error(429, "rate_limited");
            let retry: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
            assert!((1..=600).contains(&retry), "{r}");
        }
        // More clients spend their budgets too — twice the old app-wide budget in all — and each
        // blocks only itself.
        for ip in ["127.0.0.3", "127.0.0.4", "127.0.0.5"] {
            let client = client_from(ip);
            for _ in 0..5 {
                verify_from(&client, &app, &wrong).await.expect_error(410, "code_invalid");
            }
            verify_from(&client, &app, &wrong).await.expect_error(429, "rate_limited");
        }
        // The genuine code, sent from another address, works.
        let r = verify_from(&client_from("127.0.0.6"), &app, &code).await;
        assert!(r.expect(200)["account_id"].is_string(), "{r}");

        // Another app is not affected, from any of these addresses.
        let calm = ConsumerApp::create(&server, "calm").await;
        let (user, _) = calm.signup_ok("henry", "henry@example.io").await;
        let calm_code = calm.code_for("request-verification", "henry@example.io").await;
        let r = verify_from(&first, &calm, &calm_code).await;
        assert_eq!(r.expect(200)["account_id"], user.to_string());
    }
);

/// 127.0.0.2 plays a trusted load balancer, so tests can speak for many client addresses.
const PROXY: &str = "127.0.0.2";

async fn behind_proxy(db: heimdall_tests::Db) -> TestServer {
    TestServer::spawn_with(db, |config| {
        config.trusted_proxies = heimdall_server::http::client_ip::TrustedProxies::parse(PROXY).unwrap();
    })
    .await
}

async fn verify_as(proxy: &reqwest::Client, app: &ConsumerApp<'_>, address: &str, code: &str) -> Reply {
    let request = proxy
        .post(app.server.url(&app.path("/auth/verify")))
        .header("x-forwarded-for", address)
        .json(&json!({ "code": code }));
    TestServer::send(request).await
}

db_test!(
    async fn a_code_answers_at_most_its_exposure_of_attempts_from_any_number_of_addresses(db: Db) {
        let server = behind_proxy(db).await;
        let app = ConsumerApp::create(&server, "exposed").await;
        let proxy = client_from(PROXY);
        let (user, _) = app.signup_ok("iris", "iris@example.io").await;
        let code = app.code_for("request-verification", "iris@example.io").await;
        let wrong = wrong_code(&code);

        // 100 wrong codes from 20 addresses, each within its own budget: none is refused.
        for i in 0..100 {
            let address = format!("198.51.100.{}", i / 5 + 1);
            verify_as(&proxy, &app, &address, &wrong).await.expect_error(410, "code_invalid");
        }
        // The code has now been exposed to as many guesses as it ever answers: even its right
        // value, from a fresh address, is refused like any invalid code.
        verify_as(&proxy, &app, "203.0.113.50", &code).await.expect_error(410, "code_invalid");
        assert_eq!(app.end_user(user).await["email_verified_at"], serde_json::Value::Null);
        // A code minted afterwards has an exposure of its own.
        let fresh = app.code_for("request-verification", "iris@example.io").await;
        let r = verify_as(&proxy, &app, "203.0.113.51", &fresh).await;
        assert_eq!(r.expect(200)["account_id"], user.to_string());
    }
);

db_test!(
    async fn successful_codes_do_not_use_up_the_exposure_of_others(db: Db) {
        let server = behind_proxy(db).await;
        let app = ConsumerApp::create(&server, "busy").await;
        let proxy = client_from(PROXY);
        app.signup_ok("jack", "jack@example.io").await;
        let waiting = app.code_for("request-verification", "jack@example.io").await;
        // 120 accounts verify their addresses meanwhile — more attempts than a code's exposure.
        for i in 0..120 {
            let email = format!("user{i}@example.io");
            app.signup_ok(&format!("user{i}"), &email).await;
            let code = app.code_for("request-verification", &email).await;
            verify_as(&proxy, &app, &format!("198.51.100.{}", i + 1), &code).await.expect(200);
        }
        verify_as(&proxy, &app, "203.0.113.9", &waiting).await.expect(200);
    }
);

db_test!(
    async fn the_addresses_of_one_ipv6_64_share_one_budget(db: Db) {
        let server = behind_proxy(db).await;
        let app = ConsumerApp::create(&server, "rotating").await;
        let proxy = client_from(PROXY);
        app.signup_ok("kate", "kate@example.io").await;
        let code = app.code_for("request-verification", "kate@example.io").await;
        let wrong = wrong_code(&code);
        // One host rotating through its /64 has one budget.
        for i in 1..=5 {
            verify_as(&proxy, &app, &format!("2001:db8:7:7::{i:x}"), &wrong).await.expect_error(410, "code_invalid");
        }
        let r = verify_as(&proxy, &app, "2001:db8:7:7:ffff:ffff:ffff:ffff", &code).await;
        r.expect_error(429, "rate_limited");
        // The next /64 is another client.
        verify_as(&proxy, &app, "2001:db8:7:8::1", &code).await.expect(200);
    }
);

db_test!(
    async fn codes_of_one_app_never_work_at_another(server) {
        let a = ConsumerApp::create(&server, "code-a").await;
        let b = ConsumerApp::create(&server, "code-b").await;
        // The same people have accounts in both apps.
        let (ivan, _) = a.verified_user("ivan", "ivan@example.io").await;
        b.verified_user("ivan", "ivan@example.io").await;
        let (judy, _) = a.signup_ok("judy", "judy@example.io").await;
        b.signup_ok("judy", "judy@example.io").await;

        let code = a.code_for("request-verification", "judy@example.io").await;
        b.post("/auth/verify", &json!({ "code": code })).await.expect_error(410, "code_invalid");
        assert_eq!(a.post("/auth/verify", &json!({ "code": code })).await.expect(200)["account_id"], judy.to_string());

        let reset = a.code_for("request-password-reset", "ivan@example.io").await;
        let r = b.post("/auth/reset-password", &json!({ "code": reset, "new_password": NEW_PASSWORD })).await;
        r.expect_error(410, "code_invalid");
        b.signin_ok("ivan", PASSWORD).await;
        let r = a.post("/auth/reset-password", &json!({ "code": reset, "new_password": NEW_PASSWORD })).await;
        assert_eq!(r.status, 204, "{r}");
        let tokens = a.signin_ok("ivan", NEW_PASSWORD).await;
        assert_eq!(a.claims(&tokens.access).await.sub, ivan.to_string());
        b.signin("ivan", NEW_PASSWORD).await.expect_error(401, "invalid_credentials");
    }
);
