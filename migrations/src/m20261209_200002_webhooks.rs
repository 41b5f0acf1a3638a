//! Webhook endpoints of an app (their signing secrets sealed under the master key, the previous
//! one kept through the rotation overlap) and the delivery log of each endpoint. Where an
//! endpoint stands in its app's feed is its delivery cursor (`delivery_cursors`, sink
//! `webhook:<endpoint id>`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    AppId,
    Url,
    Description,
    EventTypes,
    Enabled,
    DisabledReason,
    SecretEnc,
    PreviousSecretEnc,
    PreviousSecretExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    EndpointId,
    AppId,
    EventId,
    EventSeq,
    EventType,
    AttemptedAt,
    StatusCode,
    LatencyMs,
    Error,
    Manual,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(WebhookEndpoints::Table)
                .col(uuid(WebhookEndpoints::Id).primary_key())
                .col(uuid(WebhookEndpoints::AppId))
                .col(text(WebhookEndpoints::Url))
                .col(text(WebhookEndpoints::Description))
                .col(json_binary(WebhookEndpoints::EventTypes))
                .col(boolean(WebhookEndpoints::Enabled))
                .col(string_null(WebhookEndpoints::DisabledReason))
                .col(blob(WebhookEndpoints::SecretEnc))
                .col(blob_null(WebhookEndpoints::PreviousSecretEnc))
                .col(timestamp_with_time_zone_null(WebhookEndpoints::PreviousSecretExpiresAt))
                .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("webhook_endpoints_app_id_id")
                .table(WebhookEndpoints::Table)
                .col(WebhookEndpoints::AppId)
                .col(WebhookEndpoints::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WebhookAttempts::Table)
                .col(uuid(WebhookAttempts::Id).primary_key())
                .col(uuid(WebhookAttempts::EndpointId))
                .col(uuid(WebhookAttempts::AppId))
                .col(uuid(WebhookAttempts::EventId))
                .col(big_integer(WebhookAttempts::EventSeq))
                .col(string(WebhookAttempts::EventType))
                .col(timestamp_with_time_zone(WebhookAttempts::AttemptedAt))
                .col(integer_null(WebhookAttempts::StatusCode))
                .col(big_integer(WebhookAttempts::LatencyMs))
                .col(text_null(WebhookAttempts::Error))
                .col(boolean(WebhookAttempts::Manual))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("webhook_attempts_endpoint_id_id")
                .table(WebhookAttempts::Table)
                .col(WebhookAttempts::EndpointId)
                .col(WebhookAttempts::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("webhook_attempts_attempted_at")
                .table(WebhookAttempts::Table)
                .col(WebhookAttempts::AttemptedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(WebhookAttempts::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned()).await
    }
}
