//! The audit log: every admin change is recorded with its actor, request id and IP address;
//! the listing filters by action and actor and pages newest first; entries outlive the app.

use heimdall_server::entity::audit_log;
use heimdall_tests::{TestServer, db_test};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

fn actions(page: &Value) -> Vec<String> {
    page["data"].as_array().expect("data").iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

db_test!(
    async fn admin_changes_are_audited_with_actor_request_id_and_ip(server) {
        let created = server.post("/v1/apps", &json!({ "display_name": "Audited", "slug": "audited" })).await;
        let id = created.expect(201)["id"].as_str().unwrap().to_owned();
        let app_path = format!("/v1/apps/{id}");
        let updated = server.patch(&app_path, &json!({ "display_name": "Audited 2", "slug": "audited-2" })).await;
        updated.expect(200);
        let status = TestServer::send(
            server
                .request_as(&server.pak, Method::PATCH, &format!("{app_path}/status"))
                .header("x-request-id", "client-chosen-id.42")
                .json(&json!({ "status": "suspended" })),
        )
        .await;
        status.expect(200);
        assert_eq!(status.request_id(), "client-chosen-id.42");
        let rotated = TestServer::send(server.request_as(&server.pak, Method::POST, &format!("{app_path}/signing-keys/rotate"))).await;
        rotated.expect(200);
        // Reads and refused changes are not audited.
        server.get(&app_path).await.expect(200);
        server.patch(&app_path, &json!({ "slug": "Bad" })).await.expect(400);

        let log = server.get(&format!("{app_path}/audit-logs")).await;
        let page = log.expect(200);
        assert_eq!(actions(page), ["signing_key.rotated", "app.status_changed", "app.updated", "app.created"], "newest first");
        assert_eq!(page["pagination"], json!({ "has_more": false, "next_cursor": null }));
        let pak_id = server.pak_id().await.to_string();
        let entries = page["data"].as_array().unwrap();
        for (entry, reply) in entries.iter().zip([&rotated, &status, &updated, &created]) {
            assert_eq!(entry["app_id"], id.as_str());
            assert_eq!(entry["actor_id"], pak_id.as_str(), "{entry}");
            assert_eq!(entry["actor_type"], "platform_api_key");
            assert_eq!(entry["request_id"], reply.request_id(), "{entry}");
            assert_eq!(entry["ip"], "127.0.0.1");
            assert!(entry["created_at"].as_str().is_some_and(|t| t.parse::<chrono::DateTime<chrono::Utc>>().is_ok()));
            assert!(entry["id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok());
        }
        let [rotation, status_change, update, creation] = [&entries[0], &entries[1], &entries[2], &entries[3]];
        assert_eq!(creation["resource_type"], "app");
        assert_eq!(creation["resource_id"], id.as_str());
        assert_eq!(creation["details"]["slug"], "audited");
        assert_eq!(update["details"]["display_name"], "Audited 2");
        assert_eq!(update["details"]["slug"], json!({ "from": "audited", "to": "audited-2" }));
        assert_eq!(status_change["details"], json!({ "from": "active", "to": "suspended" }));
        assert_eq!(rotation["resource_type"], "signing_key");
        assert_eq!(rotation["resource_id"], rotated.body["data"][0]["kid"]);
        assert!(!log.text.contains("private"), "no key material in the log: {log}");
    }
);

db_test!(
    async fn audit_logs_filter_by_action_and_actor_and_page_newest_first(server) {
        let app = server.create_app("filtered").await;
        let id = app["id"].as_str().unwrap();
        let path = format!("/v1/apps/{id}/audit-logs");
        for i in 0..3 {
            server.patch(&format!("/v1/apps/{id}"), &json!({ "display_name": format!("Name {i}") })).await.expect(200);
        }
        let (app_key, app_key_id) = server.insert_app_key(id.parse().unwrap(), &["app.update"]).await;
        server.patch_as(&app_key, &format!("/v1/apps/{id}"), &json!({ "display_name": "By key" })).await.expect(200);

        // Everything, two at a time, newest first.
        let mut all = Vec::new();
        let mut next = format!("{path}?limit=2");
        loop {
            let r = server.get(&next).await;
            let page = r.expect(200);
            assert!(page["data"].as_array().unwrap().len() <= 2);
            all.extend(page["data"].as_array().unwrap().iter().cloned());
            match page["pagination"]["next_cursor"].as_str() {
                Some(cursor) => {
                    assert_eq!(page["pagination"]["has_more"], true);
                    next = format!("{path}?limit=2&cursor={cursor}");
                }
                None => {
                    assert_eq!(page["pagination"]["has_more"], false);
                    break;
                }
            }
        }
        let names: Vec<_> = all.iter().map(|e| e["details"]["display_name"].clone()).collect();
        assert_eq!(names, [json!("By key"), json!("Name 2"), json!("Name 1"), json!("Name 0"), json!("App filtered")]);
        assert_eq!(all.last().unwrap()["action"], "app.created");
        let times: Vec<&str> = all.iter().map(|e| e["created_at"].as_str().unwrap()).collect();
        let mut sorted = times.clone();
        sorted.sort_by_key(|t| std::cmp::Reverse(t.parse::<chrono::DateTime<chrono::Utc>>().unwrap()));
        assert_eq!(times, sorted);

        let r = server.get(&format!("{path}?action=app.updated")).await;
        assert_eq!(actions(r.expect(200)), ["app.updated"; 4]);
        let r = server.get(&format!("{path}?action=app.created")).await;
        assert_eq!(actions(r.expect(200)), ["app.created"]);
        let r = server.get(&format!("{path}?action=app")).await;
        assert_eq!(r.expect(200)["data"], json!([]), "action is an exact match");

        let pak_id = server.pak_id().await;
        let r = server.get(&format!("{path}?actor_id={pak_id}")).await;
        assert_eq!(r.expect(200)["data"].as_array().unwrap().len(), 4);
        let r = server.get(&format!("{path}?actor_id={app_key_id}")).await;
        let by_key = r.expect(200)["data"].as_array().unwrap();
        assert_eq!(by_key.len(), 1);
        assert_eq!(by_key[0]["actor_type"], "app_api_key");
        let r = server.get(&format!("{path}?actor_id={pak_id}&action=app.created&limit=1")).await;
        assert_eq!(actions(r.expect(200)), ["app.created"]);
        assert_eq!(r["pagination"]["has_more"], false);
        let r = server.get(&format!("{path}?actor_id=nobody")).await;
        assert_eq!(r.expect(200)["data"], json!([]));

        server.get(&format!("{path}?limit=0")).await.expect_error(400, "validation_failed");
        server.get(&format!("{path}?limit=201")).await.expect_error(400, "validation_failed");
        server.get(&format!("{path}?cursor=%%%")).await.expect(400);
        server.get(&format!("{path}?cursor=garbage")).await.expect_error(400, "invalid_cursor");
    }
);

db_test!(
    async fn audit_entries_outlive_the_deleted_app(server) {
        let app = server.create_app("ephemeral").await;
        let id: uuid::Uuid = app["id"].as_str().unwrap().parse().unwrap();
        server.patch(&format!("/v1/apps/{id}"), &json!({ "display_name": "Soon gone" })).await.expect(200);
        let before = server.get(&format!("/v1/apps/{id}/audit-logs")).await;
        assert_eq!(actions(before.expect(200)), ["app.updated", "app.created"]);

        let deleted = server.delete(&format!("/v1/apps/{id}")).await;
        assert_eq!(deleted.status, 204, "{deleted}");
        // The API no longer knows the app…
        server.get(&format!("/v1/apps/{id}/audit-logs")).await.expect_error(404, "not_found");
        // …but the log kept every entry, ending with the deletion.
        let rows = audit_log::Entity::find()
            .filter(audit_log::Column::AppId.eq(id))
            .order_by_desc(audit_log::Column::Id)
            .all(&server.state().db)
            .await
            .unwrap();
        let stored: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(stored, ["app.deleted", "app.updated", "app.created"]);
        assert_eq!(rows[0].actor_id.as_deref(), Some(server.pak_id().await.to_string().as_str()));
        assert_eq!(rows[0].request_id.as_deref(), Some(deleted.request_id()));
        assert_eq!(rows[0].details, Some(json!({ "slug": "ephemeral" })));
    }
);
