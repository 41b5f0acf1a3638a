//! M2M credentials on the admin API: creation (the secret shown once), listing and reading by
//! row id or by `m2m_…` client id, activation, secret rotation (the old secret fails at once),
//! scope replacement, deletion, app isolation and the audit trail.

use heimdall_tests::{TestServer, db_test, users::ConsumerApp};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

fn scopes(detail: &Value) -> Vec<String> {
    detail["scopes"]
        .as_array()
        .unwrap_or_else(|| panic!("scopes: {detail}"))
        .iter()
        .map(|s| format!("{}.{}", s["resource"].as_str().unwrap(), s["action"].as_str().unwrap()))
        .collect()
}

db_test!(
    async fn creating_a_credential_returns_its_client_id_and_secret_once(server) {
        let app = ConsumerApp::create(&server, "creds-create").await;
        let r = server
            .post(&app.admin_path("/credentials"), &json!({ "name": "billing worker", "scopes": ["docs.read", "billing.*"] }))
            .await;
        let created = r.expect(201).clone();
        let id: Uuid = created["id"].as_str().unwrap().parse().expect("id is a UUID");
        let client_id = created["client_id"].as_str().unwrap();
        let secret = created["client_secret"].as_str().unwrap();
        assert!(client_id.starts_with("m2m_") && client_id.len() > 12, "{r}");
        assert!(secret.starts_with("m2ms_") && secret.len() >= 40, "{r}");
        assert_eq!(created["name"], "billing worker");
        assert!(created["created_at"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().is_ok());
        assert_eq!(scopes(&created), ["docs.read", "billing.*"]);

        // Without scopes the client starts with none.
        let bare = server.post(&app.admin_path("/credentials"), &json!({ "name": "bare" })).await;
        assert_eq!(scopes(bare.expect(201)), Vec::<String>::new());
        assert_ne!(bare["client_id"], created["client_id"]);

        // Listed and read without the secret, by row id and by client id.
        let list = server.get(&app.admin_path("/credentials")).await;
        assert!(!list.text.contains(secret), "{list}");
        let first = &list.expect(200)["data"][0];
        let mut fields: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["app_id", "client_id", "created_at", "id", "is_active", "last_used_at", "name", "tenant_id"]);
        assert_eq!(first["id"], id.to_string());
        assert_eq!(first["is_active"], true);
        assert_eq!(first["app_id"], app.id.to_string());
        assert_eq!(list["pagination"]["has_more"], false);
        let page = server.get(&app.admin_path("/credentials?limit=1")).await;
        assert_eq!(page.expect(200)["data"].as_array().unwrap().len(), 1);
        assert_eq!(page["pagination"]["has_more"], true);

        let by_id = server.get(&app.admin_path(&format!("/credentials/{id}"))).await;
        let by_client_id = server.get(&app.admin_path(&format!("/credentials/{client_id}"))).await;
        assert_eq!(by_id.expect(200), by_client_id.expect(200));
        assert!(!by_id.text.contains(secret));
        assert_eq!(by_id["client_id"], client_id);
        assert_eq!(scopes(&by_id.body), ["docs.read", "billing.*"]);
        assert!(by_id.body.get("client_secret").is_none());

        server.get(&app.admin_path(&format!("/credentials/{}", Uuid::now_v7()))).await.expect_error(404, "not_found");
        server.get(&app.admin_path("/credentials/m2m_unknown")).await.expect_error(404, "not_found");
    }
);

db_test!(
    async fn credential_requests_are_validated(server) {
        let app = ConsumerApp::create(&server, "creds-validate").await;
        let path = app.admin_path("/credentials");
        for body in [
            json!({ "name": "" }),
            json!({ "name": "x".repeat(121) }),
            json!({ "name": "ok", "scopes": ["Docs.Read"] }),
            json!({ "name": "ok", "scopes": ["docs"] }),
            json!({ "name": "ok", "scopes": ["*.read"] }),
        ] {
            server.post(&path, &body).await.expect_error(400, "validation_failed");
        }
        assert_eq!(server.get(&path).await.expect(200)["data"], json!([]));
        let client = app.create_client("svc", &[]).await;
        let put = server
            .request_as(&server.pak, Method::PUT, &app.admin_path(&format!("/credentials/{}/scopes", client.id)))
            .json(&json!({ "permissions": ["NOT valid"] }));
        TestServer::send(put).await.expect_error(400, "validation_failed");
    }
);

db_test!(
    async fn a_deactivated_credential_gets_no_tokens_until_reactivated(server) {
        let app = ConsumerApp::create(&server, "creds-active").await;
        let client = app.create_client("svc", &["docs.read"]).await;
        app.client_token(&client, None).await.expect(200);

        let detail = app.set_client_active(&client, false).await;
        assert_eq!(detail["is_active"], false);
        assert_eq!(scopes(&detail), ["docs.read"]);
        let r = app.client_token(&client, None).await;
        assert_eq!(r.status, 401, "{r}");
        assert_eq!(r["error"], "invalid_client");
        assert_eq!(server.get(&app.admin_path(&format!("/credentials/{}", client.client_id))).await.expect(200)["is_active"], false);

        // Addressed by client id this time.
        let r = server.patch(&app.admin_path(&format!("/credentials/{}", client.client_id)), &json!({ "is_active": true })).await;
        assert_eq!(r.expect(200)["is_active"], true);
        app.client_token(&client, None).await.expect(200);
    }
);

db_test!(
    async fn rotating_the_secret_takes_no_body_and_the_old_secret_fails_at_once(server) {
        let app = ConsumerApp::create(&server, "creds-rotate").await;
        let client = app.create_client("svc", &["docs.read"]).await;
        let issued_before = app.m2m_token(&client).await;

        // As the SDK sends it: POST, no body, no Content-Type.
        let rotate = server.request_as(&server.pak, Method::POST, &app.admin_path(&format!("/credentials/{}/rotate", client.id)));
        let r = TestServer::send(rotate).await;
        let body = r.expect(200);
        assert_eq!(body["client_id"], client.client_id.as_str());
        let new_secret = body["client_secret"].as_str().unwrap().to_owned();
        assert!(new_secret.starts_with("m2ms_"));
        assert_ne!(new_secret, client.secret);

        let old = app.client_token(&client, None).await;
        assert_eq!(old.status, 401, "{old}");
        assert_eq!(old["error"], "invalid_client");
        let rotated = heimdall_tests::authz::M2mClient { secret: new_secret, ..client.clone() };
        app.client_token(&rotated, None).await.expect(200);
        // Tokens already issued stay valid until they expire.
        assert!(app.allows(&issued_before, "docs.read").await);

        // By client id as well.
        let rotate = server.request_as(&server.pak, Method::POST, &app.admin_path(&format!("/credentials/{}/rotate", client.client_id)));
        let again = TestServer::send(rotate).await;
        assert_ne!(again.expect(200)["client_secret"], rotated.secret.as_str());
        assert_eq!(app.client_token(&rotated, None).await.status, 401);
    }
);

db_test!(
    async fn setting_scopes_replaces_them_and_new_tokens_carry_the_new_set(server) {
        let app = ConsumerApp::create(&server, "creds-scopes").await;
        let client = app.create_client("svc", &["docs.read"]).await;

        let detail = app.set_client_scopes(&client, &["docs.write", "billing.read", "docs.write"]).await;
        assert_eq!(scopes(&detail), ["docs.write", "billing.read"]);
        let r = app.client_token(&client, None).await;
        assert_eq!(r.expect(200)["scope"], "docs.write billing.read");

        let path = app.admin_path(&format!("/credentials/{}/scopes", client.client_id));
        let put = server.request_as(&server.pak, Method::PUT, &path).json(&json!({ "permissions": [] }));
        assert_eq!(scopes(TestServer::send(put).await.expect(200)), Vec::<String>::new());
        assert_eq!(app.client_token(&client, None).await.expect(200)["scope"], "");

        // A key cannot give a client more than it holds.
        let (key, _) = server.insert_app_key(app.id, &["credential.write", "docs.read"]).await;
        let put = server.request_as(&key, Method::PUT, &path).json(&json!({ "permissions": ["docs.read"] }));
        TestServer::send(put).await.expect(200);
        let put = server.request_as(&key, Method::PUT, &path).json(&json!({ "permissions": ["docs.*"] }));
        TestServer::send(put).await.expect_error(403, "forbidden");
        let detail = server.get(&app.admin_path(&format!("/credentials/{}", client.id))).await;
        assert_eq!(scopes(detail.expect(200)), ["docs.read"]);
    }
);

db_test!(
    async fn deleting_a_credential_removes_it_and_refuses_its_secret(server) {
        let app = ConsumerApp::create(&server, "creds-delete").await;
        let client = app.create_client("svc", &["docs.read"]).await;
        let keep = app.create_client("keep", &[]).await;

        let r = server.delete(&app.admin_path(&format!("/credentials/{}", client.client_id))).await;
        assert!(r.status == 204 || r.status == 200, "{r}");
        server.get(&app.admin_path(&format!("/credentials/{}", client.id))).await.expect_error(404, "not_found");
        server.delete(&app.admin_path(&format!("/credentials/{}", client.id))).await.expect_error(404, "not_found");
        let r = app.client_token(&client, None).await;
        assert_eq!(r.status, 401, "{r}");
        assert_eq!(r["error"], "invalid_client");
        let list = server.get(&app.admin_path("/credentials")).await;
        assert_eq!(list.expect(200)["data"].as_array().unwrap().len(), 1);
        assert_eq!(list["data"][0]["client_id"], keep.client_id.as_str());
    }
);

db_test!(
    async fn credentials_stay_inside_their_app(server) {
        let app = ConsumerApp::create(&server, "creds-home").await;
        let other = ConsumerApp::create(&server, "creds-away").await;
        let client = app.create_client("svc", &["docs.read"]).await;

        for key in [client.id.as_str(), client.client_id.as_str()] {
            let path = other.admin_path(&format!("/credentials/{key}"));
            server.get(&path).await.expect_error(404, "not_found");
            server.patch(&path, &json!({ "is_active": false })).await.expect_error(404, "not_found");
            server.delete(&path).await.expect_error(404, "not_found");
            TestServer::send(server.request_as(&server.pak, Method::POST, &format!("{path}/rotate"))).await.expect_error(404, "not_found");
        }
        // Its secret does not open another app's token endpoint.
        let r = other.client_token(&client, None).await;
        assert_eq!(r.status, 401, "{r}");
        assert_eq!(r["error"], "invalid_client");
        app.client_token(&client, None).await.expect(200);

        // An app key sees only its own app's credentials.
        let (key, _) = server.insert_app_key(other.id, &["credential.read"]).await;
        server.get_as(&key, &app.admin_path("/credentials")).await.expect_error(404, "not_found");
        assert_eq!(server.get_as(&key, &other.admin_path("/credentials")).await.expect(200)["data"], json!([]));
    }
);

db_test!(
    async fn credential_changes_are_audited_without_secrets(server) {
        let app = ConsumerApp::create(&server, "creds-audit").await;
        let pak = server.pak_id().await.to_string();
        let client = app.create_client("svc", &["docs.read"]).await;
        app.set_client_active(&client, false).await;
        app.set_client_active(&client, true).await;
        let rotate = server.request_as(&server.pak, Method::POST, &app.admin_path(&format!("/credentials/{}/rotate", client.id)));
        let new_secret = TestServer::send(rotate).await.expect(200)["client_secret"].as_str().unwrap().to_owned();
        app.set_client_scopes(&client, &["docs.write"]).await;
        server.delete(&app.admin_path(&format!("/credentials/{}", client.id))).await;

        let log = server.get(&app.admin_path("/audit-logs?limit=200")).await;
        let log = log.expect(200).clone();
        let text = log.to_string();
        assert!(!text.contains(&client.secret) && !text.contains(&new_secret), "no secret in the audit log");
        for (action, details) in [
            ("credential.created", Some(json!({ "name": "svc", "scopes": ["docs.read"] }))),
            ("credential.deactivated", Some(json!({ "is_active": false }))),
            ("credential.activated", Some(json!({ "is_active": true }))),
            ("credential.secret_rotated", None),
            ("credential.scopes_set", Some(json!({ "scopes": ["docs.write"] }))),
            ("credential.deleted", None),
        ] {
            let entries = app.audit(action).await;
            assert_eq!(entries.len(), 1, "{action}: {entries:?}");
            assert_eq!(entries[0]["resource_type"], "m2m_client", "{action}");
            assert_eq!(entries[0]["resource_id"], client.client_id.as_str(), "{action}");
            assert_eq!(entries[0]["actor_id"], pak, "{action}");
            if let Some(details) = details {
                assert_eq!(entries[0]["details"], details, "{action}");
            }
        }
    }
);

db_test!(
    async fn uses_of_clients_and_keys_are_stamped_as_last_used_at_by_the_batched_flush(server) {
        let app = ConsumerApp::create(&server, "stamped").await;
        let client = app.create_client("svc", &["docs.read"]).await;
        let (key, key_id) = server.insert_app_key(app.id, &["role.read"]).await;
        let started = chrono::Utc::now() - chrono::Duration::seconds(1);

        app.m2m_token(&client).await;
        server.get_as(&key, &app.admin_path("/roles")).await.expect(200);
        // Uses are remembered in memory; the maintenance tick (or shutdown) writes them.
        server.state().usage.flush(&server.state().db).await.expect("flush");

        let stamped = |v: &serde_json::Value| {
            v["last_used_at"].as_str().and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok()).is_some_and(|t| t >= started)
        };
        let clients = server.get(&app.admin_path("/credentials")).await;
        let row = clients.expect(200)["data"].as_array().unwrap().iter().find(|c| c["client_id"] == client.client_id.as_str()).cloned();
        assert!(row.as_ref().is_some_and(stamped), "{clients}");
        let keys = server.get(&app.admin_path("/api-keys")).await;
        let row = keys.expect(200)["data"].as_array().unwrap().iter().find(|k| k["id"] == key_id.to_string()).cloned();
        assert!(row.as_ref().is_some_and(stamped), "{keys}");
        assert!(server.pak_row().await.last_used_at.is_some_and(|t| t >= started), "the platform key's use is stamped too");
    }
);
