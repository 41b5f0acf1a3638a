//! The uniform error model at the edges: unknown routes, wrong methods, malformed or mistyped
//! bodies, oversized bodies (with and without `Content-Length`), bad path parameters — all JSON
//! `{statusCode, code, message, request_id}` — and request ids echoed or generated.

use futures::stream;
use heimdall_tests::{TestServer, db_test, users::ConsumerApp};
use reqwest::Method;
use serde_json::json;

db_test!(
    async fn unknown_routes_return_404_json(server) {
        for path in ["/nope", "/v1/nope", "/v1/apps/x/y/z", "/v2/apps", "/some-app/v1/unknown"] {
            server.get(path).await.expect_error(404, "not_found");
            server.get_public(path).await.expect_error(404, "not_found");
        }
        let r = server.post("/v1/nothing-here", &json!({})).await;
        r.expect_error(404, "not_found");
    }
);

db_test!(
    async fn wrong_methods_return_405_json(server) {
        let app = server.create_app("methodical").await;
        let app_path = format!("/v1/apps/{}", app["id"].as_str().unwrap());
        for (method, path) in [
            (Method::PUT, "/v1/apps"),
            (Method::DELETE, "/v1/apps"),
            (Method::POST, app_path.as_str()),
            (Method::PUT, app_path.as_str()),
            (Method::POST, "/healthz"),
            (Method::DELETE, "/methodical/v1/.well-known/jwks.json"),
        ] {
            let r = TestServer::send(server.request_as(&server.pak, method.clone(), path)).await;
            r.expect_error(405, "method_not_allowed");
        }
    }
);

db_test!(
    async fn malformed_or_mistyped_bodies_return_400_json(server) {
        let send_raw = |body: &'static str, content_type: &'static str| {
            server
                .request_as(&server.pak, Method::POST, "/v1/apps")
                .header("content-type", content_type)
                .body(body)
        };
        for body in ["{not json", "", "[]", "null", "\"string\"", "{\"display_name\": \"A\", \"slug\": \"ok-slug\""] {
            let r = TestServer::send(send_raw(body, "application/json")).await;
            assert!(r.status == 400, "{body:?} → {r}");
            r.assert_error_shape();
        }
        for body in [
            json!({ "display_name": { "text": "A" }, "slug": "typed" }),
            json!({ "display_name": null, "slug": "typed" }),
            json!({ "display_name": "A", "slug": ["typed"] }),
            json!({ "display_name": "A", "slug": "typed", "workspace_id": 5 }),
            json!({ "display_name": "A" }),
            json!({ "slug": "typed" }),
            json!({ "display_name": "A", "slug": "typed", "workspace_id": "not-a-uuid" }),
            json!({ "display_name": "A", "slug": "typed", "metadata": "not an object" }),
        ] {
            let r = server.post("/v1/apps", &body).await;
            assert!(r.status == 400, "{body} → {r}");
            r.assert_error_shape();
        }
        // A body that is not JSON at all.
        let r = TestServer::send(send_raw("slug=abc", "application/x-www-form-urlencoded")).await;
        assert!(matches!(r.status, 400 | 415), "{r}");
        r.assert_error_shape();
        let r = server.patch("/v1/apps/00000000-0000-0000-0000-000000000000", &json!({ "metadata": [1] })).await;
        r.expect(400);
        r.assert_error_shape();
        // Nothing was created along the way.
        assert_eq!(server.get("/v1/apps").await.expect(200)["data"], json!([]));
    }
);

db_test!(
    async fn oversized_bodies_return_413_json(db: Db) {
        let server = TestServer::spawn_with(db, |config| config.max_body_bytes = 4096).await;
        let big = json!({ "display_name": "Big", "slug": "big-body", "metadata": { "blob": "x".repeat(10 * 1024) } });

        let r = server.post("/v1/apps", &big).await;
        r.expect_error(413, "payload_too_large");

        // Without Content-Length (chunked), the limit holds too.
        let bytes = serde_json::to_vec(&big).unwrap();
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = bytes.chunks(1024).map(|c| Ok(c.to_vec())).collect();
        let r = TestServer::send(
            server
                .request_as(&server.pak, Method::POST, "/v1/apps")
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(stream::iter(chunks))),
        )
        .await;
        r.expect_error(413, "payload_too_large");

        // Even on routes that take no body, and without a credential.
        let r = TestServer::send(server.request(Method::GET, "/healthz").body(vec![b'x'; 10 * 1024])).await;
        r.expect_error(413, "payload_too_large");

        // A body under the limit goes through, also chunked.
        let small = serde_json::to_vec(&json!({ "display_name": "Small", "slug": "small-body" })).unwrap();
        let r = TestServer::send(
            server
                .request_as(&server.pak, Method::POST, "/v1/apps")
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(stream::iter([Ok::<_, std::io::Error>(small)]))),
        )
        .await;
        r.expect(201);
        assert_eq!(server.get("/v1/apps").await.expect(200)["data"].as_array().unwrap().len(), 1);
    }
);

db_test!(
    async fn invalid_path_parameters_return_400_json(server) {
        // An app segment that is not a UUID is read as the app's slug: unknown → 404.
        for path in ["/v1/apps/not-a-uuid", "/v1/apps/123", "/v1/apps/not-a-uuid/audit-logs", "/v1/apps/zzz/signing-keys"] {
            let r = server.get(path).await;
            r.expect_error(404, "not_found");
        }
        // Other id segments must be UUIDs.
        let app = ConsumerApp::create(&server, "paths").await;
        for path in [app.admin_path("/end-users/not-a-uuid"), app.admin_path("/end-users/123")] {
            let r = server.get(&path).await;
            r.expect(400);
            r.assert_error_shape();
        }
        let r = server.patch(&app.admin_path("/end-users/not-a-uuid/status"), &json!({ "status": "suspended" })).await;
        r.expect(400);
        r.assert_error_shape();
        let r = server.delete(&app.admin_path("/end-users/not-a-uuid")).await;
        r.expect(400);
        r.assert_error_shape();
        let r = server.get("/v1/apps?workspace_id=nope").await;
        r.expect(400);
        r.assert_error_shape();
    }
);

db_test!(
    async fn every_response_carries_a_request_id_and_client_ids_are_echoed(server) {
        // Generated ids are unique per request, on success and on every kind of error.
        let replies = [
            server.get("/healthz").await,
            server.get("/v1/apps").await,
            server.get_public("/v1/apps").await,
            server.get("/nope").await,
            TestServer::send(server.request(Method::PUT, "/v1/apps")).await,
            server.get("/v1/apps/not-a-uuid").await,
            server.post("/v1/apps", &json!({ "display_name": "X", "slug": "v1" })).await,
        ];
        let mut ids: Vec<&str> = replies.iter().map(|r| r.request_id()).collect();
        for r in &replies[2..] {
            r.assert_error_shape();
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), replies.len(), "request ids are unique");

        // A plain client id is echoed, in the header and in the error body.
        let r = TestServer::send(server.request(Method::GET, "/v1/apps").header("x-request-id", "trace-abc_123:7")).await;
        assert_eq!(r.request_id(), "trace-abc_123:7");
        r.expect_error(401, "unauthorized");
        let r = TestServer::send(server.request_as(&server.pak, Method::GET, "/v1/apps").header("x-request-id", "ok-id")).await;
        r.expect(200);
        assert_eq!(r.request_id(), "ok-id");

        // An unsafe or oversized one is replaced.
        for bad in ["has spaces", "quote\"d", &"x".repeat(65)] {
            let r = TestServer::send(server.request(Method::GET, "/nope").header("x-request-id", bad)).await;
            assert_ne!(r.request_id(), bad);
            assert!(!r.request_id().is_empty());
            r.expect_error(404, "not_found");
        }
    }
);

db_test!(
    async fn every_405_names_the_methods_of_its_path_in_allow(server) {
        let app = server.create_app("allowing").await;
        let app_path = format!("/v1/apps/{}", app["id"].as_str().unwrap());
        for (method, path, allow) in [
            (Method::DELETE, "/v1/apps", "GET, HEAD, POST"),
            (Method::PUT, "/v1/apps", "GET, HEAD, POST"),
            (Method::PUT, "/allowing/v1/auth/signin", "POST"),
            (Method::GET, "/allowing/v1/auth/signin", "POST"),
            (Method::POST, app_path.as_str(), "GET, HEAD, PATCH, DELETE"),
            (Method::POST, "/healthz", "GET, HEAD"),
            (Method::DELETE, "/allowing/v1/.well-known/jwks.json", "GET, HEAD"),
        ] {
            let r = TestServer::send(server.request_as(&server.pak, method.clone(), path)).await;
            r.expect_error(405, "method_not_allowed");
            assert_eq!(r.header("allow"), Some(allow), "{method} {path} → {r}");
        }
    }
);

db_test!(
    async fn unreadable_json_bodies_are_refused_without_parser_internals(server) {
        server.create_app("parsing").await;
        let cases = [
            ("/v1/apps", "{not json"),
            ("/v1/apps", "{\"display_name\": \"A\", \"slug\": \"ok-slug\""),
            ("/v1/apps", "{"),
            ("/v1/apps", "[]"),
            ("/v1/apps", "\"string\""),
            ("/v1/apps", "{\"display_name\": \"A\"}"),
            ("/parsing/v1/auth/signin", "{\"identifier\": \"alice\""),
            ("/parsing/v1/auth/signin", "[1, 2]"),
            ("/parsing/v1/auth/signin", "{\"identifier\": \"alice\"}"),
        ];
        for (path, body) in cases {
            let r = TestServer::send(
                server
                    .request_as(&server.pak, Method::POST, path)
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
            assert_eq!(r.status, 400, "{path} {body:?} → {r}");
            r.assert_error_shape();
            assert!(matches!(r.body["code"].as_str(), Some("invalid_request" | "validation_failed")), "{r}");
            let message = r.body["message"].as_str().unwrap();
            assert!(message.starts_with("malformed JSON body"), "{path} {body:?} → {message}");
            for internal in ["line", "column", "EOF", "occurred while parsing", "parse request payload"] {
                assert!(!message.contains(internal), "{path} {body:?} → {message}");
            }
        }
        // Nothing was created along the way.
        assert_eq!(server.get("/v1/apps").await.expect(200)["data"].as_array().map(Vec::len), Some(1));
    }
);
