//! The change feed's outbox: every audited change also writes a CloudEvents event in its own
//! transaction, numbered by a per-app counter row (`event_sequences`) that the transaction
//! updates. The row lock orders the writers of one app across instances, so the numbers are
//! gap-free and commit in order. Neither table references `apps`: the feed outlives an app's
//! deletion (its last event says so) until retention removes it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChangeEvents {
    Table,
    AppId,
    Seq,
    Id,
    AppSlug,
    Type,
    Subject,
    Time,
    Data,
}

#[derive(DeriveIden)]
enum EventSequences {
    Table,
    AppId,
    LastSeq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(EventSequences::Table)
                .col(uuid(EventSequences::AppId).primary_key())
                .col(big_integer(EventSequences::LastSeq))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ChangeEvents::Table)
                .col(uuid(ChangeEvents::AppId))
                .col(big_integer(ChangeEvents::Seq))
                .col(uuid(ChangeEvents::Id).unique_key())
                .col(string(ChangeEvents::AppSlug))
                .col(string(ChangeEvents::Type))
                .col(string_null(ChangeEvents::Subject))
                .col(timestamp_with_time_zone(ChangeEvents::Time))
                .col(json_binary(ChangeEvents::Data))
                .primary_key(Index::create().col(ChangeEvents::AppId).col(ChangeEvents::Seq))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("change_events_time").table(ChangeEvents::Table).col(ChangeEvents::Time).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ChangeEvents::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(EventSequences::Table).to_owned()).await
    }
}
