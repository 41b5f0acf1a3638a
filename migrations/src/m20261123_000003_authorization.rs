//! Authorization: custom permissions, role grants, M2M clients, and revoked token ids.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Apps {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Roles {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Permissions {
    Table,
    Id,
    AppId,
    Resource,
    Action,
    Description,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RolePermissions {
    Table,
    RoleId,
    AppId,
    Permission,
}

#[derive(DeriveIden)]
enum M2mClients {
    Table,
    Id,
    AppId,
    ClientId,
    Name,
    SecretHash,
    IsActive,
    Scopes,
    CreatedAt,
    UpdatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum RevokedTokens {
    Table,
    Jti,
    AppId,
    ExpiresAt,
}

fn cascade(from: (impl IntoIden, impl IntoIden), to: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Permissions::Table)
                .col(uuid(Permissions::Id).primary_key())
                .col(uuid(Permissions::AppId))
                .col(string(Permissions::Resource))
                .col(string(Permissions::Action))
                .col(string_null(Permissions::Description))
                .col(timestamp_with_time_zone(Permissions::CreatedAt))
                .foreign_key(&mut cascade((Permissions::Table, Permissions::AppId), (Apps::Table, Apps::Id)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("permissions_app_id_resource_action")
                .table(Permissions::Table)
                .col(Permissions::AppId)
                .col(Permissions::Resource)
                .col(Permissions::Action)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RolePermissions::Table)
                .col(uuid(RolePermissions::RoleId))
                .col(uuid(RolePermissions::AppId))
                .col(string(RolePermissions::Permission))
                .primary_key(Index::create().col(RolePermissions::RoleId).col(RolePermissions::Permission))
                .foreign_key(&mut cascade((RolePermissions::Table, RolePermissions::RoleId), (Roles::Table, Roles::Id)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("role_permissions_app_id")
                .table(RolePermissions::Table)
                .col(RolePermissions::AppId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(M2mClients::Table)
                .col(uuid(M2mClients::Id).primary_key())
                .col(uuid(M2mClients::AppId))
                .col(string_uniq(M2mClients::ClientId))
                .col(string(M2mClients::Name))
                .col(string(M2mClients::SecretHash))
                .col(boolean(M2mClients::IsActive))
                .col(json_binary(M2mClients::Scopes))
                .col(timestamp_with_time_zone(M2mClients::CreatedAt))
                .col(timestamp_with_time_zone(M2mClients::UpdatedAt))
                .col(timestamp_with_time_zone_null(M2mClients::LastUsedAt))
                .foreign_key(&mut cascade((M2mClients::Table, M2mClients::AppId), (Apps::Table, Apps::Id)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("m2m_clients_app_id_id")
                .table(M2mClients::Table)
                .col(M2mClients::AppId)
                .col(M2mClients::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RevokedTokens::Table)
                .col(string(RevokedTokens::Jti).primary_key())
                .col(uuid(RevokedTokens::AppId))
                .col(timestamp_with_time_zone(RevokedTokens::ExpiresAt))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RevokedTokens::Table.into_iden(),
            M2mClients::Table.into_iden(),
            RolePermissions::Table.into_iden(),
            Permissions::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
