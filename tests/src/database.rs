//! Throwaway databases for one test: a SQLite file in a temporary directory, or a uniquely named
//! PostgreSQL database (`heimdall_test_<uuid>`) that is dropped (`WITH (FORCE)`) when the last
//! server using it goes away.
//!
//! PostgreSQL is found through `HEIMDALL_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When it is unreachable, PostgreSQL variants of
//! the tests are skipped with a line on stderr, unless `HEIMDALL_TEST_REQUIRE_POSTGRES=1`, which
//! makes them fail instead. PostgreSQL test databases are copied from a migrated template
//! (`heimdall_test_template_<build hash>`, kept between runs of one build and replaced by the
//! next build), which is cheaper than migrating each one.

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

fn postgres_required() -> bool {
    std::env::var("HEIMDALL_TEST_REQUIRE_POSTGRES").is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
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

/// Whether the PostgreSQL variant of a test should run. Panics when PostgreSQL is required but
/// unreachable; prints a skip line and returns `false` when it is merely unreachable.
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
        Err(e) if postgres_required() => panic!(
            "PostgreSQL is required (HEIMDALL_TEST_REQUIRE_POSTGRES=1) but not reachable at {}: {e}",
            redacted(&url)
        ),
        Err(e) => {
            // Straight to the stream: libtest would swallow `eprintln!` of a passing test.
            use std::io::Write;
            let test = std::thread::current().name().unwrap_or("a test").to_owned();
            let _ =
                writeln!(std::io::stderr(), "skipped: PostgreSQL not reachable at {} ({e}): {test}", redacted(&url));
            false
        }
    }
}

/// Prefix of the migrated template databases (one per test binary build).
const TEMPLATE_PREFIX: &str = "heimdall_test_template_";

/// Identifies this test binary's build: migrations are compiled in, so the same build always
/// wants the same schema.
fn template_name() -> Option<String> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let exe = std::env::current_exe().ok()?;
    let meta = std::fs::metadata(&exe).ok()?;
    let mut hasher = DefaultHasher::new();
    exe.hash(&mut hasher);
    meta.len().hash(&mut hasher);
    meta.modified().ok()?.hash(&mut hasher);
    Some(format!("{TEMPLATE_PREFIX}{:016x}", hasher.finish()))
}

static TEMPLATE: tokio::sync::OnceCell<Option<String>> = tokio::sync::OnceCell::const_new();

/// A database with every migration applied, to copy test databases from: running the
/// migrations costs more than the copy. Built once per test binary build and kept between runs
/// (the next build's first run drops it). `None` if it cannot be built; tests then migrate
/// their databases themselves.
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
    let name = template_name().ok_or_else(|| anyhow::anyhow!("cannot identify the test binary"))?;
    let admin = admin_connection(admin_url).await?;
    let existing: Vec<String> = admin
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!("SELECT datname FROM pg_database WHERE datname LIKE '{TEMPLATE_PREFIX}%'"),
        ))
        .await?
        .iter()
        .filter_map(|row| row.try_get_by_index::<String>(0).ok())
        .collect();
    // Templates of older builds: dropped unless a test of that build is copying one right now
    // (then the drop fails and a later run retries).
    for stale in existing.iter().filter(|t| **t != name) {
        let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{stale}\"")).await;
    }
    if existing.contains(&name) {
        let _ = admin.close().await;
        return Ok(name);
    }
    // Built under a temporary name and renamed when complete, so a concurrent run of the same
    // build never copies a half-migrated template.
    let building = format!("heimdall_test_{}", uuid::Uuid::new_v4().simple());
    admin.execute_unprepared(&format!("CREATE DATABASE \"{building}\"")).await?;
    let migrated = async {
        let db = heimdall_server::db::connect(&with_database(admin_url, &building)).await?;
        let result = heimdall_server::db::migrate(&db).await;
        db.close().await?;
        Ok::<_, anyhow::Error>(result?)
    }
    .await;
    let renamed = match migrated {
        Ok(()) => {
            admin.execute_unprepared(&format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\"")).await.is_ok()
        }
        Err(_) => false,
    };
    if !renamed {
        let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)")).await;
    }
    let _ = admin.close().await;
    migrated?;
    // Not renamed: a concurrent run of the same build finished first, and its template is
    // just as good.
    Ok(name)
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
                let name = format!("heimdall_test_{}", uuid::Uuid::new_v4().simple());
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
        let Some((admin_url, name)) = self.postgres.take() else { return };
        // Drop may run inside the test's runtime, which must not be blocked on itself: do the
        // async work on a thread with its own small runtime.
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
    fn passwords_are_redacted_from_messages() {
        assert_eq!(redacted("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redacted("postgres://postgres@h/db"), "postgres://postgres@h/db");
    }
}
