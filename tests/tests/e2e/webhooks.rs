//! Webhooks: a local receiver on 127.0.0.1 (allowed by the test servers'
//! `HEIMDALL_WEBHOOK_ALLOW_NETWORKS`) checks every delivery's Standard Webhooks signature and
//! sees each event of a journey once and in `seq` order — from one instance, and from two
//! sharing the work (PostgreSQL); failures are retried on the schedule, an endpoint failing
//! through it is disabled and resumes when enabled again; redelivery, secret rotation, the
//! delivery log, and the address guard. A receiver built on the Python `standardwebhooks`
//! package verifies Heimdall's signatures too.

use std::collections::BTreeSet;
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use base64::{Engine, engine::general_purpose::STANDARD};
use heimdall_server::config::Config;
use heimdall_tests::users::ConsumerApp;
#[allow(unused_imports)]
use heimdall_tests::{Db, TestServer, db_test};
use serde_json::{Value, json};
use uuid::Uuid;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Delivery {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

impl Delivery {
    fn event(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Whether one of the `v1,` signatures is `secret`'s of this delivery.
    fn signed_by(&self, secret: &str) -> bool {
        let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
        let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
        let mut signed = format!("{}.{}.", self.id, self.timestamp).into_bytes();
        signed.extend_from_slice(&self.body);
        let expected = format!("v1,{}", STANDARD.encode(hmac::sign(&key, &signed).as_ref()));
        self.signature.split(' ').any(|s| s == expected)
    }
}

#[derive(Default)]
struct Inbox {
    got: Mutex<Vec<Delivery>>,
    /// Requests still to answer 500 (then 204).
    failures: AtomicUsize,
}

/// A webhook receiver on 127.0.0.1 that records every request.
struct Receiver {
    url: String,
    inbox: Arc<Inbox>,
}

impl Receiver {
    async fn start() -> Receiver {
        let inbox = Arc::new(Inbox::default());
        let app = axum::Router::new()
            .route(
                "/hook",
                post(|State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes| async move {
                    let header =
                        |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
                    inbox.got.lock().unwrap().push(Delivery {
                        id: header("webhook-id"),
                        timestamp: header("webhook-timestamp"),
                        signature: header("webhook-signature"),
                        body: body.to_vec(),
                    });
                    let fail = inbox.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
                    if fail.is_ok() { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::NO_CONTENT }
                }),
            )
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, inbox }
    }

    fn got(&self) -> Vec<Delivery> {
        self.inbox.got.lock().unwrap().clone()
    }

    /// Waits (up to 30 s) until `done` holds for what arrived.
    async fn until(&self, what: &str, done: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.got();
            if done(&got) {
                return got;
            }
            assert!(Instant::now() < deadline, "{what}: not after 30 s; got {got:#?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Loopback allowed, retries after 100 ms and 200 ms.
fn configure(config: &mut Config) {
    config.webhooks.allow_networks = vec!["127.0.0.0/8".parse().unwrap()];
    config.webhooks.retry_schedule = vec![Duration::from_millis(100), Duration::from_millis(200)];
}

/// Creates an endpoint; answers its id and secret.
async fn endpoint(server: &TestServer, app: Uuid, body: Value) -> (Uuid, String) {
    let reply = server.post(&format!("/v1/apps/{app}/webhooks"), &body).await;
    let created = reply.expect(201);
    assert!(created["webhook"].get("secret").is_none());
    (created["webhook"]["id"].as_str().unwrap().parse().unwrap(), created["secret"].as_str().unwrap().to_owned())
}

/// The app's feed from the endpoint's creation on (its first event is `webhook.created`).
async fn feed_since_creation(server: &TestServer, app: Uuid) -> Vec<Value> {
    let reply = server.get(&format!("/v1/apps/{app}/events?limit=1000")).await;
    let events = reply.expect(200)["data"].as_array().unwrap().clone();
    let start = events.iter().position(|e| e["type"] == "heimdall.webhook.created").expect("webhook.created");
    events[start..].to_vec()
}

fn ids(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
}

db_test!(
    async fn a_receiver_gets_every_event_of_a_journey_once_in_order_and_signed(db: Db) {
        let server = TestServer::spawn_with(db, configure).await;
        let receiver = Receiver::start().await;
        let app = ConsumerApp::create(&server, "hooks").await;
        let (_, secret) = endpoint(&server, app.id, json!({ "url": receiver.url, "description": "all" })).await;
        assert!(secret.starts_with("whsec_"));
        let (alice, _) = app.signup_ok("alice", "alice@example.com").await;
        app.signin("alice", "not her password").await.expect(401);
        app.signin_ok("alice", heimdall_tests::users::PASSWORD).await;
        server.patch(&app.admin_path(""), &json!({ "display_name": "Hooks 2" })).await.expect(200);
        server.delete(&app.admin_path(&format!("/end-users/{alice}"))).await.expect(204);

        let feed = feed_since_creation(&server, app.id).await;
        assert_eq!(feed.len(), 6, "{feed:#?}");
        let got = receiver.until("every event", |got| got.len() >= feed.len()).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let got_now = receiver.got();
        assert_eq!(got_now.len(), feed.len(), "nothing twice");
        assert_eq!(
            got.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
            ids(&feed),
            "in seq order; webhook-id = event id"
        );
        for (delivery, event) in got.iter().zip(&feed) {
            assert!(delivery.signed_by(&secret), "signature of {}", delivery.id);
            let age = chrono::Utc::now().timestamp() - delivery.timestamp.parse::<i64>().unwrap();
            assert!((0..60).contains(&age));
            assert_eq!(&delivery.event(), event, "the body is the feed's CloudEvent");
        }
        // The delivery log, newest first.
        let reply = server.get(&format!("/v1/apps/{}/webhooks", app.id)).await;
        let id = reply.expect(200)["data"][0]["id"].as_str().unwrap().to_owned();
        let log = server.get(&format!("/v1/apps/{}/webhooks/{id}/attempts?limit=2", app.id)).await;
        let log = log.expect(200);
        assert_eq!(log["data"][0]["event_seq"], feed.last().unwrap()["seq"]);
        assert_eq!(log["data"][0]["status_code"], 204);
        assert_eq!(log["data"][0]["succeeded"], true);
        assert!(log["pagination"]["has_more"].as_bool().unwrap());
    }
);

db_test!(
    async fn an_endpoint_gets_only_the_event_types_it_subscribes_to(db: Db) {
        let server = TestServer::spawn_with(db, configure).await;
        let receiver = Receiver::start().await;
        let app = ConsumerApp::create(&server, "filtered").await;
        endpoint(&server, app.id, json!({ "url": receiver.url, "event_types": ["heimdall.end_user.*"] })).await;
        server.patch(&app.admin_path(""), &json!({ "display_name": "Skipped" })).await.expect(200);
        app.signup_ok("bob", "bob@example.com").await;
        let got = receiver.until("the sign-up", |got| !got.is_empty()).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.got().len(), 1);
        assert_eq!(got[0].event()["type"], "heimdall.end_user.signup");
    }
);

db_test!(
    async fn failures_are_retried_and_an_endpoint_failing_throughout_is_disabled_until_enabled(db: Db) {
        let server = TestServer::spawn_with(db, configure).await;
        let receiver = Receiver::start().await;
        let app = ConsumerApp::create(&server, "retries").await;
        receiver.inbox.failures.store(2, Ordering::SeqCst);
        let (id, _) = endpoint(&server, app.id, json!({ "url": receiver.url })).await;
        // webhook.created: 500, 500, then 204 after the two retries.
        let got = receiver.until("three attempts", |got| got.len() >= 3).await;
        assert!(got.iter().all(|d| d.id == got[0].id), "the same event, the same webhook-id");
        let path = format!("/v1/apps/{}/webhooks/{id}", app.id);
        let reply = server.get(&format!("{path}/attempts")).await;
        let log = reply.expect(200);
        let statuses: Vec<i64> =
            log["data"].as_array().unwrap().iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
        assert_eq!(statuses, [204, 500, 500], "newest first");

        // Failing through the whole schedule (1 + 2 attempts) disables the endpoint.
        receiver.inbox.failures.store(1000, Ordering::SeqCst);
        app.signup_ok("carol", "carol@example.com").await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let reply = server.get(&path).await;
            let webhook = reply.expect(200);
            if webhook["enabled"] == false {
                assert_eq!(webhook["disabled_reason"], "failing");
                break;
            }
            assert!(Instant::now() < deadline, "never disabled: {webhook}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(receiver.got().len(), 6);
        let reply = server.get(&format!("/v1/apps/{}/events?type=heimdall.webhook.disabled", app.id)).await;
        let disabled = reply.expect(200);
        assert_eq!(disabled["data"][0]["subject"], format!("webhook/{id}"));
        assert_eq!(disabled["data"][0]["data"]["actor"]["type"], "system");

        // Enabled again, it resumes with the event it stopped on.
        receiver.inbox.failures.store(0, Ordering::SeqCst);
        server.patch(&path, &json!({ "enabled": true })).await.expect(200);
        let got = receiver
            .until("the sign-up delivered", |got| {
                got.iter().any(|d| d.event()["type"] == "heimdall.end_user.signup" && got.len() >= 7)
            })
            .await;
        let signup = got.iter().rev().find(|d| d.event()["type"] == "heimdall.end_user.signup").unwrap();
        assert_eq!(got[3].id, signup.id, "the failed sign-up event, again");
    }
);

db_test!(
    async fn redelivery_sends_one_event_again_with_its_id(db: Db) {
        let server = TestServer::spawn_with(db, configure).await;
        let receiver = Receiver::start().await;
        let app = ConsumerApp::create(&server, "redeliver").await;
        let (id, secret) = endpoint(&server, app.id, json!({ "url": receiver.url })).await;
        let got = receiver.until("webhook.created", |got| !got.is_empty()).await;
        let seq = got[0].event()["seq"].as_i64().unwrap();
        let path = format!("/v1/apps/{}/webhooks/{id}/redeliver", app.id);
        let reply = server.post(&path, &json!({ "seq": seq })).await;
        let attempt = reply.expect(200);
        assert_eq!((attempt["succeeded"].clone(), attempt["manual"].clone()), (json!(true), json!(true)));
        let got = receiver.until("the redelivery", |got| got.len() >= 2).await;
        assert_eq!(got[1].id, got[0].id);
        assert!(got[1].signed_by(&secret));
        let reply = server.post(&path, &json!({ "seq": 999 })).await;
        assert_eq!(reply.expect(404)["code"], "event_not_found");
        let reply = server
            .post(&format!("/v1/apps/{}/webhooks/{}/redeliver", app.id, Uuid::now_v7()), &json!({ "seq": seq }))
            .await;
        assert_eq!(reply.expect(404)["code"], "webhook_not_found");
    }
);

db_test!(
    async fn a_rotated_secret_signs_beside_the_previous_one_through_the_overlap(db: Db) {
        let server = TestServer::spawn_with(db, configure).await;
        let receiver = Receiver::start().await;
        let app = ConsumerApp::create(&server, "rotation").await;
        let (id, old) = endpoint(&server, app.id, json!({ "url": receiver.url })).await;
        let reply = server.post(&format!("/v1/apps/{}/webhooks/{id}/rotate-secret", app.id), &json!({})).await;
        let rotated = reply.expect(200);
        let new = rotated["secret"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        assert!(rotated["webhook"]["previous_secret_expires_at"].is_string());
        app.signup_ok("dave", "dave@example.com").await;
        let got = receiver
            .until("the sign-up", |got| got.iter().any(|d| d.event()["type"] == "heimdall.end_user.signup"))
            .await;
        let signup = got.iter().find(|d| d.event()["type"] == "heimdall.end_user.signup").unwrap();
        assert!(signup.signed_by(&new) && signup.signed_by(&old), "{}", signup.signature);
        assert_eq!(signup.signature.split(' ').count(), 2);
    }
);

db_test!(
    async fn internal_destinations_are_refused_unless_the_operator_allows_them(server) {
        let app = ConsumerApp::create(&server, "guarded").await;
        let path = format!("/v1/apps/{}/webhooks", app.id);
        for (url, code) in [
            ("http://127.0.0.1:9/hook", "webhook_destination_forbidden"),
            ("http://localhost:9/hook", "webhook_destination_forbidden"),
            ("http://[::1]:9/hook", "webhook_destination_forbidden"),
            ("http://169.254.169.254/latest", "webhook_destination_forbidden"),
            ("ftp://example.com/hook", "webhook_url_invalid"),
            ("https://user:pw@example.com/hook", "webhook_url_invalid"),
        ] {
            let reply = server.post(&path, &json!({ "url": url })).await;
            assert_eq!(reply.expect(400)["code"], code, "{url}");
        }
        let reply = server.post(&path, &json!({ "url": "https://hooks.example.com/x", "event_types": ["end_user"] })).await;
        assert_eq!(reply.expect(400)["code"], "validation_failed");

        // A name that resolves to a loopback address is refused when delivering.
        let receiver = Receiver::start().await;
        let url = receiver.url.replace("127.0.0.1", "vm");
        let (id, _) = endpoint(&server, app.id, json!({ "url": url })).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        let error = loop {
            let reply = server.get(&format!("{path}/{id}/attempts")).await;
            let log = reply.expect(200);
            if let Some(error) = log["data"][0]["error"].as_str() {
                break error.to_owned();
            }
            assert!(Instant::now() < deadline, "no attempt logged");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(error.contains("127.0.0.1"), "{error}");
        assert!(receiver.got().is_empty());
    }
);

db_test!(
    async fn webhook_admin_changes_are_audited_and_a_deleted_endpoint_gets_nothing(db: Db) {
        let server = TestServer::spawn_with(db, configure).await;
        let receiver = Receiver::start().await;
        let app = ConsumerApp::create(&server, "adminhooks").await;
        let (id, _) =
            endpoint(&server, app.id, json!({ "url": receiver.url, "event_types": ["heimdall.end_user.signup"] }))
                .await;
        let path = format!("/v1/apps/{}/webhooks/{id}", app.id);
        let reply = server.patch(&path, &json!({ "description": "signups", "enabled": false })).await;
        let updated = reply.expect(200);
        assert_eq!((updated["description"].clone(), updated["enabled"].clone()), (json!("signups"), json!(false)));
        assert!(updated.get("disabled_reason").is_none());
        server.delete(&path).await.expect(204);
        assert_eq!(server.get(&path).await.expect(404)["code"], "webhook_not_found");
        app.signup_ok("erin", "erin@example.com").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(receiver.got().is_empty());
        let reply = server.get(&format!("/v1/apps/{}/audit-logs?limit=10", app.id)).await;
        let audit = reply.expect(200);
        let actions: BTreeSet<&str> =
            audit["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        for action in ["webhook.created", "webhook.updated", "webhook.deleted"] {
            assert!(actions.contains(action), "{action}: {actions:?}");
        }
    }
);

db_test!(
    postgres_only async fn two_instances_deliver_each_event_once_in_order(db: Db) {
        let first = TestServer::spawn_with(db, configure).await;
        let second = TestServer::try_spawn_on_same_db_with(&first, configure).await.unwrap();
        let receiver = Receiver::start().await;
        let app = ConsumerApp::create(&first, "hookstwo").await;
        let (_, secret) = endpoint(&first, app.id, json!({ "url": receiver.url })).await;
        let writers = (0..40).map(|i| {
            let app = app.via(if i % 2 == 0 { &first } else { &second });
            async move { app.signup_ok(&format!("user{i}"), &format!("user{i}@example.com")).await }
        });
        futures::future::join_all(writers).await;
        let feed = feed_since_creation(&first, app.id).await;
        assert_eq!(feed.len(), 41);
        receiver.until("every event", |got| got.len() >= feed.len()).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let got = receiver.got();
        assert_eq!(got.iter().map(|d| d.id.clone()).collect::<Vec<_>>(), ids(&feed), "each event once, in seq order");
        assert!(got.iter().all(|d| d.signed_by(&secret)));
    }
);

/// The Python of the clients' venv (`clients/run.sh` makes it), when it has `standardwebhooks`.
fn python_with_standardwebhooks() -> Option<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = std::env::var_os("HEIMDALL_CLIENTS_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("clients/.venv"));
    let python = venv.join("bin/python");
    let ok =
        std::process::Command::new(&python).args(["-c", "import standardwebhooks"]).status().is_ok_and(|s| s.success());
    ok.then_some(python)
}

db_test!(
    async fn the_standard_webhooks_reference_library_verifies_every_delivery(db: Db) {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let Some(python) = python_with_standardwebhooks() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "no clients/.venv with standardwebhooks (clients/run.sh installs clients/python/requirements.txt)"
            );
            eprintln!("skipped: no clients/.venv with standardwebhooks (run clients/run.sh)");
            return;
        };
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/python/webhook_receiver.py");
        let mut child = tokio::process::Command::new(python)
            .arg(script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next_line().await.unwrap().unwrap();
        let port = first.strip_prefix("PORT ").expect("PORT line");

        let server = TestServer::spawn_with(db, configure).await;
        let app = ConsumerApp::create(&server, "pyhooks").await;
        let (id, secret) = endpoint(&server, app.id, json!({ "url": format!("http://127.0.0.1:{port}/hook") })).await;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{secret}\n").as_bytes()).await.unwrap();
        stdin.flush().await.unwrap();
        app.signup_ok("frank", "frank@example.com").await;
        server.post(&format!("/v1/apps/{}/webhooks/{id}/rotate-secret", app.id), &json!({})).await.expect(200);
        // After the rotation both signatures are sent; the library accepts the old secret's.
        app.signup_ok("grace", "grace@example.com").await;

        let feed = feed_since_creation(&server, app.id).await;
        assert_eq!(feed.len(), 4, "{feed:#?}");
        let mut seen = Vec::new();
        while seen.len() < feed.len() {
            let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
            let line: Value = serde_json::from_str(&line.expect("a delivery within 30 s").unwrap().unwrap()).unwrap();
            assert_eq!(line["ok"], true, "standardwebhooks refused a delivery: {line}");
            seen.push(line["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(seen, ids(&feed));
    }
);

db_test!(
    postgres_only async fn a_stopping_instance_s_deliveries_are_taken_over_without_loss(db: Db) {
        let first = TestServer::spawn_with(db, configure).await;
        let second = TestServer::try_spawn_on_same_db_with(&first, configure).await.unwrap();
        let receiver = Receiver::start().await;
        let app = ConsumerApp::create(&second, "takeover").await;
        endpoint(&second, app.id, json!({ "url": receiver.url })).await;
        for i in 0..10 {
            app.via(&second).signup_ok(&format!("early{i}"), &format!("early{i}@example.com")).await;
        }
        // The first instance stops (SIGTERM) while events are being delivered; the second
        // carries on from the saved cursor.
        first.signal_stop();
        for i in 0..10 {
            app.via(&second).signup_ok(&format!("late{i}"), &format!("late{i}@example.com")).await;
        }
        let feed = feed_since_creation(&second, app.id).await;
        assert_eq!(feed.len(), 21);
        receiver.until("every event", |got| got.len() >= feed.len()).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let got: Vec<String> = receiver.got().iter().map(|d| d.id.clone()).collect();
        assert_eq!(got, ids(&feed), "each event once, in seq order");
    }
);
