//! Operator endpoints: liveness, readiness, metrics, the OpenAPI document and the docs UI.

use heimdall_tests::db_test;

db_test!(
    async fn health_and_readiness_answer_200_without_a_credential(server) {
        for path in ["/healthz", "/readyz"] {
            let r = server.get_public(path).await;
            assert_eq!(r.expect(200)["status"], "ok", "{path}: {r}");
        }
    }
);

db_test!(
    async fn metrics_count_requests_by_operation_and_status(server) {
        server.get("/v1/apps").await.expect(200);
        server.get_public("/v1/apps").await.expect(401);
        let r = server.get_public("/metrics").await;
        r.expect(200);
        assert!(r.content_type().starts_with("text/plain"), "{r}");
        assert!(r.text.contains("heimdall_http_requests_total"), "{r}");
        let app_list: Vec<&str> = r
            .text
            .lines()
            .filter(|l| l.starts_with("heimdall_http_requests_total") && l.contains("app_list"))
            .collect();
        assert!(app_list.iter().any(|l| l.contains("200")), "{app_list:?}");
        assert!(app_list.iter().any(|l| l.contains("401")), "{app_list:?}");
    }
);

db_test!(
    async fn the_openapi_document_and_docs_are_served(server) {
        let r = server.get_public("/openapi.json").await;
        let spec = r.expect(200);
        assert!(r.content_type().starts_with("application/json"), "{r}");
        assert!(spec["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{r}");
        assert!(spec["paths"]["/v1/apps"]["post"]["operationId"] == "app_create");
        assert_eq!(r.text, heimdall_server::routes::spec_json(), "the served spec is the generated one");

        let docs = server.get_public("/docs").await;
        let docs = if (300..400).contains(&docs.status) {
            let location = docs.header("location").expect("redirect target").to_owned();
            let target = if location.starts_with('/') { location } else { format!("/docs/{location}") };
            server.get_public(&target).await
        } else {
            docs
        };
        assert_eq!(docs.status, 200, "{docs}");
        assert!(docs.content_type().starts_with("text/html"), "{docs}");
        assert!(docs.text.to_lowercase().contains("<html"), "{docs}");
    }
);
