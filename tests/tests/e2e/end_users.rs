//! The admin view of end-users and members: listing with `status` and `search` filters and
//! cursor paging, profile updates, role and status changes (suspension revokes sessions),
//! revoking every session, deletion, members as role holders, and other workspaces seeing
//! nothing.

use heimdall_server::entity::{end_user, invite, one_time_code, refresh_token, session};
use heimdall_tests::{
    TestServer, db_test,
    users::{ConsumerApp, PASSWORD},
};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

fn usernames(page: &Value) -> Vec<String> {
    page["data"].as_array().expect("data").iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect()
}

async fn list(app: &ConsumerApp<'_>, query: &str) -> Value {
    let r = app.server.get(&app.admin_path(&format!("/end-users{query}"))).await;
    r.expect(200).clone()
}

db_test!(
    async fn end_users_list_filters_by_status_and_search_and_pages_by_cursor(server) {
        let app = ConsumerApp::create(&server, "directory").await;
        let mut ids = Vec::new();
        for (name, email) in [
            ("alice", "alice@example.io"),
            ("bob", "bob@corp.io"),
            ("carol", "carol@example.io"),
            ("dave_x", "dave@example.io"),
            ("erin", "ALICE.fan@example.io"),
        ] {
            ids.push(app.signup_ok(name, email).await.0);
        }
        server.patch(&app.admin_path(&format!("/end-users/{}", ids[2])), &json!({ "display_name": "Caro Wonder" })).await.expect(200);
        server.patch(&app.admin_path(&format!("/end-users/{}/status", ids[1])), &json!({ "status": "suspended" })).await.expect(200);

        // Two at a time, oldest first.
        let mut seen = Vec::new();
        let mut query = "?limit=2".to_owned();
        let mut pages = Vec::new();
        loop {
            let page = list(&app, &query).await;
            pages.push(page["data"].as_array().unwrap().len());
            seen.extend(usernames(&page));
            match page["pagination"]["next_cursor"].as_str() {
                Some(cursor) => {
                    assert_eq!(page["pagination"]["has_more"], true);
                    query = format!("?limit=2&cursor={cursor}");
                }
                None => {
                    assert_eq!(page["pagination"], json!({ "has_more": false, "next_cursor": null }));
                    break;
                }
            }
        }
        assert_eq!(pages, [2, 2, 1]);
        assert_eq!(seen, ["alice", "bob", "carol", "dave_x", "erin"]);

        assert_eq!(usernames(&list(&app, "?status=suspended").await), ["bob"]);
        assert_eq!(usernames(&list(&app, "?status=active").await), ["alice", "carol", "dave_x", "erin"]);
        assert!(usernames(&list(&app, "?status=deactivated").await).is_empty());
        // Search: username, email or display name, case-insensitive.
        assert_eq!(usernames(&list(&app, "?search=ALICE").await), ["alice", "erin"]);
        assert_eq!(usernames(&list(&app, "?search=corp.io").await), ["bob"]);
        assert_eq!(usernames(&list(&app, "?search=wonder").await), ["carol"]);
        assert_eq!(usernames(&list(&app, "?search=e_x").await), ["dave_x"]);
        // LIKE wildcards are literal.
        assert!(usernames(&list(&app, "?search=%25").await).is_empty());
        assert_eq!(usernames(&list(&app, "?search=_").await), ["dave_x"]);
        assert_eq!(usernames(&list(&app, "?search=example&status=active&limit=2").await), ["alice", "carol"]);

        let r = server.get(&app.admin_path("/end-users?status=banned")).await;
        r.expect(400);
        r.assert_error_shape();
        server.get(&app.admin_path("/end-users?cursor=garbage")).await.expect_error(400, "invalid_cursor");
        server.get(&app.admin_path("/end-users?limit=0")).await.expect(400);
    }
);

db_test!(
    async fn admin_profile_updates_change_the_display_name_and_email(server) {
        let app = ConsumerApp::create(&server, "profiles").await;
        let (user, _) = app.verified_user("frank", "frank@example.io").await;
        app.signup_ok("gina", "gina@example.io").await;
        let path = app.admin_path(&format!("/end-users/{user}"));
        assert!(app.end_user(user).await["email_verified_at"].is_string());

        let r = server.patch(&path, &json!({ "display_name": "Frank F." })).await;
        let updated = r.expect(200);
        assert_eq!(updated["display_name"], "Frank F.");
        assert!(updated["email_verified_at"].is_string(), "a name change keeps the verification");

        let r = server.patch(&path, &json!({ "email": "Frank@New.io" })).await;
        let updated = r.expect(200);
        assert_eq!(updated["email"], "Frank@new.io");
        assert_eq!(updated["email_verified_at"], Value::Null, "a new email starts unverified");
        app.signin("frank@new.io", PASSWORD).await.expect_error(401, "invalid_credentials");
        app.signin("frank@example.io", PASSWORD).await.expect_error(401, "invalid_credentials");
        app.verify_email("frank@new.io").await;
        app.signin_ok("frank@new.io", PASSWORD).await;

        server.patch(&path, &json!({ "email": "GINA@example.io" })).await.expect_error(409, "email_taken");
        server.patch(&path, &json!({ "email": "not-an-email" })).await.expect_error(400, "validation_failed");
        assert_eq!(app.end_user(user).await["email"], "Frank@new.io");
        // The old address is free for someone else.
        app.signup_ok("hank", "frank@example.io").await;

        let entries = app.audit("end_user.updated").await;
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["details"], json!({ "email": true }));
        assert_eq!(entries[0]["actor_id"], server.pak_id().await.to_string());

        server.get(&app.admin_path(&format!("/end-users/{}", Uuid::now_v7()))).await.expect_error(404, "not_found");
        let unknown = app.admin_path(&format!("/end-users/{}", Uuid::now_v7()));
        server.patch(&unknown, &json!({ "display_name": "X" })).await.expect_error(404, "not_found");
    }
);

db_test!(
    async fn role_changes_show_in_the_summary_and_in_new_tokens(server) {
        let app = ConsumerApp::create(&server, "ranks").await;
        let (user, old) = app.signup_ok("ivan", "ivan@example.io").await;
        let path = app.admin_path(&format!("/end-users/{user}/role"));

        let r = server.patch(&path, &json!({ "role_name": "admin" })).await;
        assert_eq!(r.expect(200)["role"], "admin");
        assert_eq!(app.end_user(user).await["role"], "admin");
        let fresh = app.signin_ok("ivan", PASSWORD).await;
        assert_eq!(app.claims(&fresh.access).await.role.as_deref(), Some("admin"));
        let refreshed = heimdall_tests::users::Tokens::from_reply(&app.refresh(&old.refresh).await, 200);
        assert_eq!(app.claims(&refreshed.access).await.role.as_deref(), Some("admin"), "refresh picks up the new role");

        server.patch(&path, &json!({ "role_name": "wizard" })).await.expect_error(404, "role_not_found");
        server.patch(&path, &json!({})).await.expect(400);
        assert_eq!(app.end_user(user).await["role"], "admin");
        let entries = app.audit("end_user.role_changed").await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["resource_id"], user.to_string());
        assert_eq!(entries[0]["details"]["role"], "admin");
    }
);

db_test!(
    async fn suspending_an_end_user_revokes_their_sessions_and_blocks_sign_in(server) {
        let app = ConsumerApp::create(&server, "discipline").await;
        let (user, first) = app.signup_ok("judy", "judy@example.io").await;
        let second = app.signin_ok("judy", PASSWORD).await;
        let path = app.admin_path(&format!("/end-users/{user}/status"));

        let r = server.patch(&path, &json!({ "status": "suspended" })).await;
        let summary = r.expect(200);
        assert_eq!(summary["status"], "suspended");
        assert_eq!(summary["active_session_count"], 0);
        for tokens in [&first, &second] {
            app.me(&tokens.access).await.expect(401);
            app.refresh(&tokens.refresh).await.expect_error(401, "invalid_refresh_token");
        }
        let r = app.signin("judy", PASSWORD).await;
        r.expect(403);
        r.assert_error_shape();
        // No reset or verification codes for a suspended account.
        assert_eq!(app.request_code("request-verification", "judy@example.io").await.expect(200), &json!({}));

        let r = server.patch(&path, &json!({ "status": "active" })).await;
        assert_eq!(r.expect(200)["status"], "active");
        app.me(&first.access).await.expect(401);
        let fresh = app.signin_ok("judy", PASSWORD).await;
        app.me(&fresh.access).await.expect(200);

        server.patch(&path, &json!({ "status": "deactivated" })).await.expect(200);
        app.me(&fresh.access).await.expect(401);
        server.patch(&path, &json!({ "status": "banned" })).await.expect(400);

        let entries = app.audit("end_user.status_changed").await;
        let details: Vec<&Value> = entries.iter().map(|e| &e["details"]).collect();
        assert_eq!(details[2], &json!({ "from": "active", "to": "suspended", "sessions_revoked": 2 }));
        assert_eq!(details[1]["to"], "active");
        assert_eq!(details[0], &json!({ "from": "active", "to": "deactivated", "sessions_revoked": 1 }));
    }
);

db_test!(
    async fn revoke_all_sessions_takes_no_body_and_ends_every_session(server) {
        let app = ConsumerApp::create(&server, "everywhere").await;
        let (user, first) = app.signup_ok("kate", "kate@example.io").await;
        let second = app.signin_ok("kate", PASSWORD).await;
        let (_, bystander) = app.signup_ok("liam", "liam@example.io").await;

        let path = app.admin_path(&format!("/end-users/{user}/sessions/revoke-all"));
        let r = TestServer::send(server.request_as(&server.pak, Method::POST, &path)).await;
        assert_eq!(r.status, 204, "{r}");
        for tokens in [&first, &second] {
            app.me(&tokens.access).await.expect_error(401, "session_revoked");
            app.refresh(&tokens.refresh).await.expect_error(401, "invalid_refresh_token");
        }
        app.me(&bystander.access).await.expect(200);
        assert_eq!(app.end_user(user).await["active_session_count"], 0);
        // The account itself is fine.
        app.signin_ok("kate", PASSWORD).await;
        let entries = app.audit("end_user.sessions_revoked").await;
        assert_eq!(entries[0]["details"]["sessions_revoked"], 2);

        let unknown = app.admin_path(&format!("/end-users/{}/sessions/revoke-all", Uuid::now_v7()));
        TestServer::send(server.request_as(&server.pak, Method::POST, &unknown)).await.expect_error(404, "not_found");
    }
);

db_test!(
    async fn deleting_an_end_user_removes_the_account_and_its_sessions(server) {
        let app = ConsumerApp::create(&server, "removal").await;
        let (user, tokens) = app.signup_ok("mia", "mia@example.io").await;
        let path = app.admin_path(&format!("/end-users/{user}"));

        let r = server.delete(&path).await;
        assert_eq!(r.status, 204, "{r}");
        server.get(&path).await.expect_error(404, "not_found");
        app.me(&tokens.access).await.expect(401);
        app.refresh(&tokens.refresh).await.expect_error(401, "invalid_refresh_token");
        app.signin("mia", PASSWORD).await.expect_error(401, "invalid_credentials");
        server.delete(&path).await.expect_error(404, "not_found");
        let entries = app.audit("end_user.deleted").await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["resource_id"], user.to_string());
        assert_eq!(entries[0]["actor_id"], server.pak_id().await.to_string());
    }
);

db_test!(
    async fn members_are_the_role_holders_and_removing_one_keeps_the_account(server) {
        let app = ConsumerApp::create(&server, "members").await;
        let (nora, _) = app.signup_ok("nora", "nora@example.io").await;
        let (oscar, _) = app.signup_ok("oscar", "oscar@example.io").await;
        server.patch(&app.admin_path(&format!("/end-users/{oscar}")), &json!({ "display_name": "Oscar O." })).await.expect(200);
        server.patch(&app.admin_path(&format!("/end-users/{oscar}/role")), &json!({ "role_name": "admin" })).await.expect(200);

        let r = server.get(&app.admin_path("/members")).await;
        let page = r.expect(200);
        let data = page["data"].as_array().unwrap();
        assert_eq!(data.len(), 2, "{r}");
        let member = &data[1];
        let mut keys: Vec<&str> = member.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["account_id", "display_name", "id", "joined_at", "primary_email", "role_id", "role_name", "username"]);
        assert_eq!(member["account_id"], oscar.to_string());
        assert_eq!(member["username"], "oscar");
        assert_eq!(member["display_name"], "Oscar O.");
        assert_eq!(member["primary_email"], "oscar@example.io");
        assert_eq!(member["role_name"], "admin");
        assert!(member["role_id"].as_str().unwrap().parse::<Uuid>().is_ok());
        assert_eq!(data[0]["role_name"], "member");
        let r = server.get(&app.admin_path("/members?limit=1")).await;
        assert_eq!(r.expect(200)["pagination"]["has_more"], true);

        let r = server.delete(&app.admin_path(&format!("/members/{nora}"))).await;
        assert!(r.status == 204 || r.status == 200, "{r}");
        let summary = app.end_user(nora).await;
        assert_eq!(summary["role"], Value::Null);
        assert_eq!(summary["status"], "active");
        let r = server.get(&app.admin_path("/members")).await;
        let remaining: Vec<&str> = r.expect(200)["data"].as_array().unwrap().iter().map(|m| m["username"].as_str().unwrap()).collect();
        assert_eq!(remaining, ["oscar"]);
        // Still an account: signs in, without a role.
        let tokens = app.signin_ok("nora", PASSWORD).await;
        assert_eq!(app.claims(&tokens.access).await.role, None);
        assert_eq!(app.audit("app.member.removed").await.len(), 1);
        server.delete(&app.admin_path(&format!("/members/{}", Uuid::now_v7()))).await.expect_error(404, "not_found");
    }
);

db_test!(
    async fn another_workspace_sees_none_of_the_apps_end_users(server) {
        let app = ConsumerApp::create(&server, "private").await;
        let (user, tokens) = app.signup_ok("paul", "paul@example.io").await;
        let (stranger, _) = server.other_workspace("strangers").await;
        let user_path = app.admin_path(&format!("/end-users/{user}"));

        for r in [
            server.get_as(&stranger, &app.admin_path("/end-users")).await,
            server.get_as(&stranger, &user_path).await,
            server.patch_as(&stranger, &user_path, &json!({ "display_name": "Hacked" })).await,
            server.patch_as(&stranger, &format!("{user_path}/role"), &json!({ "role_name": "owner" })).await,
            server.patch_as(&stranger, &format!("{user_path}/status"), &json!({ "status": "suspended" })).await,
            TestServer::send(server.request_as(&stranger, Method::POST, &format!("{user_path}/sessions/revoke-all"))).await,
            server.delete_as(&stranger, &user_path).await,
            server.get_as(&stranger, &app.admin_path("/members")).await,
            server.delete_as(&stranger, &app.admin_path(&format!("/members/{user}"))).await,
            server.get_as(&stranger, &app.admin_path("/end-users/invites")).await,
            server.post_json_as(&stranger, &app.admin_path("/end-users/invites"), &json!({ "email": "x@example.io" })).await,
            server.get_as(&stranger, &app.admin_path("/auth-config")).await,
            server.patch_as(&stranger, &app.admin_path("/auth-config"), &json!({ "signin_enabled": false })).await,
        ] {
            r.expect_error(404, "not_found");
        }
        let summary = app.end_user(user).await;
        assert_eq!(summary["display_name"], Value::Null);
        assert_eq!(summary["role"], "member");
        assert_eq!(summary["status"], "active");
        app.me(&tokens.access).await.expect(200);
        app.signin_ok("paul", PASSWORD).await;
    }
);

db_test!(
    async fn deleting_an_app_takes_its_end_users_sessions_codes_and_invites_along(server) {
        let app = ConsumerApp::create(&server, "doomed").await;
        let (quinn, _) = app.verified_user("quinn", "quinn@example.io").await;
        let (_, ross) = app.signup_ok("ross", "ross@example.io").await;
        server.patch(&app.admin_path(&format!("/end-users/{quinn}/role")), &json!({ "role_name": "admin" })).await.expect(200);
        app.code_for("request-password-reset", "quinn@example.io").await;
        app.code_for("request-verification", "ross@example.io").await;
        server.post(&app.admin_path("/end-users/invites"), &json!({ "email": "sam@example.io" })).await.expect(201);
        app.signin("quinn", "Wrong-Password-1").await.expect(401);

        let r = server.delete(&app.admin_path("")).await;
        assert_eq!(r.status, 204, "{r}");
        server.get(&app.admin_path("/end-users")).await.expect_error(404, "not_found");
        app.signin("quinn", PASSWORD).await.expect_error(404, "app_not_found");
        app.me(&ross.access).await.expect(404);
        // Nothing of the app is left behind in the database.
        let db = &server.state().db;
        let left = [
            end_user::Entity::find().filter(end_user::Column::AppId.eq(app.id)).count(db).await.unwrap(),
            session::Entity::find().filter(session::Column::AppId.eq(app.id)).count(db).await.unwrap(),
            refresh_token::Entity::find().filter(refresh_token::Column::AppId.eq(app.id)).count(db).await.unwrap(),
            one_time_code::Entity::find().filter(one_time_code::Column::AppId.eq(app.id)).count(db).await.unwrap(),
            invite::Entity::find().filter(invite::Column::AppId.eq(app.id)).count(db).await.unwrap(),
        ];
        assert_eq!(left, [0; 5], "end-users, sessions, refresh tokens, codes, invites of the deleted app");

        // The slug can host a new app with none of the old accounts.
        let again = ConsumerApp::create(&server, "doomed").await;
        again.signin("quinn", PASSWORD).await.expect_error(401, "invalid_credentials");
        again.signup_ok("quinn", "quinn@example.io").await;
    }
);
