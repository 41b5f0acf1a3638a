//! The foundation: workspaces and their keys, apps, signing keys, roles, end-users, audit log,
//! idempotency records.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Workspaces {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PlatformApiKeys {
    Table,
    Id,
    WorkspaceId,
    Name,
    KeyPrefix,
    KeyHash,
    Permissions,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum Apps {
    Table,
    Id,
    WorkspaceId,
    Slug,
    DisplayName,
    Status,
    Metadata,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    KeysRotatedAt,
}

#[derive(DeriveIden)]
enum AppSlugAliases {
    Table,
    Slug,
    AppId,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum AuthConfigs {
    Table,
    AppId,
    Config,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Roles {
    Table,
    Id,
    AppId,
    Name,
    Description,
    IsSystem,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AppApiKeys {
    Table,
    Id,
    AppId,
    Name,
    KeyPrefix,
    KeyHash,
    Permissions,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum EndUsers {
    Table,
    Id,
    AppId,
    Username,
    UsernameKey,
    Email,
    EmailKey,
    EmailVerifiedAt,
    DisplayName,
    PasswordHash,
    Status,
    RoleId,
    CreatedAt,
    UpdatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Id,
    AppId,
    Kid,
    JwkN,
    JwkE,
    PrivateKeyEnc,
    CreatedAt,
    ActivatesAt,
    RetiresAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum KeyPool {
    Table,
    Id,
    Kid,
    JwkN,
    JwkE,
    PrivateKeyEnc,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    Id,
    AppId,
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

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    Scope,
    Key,
    Fingerprint,
    StatusCode,
    Response,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ServerMeta {
    Table,
    Name,
    Value,
}

fn fk_cascade(
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from_table, from_col).to(to_table, to_col).on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Workspaces::Table)
                .col(uuid(Workspaces::Id).primary_key())
                .col(string(Workspaces::Name))
                .col(timestamp_with_time_zone(Workspaces::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PlatformApiKeys::Table)
                .col(uuid(PlatformApiKeys::Id).primary_key())
                .col(uuid(PlatformApiKeys::WorkspaceId))
                .col(string(PlatformApiKeys::Name))
                .col(string(PlatformApiKeys::KeyPrefix))
                .col(string_uniq(PlatformApiKeys::KeyHash))
                .col(json_binary(PlatformApiKeys::Permissions))
                .col(timestamp_with_time_zone(PlatformApiKeys::CreatedAt))
                .col(timestamp_with_time_zone_null(PlatformApiKeys::LastUsedAt))
                .foreign_key(&mut fk_cascade(
                    PlatformApiKeys::Table,
                    PlatformApiKeys::WorkspaceId,
                    Workspaces::Table,
                    Workspaces::Id,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Apps::Table)
                .col(uuid(Apps::Id).primary_key())
                .col(uuid(Apps::WorkspaceId))
                .col(string_uniq(Apps::Slug))
                .col(string(Apps::DisplayName))
                .col(string(Apps::Status))
                .col(json_binary(Apps::Metadata))
                .col(string(Apps::CreatedBy))
                .col(timestamp_with_time_zone(Apps::CreatedAt))
                .col(timestamp_with_time_zone(Apps::UpdatedAt))
                .col(timestamp_with_time_zone(Apps::KeysRotatedAt))
                .foreign_key(&mut fk_cascade(Apps::Table, Apps::WorkspaceId, Workspaces::Table, Workspaces::Id))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("apps_workspace_id")
                .table(Apps::Table)
                .col(Apps::WorkspaceId)
                .col(Apps::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AppSlugAliases::Table)
                .col(string(AppSlugAliases::Slug).primary_key())
                .col(uuid(AppSlugAliases::AppId))
                .col(timestamp_with_time_zone(AppSlugAliases::ExpiresAt))
                .foreign_key(&mut fk_cascade(AppSlugAliases::Table, AppSlugAliases::AppId, Apps::Table, Apps::Id))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuthConfigs::Table)
                .col(uuid(AuthConfigs::AppId).primary_key())
                .col(json_binary(AuthConfigs::Config))
                .col(timestamp_with_time_zone(AuthConfigs::UpdatedAt))
                .foreign_key(&mut fk_cascade(AuthConfigs::Table, AuthConfigs::AppId, Apps::Table, Apps::Id))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Roles::Table)
                .col(uuid(Roles::Id).primary_key())
                .col(uuid(Roles::AppId))
                .col(string(Roles::Name))
                .col(string_null(Roles::Description))
                .col(boolean(Roles::IsSystem))
                .col(timestamp_with_time_zone(Roles::CreatedAt))
                .col(timestamp_with_time_zone(Roles::UpdatedAt))
                .foreign_key(&mut fk_cascade(Roles::Table, Roles::AppId, Apps::Table, Apps::Id))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("roles_app_id_name")
                .table(Roles::Table)
                .col(Roles::AppId)
                .col(Roles::Name)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AppApiKeys::Table)
                .col(uuid(AppApiKeys::Id).primary_key())
                .col(uuid(AppApiKeys::AppId))
                .col(string(AppApiKeys::Name))
                .col(string(AppApiKeys::KeyPrefix))
                .col(string_uniq(AppApiKeys::KeyHash))
                .col(json_binary(AppApiKeys::Permissions))
                .col(timestamp_with_time_zone(AppApiKeys::CreatedAt))
                .col(timestamp_with_time_zone_null(AppApiKeys::LastUsedAt))
                .foreign_key(&mut fk_cascade(AppApiKeys::Table, AppApiKeys::AppId, Apps::Table, Apps::Id))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("app_api_keys_app_id")
                .table(AppApiKeys::Table)
                .col(AppApiKeys::AppId)
                .col(AppApiKeys::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(EndUsers::Table)
                .col(uuid(EndUsers::Id).primary_key())
                .col(uuid(EndUsers::AppId))
                .col(string(EndUsers::Username))
                .col(string(EndUsers::UsernameKey))
                .col(string_null(EndUsers::Email))
                .col(string_null(EndUsers::EmailKey))
                .col(timestamp_with_time_zone_null(EndUsers::EmailVerifiedAt))
                .col(string_null(EndUsers::DisplayName))
                .col(string_null(EndUsers::PasswordHash))
                .col(string(EndUsers::Status))
                .col(uuid_null(EndUsers::RoleId))
                .col(timestamp_with_time_zone(EndUsers::CreatedAt))
                .col(timestamp_with_time_zone(EndUsers::UpdatedAt))
                .col(timestamp_with_time_zone_null(EndUsers::LastUsedAt))
                .foreign_key(&mut fk_cascade(EndUsers::Table, EndUsers::AppId, Apps::Table, Apps::Id))
                .foreign_key(
                    ForeignKey::create()
                        .from(EndUsers::Table, EndUsers::RoleId)
                        .to(Roles::Table, Roles::Id)
                        .on_delete(ForeignKeyAction::NoAction),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("end_users_app_id_username_key", EndUsers::UsernameKey),
            ("end_users_app_id_email_key", EndUsers::EmailKey),
        ] {
            m.create_index(
                Index::create().name(name).table(EndUsers::Table).col(EndUsers::AppId).col(col).unique().to_owned(),
            )
            .await?;
        }
        m.create_index(
            Index::create()
                .name("end_users_app_id_id")
                .table(EndUsers::Table)
                .col(EndUsers::AppId)
                .col(EndUsers::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SigningKeys::Table)
                .col(uuid(SigningKeys::Id).primary_key())
                .col(uuid(SigningKeys::AppId))
                .col(string_uniq(SigningKeys::Kid))
                .col(string(SigningKeys::JwkN))
                .col(string(SigningKeys::JwkE))
                .col(blob(SigningKeys::PrivateKeyEnc))
                .col(timestamp_with_time_zone(SigningKeys::CreatedAt))
                .col(timestamp_with_time_zone(SigningKeys::ActivatesAt))
                .col(timestamp_with_time_zone_null(SigningKeys::RetiresAt))
                .col(timestamp_with_time_zone_null(SigningKeys::ExpiresAt))
                .col(timestamp_with_time_zone_null(SigningKeys::RevokedAt))
                .foreign_key(&mut fk_cascade(SigningKeys::Table, SigningKeys::AppId, Apps::Table, Apps::Id))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("signing_keys_app_id").table(SigningKeys::Table).col(SigningKeys::AppId).to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(KeyPool::Table)
                .col(uuid(KeyPool::Id).primary_key())
                .col(string_uniq(KeyPool::Kid))
                .col(string(KeyPool::JwkN))
                .col(string(KeyPool::JwkE))
                .col(blob(KeyPool::PrivateKeyEnc))
                .col(timestamp_with_time_zone(KeyPool::CreatedAt))
                .to_owned(),
        )
        .await?;

        // No foreign key to apps: the log outlives the app it describes.
        m.create_table(
            Table::create()
                .table(AuditLogs::Table)
                .col(uuid(AuditLogs::Id).primary_key())
                .col(uuid(AuditLogs::AppId))
                .col(string(AuditLogs::ActorType))
                .col(string_null(AuditLogs::ActorId))
                .col(string(AuditLogs::Action))
                .col(string_null(AuditLogs::ResourceType))
                .col(string_null(AuditLogs::ResourceId))
                .col(json_binary_null(AuditLogs::Details))
                .col(string_null(AuditLogs::RequestId))
                .col(string_null(AuditLogs::Ip))
                .col(timestamp_with_time_zone(AuditLogs::CreatedAt))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("audit_logs_app_id_id", vec![AuditLogs::AppId, AuditLogs::Id]),
            ("audit_logs_app_id_action_id", vec![AuditLogs::AppId, AuditLogs::Action, AuditLogs::Id]),
            ("audit_logs_app_id_actor_id_id", vec![AuditLogs::AppId, AuditLogs::ActorId, AuditLogs::Id]),
        ] {
            let mut index = Index::create().name(name).table(AuditLogs::Table).to_owned();
            for col in cols {
                index.col(col);
            }
            m.create_index(index).await?;
        }

        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(uuid(IdempotencyKeys::Id).primary_key())
                .col(string(IdempotencyKeys::Scope))
                .col(string(IdempotencyKeys::Key))
                .col(string(IdempotencyKeys::Fingerprint))
                .col(integer_null(IdempotencyKeys::StatusCode))
                .col(json_binary_null(IdempotencyKeys::Response))
                .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idempotency_keys_scope_key")
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::Scope)
                .col(IdempotencyKeys::Key)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ServerMeta::Table)
                .col(string(ServerMeta::Name).primary_key())
                .col(text(ServerMeta::Value))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ServerMeta::Table.into_iden(),
            IdempotencyKeys::Table.into_iden(),
            AuditLogs::Table.into_iden(),
            KeyPool::Table.into_iden(),
            SigningKeys::Table.into_iden(),
            EndUsers::Table.into_iden(),
            AppApiKeys::Table.into_iden(),
            Roles::Table.into_iden(),
            AuthConfigs::Table.into_iden(),
            AppSlugAliases::Table.into_iden(),
            Apps::Table.into_iden(),
            PlatformApiKeys::Table.into_iden(),
            Workspaces::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
