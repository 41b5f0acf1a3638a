//! The change counter behind cache coherence's fallback poll (PostgreSQL only: SQLite is
//! single-instance and has no change feed). Every announced change takes the next number; an
//! instance that sees the counter move past what its `LISTEN` connection delivered knows it
//! missed notifications.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager.get_connection().execute_unprepared("CREATE SEQUENCE IF NOT EXISTS heimdall_change_seq").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager.get_connection().execute_unprepared("DROP SEQUENCE IF EXISTS heimdall_change_seq").await?;
        }
        Ok(())
    }
}
