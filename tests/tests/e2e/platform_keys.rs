//! Platform API keys (`pcft_live_…`) through the admin API: created with a subset of the
//! caller's permissions and an optional expiry, shown once, listed by prefix only, revoked
//! (refused at once, on every instance sharing the database), each change in the workspace's
//! own audit log; and the caller's workspace listing.

use heimdall_tests::{TestServer, db_test};
use serde_json::{Value, json};

async fn create(server: &TestServer, as_key: &str, body: &Value) -> heimdall_tests::Reply {
    server.post_json_as(as_key, "/v1/platform-keys", body).await
}

db_test!(
    async fn a_platform_key_is_shown_once_listed_by_prefix_and_refused_once_revoked(server) {
        let r = create(
            &server,
            &server.pak,
            &json!({ "name": "CI deploy", "permissions": ["app.read", "platform_key.read"] }),
        )
        .await;
        let created = r.expect(201).clone();
        let key = created["key"].as_str().expect("key").to_owned();
        assert!(key.starts_with("pcft_live_") && key.len() >= 40, "{r}");
        assert_eq!(created["key_prefix"], &key[..16]);
        assert_eq!(created["permissions"], json!(["app.read", "platform_key.read"]));
        assert_eq!(created["expires_at"], Value::Null);

        // The new key works within what it holds.
        let list = server.get_as(&key, "/v1/platform-keys").await;
        let body = list.expect(200);
        assert!(!list.text.contains(&key), "the key is never listed: {list}");
        let data = body["data"].as_array().unwrap();
        assert_eq!(data.len(), 2, "the bootstrap key and the new one: {list}");
        let listed = data.iter().find(|k| k["id"] == created["id"]).expect("the new key is listed");
        let mut fields: Vec<&str> = listed.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            ["created_at", "expires_at", "id", "key_prefix", "last_used_at", "name", "permissions", "revoked_at"]
        );
        assert_eq!(listed["revoked_at"], Value::Null);
        // …and nothing beyond it.
        create(&server, &key, &json!({ "name": "more", "permissions": [] }))
            .await
            .expect_error(403, "forbidden");

        let path = format!("/v1/platform-keys/{}", created["id"].as_str().unwrap());
        server.delete(&path).await.expect(204);
        server.get_as(&key, "/v1/platform-keys").await.expect_error(401, "unauthorized");
        // Revoking again changes nothing; the key stays listed with its revocation time.
        server.delete(&path).await.expect(204);
        let list = server.get("/v1/platform-keys").await;
        let listed = list.expect(200)["data"].as_array().unwrap().iter().find(|k| k["id"] == created["id"]).cloned();
        assert!(listed.expect("still listed")["revoked_at"].is_string(), "{list}");
        server
            .delete(&format!("/v1/platform-keys/{}", uuid::Uuid::now_v7()))
            .await
            .expect_error(404, "not_found");
    }
);

db_test!(
    async fn a_platform_key_grants_only_what_its_creator_holds_and_may_expire(server) {
        let narrow = create(
            &server,
            &server.pak,
            &json!({ "name": "key admin", "permissions": ["platform_key.write", "app.read"] }),
        )
        .await
        .expect(201)["key"]
            .as_str()
            .unwrap()
            .to_owned();
        create(&server, &narrow, &json!({ "name": "wider", "permissions": ["*"] }))
            .await
            .expect_error(403, "forbidden");
        create(&server, &narrow, &json!({ "name": "same", "permissions": ["app.read"] })).await.expect(201);

        for body in [
            json!({ "name": "", "permissions": [] }),
            json!({ "name": "ok", "permissions": ["Not A Permission"] }),
            json!({ "name": "ok", "permissions": [], "expires_at": "2020-01-01T00:00:00Z" }),
        ] {
            create(&server, &server.pak, &body).await.expect(400);
        }

        let soon = chrono::Utc::now() + chrono::Duration::seconds(2);
        let r = create(&server, &server.pak, &json!({ "name": "short", "permissions": ["*"], "expires_at": soon })).await;
        let expiring = r.expect(201)["key"].as_str().unwrap().to_owned();
        assert!(r["expires_at"].is_string(), "{r}");
        server.get_as(&expiring, "/v1/workspaces").await.expect(200);
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        server.get_as(&expiring, "/v1/workspaces").await.expect_error(401, "unauthorized");
    }
);

db_test!(
    async fn platform_key_changes_are_in_the_workspace_log_and_the_workspace_is_listed(server) {
        let created = create(&server, &server.pak, &json!({ "name": "audited", "permissions": ["app.read"] })).await;
        let created = created.expect(201).clone();
        let id = created["id"].as_str().unwrap();
        server.delete(&format!("/v1/platform-keys/{id}")).await.expect(204);

        let log = server.get("/v1/workspace-audit-logs").await;
        let entries = log.expect(200)["data"].as_array().unwrap().clone();
        assert!(!log.text.contains(created["key"].as_str().unwrap()), "no secret in the log: {log}");
        let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["platform_key.revoked", "platform_key.created"], "newest first: {log}");
        let pak_id = server.pak_id().await.to_string();
        for entry in &entries {
            assert_eq!(entry["actor_type"], "platform_api_key");
            assert_eq!(entry["actor_id"], pak_id.as_str());
            assert_eq!(entry["resource_id"], id);
            assert_eq!(entry["workspace_id"], server.workspace_id().await.to_string().as_str());
            assert!(entry["request_id"].is_string(), "{entry}");
        }
        assert_eq!(entries[1]["details"]["key_prefix"], created["key_prefix"]);

        let workspaces = server.get("/v1/workspaces").await;
        let data = workspaces.expect(200)["data"].as_array().unwrap();
        assert_eq!(data.len(), 1, "{workspaces}");
        assert_eq!(data[0]["id"], server.workspace_id().await.to_string().as_str());
        assert_eq!(data[0]["name"], "default");

        // Another workspace's key sees only its own workspace and keys.
        let (other, other_id) = server.other_workspace("other").await;
        let theirs = server.get_as(&other, "/v1/workspaces").await;
        assert_eq!(theirs.expect(200)["data"][0]["id"], other_id.to_string().as_str());
        let keys = server.get_as(&other, "/v1/platform-keys").await;
        assert_eq!(keys.expect(200)["data"].as_array().unwrap().len(), 1, "{keys}");
        server.delete_as(&other, &format!("/v1/platform-keys/{}", server.pak_id().await)).await.expect_error(404, "not_found");

        // App API keys have no workspace-level reach.
        let app = server.create_app("pk-app").await;
        let (app_key, _) = server.insert_app_key(app["id"].as_str().unwrap().parse().unwrap(), &["*"]).await;
        server.get_as(&app_key, "/v1/platform-keys").await.expect_error(403, "forbidden");
        server.get_as(&app_key, "/v1/workspaces").await.expect_error(403, "forbidden");
    }
);

db_test!(
    postgres_only async fn a_revoked_platform_key_is_refused_at_once_on_every_instance(db: Db) {
        let first = TestServer::spawn(db).await;
        let second = TestServer::spawn_on_same_db(&first).await;
        let key = create(&first, &first.pak, &json!({ "name": "leaked", "permissions": ["*"] })).await;
        let created = key.expect(201).clone();
        let key = created["key"].as_str().unwrap();
        first.get_as(key, "/v1/apps").await.expect(200);
        second.get_as(key, "/v1/apps").await.expect(200);

        second.delete(&format!("/v1/platform-keys/{}", created["id"].as_str().unwrap())).await.expect(204);
        // No wait: the very next request on either instance is refused.
        first.get_as(key, "/v1/apps").await.expect_error(401, "unauthorized");
        second.get_as(key, "/v1/apps").await.expect_error(401, "unauthorized");
    }
);

db_test!(
    async fn bootstrap_on_a_database_with_a_workspace_issues_a_key_for_it(server) {
        let app = server.create_app("bootstrapped").await;
        let db = &server.state().db;
        let issued = heimdall_server::workspaces::bootstrap_key(db, "ignored", false).await.expect("bootstrap");
        assert!(!issued.created);
        assert_eq!(issued.workspace_id, server.workspace_id().await);
        let apps = server.get_as(issued.key.expose(), "/v1/apps").await;
        assert_eq!(apps.expect(200)["data"][0]["id"], app["id"], "the key sees the apps made before: {apps}");
        let log = server.get("/v1/workspace-audit-logs").await;
        assert_eq!(log.expect(200)["data"][0]["actor_type"], "system", "{log}");

        // `--new-workspace` makes a separate one, which sees none of them.
        let fresh = heimdall_server::workspaces::bootstrap_key(db, "second", true).await.expect("bootstrap");
        assert!(fresh.created);
        assert_ne!(fresh.workspace_id, issued.workspace_id);
        let apps = server.get_as(fresh.key.expose(), "/v1/apps").await;
        assert_eq!(apps.expect(200)["data"], serde_json::json!([]), "{apps}");
    }
);
