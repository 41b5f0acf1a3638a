//! A webhook endpoint of an app: where its change feed is POSTed, which event types, and the
//! signing secret (sealed under the master key; the previous one kept through a rotation's
//! overlap).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub app_id: Uuid,
    pub url: String,
    pub description: String,
    /// JSON array of event types (`heimdall.end_user.signup`, `heimdall.end_user.*`); empty: all.
    #[sea_orm(column_type = "JsonBinary")]
    pub event_types: Json,
    pub enabled: bool,
    /// Why Heimdall disabled it (`failing`); `None` when enabled or disabled by an admin.
    pub disabled_reason: Option<String>,
    pub secret_enc: Vec<u8>,
    pub previous_secret_enc: Option<Vec<u8>>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
