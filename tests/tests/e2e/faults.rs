//! Faults around the server: a database that stops, goes silent or holds a lock; a change
//! listener whose connection goes silent; clocks that disagree between instances; a stop signal.
//!
//! PostgreSQL outages go through a [`TcpProxy`] in front of the shared PostgreSQL, never by
//! stopping it. Time bounds are generous (the point is seconds instead of the ten-second pool
//! timeout or TCP's minutes), never a measurement.

use std::time::{Duration, Instant};

use heimdall_server::{db, entity::signing_key, tokens};
use heimdall_tests::{Db, Reply, TestServer, db_test, tcp_proxy::TcpProxy, users::ConsumerApp};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;

/// What a fast answer to an unreachable database may take: the acquire timeout (2 s) with room
/// for a loaded machine; the pool's former timeout alone was 10 s.
const FAST: Duration = Duration::from_secs(5);

/// A server on PostgreSQL (`db`) whose database connections all pass through a proxy.
async fn behind_a_proxy(
    db: Db,
    configure: impl FnOnce(&mut heimdall_server::config::Config),
) -> (TestServer, TcpProxy) {
    assert_eq!(db, Db::Postgres, "the proxy stands in front of PostgreSQL");
    let proxy = TcpProxy::in_front_of(&heimdall_tests::postgres_admin_url()).await;
    let server = TestServer::spawn_with(db, |config| {
        config.database_url = proxy.route(&config.database_url);
        configure(config);
    })
    .await;
    (server, proxy)
}

/// Sends `GET path` and returns the reply with how long it took.
async fn timed_get(server: &TestServer, path: &str) -> (Reply, Duration) {
    let start = Instant::now();
    let reply = server.get(path).await;
    (reply, start.elapsed())
}

#[track_caller]
fn assert_unavailable(reply: &Reply, took: Duration) {
    assert_eq!(reply.status, 503, "{reply}");
    assert_eq!(reply.body["code"], "unavailable", "{reply}");
    let retry: u64 = reply.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!(retry >= 1, "{reply}");
    assert!(took < FAST, "answered after {took:?}: {reply}");
}

/// Polls `GET path` until it answers `status`, for at most `within`; returns how long it took.
async fn until_status(server: &TestServer, path: &str, status: u16, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let reply = server.get_public(path).await;
        if reply.status == status {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "{path} still answers {} after {within:?}: {reply}", reply.status);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

db_test!(
    postgres_only async fn a_stopped_database_answers_503_with_retry_after_in_seconds_and_recovers(db: Db) {
        let (server, proxy) = behind_a_proxy(db, |_| {}).await;
        server.create_app("before-outage").await;

        proxy.cut();
        let (list, took) = timed_get(&server, "/v1/apps").await;
        assert_unavailable(&list, took);
        let start = Instant::now();
        let create = server.post("/v1/apps", &json!({ "display_name": "During", "slug": "during-outage" })).await;
        assert_unavailable(&create, start.elapsed());
        let start = Instant::now();
        let ready = server.get_public("/readyz").await;
        assert_eq!(ready.status, 503, "{ready}");
        assert!(start.elapsed() < Duration::from_secs(3), "/readyz answered after {:?}", start.elapsed());

        proxy.restore().await;
        let recovered = until_status(&server, "/readyz", 200, Duration::from_secs(10)).await;
        server.get("/v1/apps").await.expect(200);
        server.create_app("after-outage").await;
        eprintln!("recovered {recovered:?} after the database came back");
    }
);

db_test!(
    postgres_only async fn a_silent_database_connection_answers_503_in_seconds_not_when_tcp_gives_up(db: Db) {
        let (server, proxy) = behind_a_proxy(db, |_| {}).await;
        server.get("/v1/apps").await.expect(200);

        proxy.freeze();
        let (list, took) = timed_get(&server, "/v1/apps").await;
        assert_unavailable(&list, took);
        let start = Instant::now();
        let ready = server.get_public("/readyz").await;
        assert_eq!(ready.status, 503, "{ready}");
        assert!(start.elapsed() < Duration::from_secs(3), "/readyz answered after {:?}", start.elapsed());

        proxy.restore().await;
        until_status(&server, "/readyz", 200, Duration::from_secs(10)).await;
        server.get("/v1/apps").await.expect(200);
    }
);

db_test!(
    async fn a_write_lock_held_past_the_lock_timeout_answers_503_with_retry_after(db: Db) {
        let server = TestServer::spawn_with(db, |c| c.database.lock_timeout = Duration::from_millis(300)).await;
        server.create_app("before-lock").await;

        // Another process holds the write lock: SQLite's database lock, or on PostgreSQL a lock
        // on the audit log that every write unit appends to.
        let other = db::connect(&server.state().config.database_url).await.expect("second connection");
        let holder = db::begin_write(&other).await.expect("take the write lock");
        if server.db() == Db::Postgres {
            holder.execute_unprepared("LOCK TABLE audit_logs IN EXCLUSIVE MODE").await.expect("lock the audit log");
        }
        let start = Instant::now();
        let create = server.post("/v1/apps", &json!({ "display_name": "Locked", "slug": "while-locked" })).await;
        assert_unavailable(&create, start.elapsed());

        holder.rollback().await.expect("release the lock");
        server.create_app("after-lock").await;
    }
);

db_test!(
    postgres_only async fn a_silent_listener_is_replaced_without_holding_a_pool_connection(db: Db) {
        // Two connections in the pool: if the silent listener kept one (sqlx's `UNLISTEN *` on the
        // way out waits for an answer that never comes) and its successor took the other, no
        // request could be served.
        let (server, proxy) = behind_a_proxy(db, |c| {
            c.database.max_connections = Some(2);
            c.coherence_poll_interval = Duration::from_millis(200);
        })
        .await;
        let admin = sea_orm::Database::connect(heimdall_tests::postgres_admin_url()).await.expect("admin connection");
        let database = server.state().config.database_url.rsplit('/').next().expect("database name").to_owned();
        let listeners = || async {
            let rows = admin
                .query_all_raw(sea_orm::Statement::from_sql_and_values(
                    sea_orm::DbBackend::Postgres,
                    "SELECT client_port FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'",
                    [database.clone().into()],
                ))
                .await
                .expect("pg_stat_activity");
            rows.iter().map(|r| r.try_get::<i32>("", "client_port").expect("client_port") as u16).collect::<Vec<_>>()
        };
        let first = listeners().await;
        assert_eq!(first.len(), 1, "one listener: {first:?}");
        proxy.freeze_upstream_port(first[0]);

        // A change the silent listener never hears: the sequence poll notices and replaces it.
        server.create_app("unheard").await;
        let start = Instant::now();
        while !listeners().await.iter().any(|port| *port != first[0]) {
            assert!(start.elapsed() < Duration::from_secs(10), "the silent listener was not replaced");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        for i in 0..4 {
            let (reply, took) = timed_get(&server, "/v1/apps").await;
            assert_eq!(reply.status, 200, "request {i} after the listener was replaced: {reply}");
            assert!(took < FAST, "request {i} took {took:?}");
        }
        server.create_app("heard-again").await;
        until_status(&server, "/readyz", 200, Duration::from_secs(5)).await;
    }
);

db_test!(
    async fn a_token_issued_in_the_future_is_refused(server) {
        let app = ConsumerApp::create(&server, "ahead").await;
        let (_, tokens) = app.signup_ok("alice", "alice@example.com").await;
        let mut claims = app.claims(&tokens.access).await;
        let life = claims.exp - claims.iat;

        // Issued by an instance whose clock runs an hour ahead: it would live two hours here.
        claims.iat += 3600;
        claims.exp = claims.iat + life;
        let ahead = tokens::sign(server.state(), app.id, &claims).await.expect("sign");
        app.verify_error(&ahead).await;

        // Within the leeway (60 s) the same token is accepted.
        claims.iat -= 3600 - 30;
        claims.exp = claims.iat + life;
        let skewed = tokens::sign(server.state(), app.id, &claims).await.expect("sign");
        assert_eq!(app.verify_token(&skewed).await.expect(200)["valid"], true);
    }
);

db_test!(
    async fn an_instance_whose_clock_lags_signs_in_with_the_young_key(server) {
        let app = ConsumerApp::create(&server, "lagging").await;
        app.signup_ok("bob", "bob@example.com").await;
        // The app was created a moment ago by an instance whose clock runs ten minutes ahead.
        let ahead = chrono::Utc::now() + chrono::Duration::minutes(10);
        signing_key::Entity::update_many()
            .col_expr(signing_key::Column::ActivatesAt, Expr::value(ahead))
            .filter(signing_key::Column::AppId.eq(app.id))
            .exec(&server.state().db)
            .await
            .expect("move the key's activation");
        server.state().keys.invalidate(app.id);

        let tokens = app.signin_ok("bob", heimdall_tests::users::PASSWORD).await;
        assert_eq!(app.verify_token(&tokens.access).await.expect(200)["valid"], true);
        app.verify_offline(&tokens.access).await;
    }
);

db_test!(
    async fn a_stop_signal_turns_readiness_503_while_requests_are_still_served(db: Db) {
        let server = TestServer::spawn_with(db, |c| c.shutdown_grace = Duration::from_secs(2)).await;
        server.get_public("/readyz").await.expect(200);

        server.signal_stop();
        let ready = server.get_public("/readyz").await;
        assert_eq!(ready.status, 503, "{ready}");
        assert_eq!(ready.body["code"], "unavailable", "{ready}");
        server.get_public("/healthz").await.expect(200);
        server.get("/v1/apps").await.expect(200);

        let start = Instant::now();
        while !server.has_stopped() {
            assert!(start.elapsed() < Duration::from_secs(15), "the server did not stop after its grace");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let fresh = reqwest::Client::builder().no_proxy().build().expect("client");
        assert!(fresh.get(server.url("/healthz")).send().await.is_err(), "the listener is closed");
    }
);
