//! Apps: create, slug rules, duplicates, cursor-paginated listing, get, update (including renames
//! and the old slug's JWKS alias window), status changes, deletion and `GET /v1/stats/me`.

use chrono::{DateTime, Utc};
use heimdall_tests::db_test;
use serde_json::{Value, json};
use uuid::Uuid;

fn id_of(app: &Value) -> &str {
    app["id"].as_str().expect("app id")
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not a timestamp: {v}"))
}

db_test!(
    async fn create_app_returns_201_with_the_app_record(server) {
        let before = Utc::now() - chrono::Duration::seconds(5);
        let r = server
            .post(
                "/v1/apps",
                &json!({ "display_name": "Acme Shop", "slug": "acme-shop", "metadata": { "tier": "gold", "seats": 3 } }),
            )
            .await;
        let app = r.expect(201);
        assert!(r.content_type().starts_with("application/json"), "{r}");
        let id: Uuid = id_of(app).parse().expect("id is a UUID");
        assert_eq!(app["slug"], "acme-shop");
        assert_eq!(app["display_name"], "Acme Shop");
        assert_eq!(app["status"], "active");
        assert_eq!(app["metadata"], json!({ "tier": "gold", "seats": 3 }));
        assert_eq!(app["workspace_id"], server.workspace_id().await.to_string());
        assert_eq!(app["created_by"], server.pak_id().await.to_string());
        let created = time(&app["created_at"]);
        assert!(created >= before && created <= Utc::now() + chrono::Duration::seconds(5), "{created}");
        assert_eq!(app["created_at"], app["updated_at"]);
        let keys: Vec<&str> = app.as_object().unwrap().keys().map(String::as_str).collect();
        for field in ["id", "slug", "display_name", "status", "metadata", "workspace_id", "created_by", "created_at", "updated_at"] {
            assert!(keys.contains(&field), "missing {field} in {app}");
        }

        // Without metadata the app starts with an empty object, and the record reads back the same.
        let plain = server.create_app("plain-app").await;
        assert_eq!(plain["metadata"], json!({}));
        let got = server.get(&format!("/v1/apps/{id}")).await;
        assert_eq!(got.expect(200), app);
    }
);

db_test!(
    async fn create_app_returns_400_validation_failed_for_bad_slugs(server) {
        let long = "a".repeat(65);
        for slug in ["ab", long.as_str(), "Acme", "acme_shop", "-acme", "acme-", "ac me", "v1", "docs", "admin", "healthz"] {
            let r = server.post("/v1/apps", &json!({ "display_name": "X", "slug": slug })).await;
            let body = r.expect_error(400, "validation_failed");
            assert!(body["message"].as_str().unwrap().contains("slug"), "message should name the field: {r}");
        }
        for name in ["", "   ", &"n".repeat(121)] {
            let r = server.post("/v1/apps", &json!({ "display_name": name, "slug": "fine-slug" })).await;
            r.expect_error(400, "validation_failed");
        }
        // 64 characters is the longest slug allowed.
        server.create_app(&"a".repeat(64)).await;
        let list = server.get("/v1/apps").await;
        assert_eq!(list.expect(200)["data"].as_array().unwrap().len(), 1, "only the valid app exists: {list}");
    }
);

db_test!(
    async fn create_app_returns_409_for_a_taken_slug(server) {
        server.create_app("taken").await;
        let r = server.post("/v1/apps", &json!({ "display_name": "Again", "slug": "taken" })).await;
        r.expect_error(409, "slug_taken");
        let list = server.get("/v1/apps").await;
        assert_eq!(list.expect(200)["data"].as_array().unwrap().len(), 1);
    }
);

db_test!(
    async fn concurrent_creates_of_one_slug_yield_one_app_and_409s(server) {
        let body = json!({ "display_name": "Contested", "slug": "contested" });
        let replies = futures::future::join_all((0..3).map(|_| server.post("/v1/apps", &body))).await;
        let created = replies.iter().filter(|r| r.status == 201).count();
        assert_eq!(created, 1, "exactly one create wins: {:?}", replies.iter().map(ToString::to_string).collect::<Vec<_>>());
        for r in replies.iter().filter(|r| r.status != 201) {
            r.expect_error(409, "slug_taken");
        }
        assert_eq!(server.get("/v1/apps").await.expect(200)["data"].as_array().unwrap().len(), 1);
    }
);

db_test!(
    async fn list_apps_pages_by_cursor_oldest_first(server) {
        let mut created = Vec::new();
        for i in 0..5 {
            created.push(id_of(&server.create_app(&format!("page-app-{i}")).await).to_owned());
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = Vec::new();
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/apps?limit=2&cursor={c}"),
                None => "/v1/apps?limit=2".to_owned(),
            };
            let r = server.get(&path).await;
            let body = r.expect(200);
            let data = body["data"].as_array().expect("data array");
            let pagination = &body["pagination"];
            pages.push(data.len());
            seen.extend(data.iter().map(|a| id_of(a).to_owned()));
            let has_more = pagination["has_more"].as_bool().expect("has_more");
            assert!(pagination.as_object().unwrap().contains_key("next_cursor"), "next_cursor is always present: {r}");
            if has_more {
                assert!(pagination["next_cursor"].is_string(), "{r}");
                cursor = pagination["next_cursor"].as_str().map(str::to_owned);
            } else {
                assert!(pagination["next_cursor"].is_null(), "next_cursor is null on the last page: {r}");
                break;
            }
            assert!(pages.len() < 10, "pagination does not end");
        }
        assert_eq!(pages, [2, 2, 1]);
        assert_eq!(seen, created, "every app once, oldest first");

        // A page that ends exactly at the last app says there is no more.
        let r = server.get("/v1/apps?limit=5").await;
        let body = r.expect(200);
        assert_eq!(body["data"].as_array().unwrap().len(), 5);
        assert_eq!(body["pagination"], json!({ "has_more": false, "next_cursor": null }));

        // Default page size covers them all; the own workspace filter changes nothing.
        let workspace = server.workspace_id().await;
        let r = server.get(&format!("/v1/apps?workspace_id={workspace}")).await;
        assert_eq!(r.expect(200)["data"].as_array().unwrap().len(), 5);
        // Another workspace's id yields nothing.
        let r = server.get(&format!("/v1/apps?workspace_id={}", Uuid::now_v7())).await;
        assert_eq!(r.expect(200)["data"], json!([]));
    }
);

db_test!(
    async fn list_apps_rejects_invalid_cursors_and_out_of_range_limits(server) {
        server.get("/v1/apps?cursor=not-a-cursor").await.expect_error(400, "invalid_cursor");
        server.get("/v1/apps?cursor=AAAA").await.expect_error(400, "invalid_cursor");
        for limit in ["0", "201"] {
            server.get(&format!("/v1/apps?limit={limit}")).await.expect_error(400, "validation_failed");
        }
        for limit in ["-1", "ten"] {
            let r = server.get(&format!("/v1/apps?limit={limit}")).await;
            r.expect(400);
            r.assert_error_shape();
        }
        server.get("/v1/apps?limit=200").await.expect(200);
        server.get("/v1/apps?limit=1").await.expect(200);
    }
);

db_test!(
    async fn get_app_returns_404_for_an_unknown_id(server) {
        server.get(&format!("/v1/apps/{}", Uuid::now_v7())).await.expect_error(404, "not_found");
    }
);

db_test!(
    async fn update_app_changes_display_name_and_metadata(server) {
        let app = server.create_app("updatable").await;
        let path = format!("/v1/apps/{}", id_of(&app));

        let r = server.patch(&path, &json!({ "display_name": "Renamed", "metadata": { "a": [1, 2] } })).await;
        let updated = r.expect(200).clone();
        assert_eq!(updated["display_name"], "Renamed");
        assert_eq!(updated["metadata"], json!({ "a": [1, 2] }));
        assert_eq!(updated["slug"], "updatable");
        assert_eq!(updated["created_at"], app["created_at"]);
        assert!(time(&updated["updated_at"]) >= time(&app["updated_at"]));

        // Metadata is replaced as a whole; fields left out stay.
        let r = server.patch(&path, &json!({ "metadata": { "b": true } })).await;
        assert_eq!(r.expect(200)["metadata"], json!({ "b": true }));
        assert_eq!(r["display_name"], "Renamed");

        // Lengths count characters, not bytes.
        let long_name = "é".repeat(120);
        assert_eq!(server.patch(&path, &json!({ "display_name": long_name })).await.expect(200)["display_name"], long_name);
        server.patch(&path, &json!({ "display_name": "é".repeat(121) })).await.expect_error(400, "validation_failed");
        server.patch(&path, &json!({ "display_name": "Renamed" })).await.expect(200);

        // An empty patch changes nothing.
        let r = server.patch(&path, &json!({})).await;
        assert_eq!(r.expect(200)["display_name"], "Renamed");

        // Invalid values are refused and leave the app as it was.
        server.patch(&path, &json!({ "display_name": "" })).await.expect_error(400, "validation_failed");
        server.patch(&path, &json!({ "slug": "Bad Slug" })).await.expect_error(400, "validation_failed");
        server.patch(&path, &json!({ "slug": "docs" })).await.expect_error(400, "validation_failed");
        let r = server.get(&path).await;
        assert_eq!(r.expect(200)["display_name"], "Renamed");
        assert_eq!(r["slug"], "updatable");

        server.patch(&format!("/v1/apps/{}", Uuid::now_v7()), &json!({ "display_name": "x" })).await.expect_error(404, "not_found");
    }
);

db_test!(
    async fn renamed_app_keeps_serving_its_jwks_under_the_old_slug(server) {
        let app = server.create_app("old-name").await;
        let other = server.create_app("bystander").await;
        let jwks_before = server.get_public("/old-name/v1/.well-known/jwks.json").await;
        jwks_before.expect(200);

        let r = server.patch(&format!("/v1/apps/{}", id_of(&app)), &json!({ "slug": "new-name" })).await;
        assert_eq!(r.expect(200)["slug"], "new-name");
        assert_eq!(server.get(&format!("/v1/apps/{}", id_of(&app))).await.expect(200)["slug"], "new-name");

        let new = server.get_public("/new-name/v1/.well-known/jwks.json").await;
        let old = server.get_public("/old-name/v1/.well-known/jwks.json").await;
        assert_eq!(new.expect(200), jwks_before.expect(200), "same keys under the new slug");
        assert_eq!(old.expect(200), jwks_before.expect(200), "same keys under the old slug");
        // Discovery through the old slug names the current issuer.
        let doc = server.get_public("/old-name/v1/.well-known/openid-configuration").await;
        assert!(doc.expect(200)["issuer"].as_str().unwrap().ends_with("/new-name"), "{doc}");

        // During the alias window nobody else may take the old slug.
        server.post("/v1/apps", &json!({ "display_name": "Thief", "slug": "old-name" })).await.expect_error(409, "slug_taken");
        server
            .patch(&format!("/v1/apps/{}", id_of(&other)), &json!({ "slug": "old-name" }))
            .await
            .expect_error(409, "slug_taken");
        // Nor the current slug of another app.
        server
            .patch(&format!("/v1/apps/{}", id_of(&other)), &json!({ "slug": "new-name" }))
            .await
            .expect_error(409, "slug_taken");
        assert_eq!(server.get(&format!("/v1/apps/{}", id_of(&other))).await.expect(200)["slug"], "bystander");

        // The app itself may take its old slug back; the slug it leaves becomes its alias.
        let r = server.patch(&format!("/v1/apps/{}", id_of(&app)), &json!({ "slug": "old-name" })).await;
        assert_eq!(r.expect(200)["slug"], "old-name");
        assert_eq!(server.get_public("/old-name/v1/.well-known/jwks.json").await.expect(200), jwks_before.expect(200));
        assert_eq!(server.get_public("/new-name/v1/.well-known/jwks.json").await.expect(200), jwks_before.expect(200));
        server.post("/v1/apps", &json!({ "display_name": "Thief", "slug": "new-name" })).await.expect_error(409, "slug_taken");
    }
);

db_test!(
    async fn update_app_status_moves_between_active_suspended_and_archived(server) {
        let app = server.create_app("statusful").await;
        let path = format!("/v1/apps/{}/status", id_of(&app));
        for status in ["suspended", "archived", "active", "active"] {
            let r = server.patch(&path, &json!({ "status": status })).await;
            assert_eq!(r.expect(200)["status"], status);
            assert_eq!(server.get(&format!("/v1/apps/{}", id_of(&app))).await["status"], status);
        }
        for bad in [json!({ "status": "deleted" }), json!({ "status": "ACTIVE" }), json!({}), json!({ "status": 1 })] {
            let r = server.patch(&path, &bad).await;
            r.expect(400);
            r.assert_error_shape();
        }
        // Suspended apps keep serving their JWKS.
        server.patch(&path, &json!({ "status": "suspended" })).await.expect(200);
        server.get_public("/statusful/v1/.well-known/jwks.json").await.expect(200);
        server
            .patch(&format!("/v1/apps/{}/status", Uuid::now_v7()), &json!({ "status": "active" }))
            .await
            .expect_error(404, "not_found");
    }
);

db_test!(
    async fn delete_app_returns_204_then_404_and_frees_its_slugs(server) {
        let app = server.create_app("doomed").await;
        let path = format!("/v1/apps/{}", id_of(&app));
        // A rename first, so the app also holds its old slug as an alias.
        server.patch(&path, &json!({ "slug": "doomed-renamed" })).await.expect(200);
        server.post("/v1/apps", &json!({ "display_name": "Early", "slug": "doomed" })).await.expect_error(409, "slug_taken");

        let r = server.delete(&path).await;
        assert_eq!(r.status, 204, "{r}");
        assert!(r.text.is_empty(), "{r}");
        server.get(&path).await.expect_error(404, "not_found");
        server.delete(&path).await.expect_error(404, "not_found");
        server.get(&format!("{path}/signing-keys")).await.expect_error(404, "not_found");
        for slug in ["doomed", "doomed-renamed"] {
            let jwks = server.get_public(&format!("/{slug}/v1/.well-known/jwks.json")).await;
            jwks.expect(404);
            jwks.assert_error_shape();
        }
        assert_eq!(server.get("/v1/apps").await.expect(200)["data"], json!([]));

        // Both the slug and the former slug are free again.
        let again = server.create_app("doomed").await;
        assert_ne!(again["id"], app["id"]);
        server.get_public("/doomed/v1/.well-known/jwks.json").await.expect(200);
        let r = server.patch(&format!("/v1/apps/{}", id_of(&again)), &json!({ "slug": "doomed-renamed" })).await;
        assert_eq!(r.expect(200)["slug"], "doomed-renamed");
    }
);

db_test!(
    async fn stats_me_counts_the_workspace_apps_and_api_keys(server) {
        let r = server.get("/v1/stats/me").await;
        assert_eq!(r.expect(200), &json!({ "apps": 0, "end_users": 0, "api_keys_active": 0 }));

        let first = server.create_app("counted-1").await;
        server.create_app("counted-2").await;
        server.insert_app_key(id_of(&first).parse().unwrap(), &["app.read"]).await;
        let r = server.get("/v1/stats/me").await;
        assert_eq!(r.expect(200), &json!({ "apps": 2, "end_users": 0, "api_keys_active": 1 }));
        let workspace = server.workspace_id().await;
        let r = server.get(&format!("/v1/stats/me?workspace_id={workspace}")).await;
        assert_eq!(r.expect(200)["apps"], 2);
        let r = server.get(&format!("/v1/stats/me?workspace_id={}", Uuid::now_v7())).await;
        assert_eq!(r.expect(200), &json!({ "apps": 0, "end_users": 0, "api_keys_active": 0 }));

        // Another workspace's apps are not counted.
        let (other_key, _) = server.other_workspace("other").await;
        server.post_json_as(&other_key, "/v1/apps", &json!({ "display_name": "Theirs", "slug": "theirs" })).await.expect(201);
        assert_eq!(server.get("/v1/stats/me").await["apps"], 2);
        assert_eq!(server.get_as(&other_key, "/v1/stats/me").await.expect(200)["apps"], 1);

        // Deleting an app takes its keys with it.
        server.delete(&format!("/v1/apps/{}", id_of(&first))).await.expect(204);
        assert_eq!(server.get("/v1/stats/me").await.expect(200), &json!({ "apps": 1, "end_users": 0, "api_keys_active": 0 }));
    }
);
