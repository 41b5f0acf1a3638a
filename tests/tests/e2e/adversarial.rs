//! Forged and misused tokens against `/verify`, `/authorize`, forward-auth and `/me`:
//! `alg: none`, HS256 keyed with the app's public key, tampered claims under the original
//! signature, missing and unknown `kid`, keys smuggled in `jwk` / `jku` / `x5u` headers, the
//! expiry and not-before windows (60 s of leeway, no more), wrong issuer, audience, type and
//! session binding, one app's tokens at another, and M2M tokens used as user sessions.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use heimdall_server::{
    keys::crypto::{MasterKey, Signer, SigningAlg, generate_sealed},
    tokens::{self, AccessClaims},
};
use heimdall_tests::{TestServer, db_test, users::ConsumerApp};
use reqwest::Method;
use rsa::{
    BigUint, RsaPublicKey,
    pkcs1::EncodeRsaPublicKey,
    pkcs8::{EncodePublicKey, LineEnding},
};
use serde_json::{Value, json};

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_json(value: &Value) -> String {
    b64(&serde_json::to_vec(value).expect("json"))
}

/// `(header, payload, signature)` of a JWT, the first two decoded.
fn split(token: &str) -> (Value, Value, String) {
    let mut parts = token.split('.');
    let mut decode = || {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().expect("part")).expect("base64url")).expect("json")
    };
    let header = decode();
    let payload = decode();
    (header, payload, parts.next().expect("signature").to_owned())
}

/// A JWT from its parts, with `signature` as given (already base64url).
fn assemble(header: &Value, payload: &Value, signature: &str) -> String {
    format!("{}.{}.{signature}", b64_json(header), b64_json(payload))
}

/// A JWT signed by `signer` (RS256) with exactly this header and payload.
fn sign_with(signer: &Signer, header: &Value, payload: &Value) -> String {
    let input = format!("{}.{}", b64_json(header), b64_json(payload));
    let signature = signer.sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

/// The app's current signer: the real private key, to forge tokens that differ from genuine ones
/// in one respect only.
async fn app_signer(app: &ConsumerApp<'_>) -> std::sync::Arc<Signer> {
    app.server.state().keys.signer(app.id).await.expect("the app has a signing key")
}

/// A key pair that has nothing to do with Heimdall, and its public JWK.
fn foreign_key() -> (Signer, Value) {
    let master = MasterKey::new(&[7u8; 32]);
    let sealed = generate_sealed(&master, SigningAlg::Rs256).expect("RSA key");
    let signer = Signer::open(&master, &sealed.kid, SigningAlg::Rs256, &sealed.private_key_enc).expect("signer");
    let jwk = sealed.public.to_jwk(&sealed.kid, SigningAlg::Rs256);
    (signer, jwk)
}

/// Every form of a token's refusal: `/verify` and `/authorize` say `error`, forward-auth 401.
async fn assert_refused(app: &ConsumerApp<'_>, token: &str, error: &str, what: &str) {
    let r = app.verify_token(token).await;
    let body = r.expect(200);
    assert_eq!(body["valid"], false, "{what}: {r}");
    assert_eq!(body["error"], error, "{what}: {r}");
    assert!(body.get("principal").is_none_or(Value::is_null), "{what}: {r}");
    assert_eq!(app.authorize_error(token, "docs.read").await.as_deref(), Some(error), "{what}");
    let r = app.server.get_as(token, &app.path("/forward-auth?permission=docs.read")).await;
    assert_eq!(r.status, 401, "{what}: {r}");
}

async fn setup<'a>(server: &'a TestServer, slug: &'a str) -> (ConsumerApp<'a>, String, String) {
    let app = ConsumerApp::create(server, slug).await;
    app.create_permission("docs.read").await;
    app.grant("member", &["docs.read"]).await;
    let (_, tokens) = app.signup_ok("mallory", "mallory@example.com").await;
    assert!(app.allows(&tokens.access, "docs.read").await, "the genuine token works");
    let client = app.create_client("svc", &["docs.read"]).await;
    let m2m = app.m2m_token(&client).await;
    assert!(app.allows(&m2m, "docs.read").await, "the genuine M2M token works");
    (app, tokens.access, m2m)
}

db_test!(
    async fn unsigned_alg_none_tokens_are_invalid(server) {
        let (app, user_token, m2m) = setup(&server, "adv-none").await;
        for genuine in [&user_token, &m2m] {
            let (header, payload, _) = split(genuine);
            for alg in ["none", "None", "NONE", "nOnE"] {
                let forged_header = json!({ "alg": alg, "typ": "JWT", "kid": header["kid"] });
                assert_refused(&app, &assemble(&forged_header, &payload, ""), "TOKEN_INVALID", alg).await;
                let trailing = format!("{}.{}.", b64_json(&forged_header), b64_json(&payload));
                assert_refused(&app, &trailing, "TOKEN_INVALID", alg).await;
            }
        }
    }
);

db_test!(
    async fn hs256_tokens_keyed_with_the_apps_public_key_are_invalid(server) {
        let (app, user_token, _) = setup(&server, "adv-hs256").await;
        let (header, payload, _) = split(&user_token);
        let jwks = server.get_public(&app.path("/.well-known/jwks.json")).await;
        let jwk = jwks.expect(200)["keys"][0].clone();
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
        let public = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e)).expect("public key");
        let secrets: Vec<Vec<u8>> = vec![
            public.to_public_key_pem(LineEnding::LF).unwrap().into_bytes(),
            public.to_pkcs1_pem(LineEnding::LF).unwrap().into_bytes(),
            public.to_public_key_der().unwrap().as_bytes().to_vec(),
            public.to_pkcs1_der().unwrap().as_bytes().to_vec(),
            serde_json::to_vec(&jwk).unwrap(),
            n.clone(),
        ];
        for (i, secret) in secrets.iter().enumerate() {
            for alg in [jsonwebtoken::Algorithm::HS256, jsonwebtoken::Algorithm::HS384, jsonwebtoken::Algorithm::HS512] {
                let mut forged_header = jsonwebtoken::Header::new(alg);
                forged_header.kid = header["kid"].as_str().map(str::to_owned);
                let token = jsonwebtoken::encode(&forged_header, &payload, &jsonwebtoken::EncodingKey::from_secret(secret)).unwrap();
                assert_refused(&app, &token, "TOKEN_INVALID", &format!("{alg:?} with public key form {i}")).await;
            }
        }
    }
);

db_test!(
    async fn tampered_claims_under_the_original_signature_are_invalid(server) {
        let (app, user_token, m2m) = setup(&server, "adv-tamper").await;
        let (other_user, _) = app.signup_ok("victim", "victim@example.com").await;
        let (header, payload, signature) = split(&user_token);
        let far = chrono::Utc::now().timestamp() + 86_400;
        for (what, change) in [
            ("permissions", json!({ "permissions": ["*"] })),
            ("sub", json!({ "sub": other_user.to_string() })),
            ("role", json!({ "role": "owner" })),
            ("exp", json!({ "exp": far })),
            ("type", json!({ "type": "m2m" })),
        ] {
            let mut forged = payload.clone();
            forged.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
            assert_refused(&app, &assemble(&header, &forged, &signature), "TOKEN_INVALID", what).await;
        }
        // The genuine token is untouched by all this.
        assert!(app.allows(&user_token, "docs.read").await);

        let (header, payload, signature) = split(&m2m);
        for (what, change) in [("m2m permissions", json!({ "permissions": ["*"], "scope": "*" })), ("m2m sub", json!({ "sub": "m2m_other" }))] {
            let mut forged = payload.clone();
            forged.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
            assert_refused(&app, &assemble(&header, &forged, &signature), "TOKEN_INVALID", what).await;
        }
        // A signature from another token, and a truncated signature.
        let (_, _, m2m_signature) = split(&m2m);
        let (header, payload, signature) = split(&user_token);
        assert_refused(&app, &assemble(&header, &payload, &m2m_signature), "TOKEN_INVALID", "swapped signature").await;
        assert_refused(&app, &assemble(&header, &payload, &signature[..signature.len() - 4]), "TOKEN_INVALID", "truncated").await;
    }
);

db_test!(
    async fn the_kid_is_required_and_must_name_one_of_the_apps_keys(server) {
        let (app, user_token, _) = setup(&server, "adv-kid").await;
        let other = ConsumerApp::create(&server, "adv-kid-other").await;
        let signer = app_signer(&app).await;
        let (header, payload, _) = split(&user_token);

        // Re-signed with the real key, the header unchanged: still genuine.
        let resigned = sign_with(&signer, &header, &payload);
        assert!(app.allows(&resigned, "docs.read").await, "the forging helper itself is sound");

        let no_kid = json!({ "alg": "RS256", "typ": "JWT" });
        assert_refused(&app, &sign_with(&signer, &no_kid, &payload), "TOKEN_INVALID", "missing kid").await;
        for kid in [json!("rs256-unknown"), json!(""), json!(null), json!(42)] {
            let h = json!({ "alg": "RS256", "typ": "JWT", "kid": kid });
            assert_refused(&app, &sign_with(&signer, &h, &payload), "TOKEN_INVALID", &format!("kid {kid}")).await;
        }
        // Another app's kid, with this app's signature.
        let other_kid = server.get_public(&other.path("/.well-known/jwks.json")).await.expect(200)["keys"][0]["kid"].clone();
        let h = json!({ "alg": "RS256", "typ": "JWT", "kid": other_kid });
        assert_refused(&app, &sign_with(&signer, &h, &payload), "TOKEN_INVALID", "another app's kid").await;

        // Signed with the real key and kid, but demanding an extension nobody here understands
        // (RFC 7515 §4.1.11): refused. Unknown non-critical members are ignored.
        let critical = json!({ "alg": "RS256", "typ": "JWT", "kid": header["kid"], "crit": ["exp-extension"], "exp-extension": 1 });
        assert_refused(&app, &sign_with(&signer, &critical, &payload), "TOKEN_INVALID", "crit header").await;
        let extra = json!({ "alg": "RS256", "typ": "JWT", "kid": header["kid"], "cty": "JWT-ish", "x-note": 1 });
        assert!(app.allows(&sign_with(&signer, &extra, &payload), "docs.read").await, "unknown members are ignored");
    }
);

db_test!(
    async fn keys_named_in_jwk_jku_or_x5u_headers_are_never_used(server) {
        let (app, user_token, _) = setup(&server, "adv-jwk").await;
        let (_, payload, _) = split(&user_token);
        let (own, own_jwk) = foreign_key();
        let own_kid = own_jwk["kid"].clone();
        let headers = [
            json!({ "alg": "RS256", "typ": "JWT", "kid": own_kid, "jwk": own_jwk }),
            json!({ "alg": "RS256", "typ": "JWT", "kid": own_kid, "jku": "http://127.0.0.1:9/jwks.json" }),
            json!({ "alg": "RS256", "typ": "JWT", "kid": own_kid, "jwk": own_jwk, "jku": "http://127.0.0.1:9/jwks.json" }),
            json!({ "alg": "RS256", "typ": "JWT", "kid": own_kid, "x5u": "http://127.0.0.1:9/cert.pem" }),
            json!({ "alg": "RS256", "typ": "JWT", "jwk": own_jwk }),
        ];
        for (i, header) in headers.iter().enumerate() {
            assert_refused(&app, &sign_with(&own, header, &payload), "TOKEN_INVALID", &format!("smuggled key header {i}")).await;
        }
        // The app's real kid with a signature from the smuggled key.
        let (real_header, _, _) = split(&user_token);
        let h = json!({ "alg": "RS256", "typ": "JWT", "kid": real_header["kid"], "jwk": own_jwk });
        assert_refused(&app, &sign_with(&own, &h, &payload), "TOKEN_INVALID", "real kid, foreign signature").await;
    }
);

db_test!(
    async fn expiry_and_not_before_are_enforced_with_sixty_seconds_of_leeway(server) {
        let (app, user_token, _) = setup(&server, "adv-time").await;
        let genuine: AccessClaims = app.claims(&user_token).await;
        let now = chrono::Utc::now().timestamp();
        let sign = |claims: Value| {
            let state = server.state().clone();
            let app_id = app.id;
            async move { tokens::sign(&state, app_id, &claims).await.expect("sign") }
        };
        let with = |changes: Value| {
            let mut claims = serde_json::to_value(&genuine).unwrap();
            claims["jti"] = json!(uuid::Uuid::new_v4().to_string());
            claims.as_object_mut().unwrap().extend(changes.as_object().unwrap().clone());
            claims
        };

        let expired = sign(with(json!({ "iat": now - 3_700, "exp": now - 120 }))).await;
        assert_refused(&app, &expired, "TOKEN_EXPIRED", "expired two minutes ago").await;
        let long_expired = sign(with(json!({ "iat": now - 90_000, "exp": now - 86_400 }))).await;
        assert_refused(&app, &long_expired, "TOKEN_EXPIRED", "expired a day ago").await;
        let in_leeway = sign(with(json!({ "iat": now - 3_600, "exp": now - 20 }))).await;
        assert!(app.allows(&in_leeway, "docs.read").await, "20 s past exp is within the leeway");

        let not_yet = sign(with(json!({ "nbf": now + 600 }))).await;
        let r = app.verify_token(&not_yet).await;
        assert_eq!(r.expect(200)["valid"], false, "nbf ten minutes ahead: {r}");
        assert!(r["error"].is_string());
        assert_eq!(app.authorize(&not_yet, "docs.read").await["authorized"], false);
        assert_refused(&app, &not_yet, "TOKEN_INVALID", "nbf ten minutes ahead").await;
        let nbf_in_leeway = sign(with(json!({ "nbf": now + 20 }))).await;
        assert!(app.allows(&nbf_in_leeway, "docs.read").await, "20 s ahead is within the leeway");

        // Wrong issuer, audience, type, or a session that belongs to someone else.
        let (stranger, _) = app.signup_ok("stranger", "stranger@example.com").await;
        for (what, changes, code) in [
            ("issuer", json!({ "iss": "heimdall" }), "TOKEN_INVALID"),
            ("issuer of another origin", json!({ "iss": "https://evil.example/adv-time" }), "TOKEN_INVALID"),
            ("audience", json!({ "aud": "another-app" }), "TOKEN_INVALID"),
            ("type", json!({ "type": "admin" }), "TOKEN_INVALID"),
            ("session of another user", json!({ "sub": stranger.to_string() }), "TOKEN_INVALID"),
            ("unknown session", json!({ "sid": uuid::Uuid::now_v7().to_string() }), "TOKEN_REVOKED"),
        ] {
            let token = sign(with(changes)).await;
            let r = app.verify_token(&token).await;
            assert_eq!(r.expect(200)["valid"], false, "{what}: {r}");
            assert_eq!(app.authorize(&token, "docs.read").await["authorized"], false, "{what}");
            assert_refused(&app, &token, code, what).await;
        }
        // Missing required claims.
        for claim in ["exp", "iss", "aud", "sub"] {
            let mut claims = with(json!({}));
            claims.as_object_mut().unwrap().remove(claim);
            let token = sign(claims).await;
            assert_eq!(app.verify_token(&token).await["valid"], false, "without {claim}");
            assert_refused(&app, &token, "TOKEN_INVALID", &format!("without {claim}")).await;
        }
    }
);

db_test!(
    async fn one_apps_tokens_are_invalid_at_another(server) {
        let (a, user_token, m2m) = setup(&server, "adv-app-a").await;
        let b = ConsumerApp::create(&server, "adv-app-b").await;
        b.create_permission("docs.read").await;
        b.grant("member", &["docs.read"]).await;
        for token in [&user_token, &m2m] {
            assert_refused(&b, token, "TOKEN_INVALID", "a's token at b").await;
            assert!(a.allows(token, "docs.read").await);
        }
        // Even re-signed with b's key, a token naming a as issuer and audience is no good at b.
        let (_, payload, _) = split(&user_token);
        let b_signer = app_signer(&b).await;
        let h = json!({ "alg": "RS256", "typ": "JWT", "kid": b_signer.kid });
        assert_refused(&b, &sign_with(&b_signer, &h, &payload), "TOKEN_INVALID", "a's claims signed by b").await;
        // And with b's issuer and audience but a's session, it finds no session at b.
        let mut moved = payload.clone();
        moved["iss"] = json!(server.state().issuer("adv-app-b"));
        moved["aud"] = json!("adv-app-b");
        moved["aid"] = json!(b.id.to_string());
        let r = b.verify_token(&sign_with(&b_signer, &h, &moved)).await;
        assert_eq!(r.expect(200)["valid"], false, "{r}");
    }
);

db_test!(
    async fn an_m2m_token_is_not_an_end_user_session(server) {
        let (app, user_token, m2m) = setup(&server, "adv-me").await;
        app.me(&user_token).await.expect(200);
        let r = app.me(&m2m).await;
        assert_eq!(r.status, 401, "{r}");
        r.assert_error_shape();
        let r = TestServer::send(server.request_as(&m2m, Method::PATCH, &app.path("/me")).json(&json!({ "display_name": "bot" }))).await;
        assert_eq!(r.status, 401, "{r}");
        app.get_as(&m2m, "/me/sessions").await.expect(401);
        // Nor is an M2M token an admin credential.
        server.get_as(&m2m, &app.admin_path("/roles")).await.expect_error(401, "unauthorized");
    }
);
