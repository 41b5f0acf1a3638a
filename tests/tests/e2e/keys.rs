//! Signing keys: the public JWKS and OpenID discovery documents, key listing and rotation
//! (scheduled and immediate, and concurrent), tokens signed by the server verifying with the
//! published keys, and encryption of private keys at rest.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use heimdall_server::{
    audit,
    entity::{app as app_entity, signing_key},
    keys::crypto::{MasterKey, Signer, SigningAlg},
    tokens::{self, AccessClaims, TokenError},
};
use heimdall_tests::{TestServer, db_test, users::end_user_claims};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

fn app_id(app: &Value) -> Uuid {
    app["id"].as_str().expect("app id").parse().expect("uuid")
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"].as_array().expect("keys array").iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).expect("header").kid.expect("kid")
}

async fn rotate(server: &TestServer, app: Uuid, immediate: bool) -> heimdall_tests::Reply {
    let path = format!("/v1/apps/{app}/signing-keys/rotate{}", if immediate { "?immediate=true" } else { "" });
    TestServer::send(server.request_as(&server.pak, Method::POST, &path)).await
}

async fn verify(server: &TestServer, slug: &str, token: &str) -> Result<AccessClaims, TokenError> {
    let app = server.state().directory.resolve(&server.state().db, slug).await.expect("app resolves");
    tokens::verify(server.state(), &app, token).await.expect("the key set loads")
}

db_test!(
    async fn jwks_publishes_only_public_rsa_keys_and_is_cacheable(server) {
        server.create_app("jwks-app").await;
        let r = server.get_public("/jwks-app/v1/.well-known/jwks.json").await;
        let jwks = r.expect(200);
        assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
        assert!(r.content_type().starts_with("application/json"), "{r}");
        let keys = jwks["keys"].as_array().expect("keys");
        assert_eq!(keys.len(), 1);
        for key in keys {
            assert_eq!(key["kty"], "RSA");
            assert_eq!(key["use"], "sig");
            assert_eq!(key["alg"], "RS256");
            assert!(key["kid"].as_str().unwrap().starts_with("rs256-"), "{key}");
            assert_eq!(key["e"], "AQAB");
            let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).expect("n is base64url");
            assert_eq!(n.len(), 256, "RSA-2048 modulus");
            for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
                assert!(key.get(private).is_none(), "private member {private} published: {key}");
            }
        }
        // The contract's JWKS fetch: no credential, jose's Accept header, no redirects.
        let r = TestServer::send(
            server
                .request(Method::GET, "/jwks-app/v1/.well-known/jwks.json")
                .header("accept", "application/json, application/jwk-set+json"),
        )
        .await;
        assert_eq!(r.expect(200), jwks);
    }
);

db_test!(
    async fn jwks_returns_404_json_for_an_unknown_slug(server) {
        for path in [
            "/no-such-app/v1/.well-known/jwks.json",
            "/no-such-app/v1/.well-known/openid-configuration",
            "/no-such-app/.well-known/openid-configuration",
        ] {
            let r = server.get_public(path).await;
            r.expect(404);
            r.assert_error_shape();
        }
    }
);

db_test!(
    async fn discovery_documents_name_the_issuer_and_jwks_uri(server) {
        server.create_app("oidc-app").await;
        let issuer = format!("{}/oidc-app", server.state().public_url);
        assert_eq!(issuer, format!("{}/oidc-app", server.base));
        let a = server.get_public("/oidc-app/v1/.well-known/openid-configuration").await;
        let b = server.get_public("/oidc-app/.well-known/openid-configuration").await;
        assert_eq!(a.expect(200), b.expect(200));
        let doc = a.expect(200);
        assert_eq!(doc["issuer"], issuer);
        assert_eq!(doc["jwks_uri"], format!("{issuer}/v1/.well-known/jwks.json"));
        assert!(doc["id_token_signing_alg_values_supported"].as_array().unwrap().contains(&json!("RS256")));
        // The advertised JWKS is fetchable as is.
        let jwks = TestServer::send(server.client.get(doc["jwks_uri"].as_str().unwrap())).await;
        assert_eq!(kids(jwks.expect(200)).len(), 1);
    }
);

db_test!(
    async fn rotation_publishes_a_pending_successor_before_it_signs(server) {
        let app = server.create_app("rotating").await;
        let id = app_id(&app);
        let before = server.get(&format!("/v1/apps/{id}/signing-keys")).await;
        let listed = before.expect(200)["data"].as_array().unwrap().clone();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["status"], "active");
        let old_kid = listed[0]["kid"].as_str().unwrap().to_owned();
        assert_eq!(kids(server.get_public("/rotating/v1/.well-known/jwks.json").await.expect(200)), [old_kid.as_str()]);

        let r = rotate(&server, id, false).await;
        let keys = r.expect(200)["data"].as_array().unwrap().clone();
        assert_eq!(keys.len(), 2, "{r}");
        assert_eq!(keys[0]["status"], "pending", "newest first: {r}");
        assert_eq!(keys[1]["status"], "active", "{r}");
        assert_eq!(keys[1]["kid"], old_kid.as_str());
        let new_kid = keys[0]["kid"].as_str().unwrap().to_owned();
        assert!(new_kid.starts_with("rs256-") && new_kid != old_kid);
        assert!(keys[1]["retires_at"].is_string() && keys[1]["expires_at"].is_string(), "old key's retirement is scheduled: {r}");
        assert_eq!(keys[1]["retires_at"], keys[0]["activates_at"]);

        // Both are published; the old one still signs.
        let mut published = kids(server.get_public("/rotating/v1/.well-known/jwks.json").await.expect(200));
        published.sort();
        let mut expected = vec![old_kid.clone(), new_kid.clone()];
        expected.sort();
        assert_eq!(published, expected);
        let token = tokens::sign(server.state(), id, &end_user_claims(&server, "rotating", id)).await.expect("sign");
        assert_eq!(kid_of(&token), old_kid);
        verify(&server, "rotating", &token).await.expect("verifies");

        let listed = server.get(&format!("/v1/apps/{id}/signing-keys")).await;
        assert_eq!(listed.expect(200)["data"], json!(keys));
    }
);

db_test!(
    async fn immediate_rotation_activates_the_new_key_and_withdraws_the_old(server) {
        let app = server.create_app("compromised").await;
        let id = app_id(&app);
        let old_token = tokens::sign(server.state(), id, &end_user_claims(&server, "compromised", id)).await.expect("sign");
        let old_kid = kid_of(&old_token);
        verify(&server, "compromised", &old_token).await.expect("verifies before the rotation");

        // A scheduled rotation first, so there is a pending key the emergency must withdraw too.
        rotate(&server, id, false).await.expect(200);
        let r = rotate(&server, id, true).await;
        let keys = r.expect(200)["data"].as_array().unwrap().clone();
        assert_eq!(keys.len(), 3, "{r}");
        let active: Vec<&Value> = keys.iter().filter(|k| k["status"] == "active").collect();
        assert_eq!(active.len(), 1, "exactly one active key: {r}");
        assert!(active[0]["revoked_at"].is_null(), "{r}");
        let revoked = keys.iter().filter(|k| k["status"] == "revoked" && k["revoked_at"].is_string()).count();
        assert_eq!(revoked, 2, "the old key and the pending one are withdrawn: {r}");
        let new_kid = active[0]["kid"].as_str().unwrap().to_owned();
        assert!(keys.iter().all(|k| k["created_at"].as_str() <= active[0]["created_at"].as_str()), "the newest key is the one signing: {r}");

        let jwks = server.get_public("/compromised/v1/.well-known/jwks.json").await;
        assert_eq!(kids(jwks.expect(200)), [new_kid.as_str()]);
        let token = tokens::sign(server.state(), id, &end_user_claims(&server, "compromised", id)).await.expect("sign");
        assert_eq!(kid_of(&token), new_kid);
        verify(&server, "compromised", &token).await.expect("new token verifies");
        assert_ne!(old_kid, new_kid);
        assert_eq!(verify(&server, "compromised", &old_token).await.unwrap_err(), TokenError::UnknownKid);
    }
);

db_test!(
    async fn concurrent_rotations_never_create_two_successors_from_the_same_state(server) {
        let app = server.create_app("racy").await;
        let id = app_id(&app);

        // Over HTTP: every answer is a success or `rotation_in_progress`, and each success added
        // exactly one key.
        let replies = futures::future::join_all((0..3).map(|_| rotate(&server, id, false))).await;
        let mut successes = 0;
        for r in &replies {
            match r.status {
                200 => successes += 1,
                _ => {
                    r.expect_error(409, "rotation_in_progress");
                }
            }
        }
        assert!(successes >= 1, "at least one rotation wins");
        let keys = server.get(&format!("/v1/apps/{id}/signing-keys")).await;
        assert_eq!(keys.expect(200)["data"].as_array().unwrap().len(), 1 + successes, "{keys}");
        let log = server.get(&format!("/v1/apps/{id}/audit-logs?action=signing_key.rotated")).await;
        assert_eq!(log.expect(200)["data"].as_array().unwrap().len(), successes);

        // Directly against the key ring: two rotations from the same observed state, exactly one
        // wins.
        let state = server.state();
        let seen = app_entity::Entity::find_by_id(id).one(&state.db).await.unwrap().unwrap().keys_rotated_at;
        let (a, b) = tokio::join!(
            state.keys.rotate(id, seen, false, SigningAlg::Rs256, audit::Entry::system(id, audit::Action::SigningKeyRotated)),
            state.keys.rotate(id, seen, false, SigningAlg::Rs256, audit::Entry::system(id, audit::Action::SigningKeyRotated)),
        );
        let (a, b) = (a.expect("rotation a"), b.expect("rotation b"));
        assert!(a.is_some() != b.is_some(), "exactly one of two rotations from the same state wins");
        let rows = signing_key::Entity::find().filter(signing_key::Column::AppId.eq(id)).all(&state.db).await.unwrap();
        assert_eq!(rows.len(), 2 + successes, "the losing rotation stored no key");
    }
);

db_test!(
    async fn server_signed_tokens_verify_against_the_published_jwks(server) {
        let app = server.create_app("verifiable").await;
        let id = app_id(&app);
        let issued = end_user_claims(&server, "verifiable", id);
        let token = tokens::sign(server.state(), id, &issued).await.expect("sign");
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.alg, Algorithm::RS256);

        // Offline, the way a backend does: JWKS over HTTP, then jsonwebtoken.
        let jwks = server.get_public("/verifiable/v1/.well-known/jwks.json").await;
        let jwk = jwks.expect(200)["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| Some(k["kid"].as_str().unwrap()) == header.kid.as_deref())
            .expect("the token's kid is published")
            .clone();
        let key = DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()).expect("key");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[format!("{}/verifiable", server.base)]);
        validation.set_audience(&["verifiable"]);
        let decoded = jsonwebtoken::decode::<AccessClaims>(&token, &key, &validation).expect("verifies offline");
        assert_eq!(decoded.claims, issued);

        // And through the server's own strict verifier.
        assert_eq!(verify(&server, "verifiable", &token).await.expect("verifies"), issued);

        // Tampering, another audience, expiry and a missing kid are all refused.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        payload["role"] = json!("owner");
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
        assert_eq!(verify(&server, "verifiable", &parts.join(".")).await.unwrap_err(), TokenError::Signature);
        assert!(jsonwebtoken::decode::<AccessClaims>(&parts.join("."), &key, &validation).is_err());

        let no_kid = format!("{}.{}", URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#), token.split_once('.').unwrap().1);
        assert_eq!(verify(&server, "verifiable", &no_kid).await.unwrap_err(), TokenError::MissingKid);

        let other_audience = AccessClaims { aud: "someone-else".into(), ..issued.clone() };
        let token = tokens::sign(server.state(), id, &other_audience).await.unwrap();
        assert_eq!(verify(&server, "verifiable", &token).await.unwrap_err(), TokenError::Audience);

        let now = chrono::Utc::now().timestamp();
        let expired = AccessClaims { iat: now - 600, exp: now - 300, ..issued.clone() };
        let token = tokens::sign(server.state(), id, &expired).await.unwrap();
        assert_eq!(verify(&server, "verifiable", &token).await.unwrap_err(), TokenError::Expired);

        // A token of one app does not verify for another, even with the same claims shape.
        server.create_app("stranger").await;
        let token = tokens::sign(server.state(), id, &issued).await.unwrap();
        assert_eq!(verify(&server, "stranger", &token).await.unwrap_err(), TokenError::UnknownKid);
    }
);

db_test!(
    async fn private_keys_are_encrypted_at_rest(server) {
        let app = server.create_app("sealed").await;
        let id = app_id(&app);
        let row = signing_key::Entity::find()
            .filter(signing_key::Column::AppId.eq(id))
            .one(&server.state().db)
            .await
            .unwrap()
            .expect("the app has a key");
        let jwks = server.get_public("/sealed/v1/.well-known/jwks.json").await;
        assert_eq!(jwks.expect(200)["keys"][0]["n"], row.jwk_n.as_str());

        let modulus = URL_SAFE_NO_PAD.decode(&row.jwk_n).unwrap();
        let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        // PKCS#1 DER carries the modulus verbatim; the stored form must not.
        assert!(!contains(&row.private_key_enc, &modulus), "the stored private key contains the modulus in clear");

        let master = MasterKey::new(&server.master_key);
        let der = master.open(&row.kid, &row.private_key_enc).expect("opens with the server's master key");
        assert!(contains(&der, &modulus), "the decrypted key is the DER of this key");
        assert!(!contains(&row.private_key_enc, &der[..64]));
        Signer::open(&master, &row.kid, row.alg, &row.private_key_enc).expect("a usable RSA key");

        let wrong = MasterKey::new(&[0x5a; 32]);
        assert!(wrong.open(&row.kid, &row.private_key_enc).is_err(), "a wrong master key cannot decrypt");
        assert!(master.open("rs256-another", &row.private_key_enc).is_err(), "the ciphertext is bound to its kid");
    }
);
