//! Tenants (organizations inside an app): creation with slug rules and uniqueness per app,
//! cursor pages and search, updates, suspension, deletion with its memberships, members with a
//! role per tenant, a user's tenants, and isolation between apps, all audited.

use heimdall_tests::{TestServer, db_test, users::ConsumerApp};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

async fn create_tenant(app: &ConsumerApp<'_>, slug: &str) -> Value {
    let body = json!({ "slug": slug, "display_name": format!("Tenant {slug}") });
    app.server.post(&app.admin_path("/tenants"), &body).await.expect(201).clone()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// `PUT …/tenants/{tenant}/members/{user}` with `role_name`.
async fn set_member(app: &ConsumerApp<'_>, tenant: &str, user: Uuid, role: &str) -> heimdall_tests::Reply {
    let path = app.admin_path(&format!("/tenants/{tenant}/members/{user}"));
    TestServer::send(app.server.request_as(&app.server.pak, Method::PUT, &path).json(&json!({ "role_name": role })))
        .await
}

/// Every item of a cursor-paged list, fetched `limit` at a time; also returns the page count.
async fn all_pages(server: &TestServer, path: &str, limit: u32) -> (Vec<Value>, usize) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut pages = 0;
    let mut next = format!("{path}{sep}limit={limit}");
    loop {
        let r = server.get(&next).await;
        let body = r.expect(200).clone();
        pages += 1;
        items.extend(body["data"].as_array().unwrap().iter().cloned());
        match body["pagination"]["next_cursor"].as_str() {
            Some(cursor) => next = format!("{path}{sep}limit={limit}&cursor={cursor}"),
            None => {
                assert_eq!(body["pagination"]["has_more"], false);
                return (items, pages);
            }
        }
    }
}

db_test!(
    async fn tenants_are_created_listed_searched_updated_suspended_and_deleted(server) {
        let app = ConsumerApp::create(&server, "saas").await;
        let r = server
            .post(
                &app.admin_path("/tenants"),
                &json!({ "slug": "globex", "display_name": "Globex Corporation", "metadata": { "plan": "enterprise" } }),
            )
            .await;
        let globex = r.expect(201).clone();
        assert!(id_of(&globex).parse::<Uuid>().is_ok());
        assert_eq!(globex["app_id"], app.id.to_string());
        assert_eq!(globex["slug"], "globex");
        assert_eq!(globex["display_name"], "Globex Corporation");
        assert_eq!(globex["status"], "active");
        assert_eq!(globex["metadata"], json!({ "plan": "enterprise" }));
        let gid = id_of(&globex);

        // Slugs: 2–64 lowercase letters, digits and inner hyphens, unique within the app.
        for bad in ["x", "Globex", "-globex", "globex-", "glo bex", "glo_bex"] {
            let r = server.post(&app.admin_path("/tenants"), &json!({ "slug": bad, "display_name": "X" })).await;
            r.expect_error(400, "validation_failed");
        }
        let r = server.post(&app.admin_path("/tenants"), &json!({ "slug": "globex", "display_name": "Again" })).await;
        r.expect_error(409, "tenant_slug_taken");
        for bad in [json!({ "slug": "okay", "display_name": "" }), json!({ "slug": "okay", "display_name": "X", "metadata": [1] })]
        {
            server.post(&app.admin_path("/tenants"), &bad).await.expect(400);
        }
        // Another app may use the same slug.
        let other = ConsumerApp::create(&server, "other-saas").await;
        let foreign = create_tenant(&other, "globex").await;

        let got = server.get(&app.admin_path(&format!("/tenants/{gid}"))).await;
        assert_eq!(got.expect(200)["slug"], "globex");
        // Another app's tenant, or an unknown id, is not found through this app.
        let r = server.get(&app.admin_path(&format!("/tenants/{}", id_of(&foreign)))).await;
        r.expect_error(404, "tenant_not_found");
        server.get(&app.admin_path(&format!("/tenants/{}", Uuid::now_v7()))).await.expect_error(404, "tenant_not_found");

        for slug in ["initech", "umbrella", "hooli", "acme-eu", "acme-us"] {
            create_tenant(&app, slug).await;
        }
        let (listed, pages) = all_pages(&server, &app.admin_path("/tenants"), 2).await;
        let slugs: Vec<&str> = listed.iter().map(|t| t["slug"].as_str().unwrap()).collect();
        assert_eq!(slugs, ["globex", "initech", "umbrella", "hooli", "acme-eu", "acme-us"], "oldest first, no repeats");
        assert_eq!(pages, 3);
        let (found, _) = all_pages(&server, &app.admin_path("/tenants?search=ACME"), 50).await;
        let slugs: Vec<&str> = found.iter().map(|t| t["slug"].as_str().unwrap()).collect();
        assert_eq!(slugs, ["acme-eu", "acme-us"]);
        let (found, _) = all_pages(&server, &app.admin_path("/tenants?search=corporation"), 50).await;
        assert_eq!(found.len(), 1, "the display name is searched too");
        let (found, _) = all_pages(&server, &app.admin_path("/tenants?search=%25"), 50).await;
        assert!(found.is_empty(), "LIKE wildcards are searched literally");

        let r = server
            .patch(
                &app.admin_path(&format!("/tenants/{gid}")),
                &json!({ "slug": "globex-corp", "display_name": "Globex Inc.", "metadata": { "seats": 50 } }),
            )
            .await;
        let updated = r.expect(200).clone();
        assert_eq!((updated["slug"].as_str(), updated["display_name"].as_str()), (Some("globex-corp"), Some("Globex Inc.")));
        assert_eq!(updated["metadata"], json!({ "seats": 50 }));
        let r = server.patch(&app.admin_path(&format!("/tenants/{gid}")), &json!({ "slug": "hooli" })).await;
        r.expect_error(409, "tenant_slug_taken");

        let r = server.patch(&app.admin_path(&format!("/tenants/{gid}/status")), &json!({ "status": "suspended" })).await;
        assert_eq!(r.expect(200)["status"], "suspended");
        let r = server.patch(&app.admin_path(&format!("/tenants/{gid}/status")), &json!({ "status": "archived" })).await;
        r.expect(400);
        let r = server.patch(&app.admin_path(&format!("/tenants/{gid}/status")), &json!({ "status": "active" })).await;
        assert_eq!(r.expect(200)["status"], "active");

        server.delete(&app.admin_path(&format!("/tenants/{gid}"))).await.expect(204);
        server.get(&app.admin_path(&format!("/tenants/{gid}"))).await.expect_error(404, "tenant_not_found");
        server.delete(&app.admin_path(&format!("/tenants/{gid}"))).await.expect_error(404, "tenant_not_found");
        // Deleting another app's tenant through this app finds nothing, and leaves it alone.
        server.delete(&app.admin_path(&format!("/tenants/{}", id_of(&foreign)))).await.expect(404);
        server.get(&other.admin_path(&format!("/tenants/{}", id_of(&foreign)))).await.expect(200);

        assert_eq!(app.audit("tenant.created").await.len(), 6);
        let updates = app.audit("tenant.updated").await;
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0]["resource_id"], gid);
        assert_eq!(app.audit("tenant.status_changed").await.len(), 2);
        assert_eq!(app.audit("tenant.deleted").await.len(), 1);
    }
);

db_test!(
    async fn members_hold_an_app_role_per_tenant_and_go_with_their_tenant(server) {
        let app = ConsumerApp::create(&server, "crm").await;
        let (ada, _) = app.signup_ok("ada", "ada@example.io").await;
        let (bob, _) = app.signup_ok("bob", "bob@example.io").await;
        let (cyd, _) = app.signup_ok("cyd", "cyd@example.io").await;
        let north = id_of(&create_tenant(&app, "north").await);
        let south = id_of(&create_tenant(&app, "south").await);

        let r = set_member(&app, &north, ada, "admin").await;
        let added = r.expect(201).clone();
        assert_eq!((added["end_user_id"].as_str(), added["role_name"].as_str()), (Some(&*ada.to_string()), Some("admin")));
        assert_eq!(added["tenant_id"], north);
        // The same role again changes nothing; another role changes the membership.
        set_member(&app, &north, ada, "admin").await.expect(200);
        let r = set_member(&app, &north, ada, "owner").await;
        let changed = r.expect(200).clone();
        assert_eq!(changed["role_name"], "owner");
        assert_eq!(changed["created_at"], added["created_at"], "joining time is kept");
        // A different role in each tenant.
        set_member(&app, &south, ada, "member").await.expect(201);
        set_member(&app, &north, bob, "member").await.expect(201);
        set_member(&app, &north, cyd, "member").await.expect(201);

        set_member(&app, &north, ada, "wizard").await.expect_error(404, "role_not_found");
        set_member(&app, &north, Uuid::now_v7(), "member").await.expect(404);
        set_member(&app, &Uuid::now_v7().to_string(), ada, "member").await.expect_error(404, "tenant_not_found");
        let path = app.admin_path(&format!("/tenants/{north}/members/{bob}"));
        let r = TestServer::send(server.request_as(&server.pak, Method::PUT, &path).json(&json!({ "role": "member" }))).await;
        r.expect(400);
        // Another app's user cannot join this app's tenant.
        let other = ConsumerApp::create(&server, "erp").await;
        let (stranger, _) = other.signup_ok("eve", "eve@example.io").await;
        set_member(&app, &north, stranger, "member").await.expect(404);

        let (members, pages) = all_pages(&server, &app.admin_path(&format!("/tenants/{north}/members")), 2).await;
        assert_eq!(pages, 2);
        let mut ids: Vec<String> = members.iter().map(|m| m["end_user_id"].as_str().unwrap().to_owned()).collect();
        let sorted = {
            let mut s = ids.clone();
            s.sort();
            s
        };
        assert_eq!(ids, sorted, "members page by end-user id");
        ids.sort();
        let mut expected = vec![ada.to_string(), bob.to_string(), cyd.to_string()];
        expected.sort();
        assert_eq!(ids, expected);
        let roles: Vec<(&str, &str)> =
            members.iter().map(|m| (m["end_user_id"].as_str().unwrap(), m["role_name"].as_str().unwrap())).collect();
        assert!(roles.contains(&(&*ada.to_string(), "owner")));

        let (ada_tenants, _) = all_pages(&server, &app.admin_path(&format!("/end-users/{ada}/tenants")), 1).await;
        let held: Vec<(&str, &str)> = ada_tenants
            .iter()
            .map(|t| (t["tenant"]["slug"].as_str().unwrap(), t["role_name"].as_str().unwrap()))
            .collect();
        assert_eq!(held, [("north", "owner"), ("south", "member")]);
        server.get(&app.admin_path(&format!("/end-users/{stranger}/tenants"))).await.expect(404);

        // A role held in a tenant cannot be deleted from under its members.
        server.post(&app.admin_path("/roles"), &json!({ "name": "auditor" })).await.expect(201);
        set_member(&app, &south, bob, "auditor").await.expect(201);
        server.delete(&app.admin_path("/roles/auditor")).await.expect_error(409, "role_in_use");

        // Removing a member.
        server.delete(&app.admin_path(&format!("/tenants/{north}/members/{bob}"))).await.expect(204);
        server.delete(&app.admin_path(&format!("/tenants/{north}/members/{bob}"))).await.expect(404);
        let (members, _) = all_pages(&server, &app.admin_path(&format!("/tenants/{north}/members")), 50).await;
        assert_eq!(members.len(), 2);

        // Deleting a tenant deletes its memberships; deleting a user deletes theirs.
        server.delete(&app.admin_path(&format!("/tenants/{south}"))).await.expect(204);
        let (ada_tenants, _) = all_pages(&server, &app.admin_path(&format!("/end-users/{ada}/tenants")), 50).await;
        assert_eq!(ada_tenants.len(), 1);
        server.delete(&app.admin_path("/roles/auditor")).await.expect(204);
        server.delete(&app.admin_path(&format!("/end-users/{cyd}"))).await.expect(204);
        let (members, _) = all_pages(&server, &app.admin_path(&format!("/tenants/{north}/members")), 50).await;
        assert_eq!(members.len(), 1);
        assert_eq!(members[0]["end_user_id"], ada.to_string());

        let set = app.audit("tenant.member_set").await;
        assert_eq!(set.len(), 6, "every add or role change is audited, a repeat is not");
        assert_eq!(set.last().unwrap()["details"]["role"], "admin", "newest first");
        assert_eq!(app.audit("tenant.member_removed").await.len(), 1);
    }
);
