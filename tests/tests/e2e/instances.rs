//! Several instances over one database: a fleet's first start on a brand-new database (migrations
//! and bootstrap happen exactly once), a second instance with the wrong master key refusing to
//! start, and a second instance with the right one serving the same apps, keys and tokens.

use heimdall_server::{
    entity::{platform_api_key, server_meta, workspace},
    tokens,
};
use heimdall_tests::{TestServer, db_test, users::end_user_claims};
use sea_orm::{EntityTrait, PaginatorTrait};
use uuid::Uuid;

db_test!(
    async fn instances_starting_together_on_a_new_database_all_come_up_and_bootstrap_once(db: Db) {
        let servers: Vec<TestServer> = TestServer::spawn_together(db, 3)
            .await
            .into_iter()
            .map(|s| s.unwrap_or_else(|e| panic!("an instance failed to start: {e:#}")))
            .collect();
        let state = servers[0].state();
        assert_eq!(workspace::Entity::find().count(&state.db).await.unwrap(), 1);
        assert_eq!(platform_api_key::Entity::find().count(&state.db).await.unwrap(), 1);
        let check = server_meta::Entity::find_by_id("master_key_check".to_owned()).one(&state.db).await.unwrap();
        assert!(check.is_some(), "the master key check is recorded");

        // Every instance serves the bootstrap key and sees what another created.
        let app = servers[1].create_app("fleet-app").await;
        for server in &servers {
            let r = server.get(&format!("/v1/apps/{}", app["id"].as_str().unwrap())).await;
            assert_eq!(r.expect(200)["slug"], "fleet-app");
            server.get_public("/fleet-app/v1/.well-known/jwks.json").await.expect(200);
        }
    }
);

db_test!(
    async fn a_second_instance_with_another_master_key_refuses_to_start(server) {
        server.create_app("first-instance").await;
        let err = TestServer::try_spawn_on_same_db_with(&server, |config| config.master_key = Some([0x42; 32]))
            .await
            .err()
            .expect("a different master key must not start");
        assert!(format!("{err:#}").contains("HEIMDALL_MASTER_KEY"), "{err:#}");

        // With the right key a second instance serves the same app and keys, and verifies the
        // first one's tokens (same public origin, so the same issuer).
        let public_url = server.state().public_url.clone();
        let second = TestServer::try_spawn_on_same_db_with(&server, |config| config.public_url = Some(public_url))
            .await
            .expect("second instance starts");
        let a = server.get_public("/first-instance/v1/.well-known/jwks.json").await;
        let b = second.get_public("/first-instance/v1/.well-known/jwks.json").await;
        assert_eq!(a.expect(200), b.expect(200));
        let list = second.get("/v1/apps").await;
        assert_eq!(list.expect(200)["data"].as_array().unwrap().len(), 1);
        let id: Uuid = list.body["data"][0]["id"].as_str().unwrap().parse().unwrap();
        let token = tokens::sign(server.state(), id, &end_user_claims(&server, "first-instance", id)).await.unwrap();
        let app = second.state().directory.resolve(&second.state().db, "first-instance").await.unwrap();
        tokens::verify(second.state(), &app, &token).await.expect("key set loads").expect("verifies on the other instance");
    }
);
