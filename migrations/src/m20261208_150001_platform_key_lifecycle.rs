//! Platform API keys get a lifecycle: an optional expiry and a revocation stamp (a revoked key
//! stays listed, refused from then on), and workspace-level changes get an audit log of their
//! own, since `audit_logs` belongs to apps.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PlatformApiKeys {
    Table,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum WorkspaceAuditLogs {
    Table,
    Id,
    WorkspaceId,
    ActorType,
    ActorId,
    Action,
    ResourceType,
    ResourceId,
    Details,
    RequestId,
    Ip,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        m.alter_table(
            Table::alter()
                .table(PlatformApiKeys::Table)
                .add_column(timestamp_with_time_zone_null(PlatformApiKeys::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(PlatformApiKeys::Table)
                .add_column(timestamp_with_time_zone_null(PlatformApiKeys::RevokedAt))
                .to_owned(),
        )
        .await?;
        // No foreign key to workspaces: like the app log, it outlives what it describes.
        m.create_table(
            Table::create()
                .table(WorkspaceAuditLogs::Table)
                .col(uuid(WorkspaceAuditLogs::Id).primary_key())
                .col(uuid(WorkspaceAuditLogs::WorkspaceId))
                .col(string(WorkspaceAuditLogs::ActorType))
                .col(string_null(WorkspaceAuditLogs::ActorId))
                .col(string(WorkspaceAuditLogs::Action))
                .col(string_null(WorkspaceAuditLogs::ResourceType))
                .col(string_null(WorkspaceAuditLogs::ResourceId))
                .col(json_binary_null(WorkspaceAuditLogs::Details))
                .col(string_null(WorkspaceAuditLogs::RequestId))
                .col(string_null(WorkspaceAuditLogs::Ip))
                .col(timestamp_with_time_zone(WorkspaceAuditLogs::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("workspace_audit_logs_workspace_id_id")
                .table(WorkspaceAuditLogs::Table)
                .col(WorkspaceAuditLogs::WorkspaceId)
                .col(WorkspaceAuditLogs::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(WorkspaceAuditLogs::Table).to_owned()).await?;
        m.alter_table(Table::alter().table(PlatformApiKeys::Table).drop_column(PlatformApiKeys::RevokedAt).to_owned())
            .await?;
        m.alter_table(Table::alter().table(PlatformApiKeys::Table).drop_column(PlatformApiKeys::ExpiresAt).to_owned())
            .await
    }
}
