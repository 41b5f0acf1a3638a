//! Two instances on one database: a change made through instance A (role permissions, role
//! assignment, client scopes, client deactivation and deletion, logout, admin revoke-all,
//! suspension, token revocation, app suspension) is reflected by `/authorize` and `/verify` on
//! instance B within a second, even though B had already cached what it knew — also when the
//! notification never arrives or the listening connection dies. On PostgreSQL that is
//! `LISTEN/NOTIFY`'s job, backed by the change-sequence poll. SQLite is single-instance by design (DESIGN §4: no change
//! feed between processes), so these tests exist on PostgreSQL only; the same changes on one
//! instance are tested on both databases in `authorize.rs`, `credentials.rs` and `oauth.rs`.

use std::time::Duration;

use heimdall_server::config::Config;
use heimdall_tests::{
    Db, TestServer,
    authz::within_a_second,
    db_test,
    users::{ConsumerApp, Tokens},
};
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

/// Instance A, and instance B on A's database behind the same public URL (as behind a load
/// balancer), so both accept the same issuer.
async fn pair(db: Db) -> (TestServer, TestServer) {
    pair_with(db, |_| {}).await
}

/// [`pair`], with B's configuration adjusted by `configure`.
async fn pair_with(db: Db, configure: impl FnOnce(&mut Config)) -> (TestServer, TestServer) {
    let a = TestServer::spawn(db).await;
    let public_url = a.base.clone();
    let b = TestServer::try_spawn_on_same_db_with(&a, |config| {
        config.public_url = Some(public_url);
        configure(config);
    })
    .await
    .unwrap_or_else(|e| panic!("second instance failed to start: {e:#}"));
    assert_eq!(a.state().issuer("x"), b.state().issuer("x"));
    (a, b)
}

/// Lets members read `docs.read` and signs up `name`, a member.
async fn reader(app: &ConsumerApp<'_>, name: &str) -> (Uuid, Tokens) {
    app.create_permission("docs.read").await;
    app.grant("member", &["docs.read"]).await;
    app.signup_ok(name, &format!("{name}@example.com")).await
}

db_test!(
    postgres_only async fn role_permission_changes_through_one_instance_apply_on_another(db: Db) {
        let (a, b) = pair(db).await;
        let on_a = ConsumerApp::create(&a, "coh-roles").await;
        let on_b = on_a.via(&b);
        on_a.create_permissions(&["docs.read", "docs.write"]).await;
        on_a.create_role("editor").await;
        on_a.grant("editor", &["docs.write"]).await;
        let (user, tokens) = on_a.signup_ok("amy", "amy@example.com").await;
        let token = tokens.access.as_str();

        // B learns the token, the session and the role.
        assert!(!on_b.allows(token, "docs.read").await);

        on_a.grant("member", &["docs.read"]).await;
        within_a_second("granted permission on B", || on_b.allows(token, "docs.read")).await;

        on_a.grant("member", &[]).await;
        within_a_second("removed permission on B", || async { !on_b.allows(token, "docs.read").await }).await;

        on_a.assign(user, "editor").await.expect(200);
        within_a_second("new role on B", || on_b.allows(token, "docs.write")).await;
        assert_eq!(on_b.authorize(token, "docs.write").await["role"], "editor");

        // A custom permission deleted on A leaves the role on B as well.
        assert_eq!(a.delete(&on_a.admin_path("/permissions/docs.write")).await.status, 204);
        within_a_second("deleted permission on B", || async { !on_b.allows(token, "docs.write").await }).await;

        // And the other way round: a change through B reaches A, which had cached it too.
        assert!(!on_a.allows(token, "docs.read").await);
        on_b.grant("editor", &["docs.read"]).await;
        within_a_second("granted through B, seen on A", || on_a.allows(token, "docs.read")).await;
    }
);

db_test!(
    postgres_only async fn client_scope_and_activity_changes_through_one_instance_apply_on_another(db: Db) {
        let (a, b) = pair(db).await;
        let on_a = ConsumerApp::create(&a, "coh-clients").await;
        let on_b = on_a.via(&b);
        let client = on_a.create_client("svc", &["docs.read", "docs.write"]).await;
        // Issued by B, so B's own client cache is warm as well.
        let token = on_b.m2m_token(&client).await;
        assert!(on_b.allows(&token, "docs.write").await);

        on_a.set_client_scopes(&client, &["docs.read"]).await;
        within_a_second("narrowed scopes on B", || async { !on_b.allows(&token, "docs.write").await }).await;
        assert!(on_b.allows(&token, "docs.read").await);
        let r = on_b.client_token(&client, None).await;
        assert_eq!(r.expect(200)["scope"], "docs.read", "B issues tokens with the new scopes: {r}");

        on_a.set_client_active(&client, false).await;
        within_a_second("deactivated client on B", || async {
            on_b.authorize_error(&token, "docs.read").await.as_deref() == Some("CLIENT_INACTIVE")
        })
        .await;
        let r = on_b.client_token(&client, None).await;
        assert_eq!(r.status, 401, "B refuses the deactivated client new tokens: {r}");

        on_a.set_client_active(&client, true).await;
        within_a_second("reactivated client on B", || on_b.allows(&token, "docs.read")).await;

        // A rotated secret stops working on B at once.
        let rotate =
            a.request_as(&a.pak, Method::POST, &on_a.admin_path(&format!("/credentials/{}/rotate", client.id)));
        TestServer::send(rotate).await.expect(200);
        within_a_second("old secret refused on B", || async { on_b.client_token(&client, None).await.status == 401 })
            .await;

        assert_eq!(a.delete(&on_a.admin_path(&format!("/credentials/{}", client.id))).await.status, 204);
        within_a_second("deleted client on B", || async {
            on_b.verify_token(&token).await.body["error"] == "CLIENT_INACTIVE"
        })
        .await;
    }
);

db_test!(
    postgres_only async fn session_ends_through_one_instance_apply_on_another(db: Db) {
        let (a, b) = pair(db).await;
        let on_a = ConsumerApp::create(&a, "coh-sessions").await;
        let on_b = on_a.via(&b);
        let (user, first) = reader(&on_a, "ben").await;
        let second = on_a.signin_ok("ben", heimdall_tests::users::PASSWORD).await;
        assert!(on_b.allows(&first.access, "docs.read").await);
        assert!(on_b.allows(&second.access, "docs.read").await);

        assert_eq!(on_a.logout(&first.refresh).await.status, 204);
        within_a_second("logout on B", || async {
            on_b.verify_token(&first.access).await.body["error"] == "TOKEN_REVOKED"
        })
        .await;
        assert!(on_b.allows(&second.access, "docs.read").await, "only that session ended");

        let revoke_all =
            a.request_as(&a.pak, Method::POST, &on_a.admin_path(&format!("/end-users/{user}/sessions/revoke-all")));
        assert_eq!(TestServer::send(revoke_all).await.status, 204);
        within_a_second("revoke-all on B", || async {
            on_b.verify_token(&second.access).await.body["error"] == "TOKEN_REVOKED"
        })
        .await;

        let third = on_a.signin_ok("ben", heimdall_tests::users::PASSWORD).await;
        assert!(on_b.allows(&third.access, "docs.read").await);
        a.patch(&on_a.admin_path(&format!("/end-users/{user}/status")), &json!({ "status": "suspended" }))
            .await
            .expect(200);
        within_a_second("suspension on B", || async { !on_b.allows(&third.access, "docs.read").await }).await;
        assert_eq!(on_b.verify_error(&third.access).await, "ACCOUNT_SUSPENDED");
    }
);

db_test!(
    postgres_only async fn token_revocation_and_app_suspension_through_one_instance_apply_on_another(db: Db) {
        let (a, b) = pair(db).await;
        let on_a = ConsumerApp::create(&a, "coh-revoke").await;
        let on_b = on_a.via(&b);
        let worker = on_a.create_client("worker", &["docs.read"]).await;
        let token = on_a.m2m_token(&worker).await;
        let (_, user) = on_a.signup_ok("cat", "cat@example.com").await;
        assert!(on_b.allows(&token, "docs.read").await);
        assert_eq!(on_b.verify_token(&user.access).await["valid"], true);

        let r = on_a
            .post(
                "/oauth/revoke",
                &json!({ "token": token, "client_id": worker.client_id, "client_secret": worker.secret }),
            )
            .await;
        r.expect(200);
        within_a_second("revoked M2M token on B", || async {
            on_b.verify_token(&token).await.body["error"] == "TOKEN_REVOKED"
        })
        .await;

        on_a.set_status("suspended").await;
        within_a_second("suspended app on B", || async {
            on_b.verify_token(&user.access).await.body["error"] == "APP_INACTIVE"
        })
        .await;
        on_a.set_status("active").await;
        within_a_second("reactivated app on B", || async {
            on_b.verify_token(&user.access).await.body["valid"] == true
        })
        .await;
    }
);

db_test!(
    postgres_only async fn a_missed_notification_is_caught_by_the_change_sequence_poll(db: Db) {
        // B polls fast so the test does not wait the default 5 s.
        let (a, b) = pair_with(db, |config| config.coherence_poll_interval = Duration::from_millis(100)).await;
        let on_a = ConsumerApp::create(&a, "coh-poll").await;
        let on_b = on_a.via(&b);
        let (_, tokens) = reader(&on_a, "cal").await;
        assert!(on_b.allows(&tokens.access, "docs.read").await, "B caches the session");

        // An instance revokes the session and numbers the change, but its NOTIFY never arrives
        // (it died, or B's listening connection is half-open).
        let db = &a.state().db;
        db.execute_unprepared("UPDATE sessions SET revoked_at = now(), revoke_reason = 'test'").await.unwrap();
        assert!(on_b.allows(&tokens.access, "docs.read").await, "without a notification B still trusts its cache");
        db.execute_unprepared("SELECT nextval('heimdall_change_seq')").await.unwrap();
        within_a_second("missed revocation on B", || async { !on_b.allows(&tokens.access, "docs.read").await })
            .await;
        assert_eq!(on_b.verify_error(&tokens.access).await, "TOKEN_REVOKED");
    }
);

db_test!(
    postgres_only async fn a_killed_listening_connection_is_replaced_and_nothing_is_missed(db: Db) {
        let (a, b) = pair(db).await;
        let on_a = ConsumerApp::create(&a, "coh-killed").await;
        let on_b = on_a.via(&b);
        let (_, tokens) = reader(&on_a, "dee").await;
        assert!(on_b.allows(&tokens.access, "docs.read").await, "B caches the session");

        // Every instance's LISTEN connection dies (a failover, a network cut).
        let killed = a
            .state()
            .db
            .execute_unprepared(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
            )
            .await
            .unwrap();
        assert!(killed.rows_affected() >= 2, "both listeners were found: {}", killed.rows_affected());

        // A change made meanwhile still reaches B: reconnecting clears its caches, and the
        // new listener hears what follows.
        assert_eq!(on_a.logout(&tokens.refresh).await.status, 204);
        within_a_second("logout on B after its listener died", || async {
            on_b.verify_token(&tokens.access).await.body["error"] == "TOKEN_REVOKED"
        })
        .await;
        let second = on_a.signin_ok("dee", heimdall_tests::users::PASSWORD).await;
        assert!(on_b.allows(&second.access, "docs.read").await);
        on_a.grant("member", &[]).await;
        within_a_second("role change on B over the new listener", || async {
            !on_b.allows(&second.access, "docs.read").await
        })
        .await;
    }
);
