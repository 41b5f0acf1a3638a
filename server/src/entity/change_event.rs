//! One event of an app's change feed (the outbox), numbered by `seq` within the app.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "change_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub app_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub id: Uuid,
    /// The app's slug when the event was written; the event's `source` is its issuer.
    pub app_slug: String,
    #[sea_orm(column_name = "type")]
    pub r#type: String,
    pub subject: Option<String>,
    pub time: DateTimeUtc,
    #[sea_orm(column_type = "JsonBinary")]
    pub data: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
