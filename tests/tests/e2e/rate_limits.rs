//! The failure counters behind sign-in, code and client-secret throttling, driven directly:
//! each instance's short-lived verdicts, and the database as what instances share.

use std::time::Duration;

use heimdall_server::ratelimit::{Limit, RateLimiter};
use heimdall_tests::db_test;

db_test!(
    async fn verdicts_follow_failures_and_clears_and_another_instance_reads_the_database(server) {
        let db = server.state().db.clone();
        let here = RateLimiter::new(db.clone());
        let limit = Limit { max: 2, window: Duration::from_secs(600) };

        // A clean verdict is remembered; each failure is counted in the database.
        here.check("k", limit).await.expect("clean");
        assert_eq!(here.hit("k", limit).await.expect("hit"), 1);
        here.check("k", limit).await.expect("one failure is under the limit");
        assert_eq!(here.hit("k", limit).await.expect("hit"), 2);
        let refused = here.check("k", limit).await.expect_err("blocked");
        assert_eq!(refused.code, heimdall_server::error::Code::RateLimited);
        assert!(refused.retry_after().is_some_and(|s| (1..=600).contains(&s)), "{refused:?}");

        // Another instance has no memory of the key: it reads the shared count.
        let there = RateLimiter::new(db.clone());
        assert!(there.check("k", limit).await.is_err(), "the block is shared");
        there.check("other", limit).await.expect("other keys are not affected");

        // Clearing forgets the row and this instance's verdict.
        here.clear("k").await.expect("clear");
        here.check("k", limit).await.expect("cleared");
    }
);

db_test!(
    async fn concurrent_failures_never_leave_a_block_forgotten(server) {
        let limits = RateLimiter::new(server.state().db.clone());
        let limit = Limit { max: 3, window: Duration::from_secs(600) };
        // Failures finishing in any order: once the count reaches the limit, the key is blocked.
        let hits = futures::future::join_all((0..6).map(|_| limits.hit("burst", limit))).await;
        assert!(hits.iter().all(Result::is_ok), "{hits:?}");
        assert!(limits.check("burst", limit).await.is_err(), "blocked after {hits:?}");
    }
);
