//! Delivery of the change feed to sinks (NATS JetStream, webhook endpoints): one cursor row per
//! sink and app, holding the last `seq` delivered and the retry state of the event after it.
//! The row is what a delivering instance locks (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so one
//! instance delivers each event; a restart resumes from it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DeliveryCursors {
    Table,
    Sink,
    AppId,
    LastSeq,
    Attempts,
    NextAttemptAt,
    FailingSince,
    LastError,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DeliveryCursors::Table)
                .col(string(DeliveryCursors::Sink))
                .col(uuid(DeliveryCursors::AppId))
                .col(big_integer(DeliveryCursors::LastSeq))
                .col(integer(DeliveryCursors::Attempts).default(0))
                .col(timestamp_with_time_zone_null(DeliveryCursors::NextAttemptAt))
                .col(timestamp_with_time_zone_null(DeliveryCursors::FailingSince))
                .col(text_null(DeliveryCursors::LastError))
                .col(timestamp_with_time_zone(DeliveryCursors::UpdatedAt))
                .primary_key(Index::create().col(DeliveryCursors::Sink).col(DeliveryCursors::AppId))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(DeliveryCursors::Table).to_owned()).await
    }
}
