//! HTTP surface of `/{app_slug}/v1/me…`, authenticated by the end-user's access token.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::{Request, web::Data};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::service;
use crate::access::api::EndUserToken;
use crate::http::strict_json::StrictJson;
use crate::tags::ApiTags;
use crate::{
    audit::{self, api::AuditLogList},
    end_users::dto::{self, EndUserSummary},
    http::{
        error::{ErrorSet, Errors},
        pagination::PageRequest,
        responses::NoContent,
    },
    invites, page_type,
    state::AppState,
    tenants,
};

/// Errors of `/me` operations (403 `app_inactive` while the app is suspended or archived).
pub struct MeErrors;
impl ErrorSet for MeErrors {
    const STATUSES: &'static [u16] = &[400, 401, 403, 404, 500];
}

/// Errors of joining a tenant by invite (409 for an invite without a tenant, 410 for an unusable
/// one).
pub struct JoinErrors;
impl ErrorSet for JoinErrors {
    const STATUSES: &'static [u16] = &[400, 401, 403, 404, 409, 410, 500];
}

/// Profile changes by the user.
#[derive(Debug, Clone, Object)]
pub struct UpdateMe {
    /// 0–120 characters; an empty string clears it, leaving it out changes nothing.
    #[oai(validator(max_length = 120))]
    #[oai(nullable)]
    pub display_name: Option<String>,
}

/// One of the user's live sessions.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct SessionInfo {
    /// Session id; the `sid` of its access tokens.
    pub id: Uuid,
    /// When the session began (sign-in).
    pub created_at: DateTime<Utc>,
    /// Last sign-in or refresh.
    pub last_used_at: DateTime<Utc>,
    /// When the session ends unless refreshed.
    pub expires_at: DateTime<Utc>,
    /// Client address at sign-in, if known.
    #[oai(nullable)]
    pub ip: Option<String>,
    /// User agent at sign-in, if sent.
    #[oai(nullable)]
    pub user_agent: Option<String>,
    /// True for the session of the token making this call.
    pub current: bool,
}

page_type!(SessionList, SessionInfo, "A page of sessions, oldest first.");

/// A tenant the signed-in user belongs to.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct MyTenant {
    /// Tenant id: the `tenant_id` of sign-in and switch-tenant, the `tid` claim.
    pub id: Uuid,
    /// The tenant's slug, unique within the app.
    pub slug: String,
    /// The tenant's human-readable name.
    pub display_name: String,
    /// `active`, or `suspended` (sign-in and switching to it are refused).
    pub status: String,
    /// The role the user holds in this tenant (the `trole` claim).
    #[oai(nullable)]
    pub role_name: Option<String>,
    /// When the user joined the tenant.
    pub joined_at: DateTime<Utc>,
    /// True for the tenant of the token making this call (`tid`).
    pub current: bool,
}

page_type!(MyTenantList, MyTenant, "A page of the user's tenants, by tenant id.");

/// A tenant invite to accept with the signed-in account.
#[derive(Debug, Clone, Object)]
pub struct JoinTenant {
    /// The `inv_…` code of an invite that names a tenant.
    pub code: String,
}

/// The tenant joined.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct JoinedTenant {
    /// The tenant: sign in to it with `tenant_id`, or switch-tenant to it.
    pub tenant_id: Uuid,
    /// The role the user now holds in it.
    pub role_id: Uuid,
}

pub struct MeApi;

#[OpenApi]
impl MeApi {
    /// Get my profile
    ///
    /// The account of the end-user whose access token is presented, as admins see it.
    #[oai(path = "/:app_slug/v1/me", method = "get", operation_id = "me_get", tag = "ApiTags::Me")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: EndUserToken,
        /// The app's slug.
        app_slug: Path<String>,
    ) -> Result<Json<EndUserSummary>, Errors<MeErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let me = crate::access::api::signed_in(&state, &app, &auth).await?;
        Ok(Json(dto::summary(&state, app.id, me.user).await?))
    }

    /// Update my profile
    ///
    /// Changes the display name; an empty string clears it, leaving it out changes nothing.
    /// Email, role and status are not changed here.
    #[oai(path = "/:app_slug/v1/me", method = "patch", operation_id = "me_update", tag = "ApiTags::Me")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: EndUserToken,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        body: StrictJson<UpdateMe>,
    ) -> Result<Json<EndUserSummary>, Errors<MeErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let me = crate::access::api::signed_in(&state, &app, &auth).await?;
        let ctx = crate::http::context::origin(req);
        let user = service::update_profile(&state, &ctx, app.id, me, body.0.display_name).await?;
        Ok(Json(dto::summary(&state, app.id, user).await?))
    }

    /// List my sessions
    ///
    /// Live sessions of the signed-in user, oldest first; `current` marks this token's session.
    #[oai(path = "/:app_slug/v1/me/sessions", method = "get", operation_id = "me_session_list", tag = "ApiTags::Me")]
    async fn sessions(
        &self,
        state: Data<&Arc<AppState>>,
        auth: EndUserToken,
        /// The app's slug.
        app_slug: Path<String>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<SessionList>, Errors<MeErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let me = crate::access::api::signed_in(&state, &app, &auth).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = service::sessions(&state, app.id, &me, page.after, page.fetch()).await?;
        let (rows, pagination) = page.finish(rows, |s| s.id);
        let data = rows
            .into_iter()
            .map(|s| SessionInfo {
                current: s.id == me.session.id,
                id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                expires_at: s.expires_at,
                ip: s.ip,
                user_agent: s.user_agent,
            })
            .collect();
        Ok(Json(SessionList { data, pagination }))
    }

    /// List my tenants
    ///
    /// The tenants of the app the signed-in user belongs to, with the role they hold in each, by
    /// tenant id; `current` marks the tenant of this token. Sign in to one with `tenant_id`, or
    /// move the session to it with switch-tenant.
    #[oai(path = "/:app_slug/v1/me/tenants", method = "get", operation_id = "me_tenant_list", tag = "ApiTags::Me")]
    async fn tenants(
        &self,
        state: Data<&Arc<AppState>>,
        auth: EndUserToken,
        /// The app's slug.
        app_slug: Path<String>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<MyTenantList>, Errors<MeErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let me = crate::access::api::signed_in(&state, &app, &auth).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = tenants::service::memberships_of(&state, app.id, me.user.id, page.after, page.fetch()).await?;
        let (rows, pagination) = page.finish(rows, |m| m.tenant.id);
        let data = rows
            .into_iter()
            .map(|m| MyTenant {
                current: me.claims.tid == Some(m.tenant.id),
                id: m.tenant.id,
                slug: m.tenant.slug,
                display_name: m.tenant.display_name,
                status: m.tenant.status,
                role_name: m.role_name,
                joined_at: m.row.created_at,
            })
            .collect();
        Ok(Json(MyTenantList { data, pagination }))
    }

    /// Join a tenant by invite
    ///
    /// Accepts an invite that names a tenant with the signed-in (existing) account: the account's
    /// verified email must be the invited address or at the invited domain (403 otherwise). The
    /// user becomes a member of the tenant with the invite's role; move the session there with
    /// switch-tenant. 404 `invite_not_found`, 409 for an invite without a tenant (it creates an
    /// account: `/auth/accept-invite`), 410 `invite_unusable` when revoked, expired, used up or
    /// its tenant is gone.
    #[oai(
        path = "/:app_slug/v1/me/tenants/join",
        method = "post",
        operation_id = "me_tenant_join",
        tag = "ApiTags::Me"
    )]
    async fn join_tenant(
        &self,
        state: Data<&Arc<AppState>>,
        auth: EndUserToken,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        body: StrictJson<JoinTenant>,
    ) -> Result<Json<JoinedTenant>, Errors<JoinErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let me = crate::access::api::signed_in(&state, &app, &auth).await?;
        let ctx = crate::http::context::origin(req);
        let (tenant_id, role_id) =
            invites::service::accept_as_member(&state, &app, &ctx, &me.user, &body.0.code).await?;
        Ok(Json(JoinedTenant { tenant_id, role_id }))
    }

    /// Revoke one of my sessions
    ///
    /// Ends the session (sign-out of that device). Its access tokens stop working on `/me` at
    /// once. Revoking the current session signs this client out.
    #[oai(
        path = "/:app_slug/v1/me/sessions/:session_id",
        method = "delete",
        operation_id = "me_session_revoke",
        tag = "ApiTags::Me"
    )]
    async fn revoke_session(
        &self,
        state: Data<&Arc<AppState>>,
        auth: EndUserToken,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        /// Session id (the `sid` claim).
        session_id: Path<Uuid>,
    ) -> Result<NoContent, Errors<MeErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let me = crate::access::api::signed_in(&state, &app, &auth).await?;
        service::revoke_session(&state, &crate::http::context::origin(req), app.id, &me, session_id.0).await?;
        Ok(NoContent::NoContent)
    }

    /// My activity
    ///
    /// Audit entries of the signed-in user's own actions (sign-ins, failed sign-ins, profile and
    /// session changes), newest first.
    #[oai(path = "/:app_slug/v1/me/activity", method = "get", operation_id = "me_activity_list", tag = "ApiTags::Me")]
    async fn activity(
        &self,
        state: Data<&Arc<AppState>>,
        auth: EndUserToken,
        /// The app's slug.
        app_slug: Path<String>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<AuditLogList>, Errors<MeErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let me = crate::access::api::signed_in(&state, &app, &auth).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        Ok(Json(audit::api::list_page(&state, app.id, audit::Filter::by_actor(me.user.id.to_string()), page).await?))
    }

    /// Delete my account
    ///
    /// Permanently deletes the signed-in user's account with its sessions.
    #[oai(path = "/:app_slug/v1/me", method = "delete", operation_id = "me_delete", tag = "ApiTags::Me")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: EndUserToken,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
    ) -> Result<NoContent, Errors<MeErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let me = crate::access::api::signed_in(&state, &app, &auth).await?;
        service::delete(&state, &crate::http::context::origin(req), app.id, &me).await?;
        Ok(NoContent::NoContent)
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[
        ("me_get", &[Unauthorized, TokenExpired, SessionRevoked, AppInactive]),
        ("me_update", &[Unauthorized, TokenExpired, SessionRevoked, AppInactive]),
        ("me_delete", &[Unauthorized, TokenExpired, SessionRevoked, AppInactive]),
        ("me_activity_list", &[Unauthorized, TokenExpired, SessionRevoked, AppInactive]),
        ("me_session_list", &[Unauthorized, TokenExpired, SessionRevoked, AppInactive]),
        ("me_session_revoke", &[Unauthorized, TokenExpired, SessionRevoked, AppInactive, NotFound]),
        ("me_tenant_list", &[Unauthorized, TokenExpired, SessionRevoked, AppInactive]),
        (
            "me_tenant_join",
            &[
                Unauthorized,
                TokenExpired,
                SessionRevoked,
                AppInactive,
                Forbidden,
                InviteNotFound,
                Conflict,
                InviteUnusable,
            ],
        ),
    ]
};
