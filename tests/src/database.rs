//! Throwaway databases for one test: a SQLite file in a temporary directory, or a uniquely named
//! PostgreSQL database that is dropped (`WITH (FORCE)`) when the last server using it goes away,
//! a failing test's included (the drop runs while the panic unwinds).
//!
//! PostgreSQL is used when `HEIMDALL_TEST_DATABASE_URL` names a server (CI:
//! `postgres://postgres@127.0.0.1:5432/postgres`); it must then be reachable, or the PostgreSQL
//! variants fail. Without it they are compiled as ignored tests (`build.rs` sets
//! `heimdall_no_postgres`), so `cargo test` reports them as ignored, never as passed. Test
//! databases are copied from a migrated template that this test process makes and drops when it
//! exits. Every database is named `heimdall_test_<pid>_<unix seconds>_<tag>`, so one left by a
//! process that was killed (no destructor ran) is recognised and dropped by a later run.

use std::{sync::OnceLock, time::Duration};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use tempfile::TempDir;

/// Which database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Server used to create and drop the per-test PostgreSQL databases.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The administrative PostgreSQL URL the tests use.
pub fn postgres_admin_url() -> String {
    std::env::var("HEIMDALL_TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned())
}

/// The URL with any password replaced, fit for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// `admin_url` with its database name replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

async fn admin_connection(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(1)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(3))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    Database::connect(options).await
}

static POSTGRES_PROBE: OnceLock<Result<(), String>> = OnceLock::new();

/// Checks that the configured PostgreSQL answers, once per process; the PostgreSQL variant of a
/// test fails when it does not (it was asked for). Without `HEIMDALL_TEST_DATABASE_URL` these
/// variants are ignored at compile time and never get here (unless run with `--ignored`, which
/// then tries the default URL).
pub async fn postgres_available() -> bool {
    let url = postgres_admin_url();
    let probe = match POSTGRES_PROBE.get() {
        Some(probe) => probe.clone(),
        None => {
            let probe = match admin_connection(&url).await {
                Ok(conn) => {
                    let pinged = conn.ping().await.map_err(|e| e.to_string());
                    let _ = conn.close().await;
                    pinged
                }
                Err(e) => Err(e.to_string()),
            };
            POSTGRES_PROBE.get_or_init(|| probe).clone()
        }
    };
    match probe {
        Ok(()) => true,
        Err(e) => panic!(
            "PostgreSQL is not reachable at {} (HEIMDALL_TEST_DATABASE_URL): {e}; unset the variable to skip the \
             PostgreSQL tests",
            redacted(&url)
        ),
    }
}

/// Prefix of every PostgreSQL database the tests make.
const PREFIX: &str = "heimdall_test_";

/// A new database name: `heimdall_test_<pid>_<unix seconds>_<tag>` (at most 63 bytes).
fn database_name(tag: &str) -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{PREFIX}{}_{secs}_{tag}", std::process::id())
}

/// Whether `name` is a test database its process left behind: that process is gone (this host's
/// `/proc`) and it is over an hour old, or it is over a day old (another host's). Names in
/// another scheme (older harness builds, possibly still running against the same server) are
/// left alone.
fn is_abandoned(name: &str, now_secs: u64) -> bool {
    let Some(rest) = name.strip_prefix(PREFIX) else { return false };
    let mut parts = rest.splitn(3, '_');
    let (Some(pid), Some(secs), Some(_)) = (parts.next(), parts.next(), parts.next()) else { return false };
    let (Ok(pid), Ok(secs)) = (pid.parse::<u32>(), secs.parse::<u64>()) else { return false };
    if pid == std::process::id() {
        return false;
    }
    let age = now_secs.saturating_sub(secs);
    let gone = std::path::Path::new("/proc/self").exists() && !std::path::Path::new(&format!("/proc/{pid}")).exists();
    (gone && age > 3600) || age > 86_400
}

/// Drops the test databases killed processes left behind (see [`is_abandoned`]).
async fn sweep_abandoned(admin: &DatabaseConnection) {
    let Ok(rows) = admin
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!("SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%'"),
        ))
        .await
    else {
        return;
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    for name in rows.iter().filter_map(|row| row.try_get_by_index::<String>(0).ok()) {
        if is_abandoned(&name, now) {
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
        }
    }
}

static TEMPLATE: tokio::sync::OnceCell<Option<String>> = tokio::sync::OnceCell::const_new();
static TEMPLATE_TO_DROP: OnceLock<(String, String)> = OnceLock::new();

/// A database with every migration applied, to copy test databases from: running the
/// migrations costs more than the copy. Built once per test process (which first sweeps what
/// killed runs left) and dropped when the process exits. `None` if it cannot be built; tests
/// then migrate their databases themselves.
async fn migrated_template(admin_url: &str) -> Option<String> {
    TEMPLATE
        .get_or_init(|| async {
            match build_template(admin_url).await {
                Ok(name) => Some(name),
                Err(e) => {
                    eprintln!("warning: no migrated PostgreSQL template ({e:#}); every test migrates its own database");
                    None
                }
            }
        })
        .await
        .clone()
}

async fn build_template(admin_url: &str) -> anyhow::Result<String> {
    let admin = admin_connection(admin_url).await?;
    sweep_abandoned(&admin).await;
    let name = database_name("template");
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await?;
    if TEMPLATE_TO_DROP.set((admin_url.to_owned(), name.clone())).is_ok() {
        // SAFETY: registers a plain `extern "C" fn` to run at exit.
        unsafe { libc::atexit(drop_template_at_exit) };
    }
    let migrated = async {
        let db = heimdall_server::db::connect(&with_database(admin_url, &name)).await?;
        let result = heimdall_server::db::migrate(&db).await;
        db.close().await?;
        Ok::<_, anyhow::Error>(result?)
    }
    .await;
    let _ = admin.close().await;
    migrated?;
    Ok(name)
}

/// Drops this process's template when the test binary exits (libtest ends with `exit`).
extern "C" fn drop_template_at_exit() {
    if let Some((admin_url, name)) = TEMPLATE_TO_DROP.get() {
        drop_database(admin_url.clone(), name.clone());
    }
}

/// `DROP DATABASE … WITH (FORCE)` on a thread with a runtime of its own (callers may be inside
/// a runtime, or past the end of `main`).
fn drop_database(admin_url: String, name: String) {
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let admin = admin_connection(&admin_url).await.map_err(|e| e.to_string())?;
            let result = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await
                .map(|_| ())
                .map_err(|e| format!("DROP DATABASE {name}: {e}"));
            let _ = admin.close().await;
            result
        })
    })
    .join();
    match dropped {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("warning: could not drop a test database: {e}"),
        Err(_) => eprintln!("warning: dropping a test database panicked"),
    }
}

/// A database that lives as long as the servers using it.
pub struct TestDatabase {
    pub kind: Db,
    /// The URL the server connects to.
    pub url: String,
    /// Holds the SQLite file.
    _dir: Option<TempDir>,
    /// `(admin URL, database name)` of a PostgreSQL database to drop.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// Creates a database of the given kind, migrated when that is cheaper (PostgreSQL).
    /// For PostgreSQL, call [`postgres_available`] first.
    pub async fn create(kind: Db) -> TestDatabase {
        Self::create_with(kind, true).await
    }

    /// Creates a database without any schema, as an operator's brand-new database is.
    pub async fn create_empty(kind: Db) -> TestDatabase {
        Self::create_with(kind, false).await
    }

    async fn create_with(kind: Db, migrated: bool) -> TestDatabase {
        match kind {
            Db::Sqlite => {
                let dir = tempfile::Builder::new().prefix("heimdall-test-db-").tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("heimdall.db").display());
                TestDatabase { kind, url, _dir: Some(dir), postgres: None }
            }
            Db::Postgres => {
                let admin_url = postgres_admin_url();
                let name = database_name(&uuid::Uuid::new_v4().simple().to_string()[..16]);
                let template = if migrated { migrated_template(&admin_url).await } else { None };
                let admin = admin_connection(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("connecting to PostgreSQL at {}: {e}", redacted(&admin_url)));
                let from_template = match template {
                    Some(t) => {
                        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\" TEMPLATE \"{t}\"")).await.is_ok()
                    }
                    None => false,
                };
                if !from_template {
                    // The server migrates an empty database itself.
                    admin
                        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                        .await
                        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
                }
                // Durability is worthless for a throwaway database; not waiting for the WAL
                // flush on every commit makes writes several times faster.
                admin
                    .execute_unprepared(&format!("ALTER DATABASE \"{name}\" SET synchronous_commit = off"))
                    .await
                    .unwrap_or_else(|e| panic!("ALTER DATABASE {name}: {e}"));
                let _ = admin.close().await;
                TestDatabase {
                    kind,
                    url: with_database(&admin_url, &name),
                    _dir: None,
                    postgres: Some((admin_url, name)),
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            drop_database(admin_url, name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_replaces_the_path_of_the_admin_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://h:5432", "x"), "postgres://h:5432/x");
        assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
    }

    #[test]
    fn only_databases_of_gone_processes_or_of_long_ago_are_abandoned() {
        let now = 2_000_000_000;
        let me = std::process::id();
        let gone = u32::MAX - 1; // no such pid
        assert!(!is_abandoned(&format!("heimdall_test_{me}_{}_template", now - 90_000), now));
        assert!(!is_abandoned(&format!("heimdall_test_{gone}_{}_0123456789abcdef", now - 60), now));
        assert!(is_abandoned(&format!("heimdall_test_{gone}_{}_0123456789abcdef", now - 7200), now));
        assert!(is_abandoned(&format!("heimdall_test_1_{}_template", now - 90_000), now));
        assert!(!is_abandoned("heimdall_test_template_df4feb4221553411", now));
        assert!(!is_abandoned("heimdall_test_0123456789abcdef0123456789abcdef", now));
        assert!(!is_abandoned("postgres", now));
        assert!(database_name("0123456789abcdef").len() <= 63);
    }

    #[test]
    fn passwords_are_redacted_from_messages() {
        assert_eq!(redacted("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redacted("postgres://postgres@h/db"), "postgres://postgres@h/db");
    }
}
