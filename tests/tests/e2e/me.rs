//! `/{slug}/v1/me…`, the signed-in end-user's own surface: profile, sessions (with the
//! `current` flag and paging), revoking one session, activity, deleting the account, and the
//! bearer lane refusing missing, foreign and forged tokens.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use heimdall_server::tokens;
use heimdall_tests::{
    TestServer, db_test,
    users::{ConsumerApp, PASSWORD},
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

async fn patch_me(app: &ConsumerApp<'_>, token: &str, body: Value) -> heimdall_tests::Reply {
    app.server.patch_as(token, &app.path("/me"), &body).await
}

async fn delete_as(app: &ConsumerApp<'_>, token: &str, rest: &str) -> heimdall_tests::Reply {
    app.server.delete_as(token, &app.path(rest)).await
}

db_test!(
    async fn me_returns_and_updates_the_signed_in_profile(server) {
        let app = ConsumerApp::create(&server, "profile").await;
        let (user, tokens) = app.signup_ok("alice", "alice@example.io").await;

        let r = app.me(&tokens.access).await;
        let me = r.expect(200).clone();
        assert_eq!(me, app.end_user(user).await, "the same summary as the admin API");
        assert_eq!(me["id"], user.to_string());
        assert_eq!(me["username"], "alice");
        assert_eq!(me["role"], "member");
        assert_eq!(me["display_name"], Value::Null);

        let r = patch_me(&app, &tokens.access, json!({ "display_name": "  Alice Liddell " })).await;
        assert_eq!(r.expect(200)["display_name"], "Alice Liddell");
        assert_eq!(app.me(&tokens.access).await["display_name"], "Alice Liddell");
        // Leaving the field out changes nothing; an empty string clears it.
        assert_eq!(patch_me(&app, &tokens.access, json!({})).await.expect(200)["display_name"], "Alice Liddell");
        assert_eq!(patch_me(&app, &tokens.access, json!({ "display_name": "" })).await.expect(200)["display_name"], Value::Null);
        assert_eq!(app.end_user(user).await["display_name"], Value::Null);
        let r = patch_me(&app, &tokens.access, json!({ "display_name": "x".repeat(121) })).await;
        r.expect(400);
        r.assert_error_shape();
        // Only the profile is the user's to change.
        let r = patch_me(&app, &tokens.access, json!({ "display_name": "Alice", "role": "owner", "status": "active" })).await;
        assert_eq!(r.expect(200)["role"], "member");
        assert_eq!(app.audit("end_user.profile_updated").await.len(), 3);
    }
);

db_test!(
    async fn me_refuses_missing_forged_and_foreign_tokens(server) {
        let a = ConsumerApp::create(&server, "home").await;
        let b = ConsumerApp::create(&server, "abroad").await;
        let (_, tokens) = a.signup_ok("bob", "bob@example.io").await;
        b.signup_ok("bob", "bob@example.io").await;

        a.server.get_public(&a.path("/me")).await.expect_error(401, "unauthorized");
        for token in ["garbage", server.pak.as_str(), "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."] {
            let r = a.me(token).await;
            r.expect(401);
            r.assert_error_shape();
        }
        // Another app's token, even for the same person.
        let r = b.me(&tokens.access).await;
        r.expect(401);
        r.assert_error_shape();
        let r = TestServer::send(server.request_as(&tokens.access, Method::GET, &b.path("/me/sessions"))).await;
        r.expect(401);
        // A forged role claim breaks the signature.
        let mut parts: Vec<String> = tokens.access.split('.').map(str::to_owned).collect();
        let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        payload["role"] = json!("owner");
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
        a.me(&parts.join(".")).await.expect(401);
        // The genuine token still works.
        a.me(&tokens.access).await.expect(200);
    }
);

db_test!(
    async fn me_sessions_lists_live_sessions_with_the_current_one_flagged(server) {
        let app = ConsumerApp::create(&server, "devices").await;
        let (_, first) = app.signup_ok("carol", "carol@example.io").await;
        let second = app.signin_ok("carol", PASSWORD).await;
        let third = app.signin_ok("carol", PASSWORD).await;
        let mut sids = Vec::new();
        for t in [&first, &second, &third] {
            sids.push(app.claims(&t.access).await.sid.expect("end-user tokens carry sid").to_string());
        }

        let r = app.get_as(&second.access, "/me/sessions").await;
        let page = r.expect(200);
        let data = page["data"].as_array().unwrap();
        let ids: Vec<&str> = data.iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(ids, sids.iter().map(String::as_str).collect::<Vec<_>>(), "oldest first");
        let current: Vec<bool> = data.iter().map(|s| s["current"].as_bool().unwrap()).collect();
        assert_eq!(current, [false, true, false]);
        for session in data {
            assert_eq!(session["ip"], "127.0.0.1");
            for field in ["created_at", "last_used_at", "expires_at"] {
                assert!(session[field].as_str().is_some_and(|t| t.parse::<chrono::DateTime<chrono::Utc>>().is_ok()), "{session}");
            }
        }
        assert_eq!(page["pagination"], json!({ "has_more": false, "next_cursor": null }));

        let r = app.get_as(&third.access, "/me/sessions?limit=2").await;
        let page = r.expect(200);
        assert_eq!(page["data"].as_array().unwrap().len(), 2);
        assert_eq!(page["pagination"]["has_more"], true);
        let cursor = page["pagination"]["next_cursor"].as_str().unwrap();
        let r = app.get_as(&third.access, &format!("/me/sessions?limit=2&cursor={cursor}")).await;
        let rest = r.expect(200);
        assert_eq!(rest["data"].as_array().unwrap().len(), 1);
        assert_eq!(rest["data"][0]["id"], sids[2].as_str());
        assert_eq!(rest["data"][0]["current"], true);
        assert_eq!(rest["pagination"]["has_more"], false);
    }
);

db_test!(
    async fn revoking_one_of_my_sessions_ends_only_that_session(server) {
        let app = ConsumerApp::create(&server, "signout").await;
        let (_, first) = app.signup_ok("dave", "dave@example.io").await;
        let second = app.signin_ok("dave", PASSWORD).await;
        let (_, stranger) = app.signup_ok("erin", "erin@example.io").await;
        let first_sid = app.claims(&first.access).await.sid.unwrap();
        let stranger_sid = app.claims(&stranger.access).await.sid.unwrap();

        let r = delete_as(&app, &second.access, &format!("/me/sessions/{first_sid}")).await;
        assert_eq!(r.status, 204, "{r}");
        app.me(&first.access).await.expect_error(401, "session_revoked");
        app.refresh(&first.refresh).await.expect_error(401, "invalid_refresh_token");
        app.me(&second.access).await.expect(200);
        let listed = app.get_as(&second.access, "/me/sessions").await;
        assert_eq!(listed.expect(200)["data"].as_array().unwrap().len(), 1);

        // Gone, someone else's or unknown: 404, and the other user's session lives on.
        for sid in [first_sid, stranger_sid, Uuid::now_v7()] {
            delete_as(&app, &second.access, &format!("/me/sessions/{sid}")).await.expect_error(404, "not_found");
        }
        app.me(&stranger.access).await.expect(200);
        assert_eq!(app.audit("session.revoked").await.len(), 1);

        // Revoking the current session signs this client out.
        let second_sid = app.claims(&second.access).await.sid.unwrap();
        assert_eq!(delete_as(&app, &second.access, &format!("/me/sessions/{second_sid}")).await.status, 204);
        app.me(&second.access).await.expect_error(401, "session_revoked");
    }
);

db_test!(
    async fn me_activity_lists_my_own_sign_ins_newest_first(server) {
        let app = ConsumerApp::create(&server, "history").await;
        let (user, _) = app.signup_ok("frank", "frank@example.io").await;
        app.signin("frank", "Wrong-Password-1").await.expect_error(401, "invalid_credentials");
        let tokens = app.signin_ok("frank", PASSWORD).await;
        // Someone else's sign-in is not in frank's activity.
        app.signup_ok("gina", "gina@example.io").await;
        app.signin_ok("gina", PASSWORD).await;

        let r = app.get_as(&tokens.access, "/me/activity").await;
        let page = r.expect(200);
        let actions: Vec<&str> = page["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["end_user.signin", "end_user.signin_failed", "end_user.signup"], "{r}");
        assert!(page["data"].as_array().unwrap().iter().all(|e| e["actor_id"] == user.to_string()));
        assert!(!r.text.contains("Wrong-Password-1"));

        let r = app.get_as(&tokens.access, "/me/activity?limit=1").await;
        assert_eq!(r.expect(200)["data"].as_array().unwrap().len(), 1);
        assert_eq!(r["pagination"]["has_more"], true);
        let cursor = r["pagination"]["next_cursor"].as_str().unwrap().to_owned();
        let r = app.get_as(&tokens.access, &format!("/me/activity?limit=5&cursor={cursor}")).await;
        assert_eq!(r.expect(200)["data"].as_array().unwrap().len(), 2);
    }
);

db_test!(
    async fn deleting_my_account_ends_every_session_and_sign_in(server) {
        let app = ConsumerApp::create(&server, "farewell").await;
        let (user, first) = app.signup_ok("henry", "henry@example.io").await;
        let second = app.signin_ok("henry", PASSWORD).await;

        let r = delete_as(&app, &first.access, "/me").await;
        assert_eq!(r.status, 204, "{r}");
        for tokens in [&first, &second] {
            app.me(&tokens.access).await.expect(401);
            app.refresh(&tokens.refresh).await.expect_error(401, "invalid_refresh_token");
        }
        app.signin("henry", PASSWORD).await.expect_error(401, "invalid_credentials");
        server.get(&app.admin_path(&format!("/end-users/{user}"))).await.expect_error(404, "not_found");
        let entries = app.audit("end_user.deleted").await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["resource_id"], user.to_string());
        assert_eq!(entries[0]["actor_id"], user.to_string());
        // The name is free again.
        app.signup_ok("henry", "henry@example.io").await;
    }
);

db_test!(
    async fn me_refusals_carry_a_bearer_challenge_for_the_app(server) {
        let app = ConsumerApp::create(&server, "challenged").await;
        let (_, tokens) = app.signup_ok("carol", "carol@example.io").await;
        let challenge = |r: &heimdall_tests::Reply| r.header("www-authenticate").map(str::to_owned);

        // No token at all: poem-openapi's own refusal, reshaped, with the challenge.
        for (method, rest) in [(Method::GET, "/me"), (Method::GET, "/me/sessions"), (Method::DELETE, "/me")] {
            let r = TestServer::send(server.request(method.clone(), &app.path(rest))).await;
            r.expect_error(401, "unauthorized");
            assert_eq!(challenge(&r).as_deref(), Some("Bearer realm=\"challenged\""), "{method} {rest} → {r}");
        }
        // A token that is not one: invalid_token.
        let invalid = Some("Bearer realm=\"challenged\", error=\"invalid_token\"".to_owned());
        for token in ["garbage", server.pak.as_str()] {
            let r = app.me(token).await;
            r.expect_error(401, "unauthorized");
            assert_eq!(challenge(&r), invalid, "{r}");
        }
        // An expired one.
        let mut claims = app.claims(&tokens.access).await;
        claims.exp = claims.iat - 3600;
        claims.iat -= 7200;
        let expired = tokens::sign(server.state(), app.id, &claims).await.expect("sign");
        let r = app.me(&expired).await;
        r.expect_error(401, "token_expired");
        assert_eq!(challenge(&r), invalid, "{r}");
        // A revoked one (its session ended by logout).
        app.me(&tokens.access).await.expect(200);
        app.logout(&tokens.refresh).await;
        let r = app.me(&tokens.access).await;
        r.expect_error(401, "session_revoked");
        assert_eq!(challenge(&r), invalid, "{r}");
        let r = TestServer::send(server.request_as(&tokens.access, Method::DELETE, &app.path("/me"))).await;
        r.expect(401);
        assert_eq!(challenge(&r), invalid, "{r}");
    }
);
