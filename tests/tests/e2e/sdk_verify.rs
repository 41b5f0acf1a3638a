//! The SDK's local token verifier against the real server: claims of real end-user and M2M
//! tokens, and each failure kind (expired, not yet valid, issuer, audience, unknown key, failed
//! fetch, invalid) with tokens forged with the app's real key so only one thing is wrong.

use std::time::Duration;

use heimdall_sdk::{
    Heimdall, JwksVerifier, TokenType, VerifyError,
    jwks::{InvalidToken, JwksFetchError},
    types,
};
use heimdall_tests::db_test;
use serde_json::json;

use crate::sdk_support::{app_with_user, forge, forge_with_header, good_claims, jwks_requests, sdk};

db_test!(
    async fn sdk_verify_token_returns_typed_claims_of_end_user_and_m2m_tokens(server) {
        let setup = app_with_user(&server, "acme").await;
        let acme = setup.heimdall.consumer("acme");

        let claims = acme.verify_token(&setup.tokens.access_token).await.expect("a fresh access token verifies");
        assert_eq!(claims.iss, server.state().issuer("acme"));
        assert_eq!(claims.aud, ["acme"]);
        assert_eq!(claims.aid, setup.app.id);
        assert_eq!(claims.token_type, TokenType::EndUser);
        assert_eq!(claims.role.as_deref(), Some("member"));
        assert_eq!(claims.amr, ["pwd"]);
        assert!(claims.sid.is_some() && claims.jti.is_some());
        let me = setup.heimdall.app(setup.app.id).end_users().list(heimdall_sdk::ListParams::new()).await.unwrap();
        assert_eq!(claims.sub, me.data[0].id.to_string(), "sub is the account id");

        let admin = setup.heimdall.app(setup.app.id);
        admin.permissions().create(types::CreatePermission::builder().resource("reports").action("read")).await.unwrap();
        let client = admin
            .credentials()
            .create(types::CreateM2mClient::builder().name("svc").scopes(vec!["reports.read".to_owned()]))
            .await
            .unwrap();
        let m2m = acme.oauth().client_credentials(&client.client_id, &client.client_secret).await.unwrap();
        let claims = acme.verify_token(&m2m.access_token).await.expect("an M2M token verifies");
        assert!(claims.is_m2m());
        assert_eq!(claims.sub, client.client_id);
        assert_eq!(claims.permissions, ["reports.read"]);
        assert!(claims.has_permission("reports.read") && !claims.has_permission("reports.write"));

        // Both verifications used one fetch: the verifier is shared by every scope of the slug.
        assert_eq!(acme.verifier().stats().fetches, 1);
        assert_eq!(setup.heimdall.consumer("acme").verifier().stats().fetches, 1);
        assert_eq!(jwks_requests(&server).await, 1);
    }
);

db_test!(
    async fn sdk_verify_token_refuses_expired_and_not_yet_valid_tokens_with_5s_leeway(server) {
        let setup = app_with_user(&server, "acme").await;
        let acme = setup.heimdall.consumer("acme");
        let now = chrono::Utc::now().timestamp();
        let with = |changes: serde_json::Value| {
            let mut claims = good_claims(&server, "acme", setup.app.id);
            for (k, v) in changes.as_object().unwrap() {
                claims[k] = v.clone();
            }
            claims
        };

        let expired = forge(&server, setup.app.id, &with(json!({ "exp": now - 60 }))).await;
        let error = acme.verify_token(&expired).await.unwrap_err();
        assert!(matches!(error, VerifyError::Expired), "{error:?}");
        assert_eq!(error.code(), "ERR_JWT_EXPIRED");
        let just_expired = forge(&server, setup.app.id, &with(json!({ "exp": now - 2 }))).await;
        acme.verify_token(&just_expired).await.expect("within the leeway");

        let future = forge(&server, setup.app.id, &with(json!({ "nbf": now + 120 }))).await;
        let error = acme.verify_token(&future).await.unwrap_err();
        assert!(matches!(error, VerifyError::NotYetValid), "{error:?}");
        assert_eq!(error.code(), "ERR_JWT_NOT_YET_VALID");
        let almost = forge(&server, setup.app.id, &with(json!({ "nbf": now + 2 }))).await;
        acme.verify_token(&almost).await.expect("within the leeway");

        let mut no_exp = with(json!({}));
        no_exp.as_object_mut().unwrap().remove("exp");
        let no_exp = forge(&server, setup.app.id, &no_exp).await;
        let error = acme.verify_token(&no_exp).await.unwrap_err();
        assert!(matches!(&error, VerifyError::Invalid(InvalidToken::MissingClaim(c)) if c == "exp"), "{error:?}");
    }
);

db_test!(
    async fn sdk_verify_token_checks_issuer_and_audience_exactly(server) {
        let setup = app_with_user(&server, "acme").await;
        let acme = setup.heimdall.consumer("acme");
        let (server, app_id) = (&server, setup.app.id);
        let forged = |changes: serde_json::Value| async move {
            let mut claims = good_claims(server, "acme", app_id);
            for (k, v) in changes.as_object().unwrap() {
                if v.is_null() {
                    claims.as_object_mut().unwrap().remove(k);
                } else {
                    claims[k] = v.clone();
                }
            }
            forge(server, app_id, &claims).await
        };

        for iss in [json!("http://evil.example/acme"), json!("heimdall"), json!(null), json!(format!("{}/other", server.base))]
        {
            let token = forged(json!({ "iss": iss })).await;
            let error = acme.verify_token(&token).await.unwrap_err();
            assert!(matches!(error, VerifyError::IssuerMismatch), "iss {iss}: {error:?}");
            assert_eq!(error.code(), "ERR_JWT_ISS_MISMATCH");
        }
        for aud in [json!("other"), json!(null), json!(["other", "more"])] {
            let token = forged(json!({ "aud": aud })).await;
            let error = acme.verify_token(&token).await.unwrap_err();
            assert!(matches!(error, VerifyError::AudienceMismatch), "aud {aud}: {error:?}");
            assert_eq!(error.code(), "ERR_JWT_AUD_MISMATCH");
        }
        let token = forged(json!({ "aud": ["other", "acme"] })).await;
        assert_eq!(acme.verify_token(&token).await.unwrap().aud, ["other", "acme"], "an array holding the slug verifies");

        // The issuer is the origin of the base URL the SDK was given: a path is ignored, but a
        // different host name for the same server is a different issuer.
        let with_path = Heimdall::builder().base_url(format!("{}/some/prefix/", server.base)).build().unwrap();
        with_path.consumer("acme").verify_token(&setup.tokens.access_token).await.expect("path ignored");
        let by_name = server.base.replace("127.0.0.1", "localhost");
        let verifier = JwksVerifier::builder(by_name.as_str(), "acme").build().unwrap();
        assert_eq!(verifier.issuers(), [format!("{by_name}/acme")]);
        let error = verifier.verify(&setup.tokens.access_token).await.unwrap_err();
        assert!(matches!(error, VerifyError::IssuerMismatch), "{error:?}");
        let relaxed = JwksVerifier::builder(by_name.as_str(), "acme")
            .configure(|o| o.issuer(server.state().issuer("acme")))
            .build()
            .unwrap();
        relaxed.verify(&setup.tokens.access_token).await.expect("an explicit issuer overrides the derived one");
    }
);

db_test!(
    async fn sdk_verify_token_refuses_unknown_keys_other_apps_and_invalid_tokens(server) {
        let setup = app_with_user(&server, "acme").await;
        let other = app_with_user(&server, "globex").await;
        let acme = setup.heimdall.consumer("acme");
        acme.verify_token(&setup.tokens.access_token).await.expect("warm the cache");
        let claims = good_claims(&server, "acme", setup.app.id);

        // Unknown kid: refused without a refetch inside the 30 s cooldown.
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": "no-such-key" });
        let unknown = forge_with_header(&server, setup.app.id, &header, &claims).await;
        let error = acme.verify_token(&unknown).await.unwrap_err();
        assert!(matches!(&error, VerifyError::KeyNotFound { kid } if kid == "no-such-key"), "{error:?}");
        assert_eq!(error.code(), "ERR_JWKS_KID_NOT_FOUND");
        // Another app's token names a key of that app.
        let error = acme.verify_token(&other.tokens.access_token).await.unwrap_err();
        assert!(matches!(error, VerifyError::KeyNotFound { .. }), "{error:?}");
        assert_eq!(acme.verifier().stats().fetches, 1, "no refetch within the cooldown");

        let invalid = |token: String, expected: InvalidToken| {
            let acme = acme.clone();
            async move {
                let error = acme.verify_token(&token).await.unwrap_err();
                assert!(matches!(&error, VerifyError::Invalid(reason) if *reason == expected), "{expected:?}: {error:?}");
                assert_eq!(error.code(), "ERR_JWT_INVALID");
            }
        };
        // A signature over other claims.
        let good = setup.tokens.access_token.clone();
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let mut tampered = claims.clone();
        tampered["role"] = "owner".into();
        parts[1] = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(&tampered).unwrap(),
        );
        invalid(parts.join("."), InvalidToken::BadSignature).await;
        // Algorithms outside the allow-list fail before the key lookup.
        let hs256 = forge_with_header(&server, setup.app.id, &json!({ "alg": "HS256", "kid": "x" }), &claims).await;
        invalid(hs256, InvalidToken::DisallowedAlgorithm).await;
        let rs512 = forge_with_header(&server, setup.app.id, &json!({ "alg": "RS512", "kid": "x" }), &claims).await;
        invalid(rs512, InvalidToken::DisallowedAlgorithm).await;
        let no_kid = forge_with_header(&server, setup.app.id, &json!({ "alg": "RS256" }), &claims).await;
        invalid(no_kid, InvalidToken::MissingKeyId).await;
        invalid("not-a-jwt".into(), InvalidToken::Malformed).await;
        invalid(format!("{}.e30.", base64_json(&json!({ "alg": "none" }))), InvalidToken::Malformed).await;
        let mut bad_aid = claims.clone();
        bad_aid["aid"] = "not-a-uuid".into();
        let token = forge(&server, setup.app.id, &bad_aid).await;
        let error = acme.verify_token(&token).await.unwrap_err();
        assert!(matches!(error, VerifyError::Invalid(InvalidToken::BadClaims(_))), "{error:?}");
        assert_eq!(acme.verifier().stats().fetches, 1, "invalid tokens never fetch");
    }
);

fn base64_json(value: &serde_json::Value) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, serde_json::to_vec(value).unwrap())
}

db_test!(
    async fn sdk_verify_token_reports_failed_fetches_and_caches_them_briefly(server) {
        let setup = app_with_user(&server, "acme").await;
        let heimdall = sdk(&server);
        let before = jwks_requests(&server).await;

        // An unknown slug: the JWKS answers 404.
        let ghost = JwksVerifier::builder(server.base.as_str(), "ghost")
            .configure(|o| o.negative_ttl(Duration::from_millis(400)))
            .build()
            .unwrap();
        let error = ghost.verify(&setup.tokens.access_token).await.unwrap_err();
        match &error {
            VerifyError::FetchFailed(cause) => {
                assert!(matches!(**cause, JwksFetchError::Status(s) if s == 404), "{cause:?}")
            }
            other => panic!("expected FetchFailed, got {other:?}"),
        }
        assert_eq!(error.code(), "ERR_JWKS_FETCH");
        // A stream of tokens does not turn into a stream of requests while the failure is cached.
        for _ in 0..20 {
            assert!(matches!(ghost.verify(&setup.tokens.access_token).await, Err(VerifyError::FetchFailed(_))));
        }
        assert_eq!((ghost.stats().fetches, ghost.stats().fetch_failures), (1, 1));
        assert_eq!(jwks_requests(&server).await, before + 1);
        tokio::time::sleep(Duration::from_millis(450)).await;
        assert!(ghost.verify(&setup.tokens.access_token).await.is_err());
        assert_eq!(ghost.stats().fetches, 2, "retried once the negative cache expired");

        // A scope of a real app is unaffected, and `refresh` fetches on demand.
        let acme = heimdall.consumer("acme");
        acme.verifier().refresh().await.expect("refresh fetches the key set");
        assert_eq!(acme.verifier().stats().cached_keys, 1);
        acme.verify_token(&setup.tokens.access_token).await.expect("verifies from the refreshed cache");
        assert_eq!(acme.verifier().stats().fetches, 1);
    }
);

db_test!(
    async fn sdk_verifier_ttl_follows_cache_control_max_age(server) {
        let setup = app_with_user(&server, "acme").await;
        // Heimdall sends `Cache-Control: public, max-age=3600`.
        let honouring = JwksVerifier::builder(server.base.as_str(), "acme").build().unwrap();
        honouring.verify(&setup.tokens.access_token).await.unwrap();
        let fresh_for = honouring.stats().fresh_for.expect("a fresh set is cached");
        assert!(fresh_for > Duration::from_secs(3590) && fresh_for <= Duration::from_secs(3600), "{fresh_for:?}");

        let capped = JwksVerifier::builder(server.base.as_str(), "acme")
            .configure(|o| o.max_ttl(Duration::from_secs(600)))
            .build()
            .unwrap();
        capped.verify(&setup.tokens.access_token).await.unwrap();
        assert!(capped.stats().fresh_for.unwrap() <= Duration::from_secs(600));

        let fixed = JwksVerifier::builder(server.base.as_str(), "acme")
            .configure(|o| o.honour_cache_control(false).ttl(Duration::from_secs(42)))
            .build()
            .unwrap();
        fixed.verify(&setup.tokens.access_token).await.unwrap();
        assert!(fixed.stats().fresh_for.unwrap() <= Duration::from_secs(42));
    }
);
