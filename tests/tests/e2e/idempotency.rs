//! `Idempotency-Key` on `POST /v1/apps`: a retry replays the first answer without creating
//! anything, a different body under the same key is refused, failures do not poison the key,
//! keys are per credential, and racing retries never create twice.

use heimdall_tests::{Db, Reply, TestServer, db_test};
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

async fn create_with_key(server: &TestServer, pak: &str, key: &str, body: &Value) -> Reply {
    TestServer::send(server.request_as(pak, Method::POST, "/v1/apps").header("Idempotency-Key", key).json(body)).await
}

async fn app_count(server: &TestServer) -> usize {
    server.get("/v1/apps").await.expect(200)["data"].as_array().unwrap().len()
}

db_test!(
    async fn a_retried_create_returns_the_first_response_and_creates_once(server) {
        let body = json!({ "display_name": "Once", "slug": "once" });
        let first = create_with_key(&server, &server.pak, "retry-1", &body).await;
        let second = create_with_key(&server, &server.pak, "retry-1", &body).await;
        assert_eq!(first.expect(201), second.expect(201), "the replay is the first response");
        assert_ne!(first.request_id(), second.request_id());
        assert_eq!(app_count(&server).await, 1);
        let log = server.get(&format!("/v1/apps/{}/audit-logs", first["id"].as_str().unwrap())).await;
        assert_eq!(log.expect(200)["data"].as_array().unwrap().len(), 1, "created (and audited) once");

        // Without a key, the same body is a new request (and conflicts).
        server.post("/v1/apps", &body).await.expect_error(409, "slug_taken");
        // Another key is another request.
        create_with_key(&server, &server.pak, "retry-2", &body).await.expect_error(409, "slug_taken");
    }
);

db_test!(
    async fn reusing_a_key_with_a_different_body_returns_422(server) {
        let first = create_with_key(&server, &server.pak, "reused", &json!({ "display_name": "A", "slug": "first-body" })).await;
        first.expect(201);
        let r = create_with_key(&server, &server.pak, "reused", &json!({ "display_name": "A", "slug": "second-body" })).await;
        r.expect_error(422, "idempotency_key_reused");
        assert_eq!(app_count(&server).await, 1);
        // The original body still replays.
        let again = create_with_key(&server, &server.pak, "reused", &json!({ "display_name": "A", "slug": "first-body" })).await;
        assert_eq!(again.expect(201), first.expect(201));
    }
);

db_test!(
    async fn a_failed_create_does_not_poison_its_key(server) {
        let blocker = server.create_app("contested").await;
        let body = json!({ "display_name": "Mine", "slug": "contested" });
        create_with_key(&server, &server.pak, "after-conflict", &body).await.expect_error(409, "slug_taken");
        // Retrying while the conflict stands fails the same way, not as "in progress" or replayed.
        create_with_key(&server, &server.pak, "after-conflict", &body).await.expect_error(409, "slug_taken");
        // Once the slug is free, the same key and body succeed.
        server.delete(&format!("/v1/apps/{}", blocker["id"].as_str().unwrap())).await.expect(204);
        let created = create_with_key(&server, &server.pak, "after-conflict", &body).await;
        assert_eq!(created.expect(201)["slug"], "contested");
        assert_ne!(created["id"], blocker["id"]);
        // A validation failure leaves the key unused too: the corrected request may reuse it, and
        // from then on the key belongs to the corrected body.
        let invalid = json!({ "display_name": "Mine", "slug": "docs" });
        create_with_key(&server, &server.pak, "after-invalid", &invalid).await.expect_error(400, "validation_failed");
        let fixed = json!({ "display_name": "Mine", "slug": "fixed-slug" });
        create_with_key(&server, &server.pak, "after-invalid", &fixed).await.expect(201);
        create_with_key(&server, &server.pak, "after-invalid", &invalid).await.expect_error(422, "idempotency_key_reused");
    }
);

db_test!(
    async fn idempotency_keys_belong_to_one_credential(server) {
        let (theirs, _) = server.other_workspace("other").await;
        let ours = create_with_key(&server, &server.pak, "shared-key", &json!({ "display_name": "Ours", "slug": "ours-1" })).await;
        ours.expect(201);
        // The same key from another credential is an unrelated request: no 422, no replay of ours.
        let r = create_with_key(&server, &theirs, "shared-key", &json!({ "display_name": "Theirs", "slug": "theirs-1" })).await;
        assert_eq!(r.expect(201)["slug"], "theirs-1");
        let r = create_with_key(&server, &theirs, "shared-key", &json!({ "display_name": "Ours", "slug": "ours-1" })).await;
        r.expect_error(422, "idempotency_key_reused");
    }
);

db_test!(
    async fn concurrent_retries_with_one_key_create_one_app(server) {
        let body = json!({ "display_name": "Racy", "slug": "racy-create" });
        let replies = futures::future::join_all((0..4).map(|_| create_with_key(&server, &server.pak, "race", &body))).await;
        let mut ids = Vec::new();
        for r in &replies {
            match r.status {
                201 => ids.push(r["id"].clone()),
                _ => {
                    r.expect_error(409, "idempotency_request_in_progress");
                }
            }
        }
        assert!(!ids.is_empty(), "one of them created the app");
        assert!(ids.iter().all(|id| *id == ids[0]), "every success is the same app: {ids:?}");
        assert_eq!(app_count(&server).await, 1);
        // Afterwards the key replays.
        let r = create_with_key(&server, &server.pak, "race", &body).await;
        assert_eq!(r.expect(201)["id"], ids[0]);
    }
);

db_test!(
    async fn malformed_idempotency_keys_return_400(server) {
        let body = json!({ "display_name": "K", "slug": "key-check" });
        for key in ["has space", &"k".repeat(256)] {
            let r = create_with_key(&server, &server.pak, key, &body).await;
            r.expect_error(400, "validation_failed");
        }
        assert_eq!(app_count(&server).await, 0);
        create_with_key(&server, &server.pak, &"k".repeat(255), &body).await.expect(201);
    }
);

db_test!(
    async fn a_create_abandoned_by_its_client_completes_once_and_its_retry_replays_it(server) {
        // Another writer holds the apps table, so the create waits on it whatever the machine's
        // speed, and the client's short timeout fires while the server is still working.
        let blocker = heimdall_server::db::begin_write(&server.state().db).await.unwrap();
        if server.db() == Db::Postgres {
            blocker.execute_unprepared("LOCK TABLE apps IN SHARE ROW EXCLUSIVE MODE").await.unwrap();
        }
        let body = json!({ "display_name": "Slow", "slug": "slow-create" });
        let abandoned = server
            .request_as(&server.pak, Method::POST, "/v1/apps")
            .header("Idempotency-Key", "abandoned")
            .json(&body)
            .timeout(std::time::Duration::from_millis(20))
            .send()
            .await;
        assert!(abandoned.is_err(), "the client gave up before the answer: {abandoned:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        blocker.rollback().await.unwrap();

        // Retries see "in progress" at most until the original finishes, never a stuck key.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let replay = loop {
            let r = create_with_key(&server, &server.pak, "abandoned", &body).await;
            if r.status != 409 || std::time::Instant::now() > deadline {
                break r;
            }
            r.expect_error(409, "idempotency_request_in_progress");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        assert_eq!(replay.expect(201)["slug"], "slow-create");
        assert_eq!(app_count(&server).await, 1);
        let again = create_with_key(&server, &server.pak, "abandoned", &body).await;
        assert_eq!(again.expect(201), replay.expect(201));
    }
);
