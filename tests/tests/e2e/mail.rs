//! Mail delivery over SMTP, against the in-process SMTP sink: verification emails carry a
//! working code (and only go to accounts that can use one), an unreachable mail server is a
//! 503, and invitations to one address are mailed.

use heimdall_tests::{
    Db, TestServer, db_test,
    smtp::SmtpSink,
    users::{ConsumerApp, PASSWORD},
};
use serde_json::json;

async fn server_with_mail(db: Db, url: String) -> TestServer {
    TestServer::spawn_with(db, move |config| config.smtp_url = Some(url)).await
}

db_test!(
    async fn send_verification_email_delivers_a_code_that_verifies_the_address(db: Db) {
        let sink = SmtpSink::start().await;
        let server = server_with_mail(db, sink.url()).await;
        let app = ConsumerApp::create(&server, "mailing").await;
        let (user, _) = app.signup_ok("alice", "Alice@Example.io").await;

        // Without a key the route is closed even with mail configured.
        app.post("/auth/send-verification-email", &json!({ "email": "alice@example.io" }))
            .await
            .expect_error(401, "unauthorized");
        assert!(sink.messages().is_empty());

        let r =
            app.post_as(&server.pak, "/auth/send-verification-email", &json!({ "email": "alice@example.io" })).await;
        let body = r.expect(200);
        let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["expires_at"], "the code is mailed, not returned: {r}");
        assert!(body["expires_at"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().is_ok());

        let messages = sink.messages();
        assert_eq!(messages.len(), 1, "{messages:?}");
        let mail = &messages[0];
        assert_eq!(mail.to.len(), 1, "{mail:?}");
        assert!(mail.to[0].eq_ignore_ascii_case("alice@example.io"), "{mail:?}");
        assert!(mail.data.contains("Subject:"), "{}", mail.data);
        let codes = mail.six_digit_codes();
        assert_eq!(codes.len(), 1, "one code in the body: {}", mail.data);

        let r = app.post("/auth/verify", &json!({ "code": codes[0] })).await;
        assert_eq!(r.expect(200)["account_id"], user.to_string());
        app.signin_ok("alice@example.io", PASSWORD).await;

        // Unknown and already verified addresses: `{}` and no mail.
        for email in ["nobody@example.io", "alice@example.io"] {
            let r = app.post_as(&server.pak, "/auth/send-verification-email", &json!({ "email": email })).await;
            assert_eq!(r.expect(200), &json!({}), "{email}");
        }
        assert_eq!(sink.messages().len(), 1, "nothing more was sent");
    }
);

db_test!(
    async fn send_verification_email_answers_503_when_the_mail_server_is_unreachable(db: Db) {
        // A port that was just free: nothing listens there.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = server_with_mail(db, format!("smtp://127.0.0.1:{closed}")).await;
        let app = ConsumerApp::create(&server, "mailless").await;
        app.signup_ok("bob", "bob@example.io").await;

        let r = app.post_as(&server.pak, "/auth/send-verification-email", &json!({ "email": "bob@example.io" })).await;
        r.expect_error(503, "ENVOI_DISPATCH_FAILED");
        // Minting for self-delivery still works, and invitations (whose code the admin gets in
        // the response) are created anyway.
        assert!(app.request_code("request-verification", "bob@example.io").await.expect(200)["code"].is_string());
        let r = server.post(&app.admin_path("/end-users/invites"), &json!({ "email": "carl@example.io" })).await;
        assert!(r.expect(201)["code"].as_str().unwrap().starts_with("inv_"), "{r}");
    }
);

db_test!(
    async fn invitations_to_one_address_are_mailed_with_their_code(db: Db) {
        let sink = SmtpSink::start().await;
        let server = server_with_mail(db, sink.url()).await;
        let app = ConsumerApp::create(&server, "inviting").await;

        let r = server
            .post(&app.admin_path("/end-users/invites"), &json!({ "email": "carol@example.io", "name": "Carol" }))
            .await;
        let code = r.expect(201)["code"].as_str().unwrap().to_owned();
        let messages = sink.messages();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert_eq!(messages[0].to, ["carol@example.io"]);
        assert!(messages[0].data.contains(&code), "the mail carries the code: {}", messages[0].data);

        // A domain invite has no single address to mail.
        server
            .post(&app.admin_path("/end-users/invites"), &json!({ "email": "*@example.io", "max_uses": 3 }))
            .await
            .expect(201);
        assert_eq!(sink.messages().len(), 1);
    }
);
