//! App API keys (`hdk_live_…`) through the admin API: created with a permission set and shown
//! once, listed by prefix only, hard-deleted; what such a key can then do (its own app within
//! its permissions, 404 for any other app, 403 on workspace routes), that it can never hand out
//! more than it holds, and the audit trail.

use heimdall_tests::{TestServer, db_test, users::ConsumerApp};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

async fn create_key(app: &ConsumerApp<'_>, as_key: &str, name: &str, permissions: &[&str]) -> heimdall_tests::Reply {
    app.server
        .post_json_as(as_key, &app.admin_path("/api-keys"), &json!({ "name": name, "permissions": permissions }))
        .await
}

db_test!(
    async fn creating_an_api_key_shows_the_key_once_and_lists_only_its_prefix(server) {
        let app = ConsumerApp::create(&server, "keys-create").await;
        let before = chrono::Utc::now() - chrono::Duration::seconds(5);
        let r = create_key(&app, &server.pak, "CI deploy", &["role.read", "docs.*"]).await;
        let created = r.expect(201).clone();
        let key = created["key"].as_str().expect("key").to_owned();
        assert!(key.starts_with("hdk_live_"), "{r}");
        assert!(key.len() >= 40, "a high-entropy key: {r}");
        assert_eq!(created["key_prefix"], &key[..16], "{r}");
        assert_eq!(created["name"], "CI deploy");
        assert_eq!(created["permissions"], json!(["role.read", "docs.*"]));
        let created_at: chrono::DateTime<chrono::Utc> = created["created_at"].as_str().unwrap().parse().unwrap();
        assert!(created_at >= before, "{r}");
        created["id"].as_str().unwrap().parse::<Uuid>().expect("id");

        let second = create_key(&app, &server.pak, "empty", &[]).await;
        assert_eq!(second.expect(201)["permissions"], json!([]), "permissions may be empty");
        assert_ne!(second["key"], created["key"]);

        let list = server.get(&app.admin_path("/api-keys")).await;
        let body = list.expect(200);
        assert!(!list.text.contains(&key), "the key is never listed: {list}");
        let data = body["data"].as_array().unwrap();
        assert_eq!(data.len(), 2);
        let first = &data[0];
        assert_eq!(first["id"], created["id"]);
        assert_eq!(first["key_prefix"], created["key_prefix"]);
        assert_eq!(first["permissions"], json!(["role.read", "docs.*"]));
        assert!(first.get("key").is_none(), "{first}");
        let mut fields: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["created_at", "id", "key_prefix", "last_used_at", "name", "permissions"]);
        assert_eq!(body["pagination"]["has_more"], false);

        // Paging works like every other list.
        let page = server.get(&app.admin_path("/api-keys?limit=1")).await;
        assert_eq!(page.expect(200)["data"].as_array().unwrap().len(), 1);
        assert_eq!(page["pagination"]["has_more"], true);
    }
);

db_test!(
    async fn api_key_requests_are_validated(server) {
        let app = ConsumerApp::create(&server, "keys-validate").await;
        let path = app.admin_path("/api-keys");
        for body in [
            json!({ "name": "", "permissions": [] }),
            json!({ "name": "x".repeat(121), "permissions": [] }),
            json!({ "name": "ok", "permissions": ["Docs.Read"] }),
            json!({ "name": "ok", "permissions": ["docs"] }),
            json!({ "name": "ok", "permissions": ["*.read"] }),
            json!({ "name": "ok", "permissions": ["auth..*"] }),
        ] {
            let r = server.post(&path, &body).await;
            r.expect_error(400, "validation_failed");
        }
        // `permissions` is required even when empty.
        let r = server.post(&path, &json!({ "name": "ok" })).await;
        r.expect(400);
        r.assert_error_shape();
        assert_eq!(server.get(&path).await.expect(200)["data"], json!([]));
    }
);

db_test!(
    async fn an_api_key_works_on_its_app_within_its_permissions_only(server) {
        let app = ConsumerApp::create(&server, "keys-scope").await;
        let other = ConsumerApp::create(&server, "keys-scope-other").await;
        app.create_role("editor").await;
        let key = create_key(&app, &server.pak, "reader", &["role.read"]).await.expect(201)["key"].as_str().unwrap().to_owned();

        server.get_as(&key, &app.admin_path("/roles")).await.expect(200);
        server.get_as(&key, &app.admin_path("/roles/editor")).await.expect(200);
        let put = server.request_as(&key, Method::PUT, &app.admin_path("/roles/editor/permissions")).json(&json!({ "permissions": [] }));
        TestServer::send(put).await.expect_error(403, "forbidden");
        server.post_json_as(&key, &app.admin_path("/roles"), &json!({ "name": "new-role" })).await.expect_error(403, "forbidden");
        server.get_as(&key, &app.admin_path("/api-keys")).await.expect_error(403, "forbidden");
        server.get_as(&key, &app.admin_path("/credentials")).await.expect_error(403, "forbidden");

        // Any other app does not exist for this key, even in the same workspace.
        for path in ["/roles", "/roles/member", "/api-keys", "/credentials", ""] {
            server.get_as(&key, &other.admin_path(path)).await.expect_error(404, "not_found");
        }
        let put = server.request_as(&key, Method::PUT, &other.admin_path("/roles/member/permissions")).json(&json!({ "permissions": [] }));
        TestServer::send(put).await.expect_error(404, "not_found");

        // Workspace routes need a platform key.
        server.get_as(&key, "/v1/apps").await.expect_error(403, "forbidden");
        server
            .post_json_as(&key, "/v1/apps", &json!({ "display_name": "By key", "slug": "by-app-key" }))
            .await
            .expect_error(403, "forbidden");
    }
);

db_test!(
    async fn an_api_key_cannot_mint_keys_or_credentials_beyond_its_own_permissions(server) {
        let app = ConsumerApp::create(&server, "keys-escalate").await;
        let key = create_key(&app, &server.pak, "delegator", &["api_key.write", "credential.write", "docs.read"])
            .await
            .expect(201)["key"]
            .as_str()
            .unwrap()
            .to_owned();

        // What it holds, it may hand out.
        let r = create_key(&app, &key, "child", &["docs.read"]).await;
        assert_eq!(r.expect(201)["permissions"], json!(["docs.read"]));
        let r = server.post_json_as(&key, &app.admin_path("/credentials"), &json!({ "name": "svc", "scopes": ["docs.read"] })).await;
        r.expect(201);

        // Nothing more.
        for beyond in [vec!["docs.write"], vec!["docs.*"], vec!["*"], vec!["role.write"], vec!["docs.read", "api_key.read"]] {
            create_key(&app, &key, "escalated", &beyond).await.expect_error(403, "forbidden");
            let r = server.post_json_as(&key, &app.admin_path("/credentials"), &json!({ "name": "svc", "scopes": beyond })).await;
            r.expect_error(403, "forbidden");
        }
        let all = server.get(&app.admin_path("/api-keys")).await;
        assert_eq!(all.expect(200)["data"].as_array().unwrap().len(), 2, "{all}");
        let clients = server.get(&app.admin_path("/credentials")).await;
        assert_eq!(clients.expect(200)["data"].as_array().unwrap().len(), 1, "{clients}");
    }
);

db_test!(
    async fn deleting_an_api_key_stops_it_at_once_and_is_audited(server) {
        let app = ConsumerApp::create(&server, "keys-delete").await;
        let created = create_key(&app, &server.pak, "temp", &["role.read"]).await.expect(201).clone();
        let key = created["key"].as_str().unwrap();
        let id = created["id"].as_str().unwrap();
        server.get_as(key, &app.admin_path("/roles")).await.expect(200);

        let r = server.delete(&app.admin_path(&format!("/api-keys/{id}"))).await;
        assert!(r.status == 204 || r.status == 200, "{r}");
        server.get_as(key, &app.admin_path("/roles")).await.expect_error(401, "unauthorized");
        assert_eq!(server.get(&app.admin_path("/api-keys")).await.expect(200)["data"], json!([]));
        server.delete(&app.admin_path(&format!("/api-keys/{id}"))).await.expect_error(404, "not_found");
        // A key of another app cannot be deleted through this one.
        let other = ConsumerApp::create(&server, "keys-delete-other").await;
        let theirs = create_key(&other, &server.pak, "theirs", &[]).await.expect(201)["id"].as_str().unwrap().to_owned();
        server.delete(&app.admin_path(&format!("/api-keys/{theirs}"))).await.expect_error(404, "not_found");
        assert_eq!(server.get(&other.admin_path("/api-keys")).await.expect(200)["data"].as_array().unwrap().len(), 1);

        let made = app.audit("api_key.created").await;
        assert_eq!(made.len(), 1, "{made:?}");
        assert_eq!(made[0]["resource_id"], id);
        assert_eq!(made[0]["actor_id"], server.pak_id().await.to_string());
        assert_eq!(made[0]["details"]["permissions"], json!(["role.read"]));
        assert!(!made[0].to_string().contains(key), "the key is never audited: {}", made[0]);
        let gone: Vec<Value> = app.audit("api_key.deleted").await;
        assert_eq!(gone.len(), 1, "{gone:?}");
        assert_eq!(gone[0]["resource_id"], id);
    }
);
