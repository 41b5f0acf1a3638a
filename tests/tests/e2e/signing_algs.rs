//! Signing algorithms per app: an app created with ES256 or EdDSA publishes an EC (P-256) or OKP
//! (Ed25519) key, says so in discovery, and signs end-user and M2M tokens with it; every server
//! path and the SDK verifier accept them; a rotation may change the algorithm while the old
//! key's tokens keep verifying through the overlap; and a token is verified only with its key's
//! algorithm, whatever its header claims.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use heimdall_sdk::jwks::JwksVerifier;
use heimdall_tests::{TestServer, db_test, users::ConsumerApp};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// Creates app `slug` signing with `alg`; its id.
async fn app_with(server: &TestServer, slug: &str, alg: &str) -> Uuid {
    let body = json!({ "display_name": format!("App {slug}"), "slug": slug, "signing_alg": alg });
    let r = server.post("/v1/apps", &body).await;
    let app = r.expect(201);
    assert_eq!(app["signing_alg"], alg, "{r}");
    app["id"].as_str().unwrap().parse().unwrap()
}

fn header_of(token: &str) -> Value {
    let head = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap()
}

fn b64_json(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

async fn jwks(app: &ConsumerApp<'_>) -> Vec<Value> {
    app.server.get_public(&app.path("/.well-known/jwks.json")).await.expect(200)["keys"].as_array().unwrap().clone()
}

async fn rotate(app: &ConsumerApp<'_>, query: &str) -> Value {
    let path = app.admin_path(&format!("/signing-keys/rotate{query}"));
    TestServer::send(app.server.request_as(&app.server.pak, Method::POST, &path)).await.expect(200).clone()
}

db_test!(
    async fn es256_and_eddsa_apps_publish_sign_and_verify_with_their_own_key_type(server) {
        for (slug, alg, kty, crv, signature_len) in
            [("ec-app", "ES256", "EC", "P-256", 64), ("ed-app", "EdDSA", "OKP", "Ed25519", 64)]
        {
            let id = app_with(&server, slug, alg).await;
            let app = ConsumerApp { server: &server, id, slug };

            // JWKS and discovery name the key type, curve and algorithm; no RSA or private member.
            let keys = jwks(&app).await;
            assert_eq!(keys.len(), 1, "{keys:?}");
            let key = &keys[0];
            assert_eq!((key["kty"].as_str(), key["crv"].as_str(), key["alg"].as_str()), (Some(kty), Some(crv), Some(alg)));
            assert_eq!(key["use"], "sig");
            assert!(key["kid"].as_str().unwrap().starts_with(&format!("{}-", alg.to_ascii_lowercase())), "{key}");
            for absent in ["n", "e", "d"] {
                assert!(key.get(absent).is_none(), "{absent} in {key}");
            }
            assert_eq!(URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap().len(), 32);
            assert_eq!(key.get("y").is_some(), kty == "EC", "{key}");
            let discovery = server.get_public(&format!("/{slug}/.well-known/openid-configuration")).await;
            assert_eq!(discovery.expect(200)["id_token_signing_alg_values_supported"], json!([alg]));
            let listed = server.get(&app.admin_path("/signing-keys")).await;
            assert_eq!(listed.expect(200)["data"][0]["alg"], alg);

            // End-user and M2M tokens carry the app's algorithm and verify everywhere.
            app.create_permissions(&["docs.read"]).await;
            app.grant("member", &["docs.read"]).await;
            let (_, tokens) = app.signup_ok("ada", &format!("ada@{slug}.io")).await;
            let client = app.create_client("svc", &["docs.read"]).await;
            let m2m = app.m2m_token(&client).await;
            for token in [&tokens.access, &m2m] {
                assert_eq!(header_of(token)["alg"], alg);
                assert_eq!(URL_SAFE_NO_PAD.decode(token.rsplit('.').next().unwrap()).unwrap().len(), signature_len);
                assert_eq!(app.verify_offline(token).await["aud"], slug, "a third-party JWT library verifies it");
                assert!(app.allows(token, "docs.read").await);
                let verified = app.verify_token(token).await;
                assert_eq!(verified.expect(200)["valid"], true);
                let request = server
                    .request(Method::GET, &app.path("/forward-auth?permission=docs.read"))
                    .header("authorization", format!("Bearer {token}"));
                TestServer::send(request).await.expect(200);
                let form = [("token", token.as_str()), ("client_id", &client.client_id), ("client_secret", &client.secret)];
                let introspected = TestServer::send(server.request(Method::POST, &app.path("/oauth/introspect")).form(&form)).await;
                assert_eq!(introspected.expect(200)["active"], true, "{introspected}");
            }
            let me = app.get_as(&tokens.access, "/me").await;
            assert_eq!(me.expect(200)["username"], "ada");

            // The SDK verifier, with its default allow-list.
            let verifier = JwksVerifier::builder(server.base.as_str(), slug).build().unwrap();
            let claims = verifier.verify(&tokens.access).await.expect("the SDK verifies it");
            assert_eq!(claims.aud, vec![slug.to_owned()]);
            verifier.verify(&m2m).await.expect("the SDK verifies M2M tokens too");
        }
    }
);

db_test!(
    async fn a_token_is_verified_only_with_its_keys_algorithm(server) {
        let id = app_with(&server, "strict-alg", "ES256").await;
        let app = ConsumerApp { server: &server, id, slug: "strict-alg" };
        let client = app.create_client("svc", &[]).await;
        let token = app.m2m_token(&client).await;
        let parts: Vec<&str> = token.split('.').collect();
        let header = header_of(&token);
        let x = jwks(&app).await[0]["x"].as_str().unwrap().to_owned();
        for alg in ["RS256", "EdDSA", "HS256", "none", "ES384"] {
            // The same signature under a header naming another algorithm.
            let mut relabelled = header.clone();
            relabelled["alg"] = json!(alg);
            let forged = format!("{}.{}.{}", b64_json(&relabelled), parts[1], parts[2]);
            assert_eq!(app.verify_error(&forged).await, "TOKEN_INVALID", "{alg}");
        }
        // HS256 keyed with the published public key (the classic confusion attack).
        use aws_lc_rs::hmac;
        let mut hs = header.clone();
        hs["alg"] = json!("HS256");
        let input = format!("{}.{}", b64_json(&hs), parts[1]);
        let mac = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, x.as_bytes()), input.as_bytes());
        let forged = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));
        assert_eq!(app.verify_error(&forged).await, "TOKEN_INVALID");
        assert_eq!(app.verify_token(&token).await.expect(200)["valid"], true);
    }
);

db_test!(
    async fn a_rotation_changes_the_algorithm_and_old_tokens_verify_through_the_overlap(db: Db) {
        let server = TestServer::spawn_with(db, |config| config.key_publish_lead = Duration::ZERO).await;
        let app = ConsumerApp::create(&server, "switching").await;
        let (_, rsa_tokens) = app.signup_ok("ada", "ada@switching.io").await;
        assert_eq!(header_of(&rsa_tokens.access)["alg"], "RS256");

        let keys = rotate(&app, "?alg=EdDSA").await;
        assert_eq!(keys["data"][0]["alg"], "EdDSA");
        assert_eq!(keys["data"][1]["alg"], "RS256");
        let got = server.get(&app.admin_path("")).await;
        assert_eq!(got.expect(200)["signing_alg"], "EdDSA", "the app keeps the new algorithm");
        let published: Vec<String> = jwks(&app).await.iter().map(|k| k["alg"].as_str().unwrap().to_owned()).collect();
        assert_eq!(published.len(), 2);
        assert!(published.contains(&"RS256".to_owned()) && published.contains(&"EdDSA".to_owned()), "{published:?}");
        let discovery = server.get_public("/switching/.well-known/openid-configuration").await;
        assert_eq!(discovery.expect(200)["id_token_signing_alg_values_supported"], json!(["EdDSA", "RS256"]));

        let signed_in = app
            .post("/auth/signin", &json!({ "identifier": "ada", "password": heimdall_tests::users::PASSWORD }))
            .await;
        let new = signed_in.expect(200)["access_token"].as_str().unwrap().to_owned();
        assert_eq!(header_of(&new)["alg"], "EdDSA");
        for token in [&rsa_tokens.access, &new] {
            assert_eq!(app.verify_token(token).await.expect(200)["valid"], true);
            app.verify_offline(token).await;
        }
        let verifier = JwksVerifier::builder(server.base.as_str(), "switching").build().unwrap();
        verifier.verify(&rsa_tokens.access).await.expect("the old RS256 token");
        verifier.verify(&new).await.expect("the new EdDSA token");

        // A later rotation without `alg` keeps EdDSA; the SDK rotates to another; an unknown
        // algorithm is a 400.
        let keys = rotate(&app, "").await;
        assert_eq!(keys["data"][0]["alg"], "EdDSA");
        let sdk = heimdall_sdk::Heimdall::builder()
            .base_url(&server.base)
            .credential(heimdall_sdk::Credential::PlatformKey(server.pak.clone()))
            .build()
            .unwrap();
        let keys =
            sdk.app(app.id).signing_keys().rotate_to(heimdall_sdk::types::SigningAlgorithm::Es256).await.unwrap();
        assert_eq!(keys.data[0].alg, heimdall_sdk::types::SigningAlgorithm::Es256);
        assert_eq!(sdk.app(app.id).get().await.unwrap().signing_alg, heimdall_sdk::types::SigningAlgorithm::Es256);
        let path = app.admin_path("/signing-keys/rotate?alg=HS256");
        let r = TestServer::send(server.request_as(&server.pak, Method::POST, &path)).await;
        r.expect_error(400, "invalid_request");
        assert_eq!(r.body["details"]["field"], "alg", "{r}");
        assert!(!r.body["message"].as_str().unwrap().contains("occurred while parsing"), "{r}");
        let r =
            server.post("/v1/apps", &json!({ "display_name": "x", "slug": "bad-alg", "signing_alg": "RS512" })).await;
        r.expect_error(400, "invalid_request");
        assert_eq!(r.body["details"]["field"], "signing_alg", "{r}");
    }
);
