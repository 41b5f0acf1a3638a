//! One SQLite file, one process: a second `heimdall` on the same file refuses to start, naming
//! the first one's pid and pointing at PostgreSQL; a clean stop leaves the `.db` file complete
//! (the write-ahead log checkpointed and emptied). PostgreSQL takes several instances.

use std::time::Duration;

use heimdall_tests::{TestDatabase, db_test};

use crate::process::{Running, heimdall, run_to_exit};

#[test]
fn a_second_process_on_one_sqlite_file_is_refused_and_a_clean_stop_empties_the_wal() {
    let data = tempfile::tempdir().unwrap();
    let db_file = data.path().join("shared.db");
    let url = format!("sqlite://{}?mode=rwc", db_file.display());
    let key = [9; 32];
    let first = Running::start(heimdall(data.path(), &url, key), data.path());
    let pid = first.child.id();

    let second = run_to_exit(heimdall(data.path(), &url, key), Duration::from_secs(60));
    assert!(!second.status.success(), "the second process started:\n{}", second.stderr);
    for expected in [format!("process {pid}"), "PostgreSQL".to_owned(), db_file.display().to_string()] {
        assert!(second.stderr.contains(&expected), "no {expected:?} in:\n{}", second.stderr);
    }
    assert_eq!(second.stderr.trim().lines().count(), 1, "one line:\n{}", second.stderr);
    // The first one is unaffected.
    assert_eq!(first.request("GET", "/readyz", &[], None).0, 200);

    // The migrations and the first start wrote to the log.
    let wal = data.path().join("shared.db-wal");
    assert!(std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0), "the running server has a write-ahead log");

    let stopped = first.terminate();
    assert!(stopped.status.success(), "{}", stopped.stderr);
    let left = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(left, 0, "the write-ahead log still holds {left} bytes after a clean stop:\n{}", stopped.stderr);

    // Stopped: the file is free again.
    let again = Running::start(heimdall(data.path(), &url, key), data.path());
    assert_eq!(again.request("GET", "/readyz", &[], None).0, 200);
}

db_test!(
    postgres_only async fn several_processes_share_one_postgresql_database(db: Db) {
        let database = TestDatabase::create(db).await;
        let data = tempfile::tempdir().unwrap();
        let key = heimdall_server::secrets::random_bytes::<32>();
        let first = Running::start(heimdall(data.path(), &database.url, key), data.path());
        let second = Running::start(heimdall(data.path(), &database.url, key), data.path());
        assert_eq!(first.request("GET", "/readyz", &[], None).0, 200);
        assert_eq!(second.request("GET", "/readyz", &[], None).0, 200);
    }
);
