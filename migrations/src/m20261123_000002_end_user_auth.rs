//! End-user authentication: sessions with rotating refresh tokens, single-use codes, invites,
//! and the shared counters behind rate limits.

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
enum EndUsers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Roles {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    AppId,
    EndUserId,
    Amr,
    Ip,
    UserAgent,
    CreatedAt,
    LastUsedAt,
    ExpiresAt,
    RevokedAt,
    RevokeReason,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    SessionId,
    AppId,
    TokenHash,
    CreatedAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum OneTimeCodes {
    Table,
    Id,
    AppId,
    EndUserId,
    Purpose,
    CodeHash,
    Contact,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum Invites {
    Table,
    Id,
    AppId,
    CodeHash,
    CodePrefix,
    Email,
    Name,
    RoleId,
    MaxUses,
    UseCount,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum RateLimits {
    Table,
    Key,
    WindowStart,
    Count,
}

fn cascade(from: (impl IntoIden, impl IntoIden), to: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(uuid(Sessions::Id).primary_key())
                .col(uuid(Sessions::AppId))
                .col(uuid(Sessions::EndUserId))
                .col(json_binary(Sessions::Amr))
                .col(string_null(Sessions::Ip))
                .col(string_null(Sessions::UserAgent))
                .col(timestamp_with_time_zone(Sessions::CreatedAt))
                .col(timestamp_with_time_zone(Sessions::LastUsedAt))
                .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                .col(timestamp_with_time_zone_null(Sessions::RevokedAt))
                .col(string_null(Sessions::RevokeReason))
                .foreign_key(&mut cascade((Sessions::Table, Sessions::AppId), (Apps::Table, Apps::Id)))
                .foreign_key(&mut cascade((Sessions::Table, Sessions::EndUserId), (EndUsers::Table, EndUsers::Id)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("sessions_end_user_id_id")
                .table(Sessions::Table)
                .col(Sessions::EndUserId)
                .col(Sessions::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .col(uuid(RefreshTokens::Id).primary_key())
                .col(uuid(RefreshTokens::SessionId))
                .col(uuid(RefreshTokens::AppId))
                .col(string_uniq(RefreshTokens::TokenHash))
                .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                .col(timestamp_with_time_zone_null(RefreshTokens::UsedAt))
                .foreign_key(&mut cascade(
                    (RefreshTokens::Table, RefreshTokens::SessionId),
                    (Sessions::Table, Sessions::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("refresh_tokens_session_id")
                .table(RefreshTokens::Table)
                .col(RefreshTokens::SessionId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(OneTimeCodes::Table)
                .col(uuid(OneTimeCodes::Id).primary_key())
                .col(uuid(OneTimeCodes::AppId))
                .col(uuid_null(OneTimeCodes::EndUserId))
                .col(string(OneTimeCodes::Purpose))
                .col(string(OneTimeCodes::CodeHash))
                .col(string_null(OneTimeCodes::Contact))
                .col(timestamp_with_time_zone(OneTimeCodes::CreatedAt))
                .col(timestamp_with_time_zone(OneTimeCodes::ExpiresAt))
                .col(timestamp_with_time_zone_null(OneTimeCodes::UsedAt))
                .foreign_key(&mut cascade((OneTimeCodes::Table, OneTimeCodes::AppId), (Apps::Table, Apps::Id)))
                .foreign_key(&mut cascade(
                    (OneTimeCodes::Table, OneTimeCodes::EndUserId),
                    (EndUsers::Table, EndUsers::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("one_time_codes_app_id_code_hash")
                .table(OneTimeCodes::Table)
                .col(OneTimeCodes::AppId)
                .col(OneTimeCodes::CodeHash)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("one_time_codes_end_user_id_purpose")
                .table(OneTimeCodes::Table)
                .col(OneTimeCodes::EndUserId)
                .col(OneTimeCodes::Purpose)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Invites::Table)
                .col(uuid(Invites::Id).primary_key())
                .col(uuid(Invites::AppId))
                .col(string_uniq(Invites::CodeHash))
                .col(string(Invites::CodePrefix))
                .col(string(Invites::Email))
                .col(string_null(Invites::Name))
                .col(uuid(Invites::RoleId))
                .col(integer(Invites::MaxUses))
                .col(integer(Invites::UseCount))
                .col(string(Invites::CreatedBy))
                .col(timestamp_with_time_zone(Invites::CreatedAt))
                .col(timestamp_with_time_zone(Invites::ExpiresAt))
                .col(timestamp_with_time_zone_null(Invites::RevokedAt))
                .foreign_key(&mut cascade((Invites::Table, Invites::AppId), (Apps::Table, Apps::Id)))
                .foreign_key(&mut cascade((Invites::Table, Invites::RoleId), (Roles::Table, Roles::Id)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("invites_app_id_id")
                .table(Invites::Table)
                .col(Invites::AppId)
                .col(Invites::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RateLimits::Table)
                .col(string(RateLimits::Key).primary_key())
                .col(timestamp_with_time_zone(RateLimits::WindowStart))
                .col(integer(RateLimits::Count))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RateLimits::Table.into_iden(),
            Invites::Table.into_iden(),
            OneTimeCodes::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Sessions::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
