//! Without `HEIMDALL_TEST_DATABASE_URL` the PostgreSQL variants of `db_test!` are compiled as
//! ignored tests (`cfg(heimdall_no_postgres)`), so `cargo test` reports them as ignored instead
//! of passing them without running anything.

fn main() {
    println!("cargo::rerun-if-env-changed=HEIMDALL_TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(heimdall_no_postgres)");
    if std::env::var("HEIMDALL_TEST_DATABASE_URL").map_or(true, |v| v.trim().is_empty()) {
        println!("cargo::rustc-cfg=heimdall_no_postgres");
    }
}
