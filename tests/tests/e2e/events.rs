//! The change feed: every audited change is a CloudEvents event of its app's feed, numbered
//! without gaps; a consumer that resumes after the last `seq` it saw gets every event once and
//! in order — across pages, filters, long-polls, concurrent writers on two instances
//! (PostgreSQL) and the retention sweep.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use heimdall_tests::users::ConsumerApp;
use heimdall_tests::{Db, TestServer, db_test};
use serde_json::{Value, json};
use uuid::Uuid;

/// Reads the app's whole feed after `after`, `limit` at a time.
async fn replay(server: &TestServer, app: Uuid, after: i64, limit: u32) -> Vec<Value> {
    let mut events = Vec::new();
    let mut after = after;
    loop {
        let page = server.get(&format!("/v1/apps/{app}/events?after={after}&limit={limit}")).await;
        let page = page.expect(200);
        let data = page["data"].as_array().expect("data").clone();
        assert!(data.len() <= limit as usize);
        if let Some(last) = data.last() {
            assert_eq!(page["next_after"], last["seq"]);
        } else {
            assert_eq!(page["next_after"], after);
        }
        after = page["next_after"].as_i64().unwrap();
        let more = page["has_more"].as_bool().unwrap();
        events.extend(data);
        if !more {
            return events;
        }
    }
}

fn types(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

db_test!(
    async fn a_replay_consumer_sees_every_change_of_a_journey_once_and_in_order(server) {
        let app = ConsumerApp::create(&server, "feed").await;
        let (alice, _) = app.signup_ok("alice", "alice@example.com").await;
        app.signin("alice", "not her password").await.expect(401);
        app.signin_ok("alice", heimdall_tests::users::PASSWORD).await;
        server.patch(&app.admin_path(""), &json!({ "display_name": "Feed 2" })).await.expect(200);
        server.delete(&app.admin_path(&format!("/end-users/{alice}"))).await.expect(204);

        let events = replay(&server, app.id, 0, 2).await;
        let n = events.len() as i64;
        assert_eq!(seqs(&events), (1..=n).collect::<Vec<_>>(), "numbered 1, 2, 3… without gaps");
        let ids: BTreeSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), events.len(), "event ids are unique");

        // One event per audit entry, in the order the changes happened.
        let audit = server.get(&app.admin_path("/audit-logs?limit=200")).await;
        let mut actions: Vec<String> = audit.expect(200)["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| format!("heimdall.{}", e["action"].as_str().unwrap()))
            .collect();
        actions.reverse();
        assert_eq!(types(&events), actions);
        let journey: Vec<String> = types(&events)
            .into_iter()
            .filter(|t| {
                [
                    "heimdall.app.created",
                    "heimdall.end_user.signup",
                    "heimdall.end_user.signin_failed",
                    "heimdall.end_user.signin",
                    "heimdall.app.updated",
                    "heimdall.end_user.deleted",
                ]
                .contains(&t.as_str())
            })
            .collect();
        assert_eq!(
            journey,
            [
                "heimdall.app.created",
                "heimdall.end_user.signup",
                "heimdall.end_user.signin_failed",
                "heimdall.end_user.signin",
                "heimdall.app.updated",
                "heimdall.end_user.deleted",
            ]
        );

        // CloudEvents envelopes.
        for e in &events {
            assert_eq!(e["specversion"], "1.0");
            assert_eq!(e["source"], format!("{}/feed", server.base), "the app's issuer");
            assert_eq!(e["datacontenttype"], "application/json");
            assert!(e["id"].as_str().unwrap().parse::<Uuid>().is_ok());
            assert!(e["time"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().is_ok());
        }
        let signup = events.iter().find(|e| e["type"] == "heimdall.end_user.signup").unwrap();
        assert_eq!(signup["subject"], format!("end_user/{alice}"));
        assert_eq!(signup["data"]["resource"], json!({ "type": "end_user", "id": alice.to_string() }));
        let text = serde_json::to_string(&events).unwrap();
        assert!(!text.contains(heimdall_tests::users::PASSWORD) && !text.contains("not her password"), "no secret");
        assert!(!text.contains("127.0.0.1\""), "no client address: {text}");

        // Resuming after any position gives exactly the rest.
        let rest = replay(&server, app.id, 3, 100).await;
        assert_eq!(seqs(&rest), (4..=n).collect::<Vec<_>>());
        assert!(replay(&server, app.id, n, 100).await.is_empty());

        // A type filter keeps the order and the numbers.
        let page = server
            .get(&app.admin_path("/events?type=heimdall.end_user.signup,heimdall.end_user.deleted"))
            .await;
        let filtered = page.expect(200)["data"].as_array().unwrap().clone();
        assert_eq!(types(&filtered), ["heimdall.end_user.signup", "heimdall.end_user.deleted"]);
        assert!(seqs(&filtered)[0] < seqs(&filtered)[1]);

        // Another app's feed is its own.
        let other = ConsumerApp::create(&server, "other-feed").await;
        assert_eq!(seqs(&replay(&server, other.id, 0, 100).await), [1]);
        assert_eq!(replay(&server, app.id, 0, 1000).await.len() as i64, n, "unchanged by the other app");

        // Clear refusals.
        for (query, parameter) in [("after=-1", "after"), ("limit=0", "limit"), ("wait=31", "wait"), ("type=app.created", "type")] {
            let r = server.get(&app.admin_path(&format!("/events?{query}"))).await;
            let body = r.expect(400);
            assert!(body.to_string().contains(parameter), "{query}: {body}");
        }
        // The permission guards it.
        let (without, _) = server.insert_app_key(app.id, &["audit_log.read"]).await;
        server.get_as(&without, &app.admin_path("/events")).await.expect(403);
        let (with, _) = server.insert_app_key(app.id, &["event.read"]).await;
        server.get_as(&with, &app.admin_path("/events")).await.expect(200);
    }
);

db_test!(
    async fn a_long_poll_returns_when_the_next_change_commits(db: Db) {
        let writer = TestServer::spawn(db).await;
        // On PostgreSQL the waiting read is served by another instance, woken through NOTIFY.
        let second = if db == Db::Postgres { Some(TestServer::spawn_on_same_db(&writer).await) } else { None };
        let reader = second.as_ref().unwrap_or(&writer);
        let app = ConsumerApp::create(&writer, "polled").await;
        let last = replay(reader, app.id, 0, 100).await.last().unwrap()["seq"].as_i64().unwrap();

        // Nothing new: an empty page after the wait.
        let started = Instant::now();
        let empty = reader.get(&app.admin_path(&format!("/events?after={last}&wait=1"))).await;
        assert_eq!(empty.expect(200)["data"], json!([]));
        assert!(started.elapsed() >= Duration::from_millis(900), "waited: {:?}", started.elapsed());

        let path = app.admin_path(&format!("/events?after={last}&wait=20"));
        let poll = reader.get(&path);
        let change = async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            writer.patch(&app.admin_path(""), &json!({ "display_name": "Polled 2" })).await.expect(200);
        };
        let started = Instant::now();
        let (page, ()) = tokio::join!(poll, change);
        let waited = started.elapsed();
        let data = page.expect(200)["data"].as_array().unwrap().clone();
        assert_eq!(types(&data), ["heimdall.app.updated"]);
        assert_eq!(seqs(&data), [last + 1]);
        assert!(waited < Duration::from_secs(5), "woken by the change, not the timeout: {waited:?}");
    }
);

db_test!(
    async fn concurrent_writers_on_every_instance_leave_no_gap_and_a_live_consumer_misses_nothing(db: Db) {
        let first = TestServer::spawn(db).await;
        let second = if db == Db::Postgres { Some(TestServer::spawn_on_same_db(&first).await) } else { None };
        let servers: Vec<&TestServer> = std::iter::once(&first).chain(second.as_ref()).collect();
        let app = ConsumerApp::create(&first, "busy").await;
        let start = replay(&first, app.id, 0, 100).await.len() as i64;
        const WRITES: i64 = 40;

        // A consumer long-polling from the last instance while the writes land on all of them.
        let reader = *servers.last().unwrap();
        let consumer = async {
            let mut seen = Vec::new();
            let mut after = start;
            let deadline = Instant::now() + Duration::from_secs(60);
            while (seen.len() as i64) < WRITES && Instant::now() < deadline {
                let page = reader.get(&app.admin_path(&format!("/events?after={after}&limit=7&wait=5"))).await;
                let page = page.expect(200);
                after = page["next_after"].as_i64().unwrap();
                seen.extend(page["data"].as_array().unwrap().iter().cloned());
            }
            seen
        };
        let writes = futures::future::join_all((0..WRITES).map(|i| {
            let server = servers[i as usize % servers.len()];
            let path = app.admin_path("/roles");
            async move {
                server.post(&path, &json!({ "name": format!("role-{i}") })).await.expect(201);
            }
        }));
        let (seen, _) = tokio::join!(consumer, writes);
        assert_eq!(seqs(&seen), ((start + 1)..=(start + WRITES)).collect::<Vec<_>>(), "every event once, in order");
        let names: BTreeSet<String> =
            seen.iter().map(|e| e["data"]["resource"]["id"].as_str().unwrap_or_default().to_owned()).collect();
        assert_eq!(names.len() as i64, WRITES, "one event per created role: {names:?}");
        assert!(seen.iter().all(|e| e["type"] == "heimdall.role.created"));
        assert_eq!(replay(&first, app.id, 0, 1000).await.len() as i64, start + WRITES);
    }
);

db_test!(
    async fn the_retention_sweep_drops_old_events_and_numbering_goes_on(db: Db) {
        let server = TestServer::spawn_with(db, |c| c.event_retention = Duration::from_secs(1)).await;
        let app = ConsumerApp::create(&server, "swept").await;
        let before = replay(&server, app.id, 0, 100).await;
        assert!(!before.is_empty());
        tokio::time::sleep(Duration::from_millis(1100)).await;
        heimdall_server::startup::maintain(server.state()).await;
        assert!(replay(&server, app.id, 0, 100).await.is_empty(), "older than the retention");
        server.patch(&app.admin_path(""), &json!({ "display_name": "Swept 2" })).await.expect(200);
        let after = replay(&server, app.id, 0, 100).await;
        assert_eq!(seqs(&after), [before.len() as i64 + 1], "the numbering does not restart");
    }
);
