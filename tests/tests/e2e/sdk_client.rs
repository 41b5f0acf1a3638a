//! The SDK's hand-written layer against the real server: app and consumer scopes, the three
//! credential kinds, pagination streams over several pages, the typed error with status and
//! code, and the poem and axum middleware built on the `Authenticator`.

use futures::{StreamExt, TryStreamExt};
use heimdall_sdk::{
    AuthError, Authenticator, Claims, Credential, Error, Heimdall, ListParams, pages,
    prelude::*,
    scoped::{AuditLogListParams, EndUserListParams},
    types,
};
use heimdall_tests::{db_test, users::PASSWORD};
use uuid::Uuid;

use crate::sdk_support::{app_with_user, sdk, signup};

db_test!(
    async fn sdk_scopes_drive_admin_and_consumer_operations(server) {
        let setup = app_with_user(&server, "acme").await;
        let heimdall = &setup.heimdall;
        let admin = heimdall.app(setup.app.id);
        assert_eq!(admin.get().await.unwrap().slug, "acme");

        // RBAC through the app scope.
        admin.permissions().create(types::CreatePermission::builder().resource("docs").action("read")).await.unwrap();
        admin.permissions().create(types::CreatePermission::builder().resource("docs").action("write")).await.unwrap();
        admin.roles().create(types::CreateRole::builder().name("editor")).await.unwrap();
        let editor = admin.roles().set_permissions("editor", ["docs.read", "docs.write"]).await.unwrap();
        assert_eq!(editor.permissions.len(), 2);
        let ada = admin.end_users().list(ListParams::new()).await.unwrap().data.remove(0);
        admin.roles().assign(ada.id, "editor").await.unwrap();
        assert_eq!(admin.end_users().get(ada.id).await.unwrap().role.as_deref(), Some("editor"));
        assert!(admin.roles().permission_catalog().await.unwrap().iter().any(|p| p.resource == "docs"));

        // The consumer scope: sign-in, local verification, server-side authorization.
        let acme = heimdall.consumer("acme");
        let tokens = acme.auth().signin("ada", PASSWORD).await.unwrap();
        let claims = acme.verify_token(&tokens.access_token).await.unwrap();
        assert_eq!(claims.role.as_deref(), Some("editor"));
        assert!(claims.has_permission("docs.write"));
        let verdict = acme.authz().verify(&tokens.access_token).await.unwrap();
        assert!(verdict.valid, "{verdict:?}");
        assert!(acme.authz().authorize(&tokens.access_token, "docs.write").await.unwrap().authorized);
        let denied = acme.authz().authorize_all(&tokens.access_token, ["docs.read", "billing.read"]).await.unwrap();
        assert!(!denied.authorized);
        assert_eq!(denied.missing_permissions, ["billing.read"]);

        // `/me` with the end-user's own token as the credential.
        let as_ada = heimdall.with_credential(Credential::Bearer(tokens.access_token.clone())).unwrap();
        let me = as_ada.consumer("acme").me();
        assert_eq!(me.get().await.unwrap().username, "ada");
        let renamed = me.update(types::UpdateMe { display_name: Some("Ada L.".parse().unwrap()) }).await.unwrap();
        assert_eq!(renamed.display_name.as_deref(), Some("Ada L."));
        let sessions: Vec<_> = me.stream_sessions(ListParams::new().limit(1)).try_collect().await.unwrap();
        assert_eq!(sessions.len(), 2, "the sign-up and the sign-in session");
        assert!(sessions.iter().any(|s| s.current));
        let allowed = as_ada.consumer("acme").authz().forward_auth(["docs.read"]).await.unwrap();
        assert!(allowed.allowed);

        // Refresh and logout.
        let refreshed = acme.auth().refresh(tokens.refresh_token).await.unwrap();
        acme.auth().logout(refreshed.refresh_token.clone()).await.unwrap();
        let error = acme.auth().refresh(refreshed.refresh_token).await.unwrap_err();
        assert_eq!(error.status().map(|s| s.as_u16()), Some(401));

        // API keys, credentials, invites, auth config, signing keys, audit log, discovery.
        let key = admin
            .api_keys()
            .create_idempotent(types::CreateApiKey::builder().name("ci").permissions(vec!["app.read".to_owned()]), "key-1")
            .await
            .unwrap();
        let again = admin
            .api_keys()
            .create_idempotent(types::CreateApiKey::builder().name("ci").permissions(vec!["app.read".to_owned()]), "key-1")
            .await
            .unwrap();
        assert_eq!(key.id, again.id, "the idempotency key makes the retry return the first answer");
        let m2m = admin.credentials().create(types::CreateM2mClient::builder().name("svc")).await.unwrap();
        admin.credentials().set_scopes(&m2m.client_id, ["docs.read"]).await.unwrap();
        let rotated = admin.credentials().rotate_secret(&m2m.client_id).await.unwrap();
        let token = acme.oauth().client_credentials(&m2m.client_id, &rotated.client_secret).await.unwrap();
        assert_eq!(token.scope, "docs.read");
        let invite = admin.invites().create(types::CreateInvite::builder().email("grace@example.com")).await.unwrap();
        assert_eq!(admin.invites().list(ListParams::new()).await.unwrap().data.len(), 1);
        admin.invites().revoke(invite.id).await.unwrap();
        let config = admin.auth_config().update(types::UpdateAuthConfig::builder().password_min_length(Some(12))).await.unwrap();
        assert_eq!(config.password_min_length, 12);
        assert_eq!(admin.signing_keys().list().await.unwrap().data.len(), 1);
        let entries: Vec<_> = admin.audit_logs().stream(ListParams::new()).try_collect().await.unwrap();
        assert!(entries.iter().any(|e| e.action == "role.assigned" || e.action.starts_with("role.")), "{entries:?}");
        assert_eq!(acme.jwks().await.unwrap().keys.len(), 1);
        assert_eq!(acme.openid_configuration().await.unwrap().issuer, server.state().issuer("acme"));
        let stats = heimdall.stats(None).await.unwrap();
        assert!(stats.apps >= 1, "{stats:?}");
    }
);

db_test!(
    async fn sdk_credential_kinds_send_the_right_bearer(server) {
        let setup = app_with_user(&server, "acme").await;
        let (app_key, _) = server.insert_app_key(setup.app.id, &["app.read"]).await;
        let with_app_key =
            Heimdall::builder().base_url(&server.base).credential(Credential::AppKey(app_key.clone())).build().unwrap();
        assert_eq!(with_app_key.app(setup.app.id).get().await.unwrap().id, setup.app.id);
        let error = with_app_key.app(setup.app.id).roles().create(types::CreateRole::builder().name("x")).await.unwrap_err();
        assert_eq!(error.status().map(|s| s.as_u16()), Some(403), "{error}");

        let anonymous = Heimdall::builder().base_url(&server.base).build().unwrap();
        let error = anonymous.apps().list(Default::default()).await.unwrap_err();
        assert_eq!((error.status().map(|s| s.as_u16()), error.code()), (Some(401), Some("unauthorized")));
        // Public consumer operations need no credential.
        anonymous.consumer("acme").auth().signin("ada", PASSWORD).await.expect("anonymous sign-in");

        let credential = Credential::PlatformKey(server.pak.clone());
        assert_eq!(format!("{credential:?}"), "PlatformKey(<redacted>)");
        assert!(!format!("{:?}", sdk(&server)).contains(&server.pak));
    }
);

db_test!(
    async fn sdk_pagination_streams_every_page(server) {
        let setup = app_with_user(&server, "acme").await;
        let heimdall = &setup.heimdall;
        for name in ["bob", "cyd", "dee", "eve"] {
            signup(heimdall, "acme", name).await;
        }
        let admin = heimdall.app(setup.app.id);

        // Five end-users, two per page: three pages, every user once.
        let users: Vec<_> = admin.end_users().stream(ListParams::new().limit(2)).try_collect().await.unwrap();
        let mut names: Vec<_> = users.iter().map(|u| u.username.clone()).collect();
        names.sort();
        assert_eq!(names, ["ada", "bob", "cyd", "dee", "eve"]);
        let filtered: Vec<_> = admin
            .end_users()
            .stream(EndUserListParams { page: ListParams::new().limit(1), search: Some("d".into()), ..Default::default() })
            .try_collect()
            .await
            .unwrap();
        assert_eq!(filtered.len(), 3, "ada, cyd and dee: {filtered:?}");

        // Raw generated builders page through `pages`, and a stream stops early when dropped.
        let client = heimdall.client().clone();
        let app_id = setup.app.id;
        let page_sizes: Vec<usize> = pages(move |cursor| {
            let client = client.clone();
            async move {
                let mut request = client.end_user_list().app_id(app_id).limit(2u32);
                if let Some(cursor) = cursor {
                    request = request.cursor(cursor);
                }
                request.send().await
            }
        })
        .map_ok(|page| page.data.len())
        .try_collect()
        .await
        .unwrap();
        assert_eq!(page_sizes, [2, 2, 1]);
        let first_two: Vec<_> = admin.end_users().stream(ListParams::new().limit(1)).take(2).try_collect().await.unwrap();
        assert_eq!(first_two.len(), 2);

        // Roles (3 system + 2 custom) and the audit log, one item per page.
        for name in ["editor", "viewer"] {
            admin.roles().create(types::CreateRole::builder().name(name)).await.unwrap();
        }
        let roles: Vec<_> = admin.roles().stream(ListParams::new().limit(1)).try_collect().await.unwrap();
        assert_eq!(roles.len(), 5);
        let created: Vec<_> = admin
            .audit_logs()
            .stream(AuditLogListParams {
                page: ListParams::new().limit(1),
                action: Some("role.created".into()),
                ..Default::default()
            })
            .try_collect()
            .await
            .unwrap();
        assert_eq!(created.len(), 2, "{created:?}");

        // Paging from a cursor continues where a page left off.
        let first = admin.end_users().list(ListParams::new().limit(3)).await.unwrap();
        let cursor = first.pagination.next_cursor.clone().expect("more pages");
        let rest: Vec<_> = admin.end_users().stream(ListParams::new().limit(3).cursor(cursor)).try_collect().await.unwrap();
        assert_eq!(first.data.len() + rest.len(), 5);
    }
);

db_test!(
    async fn sdk_errors_expose_status_code_message_and_request_id(server) {
        let setup = app_with_user(&server, "acme").await;
        let heimdall = &setup.heimdall;

        let error = heimdall.app(Uuid::now_v7()).get().await.unwrap_err();
        assert!(matches!(error, Error::Api { .. }), "{error:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(404));
        assert!(error.code().is_some_and(|c| c.ends_with("not_found")), "{error:?}");
        assert!(error.message().is_some_and(|m| !m.is_empty()));
        assert!(error.request_id().is_some());

        let error = heimdall
            .apps()
            .create(types::CreateApp::builder().slug("acme").display_name("Again"))
            .await
            .unwrap_err();
        assert_eq!((error.status().map(|s| s.as_u16()), error.code()), (Some(409), Some("slug_taken")));
        assert_eq!(error.body().map(|b| b.status_code), Some(409));
        assert!(error.to_string().contains("slug_taken"), "{error}");

        let error = heimdall.consumer("acme").auth().signin("ada", "wrong password").await.unwrap_err();
        assert_eq!((error.status().map(|s| s.as_u16()), error.code()), (Some(401), Some("invalid_credentials")));

        // A body failing the spec's own validation never leaves the client.
        let error =
            heimdall.apps().create(types::CreateApp::builder().slug("Not A Slug!").display_name("x")).await.unwrap_err();
        assert!(matches!(error, Error::InvalidRequest(_)), "{error:?}");
        assert_eq!(error.status(), None);

        // Nobody listening: a transport error without status or code.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let nowhere = Heimdall::builder().base_url(format!("http://127.0.0.1:{port}")).build().unwrap();
        let error = nowhere.app(setup.app.id).get().await.unwrap_err();
        assert!(error.is_transport(), "{error:?}");
        assert_eq!((error.status(), error.code()), (None, None));

        let error = Heimdall::builder().base_url("ftp://example.com").build().unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{error:?}");
        let error = Heimdall::builder().build().unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{error:?}");
    }
);

db_test!(
    async fn sdk_authenticator_middleware_for_poem_and_axum_puts_claims_in_the_request(server) {
        let setup = app_with_user(&server, "acme").await;
        let admin = setup.heimdall.app(setup.app.id);
        admin.permissions().create(types::CreatePermission::builder().resource("docs").action("read")).await.unwrap();
        admin.roles().set_permissions("member", ["docs.read"]).await.unwrap();
        let token = setup.heimdall.consumer("acme").auth().signin("ada", PASSWORD).await.unwrap().access_token;
        let authenticator = Authenticator::new(setup.heimdall.consumer("acme").verifier());

        // Framework-agnostic use.
        let claims = authenticator.authenticate_header(Some(&format!("Bearer {token}"))).await.unwrap();
        authenticator.require("docs.read").check(&claims).unwrap();
        let refusal = authenticator.require("docs.write").authenticate(&token).await.unwrap_err();
        assert!(matches!(&refusal, AuthError::Forbidden { missing } if missing == &["docs.write"]), "{refusal:?}");
        assert!(matches!(authenticator.authenticate_header(None).await, Err(AuthError::MissingToken)));

        poem_adapter(&authenticator, &token).await;
        axum_adapter(&authenticator, &token).await;
    }
);

async fn poem_adapter(authenticator: &Authenticator, token: &str) {
    use poem::{Endpoint, EndpointExt, Request, Route, get, handler, web::Data};

    #[handler]
    fn whoami(claims: Data<&Claims>) -> String {
        format!("{} {}", claims.sub, claims.role.as_deref().unwrap_or("-"))
    }

    let app = Route::new()
        .at("/read", get(whoami).with(authenticator.require("docs.read")))
        .at("/write", get(whoami).with(authenticator.require("docs.write")));
    let call = |path: &str, authorization: Option<String>| {
        let mut request = Request::builder().uri(path.parse().unwrap());
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        app.get_response(request.finish())
    };

    let response = call("/read", Some(format!("Bearer {token}"))).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.into_body().into_string().await.unwrap().ends_with(" member"));

    let response = call("/read", None).await;
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.headers().get("www-authenticate").unwrap(), "Bearer");
    let body: serde_json::Value = serde_json::from_str(&response.into_body().into_string().await.unwrap()).unwrap();
    assert_eq!(body["code"], "missing_token");

    let response = call("/read", Some("Bearer not-a-token".into())).await;
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.headers().get("www-authenticate").unwrap(), r#"Bearer error="invalid_token""#);

    let response = call("/write", Some(format!("Bearer {token}"))).await;
    assert_eq!(response.status().as_u16(), 403);
    let body: serde_json::Value = serde_json::from_str(&response.into_body().into_string().await.unwrap()).unwrap();
    assert_eq!(body["details"]["missing_permissions"], serde_json::json!(["docs.write"]));
}

async fn axum_adapter(authenticator: &Authenticator, token: &str) {
    use axum::{Router, middleware::from_fn_with_state, routing::get};
    use heimdall_sdk::authenticator::axum::authenticate;

    async fn whoami(claims: Claims) -> String {
        format!("{} {}", claims.sub, claims.role.as_deref().unwrap_or("-"))
    }

    let app = Router::new()
        .route("/read", get(whoami).layer(from_fn_with_state(authenticator.require("docs.read"), authenticate)))
        .route("/write", get(whoami).layer(from_fn_with_state(authenticator.require("docs.write"), authenticate)))
        .route("/unprotected", get(whoami));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let serving = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();

    let response = client.get(format!("{base}/read")).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.text().await.unwrap().ends_with(" member"));
    let response = client.get(format!("{base}/read")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let response = client.get(format!("{base}/write")).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let response = client.get(format!("{base}/unprotected")).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401, "the Claims extractor needs the middleware");
    serving.abort();
}

db_test!(
    async fn sdk_scopes_drive_tenants_members_and_tenant_tokens(server) {
        let setup = app_with_user(&server, "orgs").await;
        let heimdall = &setup.heimdall;
        let admin = heimdall.app(setup.app.id);
        admin.permissions().create(types::CreatePermission::builder().resource("docs").action("write")).await.unwrap();
        admin.roles().create(types::CreateRole::builder().name("editor")).await.unwrap();
        admin.roles().set_permissions("editor", ["docs.write"]).await.unwrap();
        let ada = admin.end_users().list(ListParams::new()).await.unwrap().data.remove(0);

        // Tenants and memberships through the app scope.
        let tenants = admin.tenants();
        let north = tenants.create(types::CreateTenant::builder().slug("north").display_name("North")).await.unwrap();
        tenants.create(types::CreateTenant::builder().slug("south").display_name("South")).await.unwrap();
        let member = tenants.member_set(north.id, ada.id, types::SetTenantMember::builder().role_name("editor")).await.unwrap();
        assert_eq!(member.role_name.as_deref(), Some("editor"));
        let listed: Vec<_> = tenants.stream(ListParams::new().limit(1)).try_collect().await.unwrap();
        assert_eq!(listed.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>(), ["north", "south"]);
        let members = tenants.members(north.id, ListParams::new()).await.unwrap();
        assert_eq!(members.data.iter().map(|m| m.end_user_id).collect::<Vec<_>>(), [ada.id]);
        let of_ada = tenants.list_for_user(ada.id, ListParams::new()).await.unwrap();
        assert_eq!(of_ada.data.iter().map(|t| t.tenant.id).collect::<Vec<_>>(), [north.id]);

        // Sign-in into the tenant, verified locally and by the server, then back out of it.
        let orgs = heimdall.consumer("orgs");
        let body = types::SigninRequest { identifier: "ada".into(), password: PASSWORD.into(), tenant_id: Some(north.id) };
        let tokens = orgs.auth().signin_with(body).await.unwrap();
        let claims = orgs.verify_token(&tokens.access_token).await.unwrap();
        assert_eq!((claims.tid, claims.trole.as_deref()), (Some(north.id), Some("editor")));
        let verdict = orgs.authz().verify(&tokens.access_token).await.unwrap();
        let principal = verdict.principal.expect("a valid token has a principal");
        assert_eq!((principal.role.as_deref(), principal.tid), (Some("editor"), Some(north.id.to_string())));
        assert!(orgs.authz().authorize(&tokens.access_token, "docs.write").await.unwrap().authorized);
        let as_ada = heimdall.with_credential(Credential::Bearer(tokens.access_token.clone())).unwrap();
        let mine = as_ada.consumer("orgs").me().tenants(ListParams::new()).await.unwrap();
        assert_eq!(mine.data.iter().map(|t| (t.slug.as_str(), t.current)).collect::<Vec<_>>(), [("north", true)]);
        let app_wide = orgs
            .auth()
            .switch_tenant(types::SwitchTenantRequest { refresh_token: tokens.refresh_token.clone(), tenant_id: None })
            .await
            .unwrap();
        assert_eq!(orgs.verify_token(&app_wide.access_token).await.unwrap().tid, None);

        // Removing the member refuses the tenant token at once; a non-member is told why.
        tenants.member_remove(north.id, ada.id).await.unwrap();
        assert!(!orgs.authz().authorize(&tokens.access_token, "docs.write").await.unwrap().authorized);
        let body = types::SigninRequest { identifier: "ada".into(), password: PASSWORD.into(), tenant_id: Some(north.id) };
        let error = orgs.auth().signin_with(body).await.unwrap_err();
        assert_eq!((error.status().map(|s| s.as_u16()), error.code()), (Some(403), Some("tenant_membership_required")));
        tenants.delete(north.id).await.unwrap();
        assert_eq!(tenants.get(north.id).await.unwrap_err().code(), Some("tenant_not_found"));
    }
);
