//! An app (tenant).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "apps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub slug: String,
    pub display_name: String,
    pub status: AppStatus,
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub keys_rotated_at: DateTimeUtc,
    /// The algorithm the app's next keys get (creation, rotations).
    pub signing_alg: super::signing_key::SigningAlg,
}

/// An app's lifecycle state, stored as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum AppStatus {
    /// Serves sign-ins and tokens.
    #[sea_orm(string_value = "active")]
    Active,
    /// Temporarily refuses sign-ins and token use.
    #[sea_orm(string_value = "suspended")]
    Suspended,
    /// Retired; refuses sign-ins and token use.
    #[sea_orm(string_value = "archived")]
    Archived,
}

impl AppStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AppStatus::Active => "active",
            AppStatus::Suspended => "suspended",
            AppStatus::Archived => "archived",
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
