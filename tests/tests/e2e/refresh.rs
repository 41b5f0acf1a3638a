//! Sessions after sign-in: refresh-token rotation, reuse detection (any reuse revokes the whole
//! session, unless the app's auth config grants a leeway and the reuse falls within it), exactly
//! one winner among concurrent refreshes,
//! logout, app scoping of refresh tokens, eviction beyond `max_sessions`, and session expiry.

use std::time::Duration;

use futures::future::join_all;
use heimdall_server::entity::session;
use heimdall_tests::{
    TestServer, db_test,
    users::{ConsumerApp, PASSWORD, Tokens},
};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::json;

db_test!(
    async fn refresh_rotates_the_refresh_token_within_the_same_session(server) {
        let app = ConsumerApp::create(&server, "rotating").await;
        let (user, first) = app.signup_ok("alice", "alice@example.io").await;
        let sid = app.claims(&first.access).await.sid;

        let second = Tokens::from_reply(&app.refresh(&first.refresh).await, 200);
        assert_ne!(second.refresh, first.refresh, "a new refresh token every time");
        assert_ne!(second.access, first.access);
        let claims = app.claims(&second.access).await;
        assert_eq!(claims.sid, sid, "same session");
        assert_eq!(claims.sub, user.to_string());
        assert_eq!(claims.role.as_deref(), Some("member"));
        app.me(&second.access).await.expect(200);

        let third = Tokens::from_reply(&app.refresh(&second.refresh).await, 200);
        assert_eq!(app.claims(&third.access).await.sid, sid);
        assert_eq!(app.end_user(user).await["active_session_count"], 1, "rotation opens no new session");

        // Garbage and unknown tokens are one plain 401.
        for garbage in ["", "garbage", "hrt_unknown", &format!("hrt_{}", "A".repeat(43)), &first.access] {
            app.refresh(garbage).await.expect_error(401, "invalid_refresh_token");
        }
    }
);

db_test!(
    async fn a_used_refresh_token_presented_again_revokes_the_whole_session(server) {
        // No leeway by default (RFC 9700 §4.14.2): the very next reuse ends the session.
        let app = ConsumerApp::create(&server, "reuse").await;
        let (user, first) = app.signup_ok("carol", "carol@example.io").await;
        let elsewhere = app.signin_ok("carol", PASSWORD).await;
        let second = Tokens::from_reply(&app.refresh(&first.refresh).await, 200);
        app.me(&second.access).await.expect(200);

        app.refresh(&first.refresh).await.expect_error(401, "refresh_token_reused");

        // Every token of that session is dead now, the newest one included.
        app.refresh(&second.refresh).await.expect_error(401, "invalid_refresh_token");
        app.me(&second.access).await.expect_error(401, "session_revoked");
        app.me(&first.access).await.expect_error(401, "session_revoked");
        // The user's other session is not touched.
        app.me(&elsewhere.access).await.expect(200);
        Tokens::from_reply(&app.refresh(&elsewhere.refresh).await, 200);

        let entries = app.audit("session.refresh_reuse_detected").await;
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0]["resource_id"], app.claims(&first.access).await.sid.unwrap().to_string());
        assert_eq!(entries[0]["details"]["end_user_id"], user.to_string());
    }
);

db_test!(
    async fn one_apps_reuse_grace_is_no_leeway_for_another_app(server) {
        // Another app's leeway is not this app's.
        let lenient = ConsumerApp::create(&server, "lenient").await;
        lenient.configure(json!({ "refresh_reuse_grace_seconds": 60 })).await;
        let app = ConsumerApp::create(&server, "strict").await;
        let (_, first) = app.signup_ok("ivan", "ivan@example.io").await;
        let second = Tokens::from_reply(&app.refresh(&first.refresh).await, 200);
        app.refresh(&first.refresh).await.expect_error(401, "refresh_token_reused");
        app.me(&second.access).await.expect_error(401, "session_revoked");
        app.refresh(&second.refresh).await.expect_error(401, "invalid_refresh_token");
    }
);

db_test!(
    async fn within_the_apps_reuse_grace_a_used_refresh_token_is_refused_without_ending_the_session(server) {
        let app = ConsumerApp::create(&server, "graceful").await;
        app.configure(json!({ "refresh_reuse_grace_seconds": 30 })).await;
        let (_, first) = app.signup_ok("bob", "bob@example.io").await;
        let second = Tokens::from_reply(&app.refresh(&first.refresh).await, 200);

        app.refresh(&first.refresh).await.expect_error(401, "refresh_token_reused");
        // The session lives on: its newest refresh token and access tokens still work.
        app.me(&second.access).await.expect(200);
        let third = Tokens::from_reply(&app.refresh(&second.refresh).await, 200);
        app.me(&third.access).await.expect(200);
        assert!(app.audit("session.refresh_reuse_detected").await.is_empty());
    }
);

db_test!(
    async fn after_the_apps_reuse_grace_a_used_refresh_token_revokes_the_whole_session(server) {
        let app = ConsumerApp::create(&server, "lapsed").await;
        app.configure(json!({ "refresh_reuse_grace_seconds": 1 })).await;
        let (_, first) = app.signup_ok("jane", "jane@example.io").await;
        let second = Tokens::from_reply(&app.refresh(&first.refresh).await, 200);

        tokio::time::sleep(Duration::from_millis(1_500)).await;
        app.refresh(&first.refresh).await.expect_error(401, "refresh_token_reused");
        app.refresh(&second.refresh).await.expect_error(401, "invalid_refresh_token");
        app.me(&second.access).await.expect_error(401, "session_revoked");
        assert_eq!(app.audit("session.refresh_reuse_detected").await.len(), 1);
    }
);

/// Twenty refreshes of one token at once: exactly one wins; the losers are told of the reuse —
/// or, once a reuse has revoked the session (`revoking`), that the token is no longer valid.
async fn race_one_refresh_token(server: &TestServer, app: &ConsumerApp<'_>, refresh: &str, revoking: bool) -> Tokens {
    // Open 20 connections first, so the refreshes leave together instead of one per handshake.
    let jwks = app.path("/.well-known/jwks.json");
    for r in join_all((0..20).map(|_| server.get_public(&jwks))).await {
        r.expect(200);
    }
    let replies = join_all((0..20).map(|_| app.refresh(refresh))).await;
    let winners: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    let mut reused = 0;
    for loser in replies.iter().filter(|r| r.status != 200) {
        if revoking && loser.body["code"] == "invalid_refresh_token" {
            continue;
        }
        loser.expect_error(401, "refresh_token_reused");
        reused += 1;
    }
    assert!(reused >= 1, "the first loser is told of the reuse");
    Tokens::from_reply(winners[0], 200)
}

db_test!(
    async fn concurrent_refreshes_of_one_token_yield_exactly_one_success(server) {
        // Without a leeway the losers are reuses like any other: the session ends.
        let app = ConsumerApp::create(&server, "racing").await;
        let (_, tokens) = app.signup_ok("dave", "dave@example.io").await;
        let winner = race_one_refresh_token(&server, &app, &tokens.refresh, true).await;
        app.me(&winner.access).await.expect_error(401, "session_revoked");
        app.refresh(&winner.refresh).await.expect_error(401, "invalid_refresh_token");

        // With the app's leeway the losers are the same client racing itself: the session
        // survives with the winner.
        let lenient = ConsumerApp::create(&server, "racing-lenient").await;
        lenient.configure(json!({ "refresh_reuse_grace_seconds": 30 })).await;
        let (_, tokens) = lenient.signup_ok("dave", "dave@example.io").await;
        let winner = race_one_refresh_token(&server, &lenient, &tokens.refresh, false).await;
        lenient.me(&winner.access).await.expect(200);
        Tokens::from_reply(&lenient.refresh(&winner.refresh).await, 200);
    }
);

db_test!(
    async fn logout_ends_the_session_and_answers_204_for_unknown_tokens(server) {
        let app = ConsumerApp::create(&server, "leaving").await;
        let (_, tokens) = app.signup_ok("erin", "erin@example.io").await;
        let other = app.signin_ok("erin", PASSWORD).await;
        app.me(&tokens.access).await.expect(200);

        let r = app.logout(&tokens.refresh).await;
        assert_eq!(r.status, 204, "{r}");
        assert!(r.text.is_empty(), "{r}");
        app.me(&tokens.access).await.expect_error(401, "session_revoked");
        app.refresh(&tokens.refresh).await.expect_error(401, "invalid_refresh_token");
        app.me(&other.access).await.expect(200);

        let sid = app.claims(&tokens.access).await.sid.unwrap().to_string();
        let entries = app.audit("session.logout").await;
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0]["resource_id"], sid);

        for unknown in [tokens.refresh.as_str(), "hrt_unknown", "garbage", ""] {
            assert_eq!(app.logout(unknown).await.status, 204, "{unknown:?}");
        }
        assert_eq!(app.audit("session.logout").await.len(), 1, "logging out twice is not audited twice");
    }
);

db_test!(
    async fn refresh_tokens_of_one_app_do_nothing_at_another(server) {
        let a = ConsumerApp::create(&server, "app-a").await;
        let b = ConsumerApp::create(&server, "app-b").await;
        let (_, tokens) = a.signup_ok("frank", "frank@example.io").await;
        b.signup_ok("frank", "frank@example.io").await;

        b.refresh(&tokens.refresh).await.expect_error(401, "invalid_refresh_token");
        assert_eq!(b.logout(&tokens.refresh).await.status, 204);
        // Still A's live session.
        a.me(&tokens.access).await.expect(200);
        Tokens::from_reply(&a.refresh(&tokens.refresh).await, 200);
    }
);

db_test!(
    async fn signing_in_beyond_max_sessions_evicts_the_oldest_session(server) {
        let app = ConsumerApp::create(&server, "crowded").await;
        app.configure(json!({ "max_sessions": 2 })).await;
        let (user, oldest) = app.signup_ok("gina", "gina@example.io").await;
        let middle = app.signin_ok("gina", PASSWORD).await;
        app.me(&oldest.access).await.expect(200);
        let newest = app.signin_ok("gina", PASSWORD).await;

        app.me(&oldest.access).await.expect_error(401, "session_revoked");
        app.refresh(&oldest.refresh).await.expect_error(401, "invalid_refresh_token");
        app.me(&middle.access).await.expect(200);
        app.me(&newest.access).await.expect(200);
        assert_eq!(app.end_user(user).await["active_session_count"], 2);

        // Refreshing does not count as a new session; the next sign-in evicts the middle one.
        let refreshed = Tokens::from_reply(&app.refresh(&middle.refresh).await, 200);
        app.me(&newest.access).await.expect(200);
        let latest = app.signin_ok("gina", PASSWORD).await;
        app.me(&refreshed.access).await.expect_error(401, "session_revoked");
        app.me(&newest.access).await.expect(200);
        app.me(&latest.access).await.expect(200);
        assert_eq!(app.end_user(user).await["active_session_count"], 2);
    }
);

db_test!(
    async fn sessions_last_session_duration_minutes_and_then_refuse_refresh_and_me(server) {
        let app = ConsumerApp::create(&server, "mortal").await;
        app.configure(json!({ "session_duration_minutes": 60 })).await;
        let (_, tokens) = app.signup_ok("hank", "hank@example.io").await;
        let sid = app.claims(&tokens.access).await.sid.unwrap();
        let r = app.get_as(&tokens.access, "/me/sessions").await;
        let expires: chrono::DateTime<chrono::Utc> = r.expect(200)["data"][0]["expires_at"].as_str().unwrap().parse().unwrap();
        let minutes = (expires - chrono::Utc::now()).num_minutes();
        assert!((58..=60).contains(&minutes), "the session lives 60 minutes: {r}");

        // Time passes: the session ends.
        let row = session::Entity::find_by_id(sid).one(&server.state().db).await.unwrap().expect("session row");
        let mut row = row.into_active_model();
        row.expires_at = Set(chrono::Utc::now() - chrono::Duration::seconds(1));
        row.update(&server.state().db).await.unwrap();
        app.refresh(&tokens.refresh).await.expect_error(401, "invalid_refresh_token");
        app.me(&tokens.access).await.expect_error(401, "session_revoked");
        app.signin_ok("hank", PASSWORD).await;
    }
);
