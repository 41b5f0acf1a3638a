//! An end-user account of one app.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "end_users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub app_id: Uuid,
    pub username: String,
    pub username_key: String,
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub email_verified_at: Option<DateTimeUtc>,
    pub display_name: Option<String>,
    pub password_hash: Option<String>,
    pub status: EndUserStatus,
    pub role_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
}

/// An account's state, stored as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum EndUserStatus {
    /// Can sign in.
    #[sea_orm(string_value = "active")]
    Active,
    /// Temporarily barred; sessions were revoked.
    #[sea_orm(string_value = "suspended")]
    Suspended,
    /// Closed; sessions were revoked.
    #[sea_orm(string_value = "deactivated")]
    Deactivated,
}

impl EndUserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EndUserStatus::Active => "active",
            EndUserStatus::Suspended => "suspended",
            EndUserStatus::Deactivated => "deactivated",
        }
    }
}

impl Model {
    /// Whether the account may sign in and use its sessions.
    pub fn is_active(&self) -> bool {
        self.status == EndUserStatus::Active
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
