//! Logs an operator can use, read from the stderr of a real `heimdall` process: one access line
//! per request carrying its request id, status, route and app; a line per admin change and per
//! failed sign-in; JSON on request (`HEIMDALL_LOG_FORMAT=json`); no colour codes in a file; no
//! secret anywhere (keys, passwords, query strings).

use heimdall_server::secrets::PlatformKey;
use heimdall_tests::{TestDatabase, db_test};
use serde_json::Value;

use crate::process::{Running, heimdall};

/// The JSON lines of `log` (every line must be one).
fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}")))
        .collect()
}

db_test!(
    async fn access_and_change_lines_carry_the_request_id_and_no_secret(db: Db) {
        let database = TestDatabase::create_empty(db).await;
        let data = tempfile::tempdir().unwrap();
        let pak = PlatformKey::generate();
        let mut cmd = heimdall(data.path(), &database.url, heimdall_server::secrets::random_bytes::<32>());
        cmd.env("HEIMDALL_LOG_FORMAT", "json").env("HEIMDALL_BOOTSTRAP_PAK", pak.expose());
        let server = Running::start(cmd, data.path());
        let bearer = format!("Bearer {}", pak.expose());

        let (status, body) = server.request(
            "POST",
            "/v1/apps",
            &[("Authorization", &bearer), ("X-Request-Id", "op-create-1")],
            Some(r#"{"slug": "acme", "display_name": "Acme"}"#),
        );
        assert_eq!(status, 201, "{body}");
        let app_id = serde_json::from_str::<Value>(&body).unwrap()["id"].as_str().unwrap().to_owned();
        // A query string is never logged: it may carry a token.
        let (status, _) = server.request(
            "GET",
            "/v1/apps/acme/roles?limit=5&marker=query-secret-123",
            &[("Authorization", &bearer), ("X-Request-Id", "op-list-2")],
            None,
        );
        assert_eq!(status, 200);
        let (status, _) = server.request(
            "POST",
            "/acme/v1/auth/signin",
            &[("X-Request-Id", "op-signin-3")],
            Some(r#"{"identifier": "nobody", "password": "Password-Secret-42"}"#),
        );
        assert_eq!(status, 401);
        let (status, _) =
            server.request("GET", "/no/such/route?k=query-secret-456", &[("X-Request-Id", "op-404")], None);
        assert_eq!(status, 404);

        let log = server.terminate().stderr;
        for secret in [pak.expose(), "query-secret-123", "query-secret-456", "Password-Secret-42", "marker="] {
            assert!(!log.contains(secret), "the log carries {secret}:\n{log}");
        }
        assert!(!log.contains('\x1b'), "colour codes in a log file:\n{log}");
        let lines = json_lines(&log);
        let access = |id: &str| {
            lines
                .iter()
                .find(|l| l["target"] == "heimdall::access" && l["request_id"] == id)
                .unwrap_or_else(|| panic!("no access line for {id}:\n{log}"))
        };
        let created = access("op-create-1");
        assert_eq!(
            (&created["level"], &created["method"], &created["route"], &created["status"]),
            (&Value::from("INFO"), &Value::from("POST"), &Value::from("/v1/apps"), &Value::from(201)),
            "{created}"
        );
        assert!(created["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{created}");
        let listed = access("op-list-2");
        assert_eq!((&listed["route"], &listed["status"]), (&Value::from("/v1/apps/{app_id}/roles"), &Value::from(200)));
        assert_eq!(listed["app"], "acme", "{listed}");
        let signin = access("op-signin-3");
        assert_eq!(
            (&signin["route"], &signin["app"], &signin["status"]),
            (&"/{app_slug}/v1/auth/signin".into(), &"acme".into(), &401.into())
        );
        let unmatched = access("op-404");
        assert_eq!((&unmatched["route"], &unmatched["status"]), (&Value::from("/no/such/route"), &Value::from(404)));

        let audit = |action: &str| {
            lines
                .iter()
                .find(|l| l["target"] == "heimdall::audit" && l["action"] == action)
                .unwrap_or_else(|| panic!("no change line for {action}:\n{log}"))
        };
        let change = audit("app.created");
        assert_eq!(
            (&change["request_id"], &change["app_id"]),
            (&"op-create-1".into(), &app_id.clone().into()),
            "{change}"
        );
        assert_eq!(change["actor_type"], "platform_api_key", "{change}");
        let failed = audit("end_user.signin_failed");
        assert_eq!(failed["level"], "WARN", "{failed}");
        assert_eq!((&failed["reason"], &failed["request_id"]), (&"unknown_identifier".into(), &"op-signin-3".into()));
    }
);

#[test]
fn text_lines_have_no_colour_codes_when_stderr_is_not_a_terminal() {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", data.path().join("heimdall.db").display());
    let server = Running::start(heimdall(data.path(), &url, [7; 32]), data.path());
    server.request("GET", "/healthz", &[("X-Request-Id", "plain-1")], None);
    let log = server.terminate().stderr;
    assert!(!log.contains('\x1b'), "colour codes in a log file:\n{log}");
    let line = log.lines().find(|l| l.contains("request_id=\"plain-1\"") || l.contains("request_id=plain-1"));
    let line = line.unwrap_or_else(|| panic!("no access line for plain-1:\n{log}"));
    assert!(line.contains(" INFO ") && line.contains("status=200") && line.contains("/healthz"), "{line}");
}
