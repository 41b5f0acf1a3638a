//! Heimdall's database schema, as an ordered list of sea-orm migrations.
//!
//! Migrations declare their own identifiers and never import the server's entities, so an old
//! migration keeps its meaning when the entities move on. The same migrations run on SQLite and
//! PostgreSQL; the few statements that differ are raw SQL both dialects accept, or run on
//! PostgreSQL only where SQLite has no counterpart (the change sequence).

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_initial;
mod m20261123_000002_end_user_auth;
mod m20261123_000003_authorization;
mod m20261123_000004_change_sequence;
mod m20261207_000005_code_exposure;
mod m20261208_150001_platform_key_lifecycle;
mod m20261208_170001_tenants;
mod m20261208_190001_change_events;
mod m20261209_200001_delivery_cursors;
mod m20261209_200002_webhooks;
mod m20261209_300001_signing_algorithms;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial::Migration),
            Box::new(m20261123_000002_end_user_auth::Migration),
            Box::new(m20261123_000003_authorization::Migration),
            Box::new(m20261123_000004_change_sequence::Migration),
            Box::new(m20261207_000005_code_exposure::Migration),
            Box::new(m20261208_150001_platform_key_lifecycle::Migration),
            Box::new(m20261208_170001_tenants::Migration),
            Box::new(m20261208_190001_change_events::Migration),
            Box::new(m20261209_200001_delivery_cursors::Migration),
            Box::new(m20261209_200002_webhooks::Migration),
            Box::new(m20261209_300001_signing_algorithms::Migration),
        ]
    }
}
