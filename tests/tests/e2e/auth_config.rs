//! The per-app auth configuration: every field present with its default, each field changed on
//! its own and read back (the refresh-token reuse grace included), range bounds (400 just outside, accepted at the edge), role, origin
//! and domain validation, and audit entries for real changes only.

use heimdall_tests::{db_test, users::ConsumerApp};
use serde_json::{Value, json};

fn defaults() -> Value {
    json!({
        "allowed_redirect_origins": [],
        "block_common_passwords": true,
        "enforce_app_permissions": false,
        "max_failed_login_attempts": 10,
        "max_sessions": 10,
        "oauth_link_policy": "confirm",
        "password_min_length": 8,
        "password_require_number": false,
        "password_require_symbol": false,
        "password_require_uppercase": false,
        "refresh_reuse_grace_seconds": 0,
        "session_duration_minutes": 10080,
        "signin_enabled": true,
        "signup_allowed_email_domains": [],
        "signup_default_role": "member",
        "signup_enabled": true
    })
}

async fn get_config(app: &ConsumerApp<'_>) -> Value {
    let r = app.server.get(&app.admin_path("/auth-config")).await;
    r.expect(200).clone()
}

db_test!(
    async fn auth_config_starts_with_every_field_at_its_default(server) {
        let app = ConsumerApp::create(&server, "fresh").await;
        let config = get_config(&app).await;
        assert_eq!(config.as_object().unwrap().len(), 16, "{config}");
        assert_eq!(config, defaults());
    }
);

db_test!(
    async fn each_auth_config_field_can_be_changed_alone_and_reads_back(server) {
        let app = ConsumerApp::create(&server, "tunable").await;
        let changes = [
            ("allowed_redirect_origins", json!(["https://app.example.com", "http://localhost:3000"])),
            ("block_common_passwords", json!(false)),
            ("enforce_app_permissions", json!(true)),
            ("max_failed_login_attempts", json!(5)),
            ("max_sessions", json!(3)),
            ("oauth_link_policy", json!("reject")),
            ("password_min_length", json!(12)),
            ("password_require_number", json!(true)),
            ("password_require_symbol", json!(true)),
            ("password_require_uppercase", json!(true)),
            ("refresh_reuse_grace_seconds", json!(30)),
            ("session_duration_minutes", json!(60)),
            ("signin_enabled", json!(false)),
            ("signup_allowed_email_domains", json!(["example.com", "corp.io"])),
            ("signup_default_role", json!("admin")),
            ("signup_enabled", json!(false)),
        ];
        let mut expected = defaults();
        for (field, value) in changes {
            let r = server.patch(&app.admin_path("/auth-config"), &json!({ field: value })).await;
            expected[field] = value;
            assert_eq!(r.expect(200), &expected, "PATCH {field}");
            assert_eq!(get_config(&app).await, expected, "GET after PATCH {field}");
        }
        // Every change was audited with the field it touched.
        let entries = app.audit("auth_config.updated").await;
        assert_eq!(entries.len(), 16);
        assert_eq!(entries[0]["details"]["changed"], json!(["signup_enabled"]));
        assert_eq!(entries[1]["details"]["changed"], json!(["signup_default_role"]));
        assert_eq!(entries[14]["details"]["changed"], json!(["block_common_passwords"]));
        assert_eq!(entries[15]["details"]["changed"], json!(["allowed_redirect_origins"]));
        assert_eq!(entries[0]["resource_type"], "auth_config");

        // Sending the current values changes nothing and is not audited.
        let r = server.patch(&app.admin_path("/auth-config"), &json!({ "max_sessions": 3, "signin_enabled": false })).await;
        assert_eq!(r.expect(200), &expected);
        let r = server.patch(&app.admin_path("/auth-config"), &json!({})).await;
        assert_eq!(r.expect(200), &expected);
        assert_eq!(app.audit("auth_config.updated").await.len(), 16);

        // Several fields at once, back to the defaults: one entry naming them all.
        let r = server.patch(&app.admin_path("/auth-config"), &defaults()).await;
        assert_eq!(r.expect(200), &defaults());
        let entries = app.audit("auth_config.updated").await;
        assert_eq!(entries.len(), 17);
        assert_eq!(entries[0]["details"]["changed"].as_array().unwrap().len(), 16);
    }
);

db_test!(
    async fn auth_config_rejects_values_out_of_range_and_unknown_references(server) {
        let app = ConsumerApp::create(&server, "strict").await;
        for (field, bad, edges) in [
            ("max_failed_login_attempts", [0, 101], [1, 100]),
            ("max_sessions", [0, 51], [1, 50]),
            ("password_min_length", [7, 129], [8, 128]),
            ("refresh_reuse_grace_seconds", [-1, 61], [0, 60]),
            ("session_duration_minutes", [0, 43201], [1, 43200]),
        ] {
            for value in bad {
                let r = server.patch(&app.admin_path("/auth-config"), &json!({ field: value })).await;
                assert_eq!(r.status, 400, "{field} = {value}: {r}");
                r.assert_error_shape();
            }
            for value in edges {
                let r = server.patch(&app.admin_path("/auth-config"), &json!({ field: value })).await;
                assert_eq!(r.expect(200)[field], value, "{field} = {value}");
            }
        }
        server.patch(&app.admin_path("/auth-config"), &defaults()).await.expect(200);

        let refused = [
            json!({ "signup_default_role": "wizard" }),
            json!({ "allowed_redirect_origins": ["https://app.example.com/callback"] }),
            json!({ "allowed_redirect_origins": ["https://app.example.com?x=1"] }),
            json!({ "allowed_redirect_origins": ["https://*.example.com"] }),
            json!({ "allowed_redirect_origins": ["ftp://files.example.com"] }),
            json!({ "allowed_redirect_origins": ["not a url"] }),
            json!({ "signup_allowed_email_domains": ["not a domain"] }),
            json!({ "signup_allowed_email_domains": ["nodot"] }),
            json!({ "oauth_link_policy": "sometimes" }),
            json!({ "max_sessions": -1 }),
            json!({ "refresh_reuse_grace_seconds": "30" }),
            json!({ "signin_enabled": "yes" }),
            // A bad field spoils the whole request: nothing of it is applied.
            json!({ "max_sessions": 5, "password_min_length": 4 }),
        ];
        for body in refused {
            let r = server.patch(&app.admin_path("/auth-config"), &body).await;
            assert_eq!(r.status, 400, "{body}: {r}");
            r.assert_error_shape();
        }
        assert_eq!(get_config(&app).await, defaults(), "refused changes left the configuration alone");
    }
);

db_test!(
    async fn the_refresh_reuse_grace_is_validated_as_a_field(server) {
        let app = ConsumerApp::create(&server, "graces").await;
        // Out of range: a validation failure; not a whole non-negative number: unparseable.
        for (bad, code) in [
            (json!(61), "validation_failed"),
            (json!(3600), "validation_failed"),
            (json!(-1), "invalid_request"),
            (json!(1.5), "invalid_request"),
        ] {
            let r = server.patch(&app.admin_path("/auth-config"), &json!({ "refresh_reuse_grace_seconds": bad })).await;
            r.expect_error(400, code);
        }
        assert_eq!(get_config(&app).await["refresh_reuse_grace_seconds"], 0);
        let r = server.patch(&app.admin_path("/auth-config"), &json!({ "refresh_reuse_grace_seconds": 60 })).await;
        assert_eq!(r.expect(200)["refresh_reuse_grace_seconds"], 60);
        assert_eq!(get_config(&app).await["refresh_reuse_grace_seconds"], 60);
        // Null leaves it as it is.
        let r = server.patch(&app.admin_path("/auth-config"), &json!({ "refresh_reuse_grace_seconds": null })).await;
        assert_eq!(r.expect(200)["refresh_reuse_grace_seconds"], 60);
    }
);
