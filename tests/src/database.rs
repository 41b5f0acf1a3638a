//! Throwaway databases for one test: a SQLite file in a temporary directory, or a uniquely named
//! PostgreSQL database that is dropped (`WITH (FORCE)`) when the last server using it goes away.
//!
//! PostgreSQL is found through `HEIMDALL_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When it is unreachable, PostgreSQL variants of
//! the tests are skipped with a line on stderr, unless `HEIMDALL_TEST_REQUIRE_POSTGRES=1`, which
//! makes them fail instead.

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
            eprintln!("skipped: PostgreSQL not reachable at {} ({e})", redacted(&url));
            false
        }
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
    /// Creates an empty database of the given kind. For PostgreSQL, call
    /// [`postgres_available`] first.
    pub async fn create(kind: Db) -> TestDatabase {
        match kind {
            Db::Sqlite => {
                let dir = tempfile::Builder::new().prefix("heimdall-test-db-").tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("heimdall.db").display());
                TestDatabase { kind, url, _dir: Some(dir), postgres: None }
            }
            Db::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("heimdall_test_{}", uuid::Uuid::new_v4().simple());
                let admin = admin_connection(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("connecting to PostgreSQL at {}: {e}", redacted(&admin_url)));
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
                // Durability is worthless for a throwaway database; not waiting for the WAL
                // flush on every commit makes migrations and writes several times faster.
                admin
                    .execute_unprepared(&format!("ALTER DATABASE \"{name}\" SET synchronous_commit = off"))
                    .await
                    .unwrap_or_else(|e| panic!("ALTER DATABASE {name}: {e}"));
                let _ = admin.close().await;
                TestDatabase { kind, url: with_database(&admin_url, &name), _dir: None, postgres: Some((admin_url, name)) }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else { return };
        let t0 = std::time::Instant::now();
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
        eprintln!("TIMING drop {:?}", t0.elapsed());
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
        assert_eq!(with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"), "postgres://postgres@127.0.0.1:5432/x");
        assert_eq!(with_database("postgres://h:5432", "x"), "postgres://h:5432/x");
        assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
    }

    #[test]
    fn passwords_are_redacted_from_messages() {
        assert_eq!(redacted("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redacted("postgres://postgres@h/db"), "postgres://postgres@h/db");
    }
}
