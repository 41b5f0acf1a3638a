//! Sign-up and sign-in on the consumer surface: token responses and access-token claims
//! (verified offline against the JWKS), case-insensitive uniqueness, the password policy, the
//! sign-up switches, identifiers (username or *verified* email), indistinguishable failures,
//! the per-account lock (whichever identifier names the account; unknown identifiers locked
//! alike), app status, and public routes ignoring any credential.

use heimdall_tests::{
    TestServer, db_test,
    users::{ConsumerApp, PASSWORD, Tokens, without_request_id},
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

fn user_count(list: &Value) -> usize {
    list["data"].as_array().expect("data").len()
}

db_test!(
    async fn signup_returns_201_with_tokens_whose_claims_verify_against_the_jwks(server) {
        let app = ConsumerApp::create(&server, "shop").await;
        let before = chrono::Utc::now().timestamp();
        // A backend sends its PAK along on every call; sign-up ignores it.
        let reply = app
            .post_as(
                &server.pak,
                "/auth/signup",
                &json!({ "username": "alice", "email": "Alice@Example.io", "password": PASSWORD, "display_name": "Alice A." }),
            )
            .await;
        let tokens = Tokens::from_reply(&reply, 201);
        assert_eq!(reply.header("pragma"), Some("no-cache"), "{reply}");
        let mut keys: Vec<&str> = reply.body.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["access_token", "expires_in", "refresh_token", "token_type"]);

        let claims = app.verify_offline(&tokens.access).await;
        let user: Uuid = claims["sub"].as_str().expect("sub").parse().expect("sub is a UUID");
        assert_eq!(claims["iss"], format!("{}/shop", server.base));
        assert_eq!(claims["aud"], "shop");
        assert_eq!(claims["aid"], app.id.to_string());
        assert!(claims["sid"].as_str().and_then(|s| s.parse::<Uuid>().ok()).is_some(), "sid: {claims}");
        assert_eq!(claims["role"], "member");
        assert_eq!(claims["type"], "end_user");
        assert_eq!(claims["amr"], json!(["pwd"]));
        let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
        assert!(iat >= before - 5 && iat <= chrono::Utc::now().timestamp() + 5, "iat: {claims}");
        assert_eq!(exp - iat, reply.body["expires_in"].as_i64().unwrap(), "expires_in is the token's lifetime");

        // The account as the admin API sees it: the default role, an unverified email.
        let summary = app.end_user(user).await;
        assert_eq!(summary["id"], user.to_string());
        assert_eq!(summary["username"], "alice");
        assert_eq!(summary["email"], "Alice@example.io");
        assert_eq!(summary["display_name"], "Alice A.");
        assert_eq!(summary["email_verified_at"], Value::Null);
        assert_eq!(summary["status"], "active");
        assert_eq!(summary["role"], "member");
        assert_eq!(summary["active_session_count"], 1);

        let entries = app.audit("end_user.signup").await;
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0]["resource_id"], user.to_string());
        assert!(!serde_json::to_string(&entries).unwrap().contains(PASSWORD), "no password in the audit log");
    }
);

db_test!(
    async fn signup_refuses_taken_usernames_and_emails_whatever_their_case(server) {
        let app = ConsumerApp::create(&server, "unique").await;
        app.signup_ok("alice", "alice@example.io").await;
        app.signup("ALICE", "someone@example.io", PASSWORD).await.expect_error(409, "username_taken");
        app.signup("Alice", "else@example.io", PASSWORD).await.expect_error(409, "username_taken");
        app.signup("bob", "ALICE@EXAMPLE.IO", PASSWORD).await.expect_error(409, "email_taken");
        app.signup("bob", "alice@Example.IO", PASSWORD).await.expect_error(409, "email_taken");

        // Malformed usernames and emails are 400.
        for (username, email) in [
            ("al", "al@example.io"),
            ("has space", "hs@example.io"),
            ("a@b.io", "ab@example.io"),
            ("carol", "not-an-email"),
            ("carol", "carol@localhost"),
        ] {
            app.signup(username, email, PASSWORD).await.expect_error(400, "validation_failed");
        }
        let list = server.get(&app.admin_path("/end-users")).await;
        assert_eq!(user_count(list.expect(200)), 1, "{list}");

        // The same names are free in another app.
        let other = ConsumerApp::create(&server, "unique-too").await;
        other.signup_ok("alice", "alice@example.io").await;
    }
);

db_test!(
    async fn signup_enforces_the_password_policy_of_the_auth_config(server) {
        let app = ConsumerApp::create(&server, "policy").await;
        let r = app.signup("short", "short@example.io", "Ab1!xyz").await;
        let body = r.expect_error(400, "weak_password");
        assert!(body["message"].as_str().unwrap().contains("8"), "names the minimum: {r}");
        // By default only the length counts.
        app.signup_ok("plain", "plain@example.io").await;
        Tokens::from_reply(&app.signup("lower", "lower@example.io", "alllowercase").await, 201);

        app.configure(json!({
            "password_min_length": 12,
            "password_require_number": true,
            "password_require_uppercase": true,
            "password_require_symbol": true
        }))
        .await;
        let r = app.signup("weak", "weak@example.io", "alllowercase").await;
        let body = r.expect_error(400, "weak_password");
        let requirements = body["details"]["requirements"].as_array().expect("requirements").len();
        assert_eq!(requirements, 3, "number, uppercase and symbol are missing: {r}");
        for (password, missing) in [
            ("Abcdefghijk!", "number"),
            ("abcdefghij1!", "uppercase"),
            ("Abcdefghijk1", "symbol"),
            ("Abcdef1!", "12"),
        ] {
            let r = app.signup("weak", "weak@example.io", password).await;
            let body = r.expect_error(400, "weak_password");
            assert_eq!(body["details"]["requirements"].as_array().unwrap().len(), 1, "{password}: {r}");
            assert!(body["message"].as_str().unwrap().contains(missing), "{password} lacks {missing}: {r}");
        }
        Tokens::from_reply(&app.signup("strong", "strong@example.io", "Abcdefghij1!").await, 201);

        let list = server.get(&app.admin_path("/end-users")).await;
        let names: Vec<&str> = list.expect(200)["data"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
        assert_eq!(names, ["plain", "lower", "strong"], "refused sign-ups created nothing");
    }
);

db_test!(
    async fn signup_is_refused_when_disabled_or_outside_the_allowed_domains(server) {
        let app = ConsumerApp::create(&server, "gated").await;
        app.configure(json!({ "signup_enabled": false })).await;
        app.signup("dora", "dora@corp.io", PASSWORD).await.expect_error(403, "signup_disabled");

        app.configure(json!({ "signup_enabled": true, "signup_allowed_email_domains": ["corp.io", "Partner.IO"] })).await;
        app.signup("dora", "dora@other.io", PASSWORD).await.expect_error(403, "email_domain_not_allowed");
        app.signup("dora", "dora@sub.corp.io", PASSWORD).await.expect_error(403, "email_domain_not_allowed");
        app.signup_ok("dora", "dora@CORP.io").await;
        app.signup_ok("pat", "pat@partner.io").await;

        // New sign-ups get the configured default role.
        app.configure(json!({ "signup_allowed_email_domains": [], "signup_default_role": "admin" })).await;
        let (user, tokens) = app.signup_ok("eve", "eve@anywhere.io").await;
        assert_eq!(app.claims(&tokens.access).await.role.as_deref(), Some("admin"));
        assert_eq!(app.end_user(user).await["role"], "admin");
    }
);

db_test!(
    async fn signin_accepts_the_username_or_the_verified_email(server) {
        let app = ConsumerApp::create(&server, "ident").await;
        let (user, _) = app.signup_ok("Carol", "Carol@Example.io").await;
        for identifier in ["Carol", "carol", " CAROL "] {
            let tokens = app.signin_ok(identifier, PASSWORD).await;
            assert_eq!(app.claims(&tokens.access).await.sub, user.to_string());
        }
        // An unverified email does not sign in, with the same answer as a wrong password.
        let unverified = app.signin("carol@example.io", PASSWORD).await;
        let wrong = app.signin("carol", "Wrong-Password-1").await;
        unverified.expect_error(401, "invalid_credentials");
        assert_eq!(without_request_id(&unverified), without_request_id(&wrong));

        app.verify_email("carol@example.io").await;
        for identifier in ["carol@example.io", "CAROL@EXAMPLE.IO"] {
            let tokens = app.signin_ok(identifier, PASSWORD).await;
            assert_eq!(app.claims(&tokens.access).await.sub, user.to_string());
        }
        let summary = app.end_user(user).await;
        assert!(summary["last_used_at"].is_string(), "sign-in records last use: {summary}");
        assert_eq!(summary["active_session_count"], 6);

        let signins = app.audit("end_user.signin").await;
        assert_eq!(signins.len(), 5);
        assert!(signins.iter().all(|e| e["actor_id"] == user.to_string() && e["resource_type"] == "session"), "{signins:?}");
    }
);

db_test!(
    async fn signin_failures_are_indistinguishable_and_never_log_the_password(server) {
        let app = ConsumerApp::create(&server, "quiet").await;
        let (user, _) = app.signup_ok("dave", "dave@example.io").await;
        let secret_guess = "Hunter2-Secret-Guess";
        let failures = [
            app.signin("dave", secret_guess).await,
            app.signin("nobody", secret_guess).await,
            app.signin("nobody@example.io", secret_guess).await,
            app.signin("dave", "").await,
            app.signin("", "").await,
        ];
        let first = without_request_id(&failures[0]);
        for reply in &failures {
            reply.expect_error(401, "invalid_credentials");
            assert_eq!(without_request_id(reply), first, "every failure looks the same: {reply}");
        }

        let entries = app.audit("end_user.signin_failed").await;
        assert_eq!(entries.len(), failures.len(), "{entries:?}");
        let text = serde_json::to_string(&entries).unwrap();
        assert!(!text.contains(secret_guess) && !text.contains("Hunter2"), "the password is never logged: {text}");
        let wrong_password = entries.iter().filter(|e| e["actor_id"] == user.to_string()).count();
        assert_eq!(wrong_password, 2, "failures of a known account name it: {text}");
    }
);

db_test!(
    async fn signin_locks_an_identifier_after_max_failed_login_attempts(server) {
        let app = ConsumerApp::create(&server, "locked").await;
        app.signup_ok("erin", "erin@example.io").await;
        app.signup_ok("frank", "frank@example.io").await;
        app.configure(json!({ "max_failed_login_attempts": 3 })).await;

        for _ in 0..3 {
            app.signin("erin", "Wrong-Password-1").await.expect_error(401, "invalid_credentials");
        }
        for password in ["Wrong-Password-1", PASSWORD] {
            let r = app.signin("erin", password).await;
            r.expect_error(429, "rate_limited");
            let retry: u64 = r.header("retry-after").expect("Retry-After").parse().expect("seconds");
            assert!((1..=900).contains(&retry), "{r}");
        }
        // The lock is per account: another account of the same IP still signs in.
        app.signin_ok("frank", PASSWORD).await;

        // Unknown identifiers lock the same way.
        for _ in 0..3 {
            app.signin("ghost", "Wrong-Password-1").await.expect_error(401, "invalid_credentials");
        }
        let r = app.signin("ghost", "Wrong-Password-1").await;
        r.expect_error(429, "rate_limited");
        assert!(r.header("retry-after").is_some(), "{r}");

        // A success before the limit forgets earlier failures.
        for _ in 0..2 {
            app.signin("frank", "Wrong-Password-1").await.expect_error(401, "invalid_credentials");
        }
        app.signin_ok("frank", PASSWORD).await;
        for _ in 0..2 {
            app.signin("frank", "Wrong-Password-1").await.expect_error(401, "invalid_credentials");
        }
        app.signin_ok("frank", PASSWORD).await;
    }
);

fn expect_locked(r: &heimdall_tests::Reply) {
    r.expect_error(429, "rate_limited");
    let retry: u64 = r.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=900).contains(&retry), "{r}");
}

db_test!(
    async fn the_lock_reached_through_the_username_holds_for_the_email_in_any_case(server) {
        let app = ConsumerApp::create(&server, "locked-by-name").await;
        app.verified_user("kate", "kate@example.io").await;
        app.verified_user("liam", "liam@example.io").await;
        app.configure(json!({ "max_failed_login_attempts": 3 })).await;

        for _ in 0..3 {
            app.signin("kate", "Wrong-Password-1").await.expect_error(401, "invalid_credentials");
        }
        // The account is locked, not the string: its email, in any case, gets the same answer,
        // the right password included, and wrong guesses are no longer evaluated.
        for identifier in ["kate", "kate@example.io", "KATE@EXAMPLE.IO", "Kate@Example.io", "KATE"] {
            for password in [PASSWORD, "Wrong-Password-2"] {
                expect_locked(&app.signin(identifier, password).await);
            }
        }
        assert_eq!(app.audit("end_user.signin_failed").await.len(), 3, "locked attempts are not evaluated");
        // Another account is not affected, through either identifier.
        app.signin_ok("liam", PASSWORD).await;
        app.signin_ok("LIAM@example.io", PASSWORD).await;
    }
);

db_test!(
    async fn the_lock_reached_through_the_email_holds_for_the_username_and_failures_add_up_across_identifiers(server) {
        let app = ConsumerApp::create(&server, "locked-by-mail").await;
        app.verified_user("mona", "mona@example.io").await;
        app.verified_user("nick", "nick@example.io").await;
        app.configure(json!({ "max_failed_login_attempts": 3 })).await;

        for identifier in ["mona@example.io", "MONA@EXAMPLE.IO", "Mona@example.io"] {
            app.signin(identifier, "Wrong-Password-1").await.expect_error(401, "invalid_credentials");
        }
        for identifier in ["mona", "MONA", "mona@example.io"] {
            expect_locked(&app.signin(identifier, PASSWORD).await);
        }

        // One budget per account: failures through the username and the email add up.
        for identifier in ["nick", "nick@example.io"] {
            app.signin(identifier, "Wrong-Password-1").await.expect_error(401, "invalid_credentials");
        }
        app.signin("NICK", "Wrong-Password-1").await.expect_error(401, "invalid_credentials");
        expect_locked(&app.signin("nick@example.io", PASSWORD).await);
        expect_locked(&app.signin("nick", PASSWORD).await);
    }
);

db_test!(
    async fn signin_is_refused_for_inactive_apps_disabled_signin_and_tenants(server) {
        let app = ConsumerApp::create(&server, "switches").await;
        app.signup_ok("gina", "gina@example.io").await;

        app.configure(json!({ "signin_enabled": false })).await;
        app.signin("gina", PASSWORD).await.expect_error(403, "signin_disabled");
        app.configure(json!({ "signin_enabled": true })).await;

        let r = app.post("/auth/signin", &json!({ "identifier": "gina", "password": PASSWORD, "tenant_id": Uuid::now_v7() })).await;
        r.expect(403);
        r.assert_error_shape();

        for status in ["suspended", "archived"] {
            app.set_status(status).await;
            app.signin("gina", PASSWORD).await.expect_error(403, "app_inactive");
            app.signup("henry", "henry@example.io", PASSWORD).await.expect_error(403, "app_inactive");
        }
        app.set_status("active").await;
        app.signin_ok("gina", PASSWORD).await;

        // Unknown slugs are 404.
        let request = server
            .request(Method::POST, "/no-such-app/v1/auth/signin")
            .json(&json!({ "identifier": "gina", "password": PASSWORD }));
        let r = TestServer::send(request).await;
        r.expect_error(404, "app_not_found");
    }
);

db_test!(
    async fn public_auth_routes_ignore_whatever_credential_arrives(server) {
        let app = ConsumerApp::create(&server, "lenient").await;
        let other = ConsumerApp::create(&server, "elsewhere").await;
        let (_, foreign) = other.signup_ok("outsider", "outsider@example.io").await;
        let (_, first) = app.signup_ok("ivan", "ivan@example.io").await;
        let headers = [
            format!("Bearer {}", server.pak),
            "Bearer garbage".to_owned(),
            format!("Bearer {}", foreign.access),
            format!("Bearer {}", first.access),
            String::new(),
            "Basic dXNlcjpwYXNz".to_owned(),
        ];
        let send = |path: String, body: Value, header: &str| {
            TestServer::send(server.request(Method::POST, &path).header("authorization", header).json(&body))
        };
        for (i, header) in headers.iter().enumerate() {
            let r = send(
                app.path("/auth/signup"),
                json!({ "username": format!("user-{i}"), "email": format!("user-{i}@example.io"), "password": PASSWORD }),
                header,
            )
            .await;
            let tokens = Tokens::from_reply(&r, 201);
            let r = send(app.path("/auth/signin"), json!({ "identifier": format!("user-{i}"), "password": PASSWORD }), header).await;
            Tokens::from_reply(&r, 200);
            let r = send(app.path("/auth/refresh"), json!({ "refresh_token": tokens.refresh }), header).await;
            let refreshed = Tokens::from_reply(&r, 200);
            let r = send(app.path("/auth/logout"), json!({ "refresh_token": refreshed.refresh }), header).await;
            assert_eq!(r.status, 204, "{r}");
        }
        // The code and invite routes answer on their merits, not with 401.
        let header = format!("Bearer {}", server.pak);
        send(app.path("/auth/verify"), json!({ "code": "000000" }), &header).await.expect_error(410, "code_invalid");
        send(app.path("/auth/reset-password"), json!({ "code": "000000", "new_password": PASSWORD }), &header)
            .await
            .expect_error(410, "code_invalid");
        send(app.path("/auth/accept-invite"), json!({ "code": "inv_nothing", "password": PASSWORD }), &header)
            .await
            .expect_error(404, "invite_not_found");
    }
);

db_test!(
    async fn signin_failures_from_one_ip_are_limited_across_identifiers(server) {
        let app = ConsumerApp::create(&server, "sprayed").await;
        app.signup_ok("judy", "judy@example.io").await;
        let sprayer = heimdall_tests::client_from("127.0.0.7");
        let signin = |identifier: String, password: &'static str| {
            let request = sprayer
                .post(server.url(&app.path("/auth/signin")))
                .json(&json!({ "identifier": identifier, "password": password }));
            TestServer::send(request)
        };
        // Password spraying: one guess each for 50 names, all from one address.
        let replies = futures::future::join_all((0..50).map(|i| signin(format!("victim-{i}"), "Summer2026!"))).await;
        for r in &replies {
            r.expect_error(401, "invalid_credentials");
        }
        for identifier in ["victim-50", "judy"] {
            let r = signin(identifier.to_owned(), PASSWORD).await;
            r.expect_error(429, "rate_limited");
            assert!(r.header("retry-after").is_some(), "{r}");
        }
        // Other addresses are not affected.
        app.signin_ok("judy", PASSWORD).await;
    }
);
