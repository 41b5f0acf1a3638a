//! Roles and the permission catalogue on the admin API: listing by page, reading a role with
//! its permissions, creating (reserved and duplicate names), describing and deleting roles
//! (system roles and roles in use are kept), replacing a role's permission set (catalogue
//! entries and explicit wildcards only, never more than the calling key holds), assigning roles,
//! the two catalogues and their route precedence, custom permissions, and the audit trail.

use heimdall_tests::{TestServer, db_test, users::ConsumerApp};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

fn names(list: &Value) -> Vec<String> {
    list.as_array().expect("array").iter().map(|r| r["name"].as_str().expect("name").to_owned()).collect()
}

fn keys_of(entries: &Value) -> Vec<String> {
    entries
        .as_array()
        .expect("array")
        .iter()
        .map(|p| format!("{}.{}", p["resource"].as_str().unwrap(), p["action"].as_str().unwrap()))
        .collect()
}

db_test!(
    async fn roles_list_by_page_starting_with_the_three_system_roles(server) {
        let app = ConsumerApp::create(&server, "roles-list").await;
        let r = server.get(&app.admin_path("/roles")).await;
        let body = r.expect(200);
        assert_eq!(names(&body["data"]), ["owner", "admin", "member"], "{r}");
        assert!(body["data"].as_array().unwrap().iter().all(|role| role["is_system"] == true), "{r}");
        assert_eq!(body["pagination"], json!({ "has_more": false, "next_cursor": null }));
        let owner = &body["data"][0];
        for field in ["id", "app_id", "name", "description", "is_system", "created_at", "updated_at"] {
            assert!(owner.get(field).is_some(), "missing {field}: {owner}");
        }
        assert_eq!(owner["app_id"], app.id.to_string());

        for name in ["editor", "viewer", "billing"] {
            app.create_role(name).await;
        }
        let mut seen = Vec::new();
        let mut path = app.admin_path("/roles?limit=2");
        for _ in 0..5 {
            let r = server.get(&path).await;
            let body = r.expect(200);
            seen.extend(names(&body["data"]));
            match body["pagination"]["next_cursor"].as_str() {
                Some(cursor) => {
                    assert_eq!(body["pagination"]["has_more"], true, "{r}");
                    path = app.admin_path(&format!("/roles?limit=2&cursor={cursor}"));
                }
                None => break,
            }
        }
        assert_eq!(seen, ["owner", "admin", "member", "editor", "viewer", "billing"]);
    }
);

db_test!(
    async fn a_new_role_starts_empty_and_reads_back_with_its_permissions(server) {
        let app = ConsumerApp::create(&server, "roles-create").await;
        let r = server.post(&app.admin_path("/roles"), &json!({ "name": "editor", "description": "Edits documents" })).await;
        let role = r.expect(201).clone();
        assert_eq!(role["name"], "editor");
        assert_eq!(role["description"], "Edits documents");
        assert_eq!(role["is_system"], false);
        assert_eq!(role["app_id"], app.id.to_string());
        role["id"].as_str().unwrap().parse::<Uuid>().expect("id is a UUID");

        let got = server.get(&app.admin_path("/roles/editor")).await;
        let got = got.expect(200);
        assert_eq!(got["permissions"], json!([]), "a new role has no permissions: {got}");
        assert_eq!(got["id"], role["id"]);
        assert_eq!(got["created_at"], role["created_at"]);

        // Without a description.
        let r = server.post(&app.admin_path("/roles"), &json!({ "name": "viewer" })).await;
        assert_eq!(r.expect(201)["description"], Value::Null);

        server.get(&app.admin_path("/roles/nobody")).await.expect_error(404, "role_not_found");
        // Another app's roles are not visible through this one.
        let other = ConsumerApp::create(&server, "roles-other").await;
        other.server.get(&other.admin_path("/roles/editor")).await.expect_error(404, "role_not_found");
    }
);

db_test!(
    async fn reserved_malformed_and_duplicate_role_names_are_refused(server) {
        let app = ConsumerApp::create(&server, "roles-names").await;
        let path = app.admin_path("/roles");
        for name in ["assign", "permissions", "Editor", "e", "has space", "a/b", "ed.itor", "", &"x".repeat(65)] {
            let r = server.post(&path, &json!({ "name": name })).await;
            r.expect_error(400, "validation_failed");
        }
        app.create_role("editor").await;
        server.post(&path, &json!({ "name": "editor" })).await.expect_error(409, "role_exists");
        server.post(&path, &json!({ "name": "member" })).await.expect_error(409, "role_exists");
        let list = server.get(&path).await;
        assert_eq!(names(&list.expect(200)["data"]), ["owner", "admin", "member", "editor"]);
    }
);

db_test!(
    async fn patching_a_role_changes_its_description_only(server) {
        let app = ConsumerApp::create(&server, "roles-patch").await;
        let role = app.create_role("editor").await;
        app.create_permission("docs.read").await;
        app.grant("editor", &["docs.read"]).await;

        let r = server.patch(&app.admin_path("/roles/editor"), &json!({ "description": "Can edit" })).await;
        let body = r.expect(200);
        assert_eq!(body["description"], "Can edit");
        assert_eq!(body["name"], "editor");
        assert_eq!(body["id"], role["id"]);
        assert_eq!(body["permissions"], json!(["docs.read"]), "{r}");
        assert_eq!(server.get(&app.admin_path("/roles/editor")).await.expect(200)["description"], "Can edit");

        // System roles can be described too; unknown roles are 404.
        server.patch(&app.admin_path("/roles/member"), &json!({ "description": "Everyone" })).await.expect(200);
        server.patch(&app.admin_path("/roles/ghost"), &json!({ "description": "x" })).await.expect_error(404, "role_not_found");
    }
);

db_test!(
    async fn system_roles_and_roles_held_by_users_cannot_be_deleted(server) {
        let app = ConsumerApp::create(&server, "roles-delete").await;
        for system in ["owner", "admin", "member"] {
            server.delete(&app.admin_path(&format!("/roles/{system}"))).await.expect_error(403, "forbidden");
        }
        app.create_role("editor").await;
        let (user, _) = app.signup_ok("alice", "alice@example.com").await;
        app.assign(user, "editor").await.expect(200);
        server.delete(&app.admin_path("/roles/editor")).await.expect_error(409, "role_in_use");
        assert_eq!(server.get(&app.admin_path("/roles/editor")).await.expect(200)["name"], "editor");

        app.assign(user, "member").await.expect(200);
        let r = server.delete(&app.admin_path("/roles/editor")).await;
        assert!(r.status == 204 || r.status == 200, "{r}");
        server.get(&app.admin_path("/roles/editor")).await.expect_error(404, "role_not_found");
        server.delete(&app.admin_path("/roles/editor")).await.expect_error(404, "role_not_found");
        assert_eq!(app.audit("role.deleted").await.len(), 1);
    }
);

db_test!(
    async fn setting_permissions_replaces_the_whole_set_with_catalogue_entries_and_wildcards(server) {
        let app = ConsumerApp::create(&server, "roles-perms").await;
        app.create_permissions(&["docs.read", "docs.write", "billing.read"]).await;
        app.create_role("editor").await;

        let r = app.set_role_permissions_as(&server.pak, "editor", &["docs.write", "docs.read", "docs.read"]).await;
        let body = r.expect(200);
        assert_eq!(body["permissions"], json!(["docs.read", "docs.write"]), "sorted, without duplicates: {r}");
        assert_eq!(body["name"], "editor");

        // The set is replaced, not merged.
        assert_eq!(app.grant("editor", &["billing.read"]).await["permissions"], json!(["billing.read"]));
        assert_eq!(server.get(&app.admin_path("/roles/editor")).await.expect(200)["permissions"], json!(["billing.read"]));

        // Explicit wildcards and system permissions are grantable; an empty set clears the role.
        assert_eq!(app.grant("editor", &["docs.*", "role.read"]).await["permissions"], json!(["docs.*", "role.read"]));
        assert_eq!(app.grant("editor", &["*"]).await["permissions"], json!(["*"]));
        assert_eq!(app.grant("editor", &[]).await["permissions"], json!([]));

        // Unknown or malformed entries are refused and change nothing.
        app.grant("editor", &["docs.read"]).await;
        for bad in [vec!["nope.read"], vec!["docs.read", "docs.delete"], vec!["Docs.Read"], vec!["docs"], vec![" docs.read"], vec!["*.read"], vec!["docs..*"]] {
            let r = app.set_role_permissions_as(&server.pak, "editor", &bad).await;
            r.expect_error(400, "validation_failed");
        }
        assert_eq!(server.get(&app.admin_path("/roles/editor")).await.expect(200)["permissions"], json!(["docs.read"]));

        // Another app's custom permissions are not in this app's catalogue.
        let other = ConsumerApp::create(&server, "roles-perms-other").await;
        other.create_permission("reports.read").await;
        app.set_role_permissions_as(&server.pak, "editor", &["reports.read"]).await.expect_error(400, "validation_failed");

        app.set_role_permissions_as(&server.pak, "ghost", &["docs.read"]).await.expect_error(404, "role_not_found");
    }
);

db_test!(
    async fn a_key_cannot_grant_a_permission_it_does_not_hold(server) {
        let app = ConsumerApp::create(&server, "roles-narrow").await;
        app.create_permissions(&["docs.read", "docs.write"]).await;
        app.create_role("editor").await;
        let (key, _) = server.insert_app_key(app.id, &["role.read", "role.write", "docs.read"]).await;

        let r = app.set_role_permissions_as(&key, "editor", &["docs.read", "role.read"]).await;
        assert_eq!(r.expect(200)["permissions"], json!(["docs.read", "role.read"]));
        for beyond in [vec!["docs.write"], vec!["docs.read", "docs.write"], vec!["docs.*"], vec!["*"], vec!["role.assign"]] {
            let r = app.set_role_permissions_as(&key, "editor", &beyond).await;
            r.expect_error(403, "forbidden");
        }
        assert_eq!(server.get(&app.admin_path("/roles/editor")).await.expect(200)["permissions"], json!(["docs.read", "role.read"]));

        // A key holding only role.read may look but not change.
        let (reader, _) = server.insert_app_key(app.id, &["role.read", "docs.read"]).await;
        server.get_as(&reader, &app.admin_path("/roles")).await.expect(200);
        app.set_role_permissions_as(&reader, "editor", &["docs.read"]).await.expect_error(403, "forbidden");
    }
);

db_test!(
    async fn assigning_a_role_returns_the_membership(server) {
        let app = ConsumerApp::create(&server, "roles-assign").await;
        let editor = app.create_role("editor").await;
        let (user, _) = app.signup_ok("bob", "bob@example.com").await;

        let r = app.assign(user, "editor").await;
        let membership = r.expect(200);
        let mut keys: Vec<&str> = membership.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["account_id", "app_id", "id", "joined_at", "role_id"], "{r}");
        assert_eq!(membership["account_id"], user.to_string());
        assert_eq!(membership["app_id"], app.id.to_string());
        assert_eq!(membership["role_id"], editor["id"]);
        assert!(membership["joined_at"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().is_ok(), "{r}");
        assert_eq!(app.end_user(user).await["role"], "editor");

        app.assign(user, "ghost").await.expect_error(404, "role_not_found");
        app.assign(Uuid::now_v7(), "editor").await.expect(404);
        let r = server.post(&app.admin_path("/roles/assign"), &json!({ "account_id": "not-a-uuid", "role": "editor" })).await;
        r.expect(400);
        r.assert_error_shape();
        // A user of another app cannot be given this app's role.
        let other = ConsumerApp::create(&server, "roles-assign-other").await;
        let (stranger, _) = other.signup_ok("carol", "carol@example.com").await;
        app.assign(stranger, "editor").await.expect(404);
        assert_eq!(other.end_user(stranger).await["role"], "member");
    }
);

db_test!(
    async fn the_roles_permission_catalogue_wins_over_a_role_named_permissions(server) {
        let app = ConsumerApp::create(&server, "roles-catalogue").await;
        app.create_permission("docs.read").await;

        let r = server.get(&app.admin_path("/roles/permissions")).await;
        let catalogue = r.expect(200);
        let entries = catalogue.as_array().unwrap_or_else(|| panic!("a bare array: {r}"));
        let keys = keys_of(catalogue);
        assert!(keys.contains(&"role.read".to_owned()) && keys.contains(&"docs.read".to_owned()), "{r}");
        let system = entries.iter().find(|e| e["resource"] == "role" && e["action"] == "read").unwrap();
        assert_eq!(system["is_system"], true);
        assert_eq!(system["app_id"], Value::Null);
        let custom = entries.iter().find(|e| e["resource"] == "docs").unwrap();
        assert_eq!(custom["is_system"], false);
        assert_eq!(custom["app_id"], app.id.to_string());
        for field in ["id", "resource", "action", "description", "app_id", "created_at", "is_system"] {
            assert!(custom.get(field).is_some(), "missing {field}: {custom}");
        }

        // The plain catalogue has the same entries, without is_system.
        let r = server.get(&app.admin_path("/permissions")).await;
        let plain = r.expect(200);
        assert_eq!(keys_of(plain), keys, "{r}");
        assert!(plain.as_array().unwrap().iter().all(|p| p.get("is_system").is_none()), "{r}");

        // POST /roles/assign is a route, not a role; there is no POST on a role name.
        let r = server.post(&app.admin_path("/roles/editor"), &json!({})).await;
        assert!(r.status == 404 || r.status == 405, "{r}");
    }
);

db_test!(
    async fn custom_permissions_are_created_listed_and_deleted_from_every_role(server) {
        let app = ConsumerApp::create(&server, "perm-crud").await;
        let path = app.admin_path("/permissions");
        let r = server.post(&path, &json!({ "resource": "docs", "action": "read", "description": "Read documents" })).await;
        let created = r.expect(201).clone();
        assert_eq!(created["resource"], "docs");
        assert_eq!(created["action"], "read");
        assert_eq!(created["description"], "Read documents");
        assert_eq!(created["app_id"], app.id.to_string());
        created["id"].as_str().unwrap().parse::<Uuid>().expect("id");

        server.post(&path, &json!({ "resource": "docs", "action": "read" })).await.expect_error(409, "permission_exists");
        server.post(&path, &json!({ "resource": "role", "action": "read" })).await.expect_error(409, "permission_exists");
        for (resource, action) in [("Docs", "read"), ("docs", "Read"), ("docs", "re ad"), ("", "read"), ("docs", ""), ("docs", "*"), ("docs", "a.b")] {
            let r = server.post(&path, &json!({ "resource": resource, "action": action })).await;
            r.expect_error(400, "validation_failed");
        }

        app.create_permission("docs.write").await;
        app.create_role("editor").await;
        app.grant("editor", &["docs.read", "docs.write"]).await;
        app.grant("member", &["docs.read"]).await;

        // System permissions cannot be deleted.
        server.delete(&app.admin_path("/permissions/role.read")).await.expect_error(403, "forbidden");

        let r = server.delete(&app.admin_path("/permissions/docs.read")).await;
        assert!(r.status == 204 || r.status == 200, "{r}");
        assert_eq!(server.get(&app.admin_path("/roles/editor")).await.expect(200)["permissions"], json!(["docs.write"]));
        assert_eq!(server.get(&app.admin_path("/roles/member")).await.expect(200)["permissions"], json!([]));
        assert!(!keys_of(server.get(&path).await.expect(200)).contains(&"docs.read".to_owned()));
        server.delete(&app.admin_path("/permissions/docs.read")).await.expect(404);
        // Once deleted it is no longer grantable.
        app.set_role_permissions_as(&server.pak, "editor", &["docs.read"]).await.expect_error(400, "validation_failed");
    }
);

db_test!(
    async fn role_and_permission_changes_are_audited(server) {
        let app = ConsumerApp::create(&server, "roles-audit").await;
        let pak = server.pak_id().await.to_string();
        app.create_permission("docs.read").await;
        app.create_role("editor").await;
        app.grant("editor", &["docs.read"]).await;
        let (user, _) = app.signup_ok("dave", "dave@example.com").await;
        app.assign(user, "editor").await.expect(200);
        app.grant("editor", &[]).await;
        server.delete(&app.admin_path("/permissions/docs.read")).await;

        let created = app.audit("role.created").await;
        assert_eq!(created.len(), 1, "{created:?}");
        assert_eq!(created[0]["resource_type"], "role");
        assert_eq!(created[0]["resource_id"], "editor");
        assert_eq!(created[0]["actor_id"], pak);

        let set = app.audit("role.permissions_set").await;
        assert_eq!(set.len(), 2, "{set:?}");
        assert_eq!(set[1]["details"]["after"], json!(["docs.read"]), "oldest second: {set:?}");
        assert_eq!(set[0]["details"]["before"], json!(["docs.read"]));
        assert_eq!(set[0]["details"]["after"], json!([]));

        let assigned = app.audit("role.assigned").await;
        assert_eq!(assigned.len(), 1);
        assert_eq!(assigned[0]["resource_id"], user.to_string());
        assert_eq!(assigned[0]["details"]["role"], "editor");

        let p_created = app.audit("permission.created").await;
        assert_eq!(p_created.len(), 1);
        assert_eq!(p_created[0]["resource_id"], "docs.read");
        let p_deleted = app.audit("permission.deleted").await;
        assert_eq!(p_deleted.len(), 1);
        assert_eq!(p_deleted[0]["resource_id"], "docs.read");
        assert_eq!(p_deleted[0]["actor_id"], pak);
    }
);

db_test!(
    async fn role_routes_need_role_permissions_and_stay_inside_the_keys_app(server) {
        let app = ConsumerApp::create(&server, "roles-lanes").await;
        let other = ConsumerApp::create(&server, "roles-lanes-other").await;
        let (key, _) = server.insert_app_key(app.id, &["role.read"]).await;
        server.get_as(&key, &app.admin_path("/roles")).await.expect(200);
        server.get_as(&key, &app.admin_path("/roles/member")).await.expect(200);
        server.post_json_as(&key, &app.admin_path("/roles"), &json!({ "name": "x1" })).await.expect_error(403, "forbidden");
        server.delete_as(&key, &app.admin_path("/roles/member")).await.expect_error(403, "forbidden");
        server.get_as(&key, &app.admin_path("/roles/permissions")).await.expect_error(403, "forbidden");
        for path in ["/roles", "/roles/member", "/roles/permissions", "/permissions"] {
            server.get_as(&key, &other.admin_path(path)).await.expect_error(404, "not_found");
        }
        let r = TestServer::send(server.request(Method::GET, &app.admin_path("/roles"))).await;
        r.expect_error(401, "unauthorized");
    }
);
