//! Start-up errors that say what to do, as the operator sees them: the `heimdall` process exits
//! non-zero at once with one line on stderr naming what is wrong and where.

use std::time::{Duration, Instant};

use heimdall_tests::{TestDatabase, db_test};

use crate::process::{Exited, Running, free_port, heimdall, run_to_exit};

/// The one `error:` line of a failed start, checked to hold each of `expected`.
fn refused(exited: &Exited, expected: &[&str]) -> String {
    assert!(!exited.status.success(), "started:\n{}", exited.stderr);
    let errors: Vec<&str> = exited.stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line:\n{}", exited.stderr);
    for e in expected {
        assert!(errors[0].contains(e), "{e:?} not in {}", errors[0]);
    }
    errors[0].to_owned()
}

#[test]
fn an_unreachable_postgresql_is_named_by_host_and_port_at_once() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let started = Instant::now();
    let exited = run_to_exit(
        heimdall(data.path(), &format!("postgres://postgres@127.0.0.1:{port}/heimdall"), [1; 32]),
        Duration::from_secs(30),
    );
    refused(&exited, &[&format!("127.0.0.1:{port}"), "HEIMDALL_DATABASE_URL"]);
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert_eq!(exited.stderr.trim().lines().count(), 1, "said once:\n{}", exited.stderr);
}

db_test!(
    postgres_only async fn a_missing_postgresql_database_is_named_with_how_to_create_it(db: Db) {
        let database = TestDatabase::create_empty(db).await;
        let data = tempfile::tempdir().unwrap();
        let url = format!("{}_missing", database.url);
        let name = url.rsplit('/').next().unwrap().to_owned();
        let exited = run_to_exit(heimdall(data.path(), &url, [1; 32]), Duration::from_secs(30));
        refused(&exited, &[&format!("no database \"{name}\""), "createdb", "CREATE DATABASE"]);
    }
);

db_test!(
    async fn a_port_in_use_names_the_address_and_heimdall_listen(db: Db) {
        let database = TestDatabase::create(db).await;
        let data = tempfile::tempdir().unwrap();
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let mut cmd = heimdall(data.path(), &database.url, [1; 32]);
        cmd.env("HEIMDALL_LISTEN", &addr);
        let exited = run_to_exit(cmd, Duration::from_secs(60));
        refused(&exited, &[&addr, "already in use", "HEIMDALL_LISTEN"]);
    }
);

db_test!(
    async fn a_missing_master_key_file_next_to_an_existing_database_is_said_to_be_missing(db: Db) {
        let database = TestDatabase::create(db).await;
        let data = tempfile::tempdir().unwrap();
        let without_key = || {
            let mut cmd = heimdall(data.path(), &database.url, [1; 32]);
            cmd.env_remove("HEIMDALL_MASTER_KEY");
            cmd
        };
        // First start: the development key file is made next to the new database.
        let first = Running::start(without_key(), data.path()).terminate();
        assert!(first.status.success(), "{:?}: {}", first.status, first.stderr);
        let key_file = data.path().join("master.key");
        std::fs::remove_file(&key_file).expect("the first start wrote master.key");

        let exited = run_to_exit(without_key(), Duration::from_secs(60));
        let line = refused(&exited, &[&key_file.display().to_string(), "is missing", "HEIMDALL_MASTER_KEY"]);
        assert!(!line.contains("does not match"), "{line}");
        assert!(!key_file.exists(), "a new key file was made for a database sealed with another");
    }
);
