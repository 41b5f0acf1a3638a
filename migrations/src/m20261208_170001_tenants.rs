//! Organizations inside an app (the contract calls them tenants) and their members, each member
//! holding one of the app's roles in that tenant.
//!
//! An invite may name a tenant the invitee joins with the invite's role; an M2M client may be
//! bound to a tenant.
//! A session signed in to a tenant remembers it (`sessions.tenant_id`, no foreign key: a session
//! whose tenant is deleted must not silently become an app-wide session; its refresh is refused).
//!
//! Deleting an app deletes its tenants, deleting a tenant or an end-user deletes the
//! memberships; a role still held in a tenant cannot be deleted (the role's foreign key refuses).

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
enum EndUsers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum M2mClients {
    Table,
    TenantId,
}

#[derive(DeriveIden)]
enum Invites {
    Table,
    TenantId,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TenantId,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    AppId,
    Slug,
    DisplayName,
    Status,
    Metadata,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TenantMembers {
    Table,
    TenantId,
    EndUserId,
    AppId,
    RoleId,
    CreatedAt,
    UpdatedAt,
}

fn cascade(from: (impl IntoIden, impl IntoIden), to: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Tenants::Table)
                .col(uuid(Tenants::Id).primary_key())
                .col(uuid(Tenants::AppId))
                .col(string(Tenants::Slug))
                .col(string(Tenants::DisplayName))
                .col(string(Tenants::Status))
                .col(json_binary(Tenants::Metadata))
                .col(timestamp_with_time_zone(Tenants::CreatedAt))
                .col(timestamp_with_time_zone(Tenants::UpdatedAt))
                .foreign_key(&mut cascade((Tenants::Table, Tenants::AppId), (Apps::Table, Apps::Id)))
                .to_owned(),
        )
        .await?;
        // Cursor pages of an app's tenants are range scans of (app_id, id).
        m.create_index(
            Index::create()
                .name("tenants_app_id_id")
                .table(Tenants::Table)
                .col(Tenants::AppId)
                .col(Tenants::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("tenants_app_id_slug")
                .table(Tenants::Table)
                .col(Tenants::AppId)
                .col(Tenants::Slug)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(TenantMembers::Table)
                .col(uuid(TenantMembers::TenantId))
                .col(uuid(TenantMembers::EndUserId))
                .col(uuid(TenantMembers::AppId))
                .col(uuid(TenantMembers::RoleId))
                .col(timestamp_with_time_zone(TenantMembers::CreatedAt))
                .col(timestamp_with_time_zone(TenantMembers::UpdatedAt))
                // Members of a tenant page by (tenant_id, end_user_id): the primary key.
                .primary_key(Index::create().col(TenantMembers::TenantId).col(TenantMembers::EndUserId))
                .foreign_key(&mut cascade(
                    (TenantMembers::Table, TenantMembers::TenantId),
                    (Tenants::Table, Tenants::Id),
                ))
                .foreign_key(&mut cascade(
                    (TenantMembers::Table, TenantMembers::EndUserId),
                    (EndUsers::Table, EndUsers::Id),
                ))
                .foreign_key(&mut cascade((TenantMembers::Table, TenantMembers::AppId), (Apps::Table, Apps::Id)))
                // No action: a role held in a tenant is not deleted from under its members.
                .foreign_key(
                    ForeignKey::create().from(TenantMembers::Table, TenantMembers::RoleId).to(Roles::Table, Roles::Id),
                )
                .to_owned(),
        )
        .await?;
        // A user's tenants page by (end_user_id, tenant_id).
        m.create_index(
            Index::create()
                .name("tenant_members_end_user_id_tenant_id")
                .table(TenantMembers::Table)
                .col(TenantMembers::EndUserId)
                .col(TenantMembers::TenantId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("tenant_members_role_id")
                .table(TenantMembers::Table)
                .col(TenantMembers::RoleId)
                .to_owned(),
        )
        .await?;
        m.alter_table(Table::alter().table(Sessions::Table).add_column(uuid_null(Sessions::TenantId)).to_owned())
            .await?;
        // An invite may admit into a tenant. No foreign key (SQLite cannot add one to an existing
        // table, and both databases keep one schema): accepting the invite of a deleted tenant
        // finds it unusable.
        m.alter_table(Table::alter().table(Invites::Table).add_column(uuid_null(Invites::TenantId)).to_owned()).await?;
        // An M2M client may be bound to a tenant (its tokens carry `tid`); the same reasoning:
        // a deleted or suspended tenant's client gets no tokens and its tokens are refused.
        m.alter_table(Table::alter().table(M2mClients::Table).add_column(uuid_null(M2mClients::TenantId)).to_owned())
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(M2mClients::Table).drop_column(M2mClients::TenantId).to_owned()).await?;
        m.alter_table(Table::alter().table(Invites::Table).drop_column(Invites::TenantId).to_owned()).await?;
        m.alter_table(Table::alter().table(Sessions::Table).drop_column(Sessions::TenantId).to_owned()).await?;
        m.drop_table(Table::drop().table(TenantMembers::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Tenants::Table).to_owned()).await
    }
}
