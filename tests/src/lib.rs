//! End-to-end test harness: the real Heimdall server, started in-process through
//! [`Application::build`] on `127.0.0.1:0`, over a throwaway SQLite or PostgreSQL database.
//!
//! [`TestServer::spawn`] gives each test its own server, database and data dir, an explicit
//! master key (random per test process, see `key_stock`), a key pool seeded with pre-generated
//! RSA keys, and a known bootstrap platform API key ([`TestServer::pak`]), plus request helpers
//! that answer a [`Reply`]. [`TestServer::spawn_on_same_db`] starts a second instance over the
//! same database (same master key, no bootstrap key) for multi-instance tests. [`db_test!`] turns
//! one test body into a `sqlite` and a `postgres` test.

mod database;
mod key_stock;
mod reply;

use std::sync::Arc;

use heimdall_server::{
    config::Config,
    entity::{app_api_key, platform_api_key},
    secrets::{self, AppKey, PlatformKey},
    startup::Application,
    state::AppState,
};
use reqwest::{Method, RequestBuilder};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::{sync::Notify, task::JoinHandle};
use uuid::Uuid;

pub use database::{DEFAULT_POSTGRES_URL, Db, TestDatabase, postgres_admin_url, postgres_available};
pub use reply::Reply;

/// Runs a test body once on SQLite and once on PostgreSQL, as `<name>::sqlite` and
/// `<name>::postgres`. Without `HEIMDALL_TEST_DATABASE_URL` at build time the PostgreSQL variant
/// is an ignored test (`cargo test` counts it as ignored); with it, an unreachable PostgreSQL
/// fails the variant.
///
/// `db_test!(async fn name(server) { … })` hands the body a fresh [`TestServer`];
/// `db_test!(async fn name(db: Db) { … })` hands it the [`Db`] to start servers with itself.
/// `db_test!(postgres_only async fn name(db: Db) { … })` generates only `<name>::postgres`, for
/// behaviour SQLite does not have by design (several instances on one database).
#[macro_export]
macro_rules! db_test {
    ($(#[$meta:meta])* postgres_only async fn $name:ident($db:ident : Db) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(heimdall_no_postgres, ignore = "PostgreSQL not configured (HEIMDALL_TEST_DATABASE_URL)")]
            async fn postgres() {
                if !$crate::postgres_available().await {
                    return;
                }
                let $db = $crate::Db::Postgres;
                $body
            }
        }
    };
    ($(#[$meta:meta])* async fn $name:ident($db:ident : Db) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $db = $crate::Db::Sqlite;
                $body
            }

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(heimdall_no_postgres, ignore = "PostgreSQL not configured (HEIMDALL_TEST_DATABASE_URL)")]
            async fn postgres() {
                if !$crate::postgres_available().await {
                    return;
                }
                let $db = $crate::Db::Postgres;
                $body
            }
        }
    };
    ($(#[$meta:meta])* async fn $name:ident($server:ident) $body:block) => {
        $crate::db_test! {
            $(#[$meta])*
            async fn $name(db: Db) {
                let $server = $crate::TestServer::spawn(db).await;
                $body
            }
        }
    };
}

/// A running server and what a test needs to talk to it.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub base: String,
    /// Does not follow redirects (the JWKS contract forbids them).
    pub client: reqwest::Client,
    /// The bootstrap platform API key (`pcft_live_…`), holding every permission.
    pub pak: String,
    /// The master key the server seals signing keys with.
    pub master_key: [u8; 32],
    state: Arc<AppState>,
    stop: Arc<Notify>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    database: Arc<TestDatabase>,
    _data_dir: TempDir,
}

impl TestServer {
    /// A server on a fresh database of kind `db`.
    pub async fn spawn(db: Db) -> TestServer {
        Self::spawn_with(db, |_| {}).await
    }

    /// Like [`spawn`](Self::spawn), with the configuration adjusted by `configure` first.
    pub async fn spawn_with(db: Db, configure: impl FnOnce(&mut Config)) -> TestServer {
        let database = Arc::new(TestDatabase::create(db).await);
        let pak = PlatformKey::generate();
        let data_dir = temp_data_dir();
        let mut config = test_config(&database, &data_dir, key_stock::master_key());
        config.bootstrap_pak = Some(pak.clone());
        configure(&mut config);
        let master_key = config.master_key.expect("test servers use an explicit master key");
        if master_key == key_stock::master_key() {
            prepare(&config.database_url).await.unwrap_or_else(|e| panic!("preparing the test database: {e:#}"));
        }
        Self::start(config, database, data_dir, pak.expose().to_owned(), master_key)
            .await
            .unwrap_or_else(|e| panic!("test server failed to start: {e:#}"))
    }

    /// `count` instances started at the same moment on one brand-new, empty database, all with
    /// the same master key and bootstrap key: what a fleet's very first deployment does. Start-up
    /// errors are returned per instance.
    pub async fn spawn_together(db: Db, count: usize) -> Vec<anyhow::Result<TestServer>> {
        let database = Arc::new(TestDatabase::create_empty(db).await);
        let pak = PlatformKey::generate();
        let master_key = key_stock::master_key();
        futures::future::join_all((0..count).map(|_| {
            let data_dir = temp_data_dir();
            let mut config = test_config(&database, &data_dir, master_key);
            config.bootstrap_pak = Some(pak.clone());
            Self::start(config, database.clone(), data_dir, pak.expose().to_owned(), master_key)
        }))
        .await
    }

    /// A second instance over `first`'s database, with the same master key and no bootstrap key.
    /// Its [`pak`](Self::pak) is `first`'s.
    pub async fn spawn_on_same_db(first: &TestServer) -> TestServer {
        Self::try_spawn_on_same_db_with(first, |_| {})
            .await
            .unwrap_or_else(|e| panic!("second test server failed to start: {e:#}"))
    }

    /// Like [`spawn_on_same_db`](Self::spawn_on_same_db), with the configuration adjusted by
    /// `configure`, returning the start-up error instead of panicking.
    pub async fn try_spawn_on_same_db_with(
        first: &TestServer,
        configure: impl FnOnce(&mut Config),
    ) -> anyhow::Result<TestServer> {
        let data_dir = temp_data_dir();
        let mut config = test_config(&first.database, &data_dir, first.master_key);
        configure(&mut config);
        let master_key = config.master_key.unwrap_or(first.master_key);
        Self::start(config, first.database.clone(), data_dir, first.pak.clone(), master_key).await
    }

    async fn start(
        config: Config,
        database: Arc<TestDatabase>,
        data_dir: TempDir,
        pak: String,
        master_key: [u8; 32],
    ) -> anyhow::Result<TestServer> {
        let app = Application::build(config).await?;
        let base = format!("http://127.0.0.1:{}", app.port());
        let state = app.state();
        let stop = app.stop_handle();
        let task = tokio::spawn(app.run_until_stopped());
        // Ready as a load balancer would see it: on PostgreSQL, listening to other instances.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !state.bus.is_listening() {
            anyhow::ensure!(std::time::Instant::now() < deadline, "the change listener did not subscribe within 10 s");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        Ok(TestServer { base, client, pak, master_key, state, stop, task: Some(task), database, _data_dir: data_dir })
    }

    /// Stops the server and hands back its database, which lives until the handle is dropped:
    /// dropping a PostgreSQL database blocks for a while, which a test timing an outage must not
    /// count.
    pub fn stop_keeping_database(self) -> impl Drop {
        self.database.clone()
    }

    /// Asks the server to stop as SIGTERM does; it drains for its shutdown grace, then closes.
    pub fn signal_stop(&self) {
        self.stop.notify_one();
    }

    /// Whether the server has stopped serving (its listener closed and in-flight requests done).
    pub fn has_stopped(&self) -> bool {
        self.task.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Which database this server runs on.
    pub fn db(&self) -> Db {
        self.database.kind
    }

    /// The server's shared state (database, key ring, caches), for setting up what the HTTP API
    /// cannot and for checking what it stored.
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request without any credential.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A request with `Authorization: Bearer <key>`.
    pub fn request_as(&self, key: &str, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(key)
    }

    /// Sends a request and reads the whole response.
    pub async fn send(request: RequestBuilder) -> Reply {
        Reply::read(request.send().await.expect("request reaches the server")).await
    }

    /// `GET` without a credential.
    pub async fn get_public(&self, path: &str) -> Reply {
        Self::send(self.request(Method::GET, path)).await
    }

    /// `GET` with the bootstrap PAK.
    pub async fn get(&self, path: &str) -> Reply {
        self.get_as(&self.pak, path).await
    }

    /// `POST` of a JSON body with the bootstrap PAK.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_json_as(&self.pak, path, body).await
    }

    /// `PATCH` of a JSON body with the bootstrap PAK.
    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.patch_as(&self.pak, path, body).await
    }

    /// `DELETE` with the bootstrap PAK.
    pub async fn delete(&self, path: &str) -> Reply {
        self.delete_as(&self.pak, path).await
    }

    /// `GET` with `key` as the bearer credential.
    pub async fn get_as(&self, key: &str, path: &str) -> Reply {
        Self::send(self.request_as(key, Method::GET, path)).await
    }

    /// `POST` of a JSON body with `key` as the bearer credential.
    pub async fn post_json_as(&self, key: &str, path: &str, body: &Value) -> Reply {
        Self::send(self.request_as(key, Method::POST, path).json(body)).await
    }

    /// `PATCH` of a JSON body with `key` as the bearer credential.
    pub async fn patch_as(&self, key: &str, path: &str, body: &Value) -> Reply {
        Self::send(self.request_as(key, Method::PATCH, path).json(body)).await
    }

    /// `DELETE` with `key` as the bearer credential.
    pub async fn delete_as(&self, key: &str, path: &str) -> Reply {
        Self::send(self.request_as(key, Method::DELETE, path)).await
    }

    /// Creates an app named after its slug with the bootstrap PAK; panics unless 201.
    pub async fn create_app(&self, slug: &str) -> Value {
        let reply = self.post("/v1/apps", &json!({ "display_name": format!("App {slug}"), "slug": slug })).await;
        reply.expect(201).clone()
    }

    /// The row of the bootstrap PAK.
    pub async fn pak_row(&self) -> platform_api_key::Model {
        platform_api_key::Entity::find()
            .filter(platform_api_key::Column::KeyHash.eq(secrets::hash_secret(&self.pak)))
            .one(&self.state.db)
            .await
            .expect("query platform_api_keys")
            .expect("the bootstrap key is stored")
    }

    /// Id of the bootstrap PAK (the `actor_id` of what it does).
    pub async fn pak_id(&self) -> Uuid {
        self.pak_row().await.id
    }

    /// Workspace of the bootstrap PAK.
    pub async fn workspace_id(&self) -> Uuid {
        self.pak_row().await.workspace_id
    }

    /// Stores an app API key (`hdk_live_…`) for `app_id` holding `permissions` directly in the
    /// database and returns it with its row id.
    pub async fn insert_app_key(&self, app_id: Uuid, permissions: &[&str]) -> (String, Uuid) {
        let key = AppKey::generate();
        let id = Uuid::now_v7();
        app_api_key::ActiveModel {
            id: Set(id),
            app_id: Set(app_id),
            name: Set("test key".into()),
            key_prefix: Set(secrets::display_prefix(key.expose())),
            key_hash: Set(secrets::hash_secret(key.expose())),
            permissions: Set(json!(permissions)),
            created_at: Set(chrono::Utc::now()),
            last_used_at: Set(None),
        }
        .insert(&self.state.db)
        .await
        .expect("insert app API key");
        (key.expose().to_owned(), id)
    }

    /// Creates another workspace with its own platform API key, returning `(key, workspace id)`.
    pub async fn other_workspace(&self, name: &str) -> (String, Uuid) {
        let key = PlatformKey::generate();
        let workspace =
            heimdall_server::workspaces::create_with_key(&self.state.db, name, &key).await.expect("create workspace");
        (key.expose().to_owned(), workspace)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.notify_one();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Migrates the new database and seeds its key pool before the server starts, so the server's
/// pool refill finds it full instead of generating keys.
async fn prepare(database_url: &str) -> anyhow::Result<()> {
    let db = heimdall_server::db::connect(database_url).await?;
    heimdall_server::db::migrate(&db).await?;
    key_stock::seed_key_pool(&db).await?;
    db.close().await?;
    Ok(())
}

fn temp_data_dir() -> TempDir {
    tempfile::Builder::new().prefix("heimdall-test-data-").tempdir().expect("temp dir")
}

/// Test defaults: an ephemeral port, an explicit master key, a small key pool.
fn test_config(database: &TestDatabase, data_dir: &TempDir, master_key: [u8; 32]) -> Config {
    let mut config = Config::for_database(&database.url, data_dir.path().to_path_buf());
    config.listen = "127.0.0.1:0".parse().expect("socket address");
    config.master_key = Some(master_key);
    config.bootstrap_pak = None;
    config.public_url = None;
    config.key_pool_size = 2;
    config
}

pub mod authz;
pub mod smtp;
pub mod tcp_proxy;
pub mod users;

/// A client whose connections come from `ip` (any 127.0.0.0/8 address reaches the server), for
/// tests of per-address behaviour.
pub fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().expect("IP address"))
        .no_proxy()
        .build()
        .expect("client")
}
