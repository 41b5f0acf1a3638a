//! How many guesses a one-time code can be exposed to: a per-app, per-purpose counter that every
//! evaluated code attempt draws a number from, and on each code the counter's value at its mint.
//! A code answers only the first few numbers drawn after it was minted, whichever addresses
//! the attempts came from.

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
enum CodeAttemptCounters {
    Table,
    AppId,
    Purpose,
    Attempts,
}

#[derive(DeriveIden)]
enum OneTimeCodes {
    Table,
    AttemptsAtMint,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CodeAttemptCounters::Table)
                .col(uuid(CodeAttemptCounters::AppId))
                .col(string(CodeAttemptCounters::Purpose))
                .col(big_integer(CodeAttemptCounters::Attempts))
                .primary_key(Index::create().col(CodeAttemptCounters::AppId).col(CodeAttemptCounters::Purpose))
                .foreign_key(
                    ForeignKey::create()
                        .from(CodeAttemptCounters::Table, CodeAttemptCounters::AppId)
                        .to(Apps::Table, Apps::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // Codes minted before this migration start from 0, as does every counter.
        m.alter_table(
            Table::alter()
                .table(OneTimeCodes::Table)
                .add_column(big_integer(OneTimeCodes::AttemptsAtMint).default(0i64))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(OneTimeCodes::Table).drop_column(OneTimeCodes::AttemptsAtMint).to_owned())
            .await?;
        m.drop_table(Table::drop().table(CodeAttemptCounters::Table).to_owned()).await
    }
}
