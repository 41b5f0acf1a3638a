//! Invites: creation (full code once, masked in lists, validation), acceptance (verified email,
//! the invite's role, tokens), revocation, expiry, unknown codes, address and domain locks, and
//! atomic use counting under 100 parallel accepts of a 5-use domain invite, and idempotent
//! creation.

use chrono::{DateTime, Utc};
use futures::future::join_all;
use heimdall_server::entity::invite;
use heimdall_tests::{
    TestServer, db_test,
    users::{ConsumerApp, PASSWORD, Tokens},
};
use reqwest::Method;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};
use uuid::Uuid;

async fn create_invite(app: &ConsumerApp<'_>, body: Value) -> Value {
    let r = app.server.post(&app.admin_path("/end-users/invites"), &body).await;
    r.expect(201).clone()
}

async fn invites(app: &ConsumerApp<'_>) -> Vec<Value> {
    let r = app.server.get(&app.admin_path("/end-users/invites")).await;
    r.expect(200)["data"].as_array().unwrap().clone()
}

fn accept_body(code: &str, email: Option<&str>) -> Value {
    let mut body = json!({ "code": code, "password": PASSWORD });
    if let Some(email) = email {
        body["email"] = json!(email);
    }
    body
}

db_test!(
    async fn create_invite_returns_the_full_code_once_and_lists_it_masked(server) {
        let app = ConsumerApp::create(&server, "club").await;
        let before = Utc::now();
        let r = server.post(&app.admin_path("/end-users/invites"), &json!({ "email": "Alice@Example.io" })).await;
        let created = r.expect(201).clone();
        let code = created["code"].as_str().unwrap().to_owned();
        assert!(code.starts_with("inv_") && code.len() > 30, "{r}");
        assert!(created["id"].as_str().unwrap().parse::<Uuid>().is_ok());
        assert_eq!(created["email"], "Alice@example.io");
        assert_eq!(created["role_name"], "member");
        assert!(created["role_id"].as_str().unwrap().parse::<Uuid>().is_ok());
        assert_eq!(created["max_uses"], 1);
        assert_eq!(created["use_count"], 0);
        assert_eq!(created["revoked_at"], Value::Null);
        let expires: DateTime<Utc> = created["expires_at"].as_str().unwrap().parse().unwrap();
        let hours = (expires - before).num_minutes() as f64 / 60.0;
        assert!((71.9..=72.1).contains(&hours), "default lifetime is 72 hours: {hours}");

        let custom = create_invite(
            &app,
            json!({ "email": "bob@example.io", "expires_in_hours": 1, "max_uses": 3, "name": "Bob", "role_name": "admin" }),
        )
        .await;
        assert_eq!(custom["role_name"], "admin");
        assert_eq!(custom["max_uses"], 3);
        let expires: DateTime<Utc> = custom["expires_at"].as_str().unwrap().parse().unwrap();
        assert!((expires - before).num_minutes() >= 59 && (expires - before).num_minutes() <= 61);

        let listed = invites(&app).await;
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0]["id"], created["id"]);
        let masked = listed[0]["code"].as_str().unwrap();
        assert_eq!(masked, format!("{}…", &code[..12]), "inv_ and 8 characters, then an ellipsis");
        let text = server.get(&app.admin_path("/end-users/invites")).await.text;
        assert!(!text.contains(&code) && !text.contains(custom["code"].as_str().unwrap()), "lists never show full codes");
        for (field, value) in [("email", "Alice@example.io"), ("role_name", "member")] {
            assert_eq!(listed[0][field], value);
        }
        assert_eq!(listed[1]["role_name"], "admin");

        for bad in [
            json!({ "email": "not-an-email" }),
            json!({ "email": "*@nodot" }),
            json!({ "email": "x@example.io", "expires_in_hours": 0 }),
            json!({ "email": "x@example.io", "expires_in_hours": 721 }),
            json!({ "email": "x@example.io", "max_uses": 0 }),
            json!({ "email": "x@example.io", "max_uses": 10001 }),
        ] {
            let r = server.post(&app.admin_path("/end-users/invites"), &bad).await;
            r.expect(400);
            r.assert_error_shape();
        }
        let r = server.post(&app.admin_path("/end-users/invites"), &json!({ "email": "x@example.io", "role_name": "wizard" })).await;
        r.expect_error(404, "role_not_found");
        assert_eq!(invites(&app).await.len(), 2, "refused invites were not stored");

        let entries = app.audit("invite.created").await;
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1]["resource_id"], created["id"]);
        assert!(!serde_json::to_string(&entries).unwrap().contains(&code), "no codes in the audit log");
    }
);

db_test!(
    async fn accepting_an_invite_creates_a_verified_account_with_the_invites_role(server) {
        let app = ConsumerApp::create(&server, "guild").await;
        let invite = create_invite(&app, json!({ "email": "dave@example.io", "role_name": "admin" })).await;
        let code = invite["code"].as_str().unwrap();

        // A mismatching address is refused and costs no use.
        let r = app.post("/auth/accept-invite", &accept_body(code, Some("mallory@example.io"))).await;
        r.expect_error(400, "validation_failed");
        // So is a weak password.
        let r = app.post("/auth/accept-invite", &json!({ "code": code, "password": "short" })).await;
        r.expect_error(400, "weak_password");

        let r = app
            .post_as(&server.pak, "/auth/accept-invite", &json!({ "code": code, "password": PASSWORD, "display_name": "Dave D." }))
            .await;
        let tokens = Tokens::from_reply(&r, 201);
        let claims = app.claims(&tokens.access).await;
        assert_eq!(claims.role.as_deref(), Some("admin"));
        assert_eq!(claims.amr, Some(vec!["pwd".to_owned()]));
        let user: Uuid = claims.sub.parse().unwrap();
        let summary = app.end_user(user).await;
        assert_eq!(summary["username"], "dave", "derived from the address");
        assert_eq!(summary["email"], "dave@example.io");
        assert!(summary["email_verified_at"].is_string(), "accepting proves the address: {summary}");
        assert_eq!(summary["role"], "admin");
        assert_eq!(summary["display_name"], "Dave D.");
        app.me(&tokens.access).await.expect(200);
        // The verified email signs in at once.
        app.signin_ok("dave@example.io", PASSWORD).await;

        // A single-address invite is used up.
        let r = app.post("/auth/accept-invite", &json!({ "code": code, "password": PASSWORD, "username": "dave2" })).await;
        r.expect_error(410, "invite_unusable");
        let listed = invites(&app).await;
        assert_eq!(listed[0]["use_count"], 1);

        let entries = app.audit("invite.accepted").await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["resource_id"], invite["id"]);
        assert_eq!(entries[0]["details"]["end_user_id"], user.to_string());

        // An invite for an address that is registered already: 409, and the use is not spent.
        let again = create_invite(&app, json!({ "email": "DAVE@example.io", "max_uses": 1 })).await;
        let r = app.post("/auth/accept-invite", &accept_body(again["code"].as_str().unwrap(), None)).await;
        r.expect_error(409, "email_taken");
        let listed = invites(&app).await;
        assert_eq!(listed[1]["use_count"], 0, "{listed:?}");
        // A taken username is a 409 too.
        let erin = create_invite(&app, json!({ "email": "erin@example.io" })).await;
        let r = app.post("/auth/accept-invite", &json!({ "code": erin["code"], "password": PASSWORD, "username": "DAVE" })).await;
        r.expect_error(409, "username_taken");
        let r = app.post("/auth/accept-invite", &json!({ "code": erin["code"], "password": PASSWORD, "username": "erin" })).await;
        Tokens::from_reply(&r, 201);
    }
);

db_test!(
    async fn revoked_expired_and_unknown_invites_cannot_be_accepted(server) {
        let app = ConsumerApp::create(&server, "closed-club").await;
        let other = ConsumerApp::create(&server, "open-club").await;
        let revoked = create_invite(&app, json!({ "email": "frank@example.io" })).await;
        let r = server.delete(&app.admin_path(&format!("/end-users/invites/{}", revoked["id"].as_str().unwrap()))).await;
        assert_eq!(r.status, 204, "{r}");
        let listed = invites(&app).await;
        assert!(listed[0]["revoked_at"].is_string(), "revoked invites stay listed: {listed:?}");
        let r = app.post("/auth/accept-invite", &accept_body(revoked["code"].as_str().unwrap(), None)).await;
        r.expect_error(410, "invite_unusable");
        // Revoking again is harmless; unknown ids are 404.
        assert_eq!(server.delete(&app.admin_path(&format!("/end-users/invites/{}", revoked["id"].as_str().unwrap()))).await.status, 204);
        server.delete(&app.admin_path(&format!("/end-users/invites/{}", Uuid::now_v7()))).await.expect_error(404, "not_found");
        let entries = app.audit("invite.revoked").await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["resource_id"], revoked["id"]);

        let expiring = create_invite(&app, json!({ "email": "gina@example.io" })).await;
        let id: Uuid = expiring["id"].as_str().unwrap().parse().unwrap();
        let row = invite::Entity::find_by_id(id).one(&server.state().db).await.unwrap().unwrap();
        let mut row = row.into_active_model();
        row.expires_at = Set(Utc::now() - chrono::Duration::minutes(1));
        row.update(&server.state().db).await.unwrap();
        let r = app.post("/auth/accept-invite", &accept_body(expiring["code"].as_str().unwrap(), None)).await;
        r.expect_error(410, "invite_unusable");

        for unknown in ["inv_doesnotexist", "", "garbage"] {
            app.post("/auth/accept-invite", &accept_body(unknown, None)).await.expect_error(404, "invite_not_found");
        }
        // Another app's invite is unknown here, for accepting and for revoking.
        let foreign = create_invite(&other, json!({ "email": "henry@example.io" })).await;
        let r = app.post("/auth/accept-invite", &accept_body(foreign["code"].as_str().unwrap(), None)).await;
        r.expect_error(404, "invite_not_found");
        let r = server.delete(&app.admin_path(&format!("/end-users/invites/{}", foreign["id"].as_str().unwrap()))).await;
        r.expect_error(404, "not_found");
        assert_eq!(invites(&other).await[0]["revoked_at"], Value::Null);

        // A suspended app admits no one, not even with a valid invite.
        let valid = create_invite(&app, json!({ "email": "ivy@example.io" })).await;
        app.set_status("suspended").await;
        let r = app.post("/auth/accept-invite", &accept_body(valid["code"].as_str().unwrap(), None)).await;
        r.expect_error(403, "app_inactive");

        let users = server.get(&app.admin_path("/end-users")).await;
        assert_eq!(users.expect(200)["data"], json!([]), "no account was created");
        app.set_status("active").await;
        Tokens::from_reply(&app.post("/auth/accept-invite", &accept_body(valid["code"].as_str().unwrap(), None)).await, 201);
    }
);

db_test!(
    async fn a_domain_invite_admits_exactly_max_uses_accounts_under_100_parallel_accepts(server) {
        let app = ConsumerApp::create(&server, "team").await;
        let invite = create_invite(&app, json!({ "email": "*@Team.io", "max_uses": 5 })).await;
        assert_eq!(invite["email"], "*@team.io");
        let code = invite["code"].as_str().unwrap().to_owned();

        // A domain invite needs the address, at that domain.
        app.post("/auth/accept-invite", &accept_body(&code, None)).await.expect_error(400, "validation_failed");
        app.post("/auth/accept-invite", &accept_body(&code, Some("x@other.io"))).await.expect_error(400, "validation_failed");
        app.post("/auth/accept-invite", &accept_body(&code, Some("x@sub.team.io"))).await.expect_error(400, "validation_failed");

        let replies = join_all((0..100).map(|i| {
            let body = json!({ "code": code, "password": PASSWORD, "email": format!("member{i}@team.io") });
            async move { app.post("/auth/accept-invite", &body).await }
        }))
        .await;
        let created = replies.iter().filter(|r| r.status == 201).count();
        assert_eq!(created, 5, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
        for r in replies.iter().filter(|r| r.status != 201) {
            r.expect_error(410, "invite_unusable");
        }

        let users = server.get(&app.admin_path("/end-users?limit=200")).await;
        let data = users.expect(200)["data"].as_array().unwrap().clone();
        assert_eq!(data.len(), 5, "{users}");
        for user in &data {
            assert!(user["email"].as_str().unwrap().ends_with("@team.io"), "{user}");
            assert!(user["email_verified_at"].is_string());
            assert_eq!(user["role"], "member");
        }
        assert_eq!(invites(&app).await[0]["use_count"], 5);
        assert_eq!(app.audit("invite.accepted").await.len(), 5);
    }
);

db_test!(
    async fn create_invite_with_an_idempotency_key_replays_the_first_answer(server) {
        let app = ConsumerApp::create(&server, "retrying").await;
        let send = |key: &'static str, email: &'static str| {
            let request = server
                .request_as(&server.pak, Method::POST, &app.admin_path("/end-users/invites"))
                .header("Idempotency-Key", key)
                .json(&json!({ "email": email }));
            TestServer::send(request)
        };
        let first = send("invite-retry-1", "jack@example.io").await;
        let again = send("invite-retry-1", "jack@example.io").await;
        assert_eq!(first.expect(201), again.expect(201), "the retry replays the first invite, code included");
        // The replayed code is the real one.
        Tokens::from_reply(&app.post("/auth/accept-invite", &accept_body(first["code"].as_str().unwrap(), None)).await, 201);
        // The same key with another body is refused; another key creates another invite.
        send("invite-retry-1", "kim@example.io").await.expect_error(422, "idempotency_key_reused");
        send("invite-retry-2", "kim@example.io").await.expect(201);
        assert_eq!(invites(&app).await.len(), 2);
    }
);
