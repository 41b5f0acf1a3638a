//! Wire shapes of end-users (contract §4 EndUserSummaryDto, AppMemberSummaryDto).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use uuid::Uuid;

use super::service;
use crate::{entity::end_user, error::Error, page_type, rbac, state::AppState};

/// Status of an end-user account: `active` may sign in; `suspended` and `deactivated` may not,
/// and entering either ends every session of the user at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum EndUserStatus {
    /// Can sign in.
    Active,
    /// Temporarily barred; sessions were revoked.
    Suspended,
    /// Closed; sessions were revoked.
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

impl From<end_user::EndUserStatus> for EndUserStatus {
    fn from(s: end_user::EndUserStatus) -> Self {
        match s {
            end_user::EndUserStatus::Active => EndUserStatus::Active,
            end_user::EndUserStatus::Suspended => EndUserStatus::Suspended,
            end_user::EndUserStatus::Deactivated => EndUserStatus::Deactivated,
        }
    }
}

impl From<EndUserStatus> for end_user::EndUserStatus {
    fn from(s: EndUserStatus) -> Self {
        match s {
            EndUserStatus::Active => end_user::EndUserStatus::Active,
            EndUserStatus::Suspended => end_user::EndUserStatus::Suspended,
            EndUserStatus::Deactivated => end_user::EndUserStatus::Deactivated,
        }
    }
}

/// An end-user account of an app.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct EndUserSummary {
    /// Account id; the `sub` of the user's tokens.
    pub id: Uuid,
    /// The username, if the account has one.
    pub username: String,
    /// Name shown to others, if set.
    #[oai(nullable)]
    pub display_name: Option<String>,
    /// Primary email.
    #[oai(nullable)]
    pub email: Option<String>,
    /// When the primary email was verified; `null` while unverified.
    #[oai(nullable)]
    pub email_verified_at: Option<DateTime<Utc>>,
    pub status: EndUserStatus,
    /// Name of the user's role in the app; `null` when the user is not a member.
    #[oai(nullable)]
    pub role: Option<String>,
    /// Sessions not revoked and not expired.
    pub active_session_count: u64,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the user joined the app (their account creation).
    #[oai(nullable)]
    pub joined_at: Option<DateTime<Utc>>,
    /// Last sign-in.
    #[oai(nullable)]
    pub last_used_at: Option<DateTime<Utc>>,
}

page_type!(EndUserList, EndUserSummary, "A page of end-users, oldest first.");

/// A role holder of the app: an end-user with a role.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct AppMemberSummary {
    /// Membership id (the account id: an account holds one role per app).
    pub id: Uuid,
    /// The end-user's account id (the token `sub`).
    pub account_id: Uuid,
    /// The end-user's username, if set.
    pub username: String,
    /// The end-user's display name, if set.
    #[oai(nullable)]
    pub display_name: Option<String>,
    /// The end-user's primary email, if set.
    #[oai(nullable)]
    pub primary_email: Option<String>,
    /// Id of the role held.
    pub role_id: Uuid,
    /// Name of the role held, e.g. `member`.
    pub role_name: String,
    /// When the end-user received the role.
    pub joined_at: DateTime<Utc>,
}

page_type!(AppMemberList, AppMemberSummary, "A page of members, oldest first.");

/// Builds summaries with role names and live-session counts in two queries for the whole page.
pub async fn summaries(
    state: &AppState,
    app_id: Uuid,
    users: Vec<end_user::Model>,
) -> Result<Vec<EndUserSummary>, Error> {
    let roles = rbac::service::names(state, app_id).await?;
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    let counts = service::live_session_counts(state, &ids).await?;
    Ok(users.into_iter().map(|u| summary_with(&roles, &counts, u)).collect())
}

pub async fn summary(state: &AppState, app_id: Uuid, user: end_user::Model) -> Result<EndUserSummary, Error> {
    Ok(summaries(state, app_id, vec![user]).await?.remove(0))
}

fn summary_with(roles: &HashMap<Uuid, String>, counts: &HashMap<Uuid, u64>, u: end_user::Model) -> EndUserSummary {
    EndUserSummary {
        role: u.role_id.and_then(|r| roles.get(&r).cloned()),
        active_session_count: counts.get(&u.id).copied().unwrap_or(0),
        id: u.id,
        username: u.username,
        display_name: u.display_name,
        email: u.email,
        email_verified_at: u.email_verified_at,
        status: u.status.into(),
        created_at: u.created_at,
        joined_at: Some(u.created_at),
        last_used_at: u.last_used_at,
    }
}

/// Members of the page (users without a role are skipped by the query already).
pub async fn members(
    state: &AppState,
    app_id: Uuid,
    users: Vec<end_user::Model>,
) -> Result<Vec<AppMemberSummary>, Error> {
    let roles = rbac::service::names(state, app_id).await?;
    Ok(users
        .into_iter()
        .filter_map(|u| {
            let role_id = u.role_id?;
            Some(AppMemberSummary {
                id: u.id,
                account_id: u.id,
                username: u.username,
                display_name: u.display_name,
                primary_email: u.email,
                role_id,
                role_name: roles.get(&role_id).cloned().unwrap_or_default(),
                joined_at: u.created_at,
            })
        })
        .collect())
}
