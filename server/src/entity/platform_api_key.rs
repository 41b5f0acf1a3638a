//! A workspace-scoped admin credential, stored as a SHA-256 hash.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "platform_api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub key_prefix: String,
    pub key_hash: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub permissions: Json,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    /// Refused from this instant on; `None` never expires.
    pub expires_at: Option<DateTimeUtc>,
    /// Set when revoked; the row stays so listings and the audit log can name it.
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
