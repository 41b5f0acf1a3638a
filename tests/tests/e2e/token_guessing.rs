//! The throttle on invalid tokens sent to the token-checking endpoints: past the documented
//! number of `TOKEN_INVALID` answers a minute from one client address, further invalid tokens
//! are a 429 with `Retry-After` on `/verify`, `/authorize` (all forms) and forward-auth; valid
//! tokens from that address still pass, tokens once genuine (revoked) are not counted, and
//! other addresses are unaffected.

use heimdall_server::authz::invalid_tokens::{LIMIT, WINDOW};
use heimdall_tests::{TestServer, client_from, db_test, users::ConsumerApp};
use reqwest::{Client, Method};
use serde_json::json;

#[track_caller]
fn assert_throttled(reply: &heimdall_tests::Reply) {
    reply.expect_error(429, "rate_limited");
    let retry: u64 = reply.header("retry-after").and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{reply:?}"));
    assert!((1..=WINDOW.as_secs()).contains(&retry), "{reply:?}");
}

db_test!(
    async fn past_the_limit_invalid_tokens_from_one_address_are_429_while_valid_ones_pass(server) {
        let app = ConsumerApp::create(&server, "guessed").await;
        let (_, tokens) = app.signup_ok("kim", "kim@example.com").await;
        let revoked = app.signin_ok("kim", heimdall_tests::users::PASSWORD).await;
        app.logout(&revoked.refresh).await.expect(204);
        let guesser = client_from("127.0.0.3");
        let post = |client: &Client, path: &str, token: &str| {
            TestServer::send(client.post(server.url(path)).json(&json!({ "token": token, "permission": "docs.read" })))
        };
        let verify_path = app.path("/verify");

        for i in 0..LIMIT {
            if i % 20 == 0 {
                // Valid tokens are not counted.
                let valid = post(&guesser, &verify_path, &tokens.access).await;
                assert_eq!(valid.expect(200)["valid"], true, "{valid}");
            }
            let r = post(&guesser, &verify_path, &format!("garbage-{i}")).await;
            assert_eq!((r.expect(200)["valid"].clone(), r.body["error"].clone()), (json!(false), json!("TOKEN_INVALID")));
        }
        assert_throttled(&post(&guesser, &verify_path, "garbage-over").await);
        assert_throttled(&post(&guesser, &app.path("/authorize"), "garbage-over").await);
        assert_throttled(&post(&guesser, "/v1/authorize", "garbage-over").await);
        let batch = json!({ "token": "garbage-over", "checks": [{ "permission": "docs.read" }] });
        assert_throttled(&TestServer::send(guesser.post(server.url(&app.path("/authorize/batch"))).json(&batch)).await);
        let forward = guesser
            .request(Method::GET, server.url(&app.path("/forward-auth")))
            .header("authorization", "Bearer garbage-over");
        assert_throttled(&TestServer::send(forward).await);

        // The throttled address: a valid token is still answered, and a revoked one says so.
        let valid = post(&guesser, &verify_path, &tokens.access).await;
        assert_eq!(valid.expect(200)["valid"], true, "{valid}");
        let authorized = post(&guesser, &app.path("/authorize"), &tokens.access).await;
        assert_eq!(authorized.expect(200)["error"], json!(null), "{authorized}");
        let r = post(&guesser, &verify_path, &revoked.access).await;
        assert_eq!(r.expect(200)["error"], "TOKEN_REVOKED", "{r}");

        // Another address is unaffected.
        let r = post(&client_from("127.0.0.4"), &verify_path, "garbage-elsewhere").await;
        assert_eq!(r.expect(200)["error"], "TOKEN_INVALID", "{r}");
    }
);
