//! Tenant isolation between workspaces: a platform API key of one workspace cannot see, change
//! or even detect the apps of another (404, never 403), and cannot create apps elsewhere.

use heimdall_tests::db_test;
use reqwest::Method;
use serde_json::json;

db_test!(
    async fn another_workspace_gets_404_on_foreign_apps(server) {
        let app = server.create_app("ours").await;
        let id = app["id"].as_str().unwrap();
        let (theirs, their_workspace) = server.other_workspace("other").await;
        assert_ne!(their_workspace, server.workspace_id().await);

        let app_path = format!("/v1/apps/{id}");
        server.get_as(&theirs, &app_path).await.expect_error(404, "not_found");
        server.patch_as(&theirs, &app_path, &json!({ "display_name": "Pwned" })).await.expect_error(404, "not_found");
        server.patch_as(&theirs, &format!("{app_path}/status"), &json!({ "status": "suspended" })).await.expect_error(404, "not_found");
        server.delete_as(&theirs, &app_path).await.expect_error(404, "not_found");
        server.get_as(&theirs, &format!("{app_path}/audit-logs")).await.expect_error(404, "not_found");
        server.get_as(&theirs, &format!("{app_path}/signing-keys")).await.expect_error(404, "not_found");
        let rotate = server.request_as(&theirs, Method::POST, &format!("{app_path}/signing-keys/rotate"));
        heimdall_tests::TestServer::send(rotate).await.expect_error(404, "not_found");

        // A foreign app looks exactly like a missing one.
        let missing = server.get_as(&theirs, &format!("/v1/apps/{}", uuid::Uuid::now_v7())).await;
        let foreign = server.get_as(&theirs, &app_path).await;
        assert_eq!(missing.body["message"], foreign.body["message"]);

        // Nothing of ours in their list or stats.
        let list = server.get_as(&theirs, "/v1/apps").await;
        assert_eq!(list.expect(200)["data"], json!([]));
        let ours = server.workspace_id().await;
        let list = server.get_as(&theirs, &format!("/v1/apps?workspace_id={ours}")).await;
        assert_eq!(list.expect(200)["data"], json!([]));
        assert_eq!(server.get_as(&theirs, "/v1/stats/me").await.expect(200)["apps"], 0);

        // They cannot create in our workspace, but can in theirs, and we do not see theirs.
        let r = server
            .post_json_as(&theirs, "/v1/apps", &json!({ "display_name": "Sneaky", "slug": "sneaky", "workspace_id": ours }))
            .await;
        r.expect_error(403, "forbidden");
        let r = server
            .post_json_as(&theirs, "/v1/apps", &json!({ "display_name": "Theirs", "slug": "theirs", "workspace_id": their_workspace }))
            .await;
        assert_eq!(r.expect(201)["workspace_id"], their_workspace.to_string());
        let list = server.get("/v1/apps").await;
        let slugs: Vec<_> = list.expect(200)["data"].as_array().unwrap().iter().map(|a| a["slug"].clone()).collect();
        assert_eq!(slugs, [json!("ours")]);
        server.get(&format!("/v1/apps/{}", r["id"].as_str().unwrap())).await.expect_error(404, "not_found");

        // Slugs are global: theirs cannot reuse ours.
        server
            .post_json_as(&theirs, "/v1/apps", &json!({ "display_name": "Copy", "slug": "ours" }))
            .await
            .expect_error(409, "slug_taken");

        // Our app is untouched.
        let after = server.get(&app_path).await;
        assert_eq!(after.expect(200), &app);
    }
);
