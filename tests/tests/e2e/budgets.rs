//! Attempt budgets under concurrency: N wrong attempts sent at once — to one instance or spread
//! over two sharing PostgreSQL — get at most the budget evaluated (401 or 410), the rest 429 with
//! `Retry-After`, for passwords, codes and client secrets alike.

use heimdall_tests::{
    Reply, TestServer,
    authz::M2mClient,
    client_from, db_test,
    users::{ConsumerApp, PASSWORD},
};
use serde_json::json;

/// How many replies had each status, asserting every 429 says when to come back.
fn tally(replies: &[Reply], evaluated: u16) -> (usize, usize) {
    let mut counts = (0, 0);
    for r in replies {
        match r.status {
            s if s == evaluated => counts.0 += 1,
            429 => {
                r.expect_error(429, "rate_limited");
                assert!(r.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s > 0)), "{r}");
                counts.1 += 1;
            }
            _ => panic!("unexpected reply: {r}"),
        }
    }
    counts
}

fn wrong_code(right: &str) -> String {
    format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000)
}

/// Sign-ins of `identifier` with `password` through each of `apps` in turn, all at once.
async fn parallel_signins(apps: &[&ConsumerApp<'_>], count: usize, identifier: &str, password: &str) -> Vec<Reply> {
    futures::future::join_all((0..count).map(|i| apps[i % apps.len()].signin(identifier, password))).await
}

/// Verification attempts with `code` from `client` through each of `apps` in turn, all at once.
async fn parallel_verifies(
    apps: &[&ConsumerApp<'_>],
    client: &reqwest::Client,
    count: usize,
    code: &str,
) -> Vec<Reply> {
    futures::future::join_all((0..count).map(|i| {
        let app = apps[i % apps.len()];
        TestServer::send(client.post(app.server.url(&app.path("/auth/verify"))).json(&json!({ "code": code })))
    }))
    .await
}

/// Token requests of `client` through each of `apps` in turn, all at once.
async fn parallel_tokens(apps: &[&ConsumerApp<'_>], client: &M2mClient, count: usize) -> Vec<Reply> {
    futures::future::join_all((0..count).map(|i| apps[i % apps.len()].client_token(client, None))).await
}

/// The sign-in lock of `apps` (one app, seen through one or more instances) holds against bursts.
async fn password_bursts_get_at_most_the_lock_evaluated(apps: &[&ConsumerApp<'_>]) {
    let app = apps[0];
    app.signup_ok("erin", "erin@example.io").await;
    app.configure(json!({ "max_failed_login_attempts": 3 })).await;

    // Passwords: 20 wrong at once against a lock of 3 — three argon2 verifications, not twenty.
    let (wrong, refused) = tally(&parallel_signins(apps, 20, "erin", "Wrong-Password-1").await, 401);
    assert_eq!((wrong, refused), (3, 17), "exactly the budget is evaluated");
    assert_eq!(app.audit("end_user.signin_failed").await.len(), 3, "only evaluated attempts are audited");
    // The lock holds for the right password too, on every instance.
    for each in apps {
        each.signin("erin", PASSWORD).await.expect_error(429, "rate_limited");
    }
    // Unknown identifiers are budgeted alike.
    assert_eq!(tally(&parallel_signins(apps, 20, "ghost", "Wrong-Password-1").await, 401), (3, 17));
}

/// The per-address code budget of `apps` holds against bursts.
async fn code_bursts_get_at_most_the_address_budget_evaluated(apps: &[&ConsumerApp<'_>]) {
    let app = apps[0];
    // 20 wrong at once from one address against its budget of 5.
    app.signup_ok("fred", "fred@example.io").await;
    let code = app.code_for("request-verification", "fred@example.io").await;
    let guesser = client_from("127.0.0.9");
    let (gone, refused) = tally(&parallel_verifies(apps, &guesser, 20, &wrong_code(&code)).await, 410);
    assert_eq!((gone, refused), (5, 15), "exactly the address's budget is evaluated");
    parallel_verifies(apps, &guesser, 1, &code).await[0].expect_error(429, "rate_limited");
    // The code itself is unharmed: its owner, elsewhere, still uses it.
    parallel_verifies(&apps[apps.len() - 1..], &client_from("127.0.0.10"), 1, &code).await[0].expect(200);
}

/// The client-secret budget of `apps` holds against bursts.
async fn secret_bursts_get_at_most_the_budget_of_401s(apps: &[&ConsumerApp<'_>]) {
    let app = apps[0];
    // 40 wrong at once against a budget of 20 — at most 20 answered 401.
    let client = app.create_client("svc", &["docs.read"]).await;
    let wrong = M2mClient { secret: "m2ms_wrong-secret-guess".into(), ..client.clone() };
    let replies = parallel_tokens(apps, &wrong, 40).await;
    for r in &replies {
        if r.status == 429 {
            assert_eq!(r["error"], "temporarily_unavailable", "{r}");
            assert!(r.header("retry-after").is_some(), "{r}");
        } else {
            assert_eq!((r.status, r["error"].as_str()), (401, Some("invalid_client")), "{r}");
        }
    }
    let unauthorized = replies.iter().filter(|r| r.status == 401).count();
    assert_eq!(unauthorized, 20, "exactly the budget is answered 401");
    assert_eq!(app.audit("oauth.client_auth_failed").await.len(), 20);
    for each in apps {
        assert_eq!(each.client_token(&client, None).await.status, 429, "blocked even with the right secret");
    }
}

db_test!(
    async fn parallel_wrong_passwords_get_at_most_the_lock_evaluated(server) {
        password_bursts_get_at_most_the_lock_evaluated(&[&ConsumerApp::create(&server, "bursts").await]).await;
    }
);

db_test!(
    async fn parallel_wrong_codes_get_at_most_the_address_budget_evaluated(server) {
        code_bursts_get_at_most_the_address_budget_evaluated(&[&ConsumerApp::create(&server, "bursts").await]).await;
    }
);

db_test!(
    async fn parallel_wrong_client_secrets_get_at_most_the_budget_of_401s(server) {
        secret_bursts_get_at_most_the_budget_of_401s(&[&ConsumerApp::create(&server, "bursts").await]).await;
    }
);

db_test!(
    postgres_only async fn parallel_wrong_attempts_spread_over_two_instances_get_at_most_the_budget_evaluated(db: Db) {
        let a = TestServer::spawn(db).await;
        let b = TestServer::spawn_on_same_db(&a).await;
        let on_a = ConsumerApp::create(&a, "bursts-shared").await;
        let on_b = on_a.via(&b);
        password_bursts_get_at_most_the_lock_evaluated(&[&on_a, &on_b]).await;
        code_bursts_get_at_most_the_address_budget_evaluated(&[&on_a, &on_b]).await;
        secret_bursts_get_at_most_the_budget_of_401s(&[&on_a, &on_b]).await;
    }
);

db_test!(
    async fn a_successful_signin_gives_its_attempt_back(server) {
        let app = ConsumerApp::create(&server, "given-back").await;
        app.signup_ok("gina", "gina@example.io").await;
        // More successes from one address than its failure budget (50) allows attempts: each
        // success returns what it drew, so only failures count.
        let caller = client_from("127.0.0.11");
        let body = json!({ "identifier": "gina", "password": PASSWORD });
        for _ in 0..55 {
            let r = TestServer::send(caller.post(server.url(&app.path("/auth/signin"))).json(&body)).await;
            r.expect(200);
        }
    }
);
