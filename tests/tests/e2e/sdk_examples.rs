//! The SDK's examples (`sdk/examples/*.rs`), each run through its `run` function against a real
//! server: provisioning with a platform key, a BFF signing a user in, offline verification and
//! the verification micro-benchmark.

use heimdall_sdk::{VerifyError, types};
use heimdall_tests::db_test;

use crate::sdk_support::{app_with_user, sdk};

#[path = "../../../sdk/examples/provision.rs"]
mod provision;

#[path = "../../../sdk/examples/bff_signin.rs"]
mod bff_signin;

#[path = "../../../sdk/examples/offline_verify.rs"]
mod offline_verify;

#[path = "../../../sdk/examples/verify_bench.rs"]
mod verify_bench;

db_test!(
    async fn sdk_example_provision_creates_an_app_and_a_working_m2m_credential(server) {
        let provisioned = provision::run(&server.base, &server.pak, "acme").await.expect("provision");
        assert_eq!(provisioned.app.slug, "acme");
        assert!(provisioned.client_id.starts_with("m2m_"), "{}", provisioned.client_id);
        let claims = sdk(&server).consumer("acme").verify_token(&provisioned.access_token).await.unwrap();
        assert!(claims.is_m2m());
        assert_eq!(claims.permissions, ["reports.read"]);

        // Running it again changes nothing about the app (idempotent create) and adds a client.
        let again = provision::run(&server.base, &server.pak, "acme").await.expect("provision again");
        assert_eq!(again.app.id, provisioned.app.id);
        assert_ne!(again.client_id, provisioned.client_id);
    }
);

db_test!(
    async fn sdk_example_bff_signin_signs_up_signs_in_and_reads_me(server) {
        sdk(&server).apps().create(types::CreateApp::builder().slug("acme").display_name("Acme")).await.unwrap();
        let first = bff_signin::run(&server.base, &server.pak, "acme", "ada", "Correct-Horse-42").await.expect("first run");
        assert_eq!(first.me.username, "ada");
        assert_eq!(first.claims.sub, first.me.id.to_string());
        assert_eq!(first.tokens.token_type, "Bearer");
        // The second run finds the account and only signs in.
        let second = bff_signin::run(&server.base, &server.pak, "acme", "ada", "Correct-Horse-42").await.expect("second run");
        assert_eq!(second.me.id, first.me.id);
        assert_ne!(second.claims.sid, first.claims.sid, "a new session");
    }
);

db_test!(
    async fn sdk_example_offline_verify_accepts_good_tokens_and_refuses_others(server) {
        let setup = app_with_user(&server, "acme").await;
        let other = app_with_user(&server, "globex").await;
        let tokens = vec![setup.tokens.access_token.clone(), other.tokens.access_token.clone(), "garbage".to_owned()];
        let outcomes = offline_verify::run(&server.base, "acme", &tokens).await.expect("keys fetched");
        assert_eq!(outcomes[0].as_ref().expect("own token").aid, setup.app.id);
        assert!(matches!(outcomes[1], Err(VerifyError::KeyNotFound { .. })), "{:?}", outcomes[1]);
        assert!(matches!(outcomes[2], Err(VerifyError::Invalid(_))), "{:?}", outcomes[2]);

        let error = offline_verify::run(&server.base, "no-such-app", &tokens).await.expect_err("unknown app");
        assert!(matches!(error, heimdall_sdk::Error::Verify(VerifyError::FetchFailed(_))), "{error:?}");
    }
);

db_test!(
    async fn sdk_example_verify_bench_reports_both_rates(server) {
        let throughput = verify_bench::run(&server.base, &server.pak, 200).await.expect("bench");
        assert_eq!(throughput.iterations, 200);
        assert!(throughput.verifier_per_sec > 0.0 && throughput.raw_per_sec > 0.0, "{throughput}");
        eprintln!("debug build, not representative: {throughput}");
    }
);
