//! The common-password list (`block_common_passwords`, on by default): sign-up, password reset
//! and invite acceptance refuse a commonly used password, whatever its case, with 400
//! `weak_password` that says so without echoing it; a strong password passes; with the setting
//! off a common password is accepted.

use heimdall_tests::{
    db_test,
    users::{ConsumerApp, PASSWORD, Tokens},
};
use serde_json::json;

/// On the list (`Qwerty123` as `qwerty123`), long enough for the default minimum of 8.
const COMMON: [&str; 3] = ["password", "12345678", "Qwerty123"];

#[track_caller]
fn expect_common(r: &heimdall_tests::Reply, password: &str) {
    let body = r.expect_error(400, "weak_password");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("commonly used password"), "{password}: {r}");
    // ("password" itself is a word of every such message.)
    if password != "password" {
        assert!(!r.to_string().contains(password), "the password is not echoed: {r}");
    }
    assert_eq!(body["details"]["common"], true, "{r}");
    assert_eq!(body["details"]["requirements"], json!([]), "no other rule is broken: {r}");
}

db_test!(
    async fn signup_refuses_common_passwords_by_default_and_accepts_them_when_turned_off(server) {
        let app = ConsumerApp::create(&server, "breached").await;
        for (i, password) in COMMON.into_iter().enumerate() {
            let r = app.signup(&format!("user{i}"), &format!("user{i}@example.io"), password).await;
            expect_common(&r, password);
        }
        // Another rule broken as well: both are named.
        app.configure(json!({ "password_require_symbol": true })).await;
        let r = app.signup("user9", "user9@example.io", "password1").await;
        let body = r.expect_error(400, "weak_password");
        assert_eq!(body["details"]["requirements"], json!(["a symbol"]), "{r}");
        assert_eq!(body["details"]["common"], true, "{r}");
        assert!(body["message"].as_str().unwrap().contains("commonly used password"), "{r}");
        app.configure(json!({ "password_require_symbol": false })).await;

        // A strong password passes.
        app.signup_ok("strong", "strong@example.io").await;
        let list = server.get(&app.admin_path("/end-users")).await;
        assert_eq!(list.expect(200)["data"].as_array().unwrap().len(), 1, "refused sign-ups created nothing");

        // Turned off, the app accepts them (the length rule still holds).
        let config = app.configure(json!({ "block_common_passwords": false })).await;
        assert_eq!(config["block_common_passwords"], false);
        for (i, password) in COMMON.into_iter().enumerate() {
            let r = app.signup(&format!("user{i}"), &format!("user{i}@example.io"), password).await;
            Tokens::from_reply(&r, 201);
            app.signin_ok(&format!("user{i}"), password).await;
        }
        app.signup("short", "short@example.io", "1234").await.expect_error(400, "weak_password");

        // Another app keeps the default.
        let other = ConsumerApp::create(&server, "breached-too").await;
        expect_common(&other.signup("user0", "user0@example.io", "password").await, "password");
    }
);

db_test!(
    async fn password_reset_refuses_a_common_password_without_spending_the_code(server) {
        let app = ConsumerApp::create(&server, "reset-common").await;
        app.verified_user("dave", "dave@example.io").await;
        let code = app.code_for("request-password-reset", "dave@example.io").await;
        for password in COMMON {
            let r = app.post("/auth/reset-password", &json!({ "code": code, "new_password": password })).await;
            expect_common(&r, password);
        }
        app.signin_ok("dave", PASSWORD).await;
        let r = app.post("/auth/reset-password", &json!({ "code": code, "new_password": "Brand-New-Secret-7" })).await;
        assert_eq!(r.status, 204, "{r}");
        app.signin_ok("dave", "Brand-New-Secret-7").await;
    }
);

db_test!(
    async fn invite_acceptance_refuses_a_common_password_without_spending_the_invite(server) {
        let app = ConsumerApp::create(&server, "invite-common").await;
        let r = server.post(&app.admin_path("/end-users/invites"), &json!({ "email": "erin@example.io" })).await;
        let code = r.expect(201)["code"].as_str().unwrap().to_owned();
        for password in COMMON {
            let r = app.post("/auth/accept-invite", &json!({ "code": code, "password": password })).await;
            expect_common(&r, password);
        }
        let r = app.post("/auth/accept-invite", &json!({ "code": code, "password": PASSWORD })).await;
        Tokens::from_reply(&r, 201);
        app.signin_ok("erin", PASSWORD).await;
    }
);
