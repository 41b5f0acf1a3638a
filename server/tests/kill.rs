//! `kill -9` of the delivering instance: the real `heimdall` binary delivers a burst of 10,000
//! changes to a webhook receiver and to NATS JetStream, is killed with SIGKILL midway, and the
//! delivery resumes from the saved cursors — on SQLite by the restarted instance, on PostgreSQL
//! by another instance, which can claim the cursors because the killed instance's row locks went
//! with its connection. The webhook receiver sees every event, in `seq` order, and at most the
//! one event in flight twice, with the same `webhook-id` (at-least-once; receivers dedupe by id);
//! a JetStream consumer sees every event exactly once, in order (a republished event carries the
//! same `Nats-Msg-Id`, which the stream dedupes); and a consumer of the replay API pages through
//! every event once, gap-free.
//!
//! The PostgreSQL case runs when `HEIMDALL_TEST_DATABASE_URL` names a server (and fails without
//! one under `HEIMDALL_TEST_REQUIRE_POSTGRES=1`), on a database of its own, dropped at the end.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const CHANGES: usize = 10_000;
const NATS_URL: &str = "nats://127.0.0.1:4222";

/// Each request's `webhook-id` and the event's `seq`, in arrival order.
type Inbox = Arc<Mutex<Vec<(String, i64)>>>;

/// A minimal HTTP/1.1 webhook receiver on 127.0.0.1 (keep-alive, 204 after 1 ms: with delivery
/// one event at a time, slower than the burst).
async fn receiver() -> (SocketAddr, Inbox) {
    let inbox: Inbox = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let got = inbox.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let got = got.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut read = BufReader::new(read);
                loop {
                    let (mut id, mut length) = (String::new(), 0usize);
                    loop {
                        let mut line = String::new();
                        if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            match name.to_ascii_lowercase().as_str() {
                                "webhook-id" => id = value.trim().to_owned(),
                                "content-length" => length = value.trim().parse().unwrap(),
                                _ => {}
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    if read.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let event: Value = serde_json::from_slice(&body).unwrap();
                    got.lock().unwrap().push((id, event["seq"].as_i64().unwrap()));
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    if write.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, inbox)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `heimdall serve` process.
struct Instance {
    child: Child,
    base: String,
}

impl Instance {
    fn start(database_url: &str, data_dir: &std::path::Path, master_key: &str, pak: &str, nats: &Nats) -> Instance {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_heimdall"))
            .arg("serve")
            .env_clear()
            .env("HEIMDALL_LISTEN", format!("127.0.0.1:{port}"))
            .env("HEIMDALL_PUBLIC_URL", "http://heimdall.test")
            .env("HEIMDALL_DATABASE_URL", database_url)
            .env("HEIMDALL_DATA_DIR", data_dir)
            .env("HEIMDALL_MASTER_KEY", master_key)
            .env("HEIMDALL_BOOTSTRAP_PAK", pak)
            .env("HEIMDALL_KEY_POOL_SIZE", "0")
            .env("HEIMDALL_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")
            .env("HEIMDALL_LOG", "warn")
            .env("HEIMDALL_NATS_URL", NATS_URL)
            .env("HEIMDALL_NATS_STREAM", &nats.stream)
            .env("HEIMDALL_NATS_SUBJECT_PREFIX", &nats.prefix)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Instance { child, base: format!("http://127.0.0.1:{port}") }
    }

    async fn ready(&self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !http.get(format!("{}/readyz", self.base)).send().await.is_ok_and(|r| r.status().is_success()) {
            assert!(Instant::now() < deadline, "{} never became ready", self.base);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no drain, no cursor saved after the last one.
    fn kill_9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn call(http: &reqwest::Client, pak: &str, method: reqwest::Method, url: String, body: Option<Value>) -> Value {
    let mut request = http.request(method, &url).bearer_auth(pak);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Creates an app and a webhook endpoint to `hook`, then makes `CHANGES` changes, eight at a
/// time; answers the app's id.
async fn burst(http: &reqwest::Client, base: &str, pak: &str, hook: SocketAddr) -> String {
    let app = call(
        http,
        pak,
        reqwest::Method::POST,
        format!("{base}/v1/apps"),
        Some(json!({ "slug": "killed", "display_name": "Killed" })),
    )
    .await;
    let app = app["id"].as_str().unwrap().to_owned();
    let url = format!("http://{hook}/hook");
    call(http, pak, reqwest::Method::POST, format!("{base}/v1/apps/{app}/webhooks"), Some(json!({ "url": url }))).await;
    // Eight writers at once, as a busy app would have; the feed orders them by commit.
    use futures::StreamExt;
    futures::stream::iter(0..CHANGES)
        .for_each_concurrent(8, |i| {
            let body = json!({ "display_name": format!("Killed {i}") });
            let url = format!("{base}/v1/apps/{app}");
            async move {
                call(http, pak, reqwest::Method::PATCH, url, Some(body)).await;
            }
        })
        .await;
    app
}

/// Waits until `inbox` holds at least `n` deliveries.
async fn until(inbox: &Inbox, n: usize) {
    // Generous: on a machine busy with other tests, SQLite's one writer is shared with them.
    let deadline = Instant::now() + Duration::from_secs(300);
    while inbox.lock().unwrap().len() < n {
        assert!(Instant::now() < deadline, "{} of {n} deliveries after 300 s", inbox.lock().unwrap().len());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The app's whole feed through the replay API, page by page from the start: every event once,
/// numbered without a gap.
async fn replay(http: &reqwest::Client, base: &str, pak: &str, app: &str) -> Vec<Value> {
    let mut feed: Vec<Value> = Vec::new();
    loop {
        let after = feed.last().map_or(0, |e| e["seq"].as_i64().unwrap());
        let url = format!("{base}/v1/apps/{app}/events?after={after}&limit=1000");
        let page = call(http, pak, reqwest::Method::GET, url, None).await;
        let data = page["data"].as_array().unwrap().clone();
        if data.is_empty() {
            break;
        }
        feed.extend(data);
    }
    for (i, pair) in feed.windows(2).enumerate() {
        assert_eq!(pair[1]["seq"].as_i64(), pair[0]["seq"].as_i64().map(|s| s + 1), "a gap or repeat at {i}");
    }
    let ids: BTreeSet<&str> = feed.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), feed.len(), "each event once in the replay");
    feed
}

/// Every event of the app's feed from the endpoint's creation on reached the receiver, in `seq`
/// order, and only the event in flight at the kill may have come twice; every event of the feed
/// reached the JetStream stream exactly once, in order.
async fn check(http: &reqwest::Client, base: &str, pak: &str, app: &str, inbox: &Inbox, nats: &Nats) {
    let whole = replay(http, base, pak, app).await;
    let feed: Vec<&Value> = whole.iter().skip_while(|e| e["type"] != "heimdall.webhook.created").collect();
    assert_eq!(feed.len(), CHANGES + 1);
    until(inbox, feed.len()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = inbox.lock().unwrap().clone();
    let mut seen = BTreeSet::new();
    let firsts: Vec<&(String, i64)> = got.iter().filter(|(id, _)| seen.insert(id.clone())).collect();
    let expected: Vec<(String, i64)> =
        feed.iter().map(|e| (e["id"].as_str().unwrap().to_owned(), e["seq"].as_i64().unwrap())).collect();
    assert_eq!(firsts.into_iter().cloned().collect::<Vec<_>>(), expected, "every event, in seq order");
    let repeats = got.len() - expected.len();
    assert!(repeats <= 1, "{repeats} repeated deliveries: only the one in flight at the kill may repeat");
    let mut last = 0;
    for (_, seq) in &got {
        assert!(*seq >= last - 1, "out of order: {seq} after {last}");
        last = last.max(*seq);
    }
    let published = nats.read(whole.len()).await;
    let expected: Vec<&str> = whole.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(
        published.iter().map(String::as_str).collect::<Vec<_>>(),
        expected,
        "JetStream: each event once, in order"
    );
}

/// The JetStream stream and subject prefix of one test, deleted at the end.
struct Nats {
    stream: String,
    prefix: String,
}

impl Nats {
    fn new() -> Nats {
        let tag = uuid::Uuid::now_v7().simple().to_string();
        Nats { stream: format!("HEIMDALL_KILL_{tag}"), prefix: format!("heimdall_kill_{tag}") }
    }

    async fn context() -> async_nats::jetstream::Context {
        let client = async_nats::connect(NATS_URL).await.expect("NATS JetStream at 127.0.0.1:4222 (see DESIGN.md §4)");
        async_nats::jetstream::new(client)
    }

    /// The `Nats-Msg-Id` of every message of the stream, in stream order; fails on fewer than
    /// `count` within a minute or any more after them.
    async fn read(&self, count: usize) -> Vec<String> {
        use async_nats::jetstream::consumer::{AckPolicy, pull};
        use futures::StreamExt;
        let js = Self::context().await;
        let stream = js.get_stream(&self.stream).await.expect("the server created the stream");
        let consumer =
            stream.create_consumer(pull::Config { ack_policy: AckPolicy::None, ..Default::default() }).await.unwrap();
        let mut messages = consumer.messages().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut ids = Vec::with_capacity(count);
        while ids.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(Some(message)) = tokio::time::timeout(left, messages.next()).await else {
                panic!("{} of {count} JetStream messages after 60 s", ids.len());
            };
            let message = message.unwrap();
            let id = message.headers.as_ref().and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID));
            ids.push(id.expect("Nats-Msg-Id").as_str().to_owned());
        }
        let extra = tokio::time::timeout(Duration::from_millis(500), messages.next()).await;
        assert!(extra.is_err(), "a message beyond the feed: {extra:?}");
        ids
    }

    async fn delete(&self) {
        let _ = Self::context().await.delete_stream(&self.stream).await;
    }
}

fn secrets() -> (String, String) {
    let key: [u8; 32] = rand_bytes();
    let pak = format!("pcft_live_{}", uuid::Uuid::new_v4().simple()) + &uuid::Uuid::new_v4().simple().to_string();
    (base64::engine::general_purpose::STANDARD.encode(key), pak)
}

fn rand_bytes() -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    out[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    out
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("heimdall-kill-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_restarted_instance_resumes_delivery_after_kill_9() {
    let http = reqwest::Client::new();
    let (hook, inbox) = receiver().await;
    let dir = temp_dir();
    let url = format!("sqlite://{}/heimdall.db?mode=rwc", dir.display());
    let (master, pak) = secrets();
    let nats = Nats::new();
    let mut first = Instance::start(&url, &dir, &master, &pak, &nats);
    first.ready(&http).await;
    let app = burst(&http, &first.base, &pak, hook).await;
    until(&inbox, 30).await;
    first.kill_9();
    assert!(inbox.lock().unwrap().len() < CHANGES, "the kill came after the burst was delivered");
    let second = Instance::start(&url, &dir, &master, &pak, &nats);
    second.ready(&http).await;
    check(&http, &second.base, &pak, &app, &inbox, &nats).await;
    drop(second);
    nats.delete().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_other_instance_takes_over_after_kill_9() {
    let Some(admin_url) = std::env::var("HEIMDALL_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        assert!(std::env::var_os("HEIMDALL_TEST_REQUIRE_POSTGRES").is_none(), "HEIMDALL_TEST_DATABASE_URL is not set");
        eprintln!("skipped: HEIMDALL_TEST_DATABASE_URL is not set");
        return;
    };
    let name = format!("heimdall_kill_{}", uuid::Uuid::now_v7().simple());
    let admin = Database::connect(&admin_url).await.unwrap();
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
    let url = match admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => unreachable!("a postgres:// URL has a path"),
    };
    let http = reqwest::Client::new();
    let (hook, inbox) = receiver().await;
    let (master, pak) = secrets();
    let nats = Nats::new();
    let (dir_a, dir_b) = (temp_dir(), temp_dir());
    // The first instance is the only one until it is killed, so it held the endpoint's cursor
    // (its row lock) at the kill; the second can claim it only because the lock died with the
    // killed instance's connection.
    let mut first = Instance::start(&url, &dir_a, &master, &pak, &nats);
    first.ready(&http).await;
    let app = burst(&http, &first.base, &pak, hook).await;
    until(&inbox, 30).await;
    first.kill_9();
    assert!(inbox.lock().unwrap().len() < CHANGES, "the kill came after the burst was delivered");
    let second = Instance::start(&url, &dir_b, &master, &pak, &nats);
    second.ready(&http).await;
    check(&http, &second.base, &pak, &app, &inbox, &nats).await;
    drop(second);
    nats.delete().await;
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.unwrap();
    let _ = (std::fs::remove_dir_all(dir_a), std::fs::remove_dir_all(dir_b));
}
