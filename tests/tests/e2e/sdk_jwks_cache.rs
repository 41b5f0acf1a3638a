//! The SDK verifier's JWKS cache against the real server: concurrent cold verifications share
//! one fetch, key rotation is picked up through a `kid` miss (subject to the cooldown) while old
//! tokens keep verifying during the overlap, and a warm cache keeps verifying while the server
//! is down until its TTL runs out.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use heimdall_sdk::{JwksVerifier, VerifyError, jwks::JwksFetchError};
use heimdall_tests::{TestServer, db_test};

use crate::sdk_support::{app_with_user, jwks_requests, signin};

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).expect("header").kid.expect("kid")
}

db_test!(
    async fn sdk_verifier_single_flight_100_cold_verifications_make_one_jwks_request(server) {
        let setup = app_with_user(&server, "acme").await;
        let before = jwks_requests(&server).await;
        let verifier = setup.heimdall.consumer("acme").verifier();
        assert_eq!(verifier.stats().fetches, 0, "cold");

        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(100));
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let verifier = verifier.clone();
                let token = setup.tokens.access_token.clone();
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    verifier.verify(&token).await
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task").expect("every concurrent verification succeeds");
        }
        assert_eq!(verifier.stats().fetches, 1, "one fetch for 100 concurrent misses");
        assert_eq!(jwks_requests(&server).await - before, 1, "the server saw one JWKS request");
    }
);

db_test!(
    async fn sdk_verifier_picks_up_an_immediate_rotation_through_a_kid_miss_after_the_cooldown(server) {
        let setup = app_with_user(&server, "acme").await;
        let cooldown = Duration::from_secs(2);
        let verifier = JwksVerifier::builder(server.base.as_str(), "acme")
            .configure(|o| o.kid_miss_cooldown(cooldown))
            .build()
            .unwrap();
        let old = setup.tokens.access_token.clone();
        verifier.verify(&old).await.expect("warm");
        let warmed = std::time::Instant::now();
        // One whose cooldown cannot run out during the test, for the always-checked part.
        let patient = JwksVerifier::builder(server.base.as_str(), "acme")
            .configure(|o| o.kid_miss_cooldown(Duration::from_secs(600)))
            .build()
            .unwrap();
        patient.verify(&old).await.expect("warm");

        setup.heimdall.app(setup.app.id).signing_keys().rotate_immediately().await.expect("rotate");
        let new = signin(&setup.heimdall, "acme", "ada").await.access_token;
        assert_ne!(kid(&new), kid(&old), "the new token is signed with the new key");

        // While the cached set is younger than the cooldown, an unknown kid does not refetch.
        let error = patient.verify(&new).await.unwrap_err();
        assert!(matches!(&error, VerifyError::KeyNotFound { kid: k } if *k == kid(&new)), "{error:?}");
        assert_eq!(patient.stats().fetches, 1);
        // The same on the short-cooldown verifier, if rotating and signing in were quick enough.
        let error = verifier.verify(&new).await;
        if warmed.elapsed() < cooldown {
            let error = error.unwrap_err();
            assert!(matches!(&error, VerifyError::KeyNotFound { kid: k } if *k == kid(&new)), "{error:?}");
            assert_eq!(verifier.stats().fetches, 1);
        }

        tokio::time::sleep((warmed + cooldown + Duration::from_millis(100)).saturating_duration_since(std::time::Instant::now()))
            .await;
        let before = jwks_requests(&server).await;
        let claims = verifier.verify(&new).await.expect("the new key is found by one refetch");
        assert_eq!(claims.aid, setup.app.id);
        assert_eq!(verifier.stats().fetches, 2);
        assert!(jwks_requests(&server).await - before <= 1);

        // The old key was withdrawn: its token no longer verifies, and the fresh set's cooldown
        // keeps a burst of such tokens from refetching.
        for _ in 0..10 {
            let error = verifier.verify(&old).await.unwrap_err();
            assert!(matches!(error, VerifyError::KeyNotFound { .. }), "{error:?}");
        }
        assert_eq!(verifier.stats().fetches, 2);
        verifier.verify(&new).await.expect("new tokens keep verifying from the cache");
    }
);

db_test!(
    async fn sdk_verifier_keeps_old_tokens_valid_during_the_overlap_of_a_scheduled_rotation(db: Db) {
        // No publish lead, so the rotated-in key signs at once and the verifier meets its kid
        // before any refetch; the previous key stays published for the overlap.
        let server = TestServer::spawn_with(db, |config| config.key_publish_lead = Duration::ZERO).await;
        let setup = app_with_user(&server, "acme").await;
        let verifier = JwksVerifier::builder(server.base.as_str(), "acme")
            .configure(|o| o.kid_miss_cooldown(Duration::ZERO))
            .build()
            .unwrap();
        let old = setup.tokens.access_token.clone();
        verifier.verify(&old).await.expect("warm");
        assert_eq!(verifier.stats().cached_keys, 1);

        let keys = setup.heimdall.app(setup.app.id).signing_keys().rotate().await.expect("rotate");
        assert_eq!(keys.data.len(), 2, "{keys:?}");
        let new = signin(&setup.heimdall, "acme", "ada").await.access_token;
        assert_ne!(kid(&new), kid(&old));

        verifier.verify(&new).await.expect("the new kid triggers one refetch");
        assert_eq!(verifier.stats().fetches, 2);
        assert_eq!(verifier.stats().cached_keys, 2, "old and new key are both published");
        verifier.verify(&old).await.expect("tokens of the previous key verify during the overlap");
        assert_eq!(verifier.stats().fetches, 2, "both keys come from the cache now");
    }
);

db_test!(
    async fn sdk_verifier_with_the_default_publish_lead_sees_the_next_key_before_it_signs(server) {
        let setup = app_with_user(&server, "acme").await;
        let admin = setup.heimdall.app(setup.app.id);
        let keys = admin.signing_keys().rotate().await.expect("rotate");
        assert!(keys.data.iter().any(|k| k.status == "pending"), "{keys:?}");
        let verifier = setup.heimdall.consumer("acme").verifier();
        verifier.verify(&setup.tokens.access_token).await.expect("old token");
        assert_eq!(verifier.stats().cached_keys, 2, "the pending key is already published");
        let after = signin(&setup.heimdall, "acme", "ada").await.access_token;
        assert_eq!(kid(&after), kid(&setup.tokens.access_token), "the current key signs until the lead is over");
        verifier.verify(&after).await.expect("verifies");
        assert_eq!(verifier.stats().fetches, 1);
    }
);

db_test!(
    async fn sdk_verifier_serves_a_warm_cache_while_the_server_is_down_until_the_ttl_runs_out(server) {
        let setup = app_with_user(&server, "acme").await;
        // Without idle connections: the stopped server's connection tasks would otherwise keep
        // answering on a kept-alive connection, which a really unreachable server does not.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let verifier = JwksVerifier::builder(server.base.as_str(), "acme")
            .configure(|o| {
                o.honour_cache_control(false).ttl(Duration::from_secs(3)).negative_ttl(Duration::from_millis(300))
            })
            .http_client(http)
            .build()
            .unwrap();
        let token = setup.tokens.access_token.clone();
        verifier.verify(&token).await.expect("warm");
        let warmed = std::time::Instant::now();
        // A second verifier that may refetch on an unknown kid after 100 ms.
        let eager = JwksVerifier::builder(server.base.as_str(), "acme")
            .configure(|o| o.kid_miss_cooldown(Duration::from_millis(100)).negative_ttl(Duration::from_secs(5)))
            .http_client(reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap())
            .build()
            .unwrap();
        eager.verify(&token).await.expect("warm");

        drop(setup);
        let _database = server.stop_keeping_database();
        tokio::time::sleep(Duration::from_millis(200)).await;

        for _ in 0..5 {
            verifier.verify(&token).await.expect("verifies from the cache while the server is down");
        }
        assert_eq!(verifier.stats().fetches, 1, "no request while the cache is fresh");
        // A token naming a key nobody published, during the outage: the answer is "no such key",
        // not an outage — also once the kid-miss cooldown allows a refetch and that refetch fails.
        let (_, rest) = token.split_once('.').unwrap();
        let forged_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT","kid":"rs256-forged"}"#);
        let forged = format!("{forged_header}.{rest}");
        for _ in 0..3 {
            let r = eager.verify(&forged).await;
            assert!(matches!(r, Err(VerifyError::KeyNotFound { .. })), "{r:?}");
        }
        assert_eq!((eager.stats().fetches, eager.stats().fetch_failures), (2, 1), "one refetch attempt, then cached");
        eager.verify(&token).await.expect("known keys still verify");

        let ttl_end = warmed + Duration::from_millis(3100);
        tokio::time::sleep(ttl_end.saturating_duration_since(std::time::Instant::now())).await;
        let error = verifier.verify(&token).await.unwrap_err();
        match &error {
            VerifyError::FetchFailed(cause) => {
                assert!(matches!(**cause, JwksFetchError::Transport(_) | JwksFetchError::Timeout), "{cause:?}")
            }
            other => panic!("expected FetchFailed after the TTL, got {other:?}"),
        }
        assert_eq!(verifier.stats().fresh_for, None, "the stale set is not used");
        for _ in 0..10 {
            assert!(matches!(verifier.verify(&token).await, Err(VerifyError::FetchFailed(_))));
        }
        assert_eq!((verifier.stats().fetches, verifier.stats().fetch_failures), (2, 1), "failure cached");
    }
);
