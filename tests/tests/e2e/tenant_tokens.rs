//! Tenant tokens: sign-in with `tenant_id` (403 `tenant_membership_required` for non-members,
//! told only after the password is right), `tid`/`trole` claims carrying the tenant role's
//! permissions, refresh staying in the tenant, `/me/tenants`, switching tenant without a password,
//! and `/authorize`, batch, `/verify` and forward-auth judging a tenant token by the role held in
//! its tenant *now*: removal, a role change, suspension and deletion take effect at once — on
//! one instance on both databases, and across two instances on PostgreSQL. Isolation: a member of
//! tenant A never gets a token for tenant B, nor a tenant of another app.

use heimdall_server::config::Config;
use heimdall_tests::{
    Db, Reply, TestServer,
    authz::within_a_second,
    db_test,
    users::{ConsumerApp, PASSWORD, Tokens},
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

async fn tenant(app: &ConsumerApp<'_>, slug: &str) -> Uuid {
    let body = json!({ "slug": slug, "display_name": format!("Tenant {slug}") });
    let r = app.server.post(&app.admin_path("/tenants"), &body).await;
    r.expect(201)["id"].as_str().unwrap().parse().unwrap()
}

async fn set_member(app: &ConsumerApp<'_>, tenant: Uuid, user: Uuid, role: &str) -> Reply {
    let path = app.admin_path(&format!("/tenants/{tenant}/members/{user}"));
    TestServer::send(app.server.request_as(&app.server.pak, Method::PUT, &path).json(&json!({ "role_name": role })))
        .await
}

async fn signin_to(app: &ConsumerApp<'_>, identifier: &str, tenant: Uuid) -> Reply {
    app.post("/auth/signin", &json!({ "identifier": identifier, "password": PASSWORD, "tenant_id": tenant })).await
}

async fn switch(app: &ConsumerApp<'_>, refresh: &str, tenant: Option<Uuid>) -> Reply {
    app.post("/auth/switch-tenant", &json!({ "refresh_token": refresh, "tenant_id": tenant })).await
}

async fn forward_status(app: &ConsumerApp<'_>, token: &str, permission: &str) -> u16 {
    let request = app
        .server
        .request(Method::GET, &app.path(&format!("/forward-auth?permission={permission}")))
        .header("authorization", format!("Bearer {token}"));
    TestServer::send(request).await.status
}

async fn batch(app: &ConsumerApp<'_>, token: &str, permissions: &[&str]) -> Value {
    let checks: Vec<Value> = permissions.iter().map(|p| json!({ "id": p, "permission": p })).collect();
    let r = app.post("/authorize/batch", &json!({ "token": token, "checks": checks })).await;
    r.expect(200).clone()
}

/// An app where members read docs and editors also write them, with `ada` (an app-wide member)
/// and the tenants `north` and `south`.
async fn setup<'a>(app: &ConsumerApp<'a>) -> (Uuid, Tokens, Uuid, Uuid) {
    app.create_permissions(&["docs.read", "docs.write"]).await;
    app.grant("member", &["docs.read"]).await;
    app.create_role("editor").await;
    app.grant("editor", &["docs.read", "docs.write"]).await;
    let (ada, tokens) = app.signup_ok("ada", "ada@example.io").await;
    let north = tenant(app, "north").await;
    let south = tenant(app, "south").await;
    (ada, tokens, north, south)
}

db_test!(
    async fn a_tenant_signin_carries_tid_and_trole_and_needs_membership(server) {
        let app = ConsumerApp::create(&server, "tenancy").await;
        let (ada, app_tokens, north, south) = setup(&app).await;
        set_member(&app, north, ada, "editor").await.expect(201);

        let tokens = Tokens::from_reply(&signin_to(&app, "ada", north).await, 200);
        let claims = app.claims(&tokens.access).await;
        assert_eq!(claims.tid, Some(north));
        assert_eq!(claims.trole.as_deref(), Some("editor"));
        assert_eq!(claims.role.as_deref(), Some("member"), "the app-wide role stays in `role`");
        assert!(claims.permissions.contains(&"docs.write".to_owned()), "{:?}", claims.permissions);
        let offline = app.verify_offline(&tokens.access).await;
        assert_eq!((offline["tid"].as_str(), offline["trole"].as_str()), (Some(&*north.to_string()), Some("editor")));
        let plain = app.claims(&app_tokens.access).await;
        assert_eq!((plain.tid, plain.trole), (None, None), "no tenant, no tid");

        // Not a member, an unknown tenant, another app's tenant: 403 — only after the password.
        let other = ConsumerApp::create(&server, "elsewhere").await;
        let foreign = tenant(&other, "north").await;
        for t in [south, Uuid::now_v7(), foreign] {
            signin_to(&app, "ada", t).await.expect_error(403, "tenant_membership_required");
        }
        let r = app.post("/auth/signin", &json!({ "identifier": "ada", "password": "Wrong-Horse-42", "tenant_id": south })).await;
        r.expect_error(401, "invalid_credentials");

        // Decisions use, and report, the tenant role.
        let verified = app.verify_token(&tokens.access).await;
        let principal = &verified.expect(200)["principal"];
        assert_eq!((principal["role"].as_str(), principal["tid"].as_str()), (Some("editor"), Some(&*north.to_string())));
        let plain = app.verify_token(&app_tokens.access).await;
        let principal = &plain.expect(200)["principal"];
        assert_eq!((principal["role"].as_str(), principal.get("tid")), (Some("member"), None));
        let request = server
            .request(Method::GET, &app.path("/forward-auth?permission=docs.write"))
            .header("authorization", format!("Bearer {}", tokens.access));
        let forwarded = TestServer::send(request).await;
        assert_eq!(forwarded.expect(200)["tenant_id"], north.to_string());
        assert_eq!(forwarded.header("x-heimdall-role"), Some("editor"));
        assert_eq!(forwarded.header("x-heimdall-tenant"), Some(&*north.to_string()));
        let authorized = app.authorize(&tokens.access, "docs.write").await;
        assert_eq!(authorized.expect(200)["role"], "editor");
        assert!(app.allows(&tokens.access, "docs.write").await);
        assert!(!app.allows(&app_tokens.access, "docs.write").await);
        assert_eq!(forward_status(&app, &tokens.access, "docs.write").await, 200);
        let answers = batch(&app, &tokens.access, &["docs.read", "docs.write"]).await;
        assert!(answers["results"].as_array().unwrap().iter().all(|r| r["allowed"] == true), "{answers}");

        // A refresh stays in the tenant.
        let refreshed = Tokens::from_reply(&app.refresh(&tokens.refresh).await, 200);
        assert_eq!(app.claims(&refreshed.access).await.tid, Some(north));

        // My tenants.
        set_member(&app, south, ada, "member").await.expect(201);
        let r = app.get_as(&refreshed.access, "/me/tenants").await;
        let mine = r.expect(200)["data"].as_array().unwrap().clone();
        let listed: Vec<(&str, &str, bool)> = mine
            .iter()
            .map(|t| (t["slug"].as_str().unwrap(), t["role_name"].as_str().unwrap(), t["current"].as_bool().unwrap()))
            .collect();
        assert_eq!(listed, [("north", "editor", true), ("south", "member", false)]);
        let r = app.get_as(&app_tokens.access, "/me/tenants?limit=1").await;
        let page = r.expect(200);
        assert_eq!(page["data"].as_array().unwrap().len(), 1);
        assert_eq!(page["pagination"]["has_more"], true);

        // Switching: same session, no password, only into the user's tenants.
        let in_south = Tokens::from_reply(&switch(&app, &refreshed.refresh, Some(south)).await, 200);
        let claims = app.claims(&in_south.access).await;
        assert_eq!((claims.tid, claims.trole.as_deref()), (Some(south), Some("member")));
        assert_eq!(claims.sid, app.claims(&tokens.access).await.sid, "the same session");
        assert!(!app.allows(&in_south.access, "docs.write").await);
        let east = tenant(&app, "east").await;
        let (_bob, bob_tokens) = app.signup_ok("bob", "bob@example.io").await;
        switch(&app, &bob_tokens.refresh, Some(north)).await.expect_error(403, "tenant_membership_required");
        switch(&app, &bob_tokens.refresh, Some(east)).await.expect_error(403, "tenant_membership_required");
        // A refused switch does not spend the refresh token.
        let bob_again = Tokens::from_reply(&app.refresh(&bob_tokens.refresh).await, 200);
        assert_eq!(app.claims(&bob_again.access).await.tid, None);
        let back = Tokens::from_reply(&switch(&app, &in_south.refresh, None).await, 200);
        assert_eq!(app.claims(&back.access).await.tid, None, "null returns to app-wide tokens");
        assert_eq!(app.audit("session.tenant_switched").await.len(), 2);
        // A switch spends its refresh token like a refresh: presenting it again ends the session.
        switch(&app, &refreshed.refresh, Some(north)).await.expect_error(401, "refresh_token_reused");
        app.refresh(&back.refresh).await.expect_error(401, "invalid_refresh_token");
    }
);

db_test!(
    async fn tenant_changes_take_effect_on_tenant_tokens_at_once(server) {
        let app = ConsumerApp::create(&server, "tenancy-live").await;
        let (ada, _, north, south) = setup(&app).await;
        set_member(&app, north, ada, "editor").await.expect(201);
        set_member(&app, south, ada, "editor").await.expect(201);
        let in_north = Tokens::from_reply(&signin_to(&app, "ada", north).await, 200);
        let in_south = Tokens::from_reply(&signin_to(&app, "ada", south).await, 200);
        assert!(app.allows(&in_north.access, "docs.write").await);
        assert!(app.allows(&in_south.access, "docs.write").await);

        // A role change in the tenant: the next decision uses the new role.
        set_member(&app, north, ada, "member").await.expect(200);
        assert!(!app.allows(&in_north.access, "docs.write").await);
        assert!(app.allows(&in_north.access, "docs.read").await);
        assert!(app.allows(&in_south.access, "docs.write").await, "other tenants are untouched");
        // The role's permissions are read as of now too.
        app.grant("member", &["docs.read", "docs.write"]).await;
        assert!(app.allows(&in_north.access, "docs.write").await);
        app.grant("member", &["docs.read"]).await;

        // Removal: the token is refused everywhere, and its session cannot refresh in the tenant.
        server.delete(&app.admin_path(&format!("/tenants/{north}/members/{ada}"))).await.expect(204);
        assert_eq!(app.verify_error(&in_north.access).await, "TENANT_REVOKED");
        assert_eq!(app.authorize_error(&in_north.access, "docs.read").await.as_deref(), Some("TENANT_REVOKED"));
        assert_ne!(forward_status(&app, &in_north.access, "docs.read").await, 200);
        let answers = batch(&app, &in_north.access, &["docs.read"]).await;
        assert_eq!(answers["error"], "TENANT_REVOKED", "{answers}");
        app.refresh(&in_north.refresh).await.expect_error(403, "tenant_membership_required");
        signin_to(&app, "ada", north).await.expect_error(403, "tenant_membership_required");
        // Rejoining restores it (the refresh token was not spent by the refusal).
        set_member(&app, north, ada, "member").await.expect(201);
        assert!(app.allows(&in_north.access, "docs.read").await);
        Tokens::from_reply(&app.refresh(&in_north.refresh).await, 200);

        // Suspension, then reactivation.
        let status = app.admin_path(&format!("/tenants/{south}/status"));
        server.patch(&status, &json!({ "status": "suspended" })).await.expect(200);
        assert_eq!(app.verify_error(&in_south.access).await, "TENANT_REVOKED");
        signin_to(&app, "ada", south).await.expect_error(403, "tenant_membership_required");
        server.patch(&status, &json!({ "status": "active" })).await.expect(200);
        assert!(app.allows(&in_south.access, "docs.write").await);

        // Deletion.
        server.delete(&app.admin_path(&format!("/tenants/{south}"))).await.expect(204);
        assert_eq!(app.verify_error(&in_south.access).await, "TENANT_REVOKED");
        app.refresh(&in_south.refresh).await.expect_error(403, "tenant_membership_required");
    }
);

db_test!(
    async fn a_member_of_one_tenant_never_gets_into_another(server) {
        let app = ConsumerApp::create(&server, "iso-a").await;
        let (ada, _, north, south) = setup(&app).await;
        set_member(&app, north, ada, "editor").await.expect(201);
        let (bob, _) = app.signup_ok("bob", "bob@example.io").await;
        set_member(&app, south, bob, "editor").await.expect(201);

        let ada_north = Tokens::from_reply(&signin_to(&app, "ada", north).await, 200);
        signin_to(&app, "ada", south).await.expect_error(403, "tenant_membership_required");
        switch(&app, &ada_north.refresh, Some(south)).await.expect_error(403, "tenant_membership_required");
        signin_to(&app, "bob", north).await.expect_error(403, "tenant_membership_required");
        let r = app.get_as(&ada_north.access, "/me/tenants").await;
        let mine = r.expect(200)["data"].as_array().unwrap().clone();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0]["id"], north.to_string());

        // Another app: its tenant is out of reach, its members' tokens decide nothing here.
        let other = ConsumerApp::create(&server, "iso-b").await;
        let foreign = tenant(&other, "north").await;
        let (carl, _) = other.signup_ok("carl", "carl@example.io").await;
        set_member(&other, foreign, carl, "owner").await.expect(201);
        set_member(&app, foreign, ada, "editor").await.expect_error(404, "tenant_not_found");
        set_member(&other, foreign, ada, "editor").await.expect(404);
        let carl_tokens = Tokens::from_reply(&signin_to(&other, "carl", foreign).await, 200);
        assert_eq!(app.verify_error(&carl_tokens.access).await, "TOKEN_INVALID");
        switch(&app, &ada_north.refresh, Some(foreign)).await.expect_error(403, "tenant_membership_required");
        let r = server.get(&app.admin_path(&format!("/tenants/{foreign}/members"))).await;
        r.expect_error(404, "tenant_not_found");
    }
);

/// Instance A, and instance B on A's database behind the same public URL.
async fn pair(db: Db) -> (TestServer, TestServer) {
    let a = TestServer::spawn(db).await;
    let public_url = a.base.clone();
    let b = TestServer::try_spawn_on_same_db_with(&a, |config: &mut Config| config.public_url = Some(public_url))
        .await
        .unwrap_or_else(|e| panic!("second instance failed to start: {e:#}"));
    (a, b)
}

db_test!(
    postgres_only async fn tenant_changes_through_one_instance_apply_on_another(db: Db) {
        let (a, b) = pair(db).await;
        let on_a = ConsumerApp::create(&a, "coh-tenants").await;
        let on_b = on_a.via(&b);
        let (ada, _, north, south) = setup(&on_a).await;
        set_member(&on_a, north, ada, "editor").await.expect(201);
        set_member(&on_a, south, ada, "editor").await.expect(201);
        let in_north = Tokens::from_reply(&signin_to(&on_a, "ada", north).await, 200);
        let in_south = Tokens::from_reply(&signin_to(&on_a, "ada", south).await, 200);
        // B caches what it knows.
        assert!(on_b.allows(&in_north.access, "docs.write").await);
        assert!(on_b.allows(&in_south.access, "docs.write").await);

        set_member(&on_a, north, ada, "member").await.expect(200);
        within_a_second("a tenant role change", || async { !on_b.allows(&in_north.access, "docs.write").await }).await;
        a.delete(&on_a.admin_path(&format!("/tenants/{north}/members/{ada}"))).await.expect(204);
        within_a_second("a member's removal", || async {
            on_b.authorize_error(&in_north.access, "docs.read").await.as_deref() == Some("TENANT_REVOKED")
        })
        .await;
        let status = on_a.admin_path(&format!("/tenants/{south}/status"));
        a.patch(&status, &json!({ "status": "suspended" })).await.expect(200);
        within_a_second("a tenant's suspension", || async {
            on_b.authorize_error(&in_south.access, "docs.read").await.as_deref() == Some("TENANT_REVOKED")
        })
        .await;
        a.patch(&status, &json!({ "status": "active" })).await.expect(200);
        within_a_second("a tenant's reactivation", || async { on_b.allows(&in_south.access, "docs.write").await }).await;
        a.delete(&on_a.admin_path(&format!("/tenants/{south}"))).await.expect(204);
        within_a_second("a tenant's deletion", || async {
            on_b.authorize_error(&in_south.access, "docs.read").await.as_deref() == Some("TENANT_REVOKED")
        })
        .await;
        on_b.refresh(&in_south.refresh).await.expect_error(403, "tenant_membership_required");
    }
);

db_test!(
    async fn a_tenant_invite_makes_the_invitee_a_member_with_its_role(server) {
        let app = ConsumerApp::create(&server, "tenant-invites").await;
        let (_, _, north, south) = setup(&app).await;
        let r = server
            .post(&app.admin_path("/end-users/invites"), &json!({ "email": "ivy@example.io", "role_name": "editor", "tenant_id": north }))
            .await;
        let invite = r.expect(201).clone();
        assert_eq!(invite["tenant_id"], north.to_string());
        let listed = server.get(&app.admin_path("/end-users/invites")).await;
        assert_eq!(listed.expect(200)["data"][0]["tenant_id"], north.to_string());
        let r = server
            .post(&app.admin_path("/end-users/invites"), &json!({ "email": "x@example.io", "tenant_id": Uuid::now_v7() }))
            .await;
        r.expect_error(404, "tenant_not_found");

        let r = app.post("/auth/accept-invite", &json!({ "code": invite["code"], "password": PASSWORD })).await;
        let tokens = Tokens::from_reply(&r, 201);
        let claims = app.claims(&tokens.access).await;
        assert_eq!((claims.tid, claims.trole.as_deref()), (Some(north), Some("editor")));
        assert!(app.allows(&tokens.access, "docs.write").await);
        let ivy: Uuid = claims.sub.parse().unwrap();
        let members = server.get(&app.admin_path(&format!("/tenants/{north}/members"))).await;
        let members = members.expect(200)["data"].as_array().unwrap().clone();
        assert_eq!(members.len(), 1);
        assert_eq!((members[0]["end_user_id"].as_str(), members[0]["role_name"].as_str()), (Some(&*ivy.to_string()), Some("editor")));
        let accepted = app.audit("invite.accepted").await;
        assert_eq!(accepted[0]["details"]["tenant_id"], north.to_string());

        // The invite of a deleted tenant cannot be used, and creates no account.
        let r = server
            .post(&app.admin_path("/end-users/invites"), &json!({ "email": "zed@example.io", "tenant_id": south }))
            .await;
        let created = r.expect(201).clone();
        let code = created["code"].clone();
        server.delete(&app.admin_path(&format!("/tenants/{south}"))).await.expect(204);
        // Deleting the tenant revoked its pending invite, and the audit entry counts it.
        let listed = server.get(&app.admin_path("/end-users/invites")).await;
        let listed = listed.expect(200)["data"].as_array().unwrap().clone();
        let revoked = listed.iter().find(|i| i["id"] == created["id"]).expect("the invite stays listed");
        assert!(revoked["revoked_at"].is_string(), "{revoked}");
        let deleted = app.audit("tenant.deleted").await;
        assert_eq!((deleted[0]["details"]["invites_revoked"].as_u64(), deleted[0]["details"]["clients_deleted"].as_u64()), (Some(1), Some(0)));
        app.post("/auth/accept-invite", &json!({ "code": code, "password": PASSWORD })).await.expect_error(410, "invite_unusable");
        let r = app.post("/auth/signin", &json!({ "identifier": "zed", "password": PASSWORD })).await;
        r.expect_error(401, "invalid_credentials");
    }
);

db_test!(
    async fn an_m2m_client_bound_to_a_tenant_gets_tokens_carrying_its_tid(server) {
        let app = ConsumerApp::create(&server, "tenant-m2m").await;
        let (_, _, north, _) = setup(&app).await;
        let r = server
            .post(&app.admin_path("/credentials"), &json!({ "name": "north-sync", "scopes": ["docs.read"], "tenant_id": north }))
            .await;
        let created = r.expect(201).clone();
        assert_eq!(created["tenant_id"], north.to_string());
        let client = heimdall_tests::authz::M2mClient {
            id: created["id"].as_str().unwrap().to_owned(),
            client_id: created["client_id"].as_str().unwrap().to_owned(),
            secret: created["client_secret"].as_str().unwrap().to_owned(),
        };
        let got = server.get(&app.admin_path(&format!("/credentials/{}", client.id))).await;
        assert_eq!(got.expect(200)["tenant_id"], north.to_string());
        // The audit entry names the tenant the client is bound to.
        let created_entries = app.audit("credential.created").await;
        assert_eq!(created_entries.len(), 1, "{created_entries:?}");
        assert_eq!(created_entries[0]["details"]["tenant_id"], north.to_string());
        let r = server.post(&app.admin_path("/credentials"), &json!({ "name": "x", "tenant_id": Uuid::now_v7() })).await;
        r.expect_error(404, "tenant_not_found");

        let token = app.m2m_token(&client).await;
        let claims = app.claims(&token).await;
        assert_eq!((claims.tid, claims.trole), (Some(north), None));
        assert!(app.allows(&token, "docs.read").await);
        let unbound = app.create_client("app-wide", &["docs.read"]).await;
        assert_eq!(app.claims(&app.m2m_token(&unbound).await).await.tid, None);

        // A suspended tenant's client gets no token, and its tokens are refused at once.
        let status = app.admin_path(&format!("/tenants/{north}/status"));
        server.patch(&status, &json!({ "status": "suspended" })).await.expect(200);
        assert_eq!(app.verify_error(&token).await, "TENANT_REVOKED");
        app.client_token(&client, None).await.expect(403);
        server.patch(&status, &json!({ "status": "active" })).await.expect(200);
        assert!(app.allows(&token, "docs.read").await);
        // Deleting the tenant deletes the clients bound to it (the app-wide one stays), at once.
        server.delete(&app.admin_path(&format!("/tenants/{north}"))).await.expect(204);
        assert_eq!(app.verify_error(&token).await, "CLIENT_INACTIVE");
        server.get(&app.admin_path(&format!("/credentials/{}", client.id))).await.expect(404);
        app.client_token(&client, None).await.expect(401);
        assert!(app.allows(&app.m2m_token(&unbound).await, "docs.read").await);
        let deleted = app.audit("tenant.deleted").await;
        assert_eq!(deleted[0]["details"]["clients_deleted"].as_u64(), Some(1));
    }
);

db_test!(
    async fn an_existing_account_joins_a_tenant_by_invite(server) {
        let app = ConsumerApp::create(&server, "tenant-join").await;
        let (_, _, north, _) = setup(&app).await;
        let (kim, kim_tokens) = app.verified_user("kim", "kim@example.io").await;
        let (_, lee_tokens) = app.verified_user("lee", "lee@example.io").await;
        let invite = |body: Value| {
            let app = &app;
            async move { app.server.post(&app.admin_path("/end-users/invites"), &body).await.expect(201)["code"].clone() }
        };
        let code = invite(json!({ "email": "kim@example.io", "role_name": "editor", "tenant_id": north })).await;
        let join = |token: String, code: Value| {
            let app = &app;
            async move { app.post_as(&token, "/me/tenants/join", &json!({ "code": code })).await }
        };
        join(lee_tokens.access.clone(), code.clone()).await.expect(403);
        let r = join(kim_tokens.access.clone(), code.clone()).await;
        let joined = r.expect(200).clone();
        assert_eq!(joined["tenant_id"], north.to_string());
        join(kim_tokens.access.clone(), code.clone()).await.expect_error(410, "invite_unusable");
        let in_north = Tokens::from_reply(&switch(&app, &kim_tokens.refresh, Some(north)).await, 200);
        let claims = app.claims(&in_north.access).await;
        assert_eq!((claims.sub, claims.tid, claims.trole.as_deref()), (kim.to_string(), Some(north), Some("editor")));

        let plain = invite(json!({ "email": "lee@example.io" })).await;
        join(lee_tokens.access.clone(), plain).await.expect(409);
        join(lee_tokens.access.clone(), json!("inv_unknown")).await.expect_error(404, "invite_not_found");
        // A domain invite admits any verified address at the domain.
        let domain = invite(json!({ "email": "*@example.io", "tenant_id": north, "max_uses": 5 })).await;
        join(lee_tokens.access.clone(), domain).await.expect(200);
        let accepted = app.audit("invite.accepted").await;
        assert_eq!(accepted.len(), 2);
        assert_eq!(accepted[0]["details"]["existing_account"], true);
    }
);
