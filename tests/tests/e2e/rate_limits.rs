//! The attempt counters behind sign-in, code and client-secret throttling, driven directly:
//! each instance's short-lived verdicts, the database as what instances share, atomic
//! reservations and their release, and windows that end.

use std::time::Duration;

use chrono::Utc;
use heimdall_server::{
    entity::rate_limit,
    ratelimit::{Limit, RateLimiter},
};
use heimdall_tests::db_test;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};

db_test!(
    async fn verdicts_follow_failures_and_clears_and_another_instance_reads_the_database(server) {
        let db = server.state().db.clone();
        let here = RateLimiter::new(db.clone());
        let limit = Limit { max: 2, window: Duration::from_secs(600) };

        // A clean verdict is remembered; each failure is counted in the database.
        here.check("k", limit).await.expect("clean");
        here.hit("k", limit).await.expect("first failure");
        here.check("k", limit).await.expect("one failure is under the limit");
        here.hit("k", limit).await.expect("second failure, the last within the budget");
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
        assert_eq!(hits.iter().filter(|h| h.is_ok()).count(), 3, "{hits:?}");
        assert!(limits.check("burst", limit).await.is_err(), "blocked after {hits:?}");
    }
);

db_test!(
    async fn concurrent_reservations_on_two_limiters_admit_exactly_the_budget_and_releases_give_back(server) {
        let db = server.state().db.clone();
        // Two limiters stand for two instances: only the database is shared.
        let (here, there) = (RateLimiter::new(db.clone()), RateLimiter::new(db.clone()));
        let limit = Limit { max: 4, window: Duration::from_secs(600) };
        let drawn = futures::future::join_all(
            (0..20).map(|i| if i % 2 == 0 { here.reserve("burst", limit) } else { there.reserve("burst", limit) }),
        )
        .await;
        let (admitted, refused): (Vec<_>, Vec<_>) = drawn.into_iter().partition(Result::is_ok);
        assert_eq!(admitted.len(), 4, "{refused:?}");
        for e in &refused {
            let e = e.as_ref().unwrap_err();
            assert_eq!(e.code, heimdall_server::error::Code::RateLimited);
            assert!(e.retry_after().is_some_and(|s| (1..=600).contains(&s)), "{e:?}");
        }

        // A released attempt is given back: one more is admitted, then none.
        let fresh = Limit { max: 2, window: Duration::from_secs(600) };
        let first = here.reserve("given-back", fresh).await.expect("first");
        let _second = there.reserve("given-back", fresh).await.expect("second");
        here.release(first).await;
        let _third = here.reserve("given-back", fresh).await.expect("the released attempt is available again");
        assert!(there.reserve("given-back", fresh).await.is_err(), "the budget is spent again");
    }
);

db_test!(
    async fn a_window_that_has_ended_starts_counting_again(server) {
        let db = server.state().db.clone();
        let limits = RateLimiter::new(db.clone());
        let limit = Limit { max: 1, window: Duration::from_secs(600) };
        let _spent = limits.reserve("old", limit).await.expect("within the budget");
        // Age the window past its end, as if 10 minutes had passed.
        let row = rate_limit::Entity::find_by_id("old".to_owned()).one(&db).await.unwrap().expect("row");
        let mut aged = row.into_active_model();
        aged.window_start = Set(Utc::now() - chrono::Duration::seconds(601));
        aged.update(&db).await.unwrap();
        let fresh = RateLimiter::new(db.clone());
        let _again = fresh.reserve("old", limit).await.expect("a new window");
        let row = rate_limit::Entity::find_by_id("old".to_owned()).one(&db).await.unwrap().expect("row");
        assert_eq!(row.count, 1);
        assert!(row.window_start > Utc::now() - chrono::Duration::seconds(60), "{row:?}");
        assert!(fresh.reserve("old", limit).await.is_err());
    }
);
