//! One delivery attempt of an event to a webhook endpoint: the endpoint's delivery log.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub app_id: Uuid,
    pub event_id: Uuid,
    pub event_seq: i64,
    pub event_type: String,
    pub attempted_at: DateTimeUtc,
    /// The endpoint's HTTP status; `None` when no response came.
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// Asked for by an admin (redelivery) rather than made by the delivery task.
    pub manual: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
