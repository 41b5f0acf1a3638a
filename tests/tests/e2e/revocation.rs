//! Instant revocation across instances: two servers on one database (and one public URL, so
//! one issuer); a session is opened and used on the first, ended on the second (logout, admin
//! revoke-all, suspension, password reset, `/me/sessions` revoke, account deletion), and the
//! first refuses its access token on the very next request.

use heimdall_tests::{
    Db, TestServer,
    authz::within_a_second,
    db_test,
    users::{ConsumerApp, PASSWORD, Tokens},
};
use reqwest::Method;
use serde_json::json;

/// Two instances behind one public URL, as a load balancer would present them.
async fn two_instances(db: Db) -> (TestServer, TestServer) {
    let public = || Some("http://heimdall.test".to_owned());
    let first = TestServer::spawn_with(db, |config| config.public_url = public()).await;
    let second = TestServer::try_spawn_on_same_db_with(&first, |config| config.public_url = public())
        .await
        .unwrap_or_else(|e| panic!("second instance: {e:#}"));
    (first, second)
}

db_test!(
    async fn a_session_ended_on_one_instance_is_refused_at_once_on_another(db: Db) {
        let (first, second) = two_instances(db).await;
        let a = ConsumerApp::create(&first, "shared").await;
        let b = a.via(&second);

        // Logout on B.
        let (_, alice) = a.signup_ok("alice", "alice@example.io").await;
        a.me(&alice.access).await.expect(200);
        b.me(&alice.access).await.expect(200);
        assert_eq!(b.logout(&alice.refresh).await.status, 204);
        a.me(&alice.access).await.expect_error(401, "session_revoked");
        a.refresh(&alice.refresh).await.expect_error(401, "invalid_refresh_token");

        // Admin revoke-all on B.
        let (bob_id, bob) = a.signup_ok("bob", "bob@example.io").await;
        a.me(&bob.access).await.expect(200);
        let path = b.admin_path(&format!("/end-users/{bob_id}/sessions/revoke-all"));
        assert_eq!(TestServer::send(second.request_as(&second.pak, Method::POST, &path)).await.status, 204);
        a.me(&bob.access).await.expect_error(401, "session_revoked");

        // Suspension on B.
        let (carol_id, carol) = a.signup_ok("carol", "carol@example.io").await;
        a.me(&carol.access).await.expect(200);
        second
            .patch(&b.admin_path(&format!("/end-users/{carol_id}/status")), &json!({ "status": "suspended" }))
            .await
            .expect(200);
        a.me(&carol.access).await.expect(401);
        a.signin("carol", PASSWORD).await.expect(403);

        // Password reset on B.
        let (_, dave) = a.verified_user("dave", "dave@example.io").await;
        a.me(&dave.access).await.expect(200);
        let code = b.code_for("request-password-reset", "dave@example.io").await;
        let r = b.post("/auth/reset-password", &json!({ "code": code, "new_password": "Brand-New-Secret-7" })).await;
        assert_eq!(r.status, 204, "{r}");
        a.me(&dave.access).await.expect_error(401, "session_revoked");

        // The user revokes one of their sessions through B.
        let erin = Tokens::from_reply(&a.signup("erin", "erin@example.io", PASSWORD).await, 201);
        let other = a.signin_ok("erin", PASSWORD).await;
        a.me(&erin.access).await.expect(200);
        let sid = a.claims(&erin.access).await.sid.unwrap();
        let r = second.delete_as(&other.access, &b.path(&format!("/me/sessions/{sid}"))).await;
        assert_eq!(r.status, 204, "{r}");
        a.me(&erin.access).await.expect_error(401, "session_revoked");
        a.me(&other.access).await.expect(200);

        // Deletion on B.
        let r = second.delete_as(&other.access, &b.path("/me")).await;
        assert_eq!(r.status, 204, "{r}");
        a.me(&other.access).await.expect(401);
    }
);

db_test!(
    async fn settings_changed_on_one_instance_apply_on_another(db: Db) {
        let (first, second) = two_instances(db).await;
        let a = ConsumerApp::create(&first, "mirrored").await;
        let b = a.via(&second);
        a.signup_ok("frank", "frank@example.io").await;
        a.signin_ok("frank", PASSWORD).await;
        b.signin_ok("frank", PASSWORD).await;

        b.configure(json!({ "signin_enabled": false })).await;
        a.signin("frank", PASSWORD).await.expect_error(403, "signin_disabled");
        b.configure(json!({ "signin_enabled": true })).await;

        // App status is cached per instance. On PostgreSQL a suspension on B reaches A within a
        // second; SQLite is a single-instance deployment, where the cache merely expires.
        b.set_status("suspended").await;
        b.signin("frank", PASSWORD).await.expect_error(403, "app_inactive");
        if db == Db::Postgres {
            within_a_second("suspension on B seen by A", || async { a.signin("frank", PASSWORD).await.status == 403 })
                .await;
            a.signin("frank", PASSWORD).await.expect_error(403, "app_inactive");
        }
    }
);
