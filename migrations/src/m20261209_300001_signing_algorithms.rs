//! Signing algorithms per app: RS256 (the default, and every key made before), ES256 (P-256) or
//! EdDSA (Ed25519). The app remembers the algorithm its next keys get (`apps.signing_alg`: set at
//! creation, changed by a rotation that names another), and each key its own (`signing_keys.alg`),
//! which alone decides how a token under that key is verified.
//!
//! An EC key publishes `x` and `y`, an Ed25519 key `x` (RFC 7518 §6.2, RFC 8037 §2); their
//! `jwk_n`/`jwk_e` stay empty, so the existing columns keep their NOT NULL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Apps {
    Table,
    SigningAlg,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Alg,
    JwkX,
    JwkY,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter().table(Apps::Table).add_column(string(Apps::SigningAlg).default("RS256")).to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter().table(SigningKeys::Table).add_column(string(SigningKeys::Alg).default("RS256")).to_owned(),
        )
        .await?;
        m.alter_table(Table::alter().table(SigningKeys::Table).add_column(string_null(SigningKeys::JwkX)).to_owned())
            .await?;
        m.alter_table(Table::alter().table(SigningKeys::Table).add_column(string_null(SigningKeys::JwkY)).to_owned())
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(SigningKeys::Table).drop_column(SigningKeys::JwkY).to_owned()).await?;
        m.alter_table(Table::alter().table(SigningKeys::Table).drop_column(SigningKeys::JwkX).to_owned()).await?;
        m.alter_table(Table::alter().table(SigningKeys::Table).drop_column(SigningKeys::Alg).to_owned()).await?;
        m.alter_table(Table::alter().table(Apps::Table).drop_column(Apps::SigningAlg).to_owned()).await
    }
}
