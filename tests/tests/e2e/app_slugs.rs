//! Admin paths name an app by its slug as well as by its id (`/v1/apps/acme/…`), as users try
//! first; visibility is the id's: another workspace's slug is the same 404 as an unknown one.

use heimdall_tests::db_test;

db_test!(
    async fn admin_paths_accept_the_app_slug(server) {
        let app = server.create_app("acme").await;
        let by_slug = server.get("/v1/apps/acme").await;
        assert_eq!(by_slug.expect(200)["id"], app["id"], "{by_slug}");
        server.post("/v1/apps/acme/api-keys", &serde_json::json!({ "name": "a", "permissions": [] })).await.expect(201);
        server.post("/v1/apps/acme/api-keys", &serde_json::json!({ "name": "b", "permissions": [] })).await.expect(201);
        let page = server.get("/v1/apps/acme/api-keys?limit=1").await;
        assert_eq!(page.expect(200)["data"].as_array().unwrap().len(), 1, "the query string is kept: {page}");
        assert_eq!(page["pagination"]["has_more"], true);

        server.get("/v1/apps/no-such-app").await.expect(404);
        server.get("/v1/apps/no-such-app/end-users").await.expect(404);
        let (other, _) = server.other_workspace("other").await;
        server.get_as(&other, "/v1/apps/acme").await.expect(404);
        server.get_as(&other, "/v1/apps/acme/api-keys").await.expect(404);
    }
);

db_test!(
    async fn the_spec_is_also_served_at_docs_json(server) {
        let spec = server.get_public("/openapi.json").await;
        let docs_json = server.get_public("/docs-json").await;
        assert_eq!(docs_json.status, 200);
        assert!(docs_json.content_type().starts_with("application/json"), "{docs_json}");
        assert_eq!(docs_json.text, spec.text);
    }
);
