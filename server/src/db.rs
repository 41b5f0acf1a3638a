//! Database connection: SQLite (embedded default) or PostgreSQL, with migrations.
//!
//! SQLite runs in WAL mode with a busy timeout, and write transactions start `IMMEDIATE` so two
//! writers queue on the lock instead of failing mid-transaction. Everything else is dialect-free.

use std::{str::FromStr, time::Duration};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, RuntimeErr, Select, SqlErr, SqliteTransactionMode, SqlxPostgresConnector,
    SqlxSqliteConnector, TransactionOptions, TransactionTrait,
    sea_query::{Expr, ExprTrait},
    sqlx::{
        Error as SqlxError,
        postgres::{PgConnectOptions, PgPoolOptions},
        sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    },
};

use heimdall_migrations::{Migrator, MigratorTrait};

use crate::error::Error;
use uuid::Uuid;

/// The connection pool every store reads through.
pub type Db = DatabaseConnection;

/// A database failure as the domain sees it: a database out of reach (connection refused or
/// lost, pool exhausted, a lock or statement timeout, the server shutting down or out of
/// connections) is `unavailable` and worth a retry; anything else is an `internal_error`.
impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        if is_unavailable(&err) {
            Error::unavailable(format_args!("database: {err}"))
        } else {
            Error::internal(format_args!("database: {err}"))
        }
    }
}

fn is_unavailable(err: &DbErr) -> bool {
    let sqlx = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    match &**sqlx {
        SqlxError::Io(_)
        | SqlxError::Tls(_)
        | SqlxError::Protocol(_)
        | SqlxError::PoolTimedOut
        | SqlxError::PoolClosed
        | SqlxError::WorkerCrashed => true,
        SqlxError::Database(e) => e.code().is_some_and(|code| is_unavailable_code(&code)),
        _ => false,
    }
}

/// Database error codes that say "not now" rather than "never": PostgreSQL's SQLSTATE classes 08
/// (connection exception) and 53 (insufficient resources), a server shutting down or starting
/// (57P01–57P03), a statement cancelled by `statement_timeout` (57014) or a lock not granted
/// within `lock_timeout` (55P03); SQLite's `SQLITE_BUSY` and `SQLITE_LOCKED` with their extended
/// codes (the low byte is the primary code).
fn is_unavailable_code(code: &str) -> bool {
    if code.starts_with("08")
        || code.starts_with("53")
        || matches!(code, "57P01" | "57P02" | "57P03" | "57014" | "55P03")
    {
        return true;
    }
    code.parse::<i32>().is_ok_and(|sqlite| matches!(sqlite & 0xff, 5 | 6))
}

/// How the pool treats the database: every wait on it is bounded, so an unreachable or stuck
/// database answers 503 in seconds instead of holding requests.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Connections at most; `None`: 32 on PostgreSQL, 8 on SQLite (one writer at a time anyway).
    pub max_connections: Option<u32>,
    /// How long a query waits for a connection, including opening one: past it the request is a
    /// 503. Also bounds the liveness check a pooled connection passes before each use, which is
    /// what notices a connection that died silently.
    pub acquire_timeout: Duration,
    /// How long a statement waits for a lock (SQLite's busy timeout, PostgreSQL's `lock_timeout`).
    pub lock_timeout: Duration,
    /// PostgreSQL `statement_timeout`; `None` leaves the server's.
    pub statement_timeout: Option<Duration>,
}

impl PoolSettings {
    /// For one-off commands (`migrate`, `bootstrap`, tools): waits as long as an operator would,
    /// and no statement timeout.
    pub fn for_tools() -> Self {
        PoolSettings {
            max_connections: None,
            acquire_timeout: Duration::from_secs(10),
            lock_timeout: Duration::from_secs(10),
            statement_timeout: None,
        }
    }
}

/// PostgreSQL server settings every connection starts with. The server drops a connection whose
/// client vanished (TCP keepalive probes after 30 s idle, 3 × 10 s apart) and a transaction left
/// open for a minute, releasing its locks. sqlx offers no client-side keepalive; on this side the
/// acquire timeout and the listener's supervision (see `coherence`) bound every wait instead.
fn postgres_session_settings(settings: &PoolSettings) -> Vec<(&'static str, String)> {
    let ms = |d: Duration| d.as_millis().to_string();
    let mut options = vec![
        ("tcp_keepalives_idle", "30".to_owned()),
        ("tcp_keepalives_interval", "10".to_owned()),
        ("tcp_keepalives_count", "3".to_owned()),
        ("idle_in_transaction_session_timeout", "60000".to_owned()),
        ("lock_timeout", ms(settings.lock_timeout)),
    ];
    if let Some(timeout) = settings.statement_timeout {
        options.push(("statement_timeout", ms(timeout)));
    }
    options
}

/// Opens the database named by `url` for a one-off command ([`PoolSettings::for_tools`]).
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_with(url, &PoolSettings::for_tools()).await
}

/// Opens the database named by `url`, creating a SQLite file (and its directory) if needed.
pub async fn connect_with(url: &str, settings: &PoolSettings) -> anyhow::Result<DatabaseConnection> {
    if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(settings.lock_timeout)
            .foreign_keys(true);
        if let Some(parent) = options.get_filename().parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections.unwrap_or(8))
            .min_connections(1)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
    } else {
        let options = PgConnectOptions::from_str(url)?.options(postgres_session_settings(settings));
        probe_postgres(&options, settings.acquire_timeout).await?;
        let max = settings.max_connections.unwrap_or(32);
        let pool = PgPoolOptions::new()
            .max_connections(max)
            .min_connections(Ord::min(2, max))
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(SqlxPostgresConnector::from_sqlx_postgres_pool(pool))
    }
}

/// Held by the one process serving a SQLite file: an OS lock on `<file>.lock`, which holds the
/// holder's pid. SQLite would let a second process open the file, but each process caches what it
/// read (revocations, keys, roles) and only PostgreSQL tells other instances of a change.
/// Released by the OS when the process ends, however it ends.
#[derive(Debug)]
pub struct SqliteLock {
    _file: std::fs::File,
}

/// Takes the single-process lock of the SQLite database at `url` (nothing for PostgreSQL or an
/// in-memory database), or fails naming the process that holds it.
pub fn lock_sqlite_file(url: &str) -> anyhow::Result<Option<SqliteLock>> {
    use std::io::{Read, Seek, Write};
    if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(None);
    }
    let database = SqliteConnectOptions::from_str(url)?.get_filename().to_path_buf();
    if let Some(parent) = database.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut path = database.clone().into_os_string();
    path.push(".lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open the lock file {}: {e}", std::path::Path::new(&path).display()))?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0)?;
            file.rewind()?;
            write!(file, "{}", std::process::id())?;
            file.flush()?;
            Ok(Some(SqliteLock { _file: file }))
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                pid if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) => format!("process {pid}"),
                _ => "another process".to_owned(),
            };
            anyhow::bail!(
                "the SQLite database {} is already served by heimdall {holder} (lock file {}); \
                 one SQLite file is served by one process: stop that one first, or use PostgreSQL \
                 (HEIMDALL_DATABASE_URL=postgres://…) to run several instances",
                database.display(),
                std::path::Path::new(&path).display()
            )
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(anyhow::anyhow!("cannot lock {}: {e}", std::path::Path::new(&path).display()))
        }
    }
}

/// Folds SQLite's write-ahead log into the database file and empties it, so the `.db` file alone
/// is a complete copy (run on clean shutdown). Nothing on PostgreSQL.
pub async fn checkpoint(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    }
    Ok(())
}

/// One connection attempt before the pool is built, so that start-up fails at once with what
/// went wrong and where (the pool would only say it timed out): unreachable, no such database,
/// refused credentials.
async fn probe_postgres(options: &PgConnectOptions, timeout: Duration) -> anyhow::Result<()> {
    use sea_orm::sqlx::{Connection, postgres::PgConnection};
    let (host, port, user) = (options.get_host(), options.get_port(), options.get_username());
    let database = options.get_database().unwrap_or(user);
    let at = format!("{host}:{port}");
    match tokio::time::timeout(timeout, PgConnection::connect_with(options)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Err(_) => anyhow::bail!(
            "PostgreSQL at {at} did not answer within {timeout:?} (HEIMDALL_DATABASE_URL): is it running, and \
             reachable from here?"
        ),
        Ok(Err(SqlxError::Database(e))) if e.code().as_deref() == Some("3D000") => anyhow::bail!(
            "PostgreSQL at {at} has no database \"{database}\" (HEIMDALL_DATABASE_URL): create it first, e.g. \
             `createdb -h {host} -p {port} -U {user} {database}` or `CREATE DATABASE \"{database}\";` in psql"
        ),
        Ok(Err(SqlxError::Database(e))) if e.code().is_some_and(|c| c.starts_with("28")) => {
            anyhow::bail!("PostgreSQL at {at} refused user \"{user}\" (HEIMDALL_DATABASE_URL): {}", e.message())
        }
        Ok(Err(SqlxError::Io(e))) => {
            anyhow::bail!("cannot reach PostgreSQL at {at} (HEIMDALL_DATABASE_URL): {e}")
        }
        Ok(Err(e)) => anyhow::bail!("cannot connect to PostgreSQL at {at} (HEIMDALL_DATABASE_URL): {e}"),
    }
}

/// Key of the PostgreSQL advisory lock that serialises migration runs ("heimdall" in ASCII).
const MIGRATION_LOCK: i64 = 0x6865_696d_6461_6c6c;

/// Applies every pending migration, all or nothing. Instances starting together on one database
/// take turns instead of racing each other's DDL: the run is one write transaction (`BEGIN
/// IMMEDIATE` on SQLite) that on PostgreSQL first takes an advisory lock, so whoever comes second
/// finds the work done.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    let tx = begin_write(db).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        // DDL on a large table and waiting for another instance's run may take longer than
        // a request is allowed to.
        tx.execute_unprepared("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0").await?;
        tx.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")).await?;
    }
    Migrator::up(&tx, None).await?;
    tx.commit().await
}

/// Starts a transaction that will write: `BEGIN IMMEDIATE` on SQLite, a plain `BEGIN` elsewhere.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// True when the error is a unique-constraint violation (on either database).
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Whether `err` is a foreign-key violation (a row still referenced, or a reference to nothing).
pub fn is_foreign_key_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_)))
}

/// Cheap liveness query for `/readyz`.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

/// One cursor page of a scoped list: `select` narrowed to `scope_id` and to ids after `after`,
/// ordered by `(scope, id)` — the column order of the `(scope, id)` indexes of the lists that
/// grow large (apps, end-users, invites, API keys, M2M clients; roles are few per app) — so a
/// page deep in a large app is the same index range scan as the first page.
///
/// The scope is bounded by `scope >= id AND scope <= id` (with a cursor, `(scope, id) > (id,
/// after) AND scope <= id`) rather than `scope = id`: given an equality, PostgreSQL knows that
/// `(scope, id)` order is plain `id` order, and for a scope it knows to be large it walks the
/// primary key from the cursor filtering by scope — through every later row of every other app
/// (measured: 180–270 ms for the last page of a 500,000-user app among 1,000,000). Without one,
/// only the `(scope, id)` index gives the order, and the page is an index range scan of its rows.
/// That choice needs planner statistics: on a never-analyzed table (autovacuum off) PostgreSQL
/// was seen to read a deep page through another `(scope, …)` index and sort (8 ms at 20,000 users).
pub fn scoped_page<E: EntityTrait>(
    select: Select<E>,
    (scope, scope_id): (E::Column, Uuid),
    id: E::Column,
    after: Option<Uuid>,
    limit: u64,
) -> Select<E> {
    let from = match after {
        Some(after) => Expr::tuple([scope.into_expr(), id.into_expr()])
            .gt(Expr::tuple([Expr::value(scope_id), Expr::value(after)])),
        None => scope.gte(scope_id),
    };
    select.filter(from).filter(scope.lte(scope_id)).order_by_asc(scope).order_by_asc(id).limit(limit)
}

/// [`scoped_page`] newest first (the audit log): ids before `before`, ordered by `(scope, id)`
/// descending — the same index read backwards, with the scope bounded by a range for the same
/// reason.
pub fn scoped_page_newest_first<E: EntityTrait>(
    select: Select<E>,
    (scope, scope_id): (E::Column, Uuid),
    id: E::Column,
    before: Option<Uuid>,
    limit: u64,
) -> Select<E> {
    let to = match before {
        Some(before) => Expr::tuple([scope.into_expr(), id.into_expr()])
            .lt(Expr::tuple([Expr::value(scope_id), Expr::value(before)])),
        None => scope.lte(scope_id),
    };
    select.filter(to).filter(scope.gte(scope_id)).order_by_desc(scope).order_by_desc(id).limit(limit)
}

#[cfg(test)]
mod tests {
    use sea_orm::{DbBackend, QueryTrait};

    use super::*;
    use crate::entity::end_user::{Column as C, Entity};

    /// The page must never say `app_id = …`: see `scoped_page` for what PostgreSQL does then.
    #[test]
    fn pages_bound_the_scope_without_an_equality() {
        let (app, after) = (Uuid::now_v7(), Uuid::now_v7());
        let first =
            scoped_page(Entity::find(), (C::AppId, app), C::Id, None, 51).build(DbBackend::Postgres).to_string();
        assert!(first.contains(r#""app_id" >= '"#) && first.contains(r#""app_id" <= '"#), "{first}");
        let deep =
            scoped_page(Entity::find(), (C::AppId, app), C::Id, Some(after), 51).build(DbBackend::Postgres).to_string();
        assert!(deep.contains(r#"("end_users"."app_id", "end_users"."id") > ("#), "{deep}");
        for sql in [&first, &deep] {
            assert!(!sql.contains(r#""app_id" = "#), "{sql}");
            assert!(sql.contains(r#"ORDER BY "end_users"."app_id" ASC, "end_users"."id" ASC LIMIT 51"#), "{sql}");
        }
    }

    #[test]
    fn codes_that_mean_not_now_are_unavailable_and_the_rest_are_not() {
        // Connection lost, too many connections, shutting down, statement and lock timeouts;
        // SQLite busy and locked with extended codes (BUSY_SNAPSHOT, LOCKED_SHAREDCACHE).
        for code in ["08006", "08001", "53300", "57P01", "57P03", "57014", "55P03", "5", "517", "6", "262"] {
            assert!(is_unavailable_code(code), "{code}");
        }
        // Unique and foreign-key violations, serialization failure, syntax; SQLite constraints.
        for code in ["23505", "23503", "40001", "42601", "19", "2067", "787", "1"] {
            assert!(!is_unavailable_code(code), "{code}");
        }
    }

    #[test]
    fn newest_first_pages_bound_the_scope_without_an_equality() {
        let (app, before) = (Uuid::now_v7(), Uuid::now_v7());
        let first = scoped_page_newest_first(Entity::find(), (C::AppId, app), C::Id, None, 51)
            .build(DbBackend::Postgres)
            .to_string();
        assert!(first.contains(r#""app_id" <= '"#) && first.contains(r#""app_id" >= '"#), "{first}");
        let deep = scoped_page_newest_first(Entity::find(), (C::AppId, app), C::Id, Some(before), 51)
            .build(DbBackend::Postgres)
            .to_string();
        assert!(deep.contains(r#"("end_users"."app_id", "end_users"."id") < ("#), "{deep}");
        for sql in [&first, &deep] {
            assert!(!sql.contains(r#""app_id" = "#), "{sql}");
            assert!(sql.contains(r#"ORDER BY "end_users"."app_id" DESC, "end_users"."id" DESC LIMIT 51"#), "{sql}");
        }
    }
}
