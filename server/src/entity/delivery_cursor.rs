//! Where a sink (`nats`, `webhook:<endpoint id>`) stands in an app's change feed: the last `seq`
//! it was delivered and the retry state of the next event.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_cursors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sink: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub app_id: Uuid,
    pub last_seq: i64,
    /// Failed attempts at the event after `last_seq`.
    pub attempts: i32,
    /// No attempt before this time (backoff); `None`: due now.
    pub next_attempt_at: Option<DateTimeUtc>,
    /// The first failure of the current run of failures.
    pub failing_since: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
