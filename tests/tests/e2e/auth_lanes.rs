//! Credential lanes of the admin API: missing, empty, malformed, unknown and JWT-shaped
//! credentials get one plain JSON 401; app API keys (`hdk_live_…`) reach only their own app,
//! within their permissions, and never workspace-level routes. Public routes ignore whatever
//! credential arrives.

use heimdall_tests::{TestServer, db_test};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

db_test!(
    async fn admin_routes_return_401_json_without_a_valid_credential(server) {
        let app = server.create_app("guarded").await;
        let app_path = format!("/v1/apps/{}", app["id"].as_str().unwrap());

        for path in ["/v1/apps", "/v1/stats/me", app_path.as_str()] {
            let r = server.get_public(path).await;
            let body = r.expect_error(401, "unauthorized");
            assert!(!body["message"].as_str().unwrap().is_empty());

            let r = TestServer::send(server.request(Method::GET, path).header("authorization", "")).await;
            r.expect_error(401, "unauthorized");
            let r = TestServer::send(server.request(Method::GET, path).header("authorization", "   ")).await;
            r.expect_error(401, "unauthorized");
        }

        let unknown_pak = format!("pcft_live_{}", "A".repeat(43));
        let unknown_app_key = format!("hdk_live_{}", "B".repeat(43));
        let jwt = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        for key in ["garbage", "pcft_live_short", unknown_pak.as_str(), unknown_app_key.as_str(), jwt] {
            server.get_as(key, "/v1/apps").await.expect_error(401, "unauthorized");
            server.get_as(key, &app_path).await.expect_error(401, "unauthorized");
            server
                .post_json_as(key, "/v1/apps", &json!({ "display_name": "X", "slug": "by-stranger" }))
                .await
                .expect_error(401, "unauthorized");
        }
        for header in ["Basic dXNlcjpwYXNz", "Bearer", "Token abc", server.pak.as_str()] {
            let r = TestServer::send(server.request(Method::GET, "/v1/apps").header("authorization", header)).await;
            r.expect_error(401, "unauthorized");
        }

        // A refused request changed nothing.
        assert_eq!(server.get("/v1/apps").await.expect(200)["data"].as_array().unwrap().len(), 1);
    }
);

db_test!(
    async fn app_api_key_reaches_its_own_app_within_its_permissions(server) {
        let app = server.create_app("keyed").await;
        let other = server.create_app("unkeyed").await;
        let app_id: Uuid = app["id"].as_str().unwrap().parse().unwrap();
        let app_path = format!("/v1/apps/{app_id}");
        let other_path = format!("/v1/apps/{}", other["id"].as_str().unwrap());
        let (reader, _) = server.insert_app_key(app_id, &["app.read", "signing_key.read"]).await;

        assert_eq!(server.get_as(&reader, &app_path).await.expect(200), &app);
        server.get_as(&reader, &format!("{app_path}/signing-keys")).await.expect(200);
        let r = server.patch_as(&reader, &app_path, &json!({ "display_name": "Nope" })).await;
        let body = r.expect_error(403, "forbidden");
        assert_eq!(body["details"]["missing_permission"], "app.update", "{r}");
        server.delete_as(&reader, &app_path).await.expect_error(403, "forbidden");
        server.get_as(&reader, &format!("{app_path}/audit-logs")).await.expect_error(403, "forbidden");
        let rotate = server.request_as(&reader, Method::POST, &format!("{app_path}/signing-keys/rotate"));
        TestServer::send(rotate).await.expect_error(403, "forbidden");

        // Another app, even in the same workspace, does not exist for this key.
        for r in [
            server.get_as(&reader, &other_path).await,
            server.patch_as(&reader, &other_path, &json!({ "display_name": "Nope" })).await,
            server.delete_as(&reader, &other_path).await,
            server.get_as(&reader, &format!("{other_path}/audit-logs")).await,
            server.get_as(&reader, &format!("{other_path}/signing-keys")).await,
        ] {
            r.expect_error(404, "not_found");
        }

        // Workspace-level routes need a platform key.
        server
            .post_json_as(&reader, "/v1/apps", &json!({ "display_name": "X", "slug": "by-app-key" }))
            .await
            .expect_error(403, "forbidden");
        server.get_as(&reader, "/v1/apps").await.expect_error(403, "forbidden");
        server.get_as(&reader, "/v1/stats/me").await.expect_error(403, "forbidden");

        // With the permission the change goes through, attributed to the app key.
        let (writer, writer_id) = server.insert_app_key(app_id, &["app.*", "audit_log.read"]).await;
        let r = server.patch_as(&writer, &app_path, &json!({ "display_name": "Renamed by key" })).await;
        assert_eq!(r.expect(200)["display_name"], "Renamed by key");
        let log = server.get_as(&writer, &format!("{app_path}/audit-logs?action=app.updated")).await;
        let entry = &log.expect(200)["data"][0];
        assert_eq!(entry["actor_id"], writer_id.to_string());
        assert_eq!(entry["actor_type"], "app_api_key");

        // The other app is still there and unchanged.
        assert_eq!(server.get(&other_path).await.expect(200), &other);
    }
);

db_test!(
    async fn public_routes_ignore_whatever_credential_arrives(server) {
        server.create_app("open").await;
        for header in ["Bearer garbage", "", "Bearer eyJhbGciOiJub25lIn0.e30.", server.pak.as_str()] {
            for path in ["/open/v1/.well-known/jwks.json", "/open/v1/.well-known/openid-configuration", "/healthz"] {
                let r = TestServer::send(server.request(Method::GET, path).header("authorization", header)).await;
                r.expect(200);
            }
        }
        let r = server.get_as(&server.pak, "/open/v1/.well-known/jwks.json").await;
        r.expect(200);
    }
);
