//! NATS JetStream delivery of the change feed: a real JetStream consumer on 127.0.0.1:4222 sees
//! every event of a journey once, in `seq` order, on `<prefix>.<slug>.<resource>.<verb>` with
//! `Nats-Msg-Id` = the event id — from one instance, and from two instances sharing the work
//! (PostgreSQL). Each test uses a stream and subject prefix of its own and deletes the stream.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use heimdall_server::config::{Config, NatsSettings};
use heimdall_tests::users::ConsumerApp;
#[allow(unused_imports)]
use heimdall_tests::{Db, TestServer, db_test};
use serde_json::{Value, json};
use uuid::Uuid;

const NATS_URL: &str = "nats://127.0.0.1:4222";

/// A stream and subject prefix used by one test only; the test deletes the stream at its end.
struct Stream {
    js: jetstream::Context,
    settings: NatsSettings,
}

impl Stream {
    async fn new() -> Stream {
        let client = async_nats::connect(NATS_URL).await.expect("NATS JetStream at 127.0.0.1:4222 (see DESIGN.md §4)");
        let tag = Uuid::now_v7().simple().to_string();
        let settings = NatsSettings {
            url: NATS_URL.into(),
            stream: format!("HEIMDALL_TEST_{tag}"),
            subject_prefix: format!("heimdall_test_{tag}"),
        };
        Stream { js: jetstream::new(client), settings }
    }

    fn configure(&self) -> impl FnOnce(&mut Config) + use<> {
        let settings = self.settings.clone();
        move |config| config.nats = Some(settings)
    }

    /// The first `count` messages of the stream (panics after 30 s), as (subject, msg id, event).
    async fn read(&self, count: usize) -> Vec<(String, String, Value)> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let stream = loop {
            match self.js.get_stream(&self.settings.stream).await {
                Ok(stream) => break stream,
                Err(e) => {
                    assert!(Instant::now() < deadline, "the server never created the stream: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        let consumer = stream
            .create_consumer(pull::Config { ack_policy: jetstream::consumer::AckPolicy::None, ..Default::default() })
            .await
            .unwrap();
        let mut messages = consumer.messages().await.unwrap();
        let mut seen = Vec::new();
        while seen.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            let next = tokio::time::timeout(left, messages.next()).await;
            let Ok(Some(message)) = next else {
                panic!("{} of {count} messages after 30 s: {seen:#?}", seen.len());
            };
            let message = message.unwrap();
            let id = message
                .headers
                .as_ref()
                .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
                .map(|v| v.as_str().to_owned())
                .expect("Nats-Msg-Id");
            seen.push((message.subject.to_string(), id, serde_json::from_slice(&message.payload).unwrap()));
        }
        // Nothing more arrives: each event was stored once.
        let extra = tokio::time::timeout(Duration::from_millis(500), messages.next()).await;
        assert!(extra.is_err(), "an extra message: {extra:?}");
        seen
    }
}

impl Stream {
    /// Deletes the stream (a failed test leaves its stream behind, named for the test run).
    async fn delete(self) {
        self.js.delete_stream(&self.settings.stream).await.expect("deleting the test stream");
    }
}

/// The app's whole feed from the replay API.
async fn feed(server: &TestServer, app: Uuid) -> Vec<Value> {
    let reply = server.get(&format!("/v1/apps/{app}/events?limit=1000")).await;
    let page = reply.expect(200);
    page["data"].as_array().unwrap().clone()
}

fn check_delivery(stream: &Stream, slug: &str, feed: &[Value], seen: &[(String, String, Value)]) {
    assert_eq!(seen.len(), feed.len());
    for ((subject, id, event), expected) in seen.iter().zip(feed) {
        // The source is the delivering instance's issuer: test instances differ by port.
        let (mut event, mut expected) = (event.clone(), expected.clone());
        assert!(event["source"].as_str().unwrap().ends_with(&format!("/{slug}")));
        event["source"] = Value::Null;
        expected["source"] = Value::Null;
        assert_eq!(event, expected, "the message is the feed's CloudEvent");
        assert_eq!(id, expected["id"].as_str().unwrap(), "Nats-Msg-Id is the event id");
        let kind = expected["type"].as_str().unwrap().strip_prefix("heimdall.").unwrap();
        assert_eq!(subject, &format!("{}.{slug}.{kind}", stream.settings.subject_prefix));
    }
}

db_test!(
    async fn a_jetstream_consumer_sees_every_event_of_a_journey_once_and_in_order(db: Db) {
        let stream = Stream::new().await;
        let server = TestServer::spawn_with(db, stream.configure()).await;
        let app = ConsumerApp::create(&server, "natsfeed").await;
        let (alice, _) = app.signup_ok("alice", "alice@example.com").await;
        app.signin("alice", "not her password").await.expect(401);
        app.signin_ok("alice", heimdall_tests::users::PASSWORD).await;
        server.patch(&app.admin_path(""), &json!({ "display_name": "Nats 2" })).await.expect(200);
        server.delete(&app.admin_path(&format!("/end-users/{alice}"))).await.expect(204);

        let feed = feed(&server, app.id).await;
        assert!(feed.len() >= 6, "{feed:#?}");
        let seen = stream.read(feed.len()).await;
        check_delivery(&stream, "natsfeed", &feed, &seen);
        drop(server);
        stream.delete().await;
    }
);

db_test!(
    postgres_only async fn two_instances_publish_each_event_once_in_order(db: Db) {
        let stream = Stream::new().await;
        let first = TestServer::spawn_with(db, stream.configure()).await;
        let second = TestServer::try_spawn_on_same_db_with(&first, stream.configure()).await.unwrap();
        let app = ConsumerApp::create(&first, "natstwo").await;
        let writers = (0..40).map(|i| {
            let server = if i % 2 == 0 { &first } else { &second };
            let app = app.via(server);
            async move { app.signup_ok(&format!("user{i}"), &format!("user{i}@example.com")).await }
        });
        futures::future::join_all(writers).await;
        let feed = feed(&first, app.id).await;
        assert_eq!(feed.len(), 41, "app.created and 40 sign-ups");
        let seen = stream.read(feed.len()).await;
        check_delivery(&stream, "natstwo", &feed, &seen);
        drop((first, second));
        stream.delete().await;
    }
);
