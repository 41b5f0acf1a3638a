//! Admin HTTP surface of end-users and members (`/v1/apps/{app_id}/end-users…`, `…/members…`).
//!
//! Members are the app's role holders: end-users with a role. Removing a member removes the
//! role (the account stays, without permissions); deleting an end-user deletes the account.

use std::sync::Arc;

use poem::{Request, web::Data};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{
    dto::{self, AppMemberList, EndUserList, EndUserStatus, EndUserSummary},
    service,
};
use crate::access::api::{AdminKey, authenticate};
use crate::audit::Action;
use crate::http::strict_json::StrictJson;
use crate::tags::ApiTags;
use crate::{
    http::{
        error::{AdminReadErrors, AdminWriteErrors, Errors},
        pagination::PageRequest,
        responses::NoContent,
    },
    permissions,
    state::AppState,
};

/// Profile changes; fields left out stay as they are.
#[derive(Debug, Clone, Object)]
pub struct UpdateEndUser {
    /// 0–120 characters; an empty string clears it.
    #[oai(validator(max_length = 120))]
    #[oai(nullable)]
    pub display_name: Option<String>,
    /// New primary email; it starts unverified.
    #[oai(nullable)]
    pub email: Option<String>,
}

/// New role of an end-user.
#[derive(Debug, Clone, Object)]
pub struct UpdateEndUserRole {
    /// Name of an existing role of the app, e.g. `admin`.
    pub role_name: String,
}

/// New status of an end-user.
#[derive(Debug, Clone, Object)]
pub struct UpdateEndUserStatus {
    pub status: EndUserStatus,
}

pub struct EndUsersApi;

#[OpenApi]
impl EndUsersApi {
    /// List end-users
    ///
    /// The app's end-users, oldest first, by cursor; filter by `status` and by `search` (a
    /// case-insensitive substring of username, email or display name).
    #[oai(
        path = "/v1/apps/:app_id/end-users",
        method = "get",
        operation_id = "end_user_list",
        tag = "ApiTags::EndUsers"
    )]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id.
        app_id: Path<Uuid>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Only users with this status.
        status: Query<Option<EndUserStatus>>,
        /// Case-insensitive substring of username, email or display name.
        search: Query<Option<String>>,
    ) -> Result<Json<EndUserList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::END_USER_READ).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let filter =
            service::ListFilter { status: status.0.map(|s| s.as_str().to_owned()), search: search.0, with_role: false };
        let rows = service::list(&state, app_id.0, &filter, page.after, page.fetch()).await?;
        let (rows, pagination) = page.finish(rows, |u| u.id);
        let data = dto::summaries(&state, app_id.0, rows).await?;
        Ok(Json(EndUserList { data, pagination }))
    }

    /// Get an end-user
    ///
    /// One end-user of the app by account id, with their role and live session count. An id
    /// of another app's user answers 404.
    #[oai(
        path = "/v1/apps/:app_id/end-users/:user_id",
        method = "get",
        operation_id = "end_user_get",
        tag = "ApiTags::EndUsers"
    )]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id.
        app_id: Path<Uuid>,
        /// Account id (the token `sub`).
        user_id: Path<Uuid>,
    ) -> Result<Json<EndUserSummary>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let user = service::visible(&state, &principal, app_id.0, user_id.0, permissions::END_USER_READ).await?;
        Ok(Json(dto::summary(&state, app_id.0, user).await?))
    }

    /// Update an end-user's profile
    ///
    /// Changes the display name or primary email (which then starts unverified). Role and
    /// status have their own operations.
    #[oai(
        path = "/v1/apps/:app_id/end-users/:user_id",
        method = "patch",
        operation_id = "end_user_update",
        tag = "ApiTags::EndUsers"
    )]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The end-user's account id (the token `sub`).
        user_id: Path<Uuid>,
        body: StrictJson<UpdateEndUser>,
    ) -> Result<Json<EndUserSummary>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let ctx = crate::http::context::origin(req);
        let user =
            service::update_profile(&state, &principal, &ctx, app_id.0, user_id.0, body.0.display_name, body.0.email)
                .await?;
        Ok(Json(dto::summary(&state, app_id.0, user).await?))
    }

    /// Delete an end-user
    ///
    /// Permanently deletes the account, its sessions and codes.
    #[oai(
        path = "/v1/apps/:app_id/end-users/:user_id",
        method = "delete",
        operation_id = "end_user_delete",
        tag = "ApiTags::EndUsers"
    )]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The end-user's account id (the token `sub`).
        user_id: Path<Uuid>,
    ) -> Result<NoContent, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        service::visible(&state, &principal, app_id.0, user_id.0, permissions::END_USER_DELETE).await?;
        service::delete(&state, &principal.actor(), &crate::http::context::origin(req), app_id.0, user_id.0).await?;
        Ok(NoContent::NoContent)
    }

    /// Change an end-user's role
    ///
    /// Gives the user the named role. Tokens issued from now on carry it.
    #[oai(
        path = "/v1/apps/:app_id/end-users/:user_id/role",
        method = "patch",
        operation_id = "end_user_update_role",
        tag = "ApiTags::EndUsers"
    )]
    async fn update_role(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The end-user's account id (the token `sub`).
        user_id: Path<Uuid>,
        body: StrictJson<UpdateEndUserRole>,
    ) -> Result<Json<EndUserSummary>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let ctx = crate::http::context::origin(req);
        let user = service::set_role(
            &state,
            &principal,
            &ctx,
            app_id.0,
            user_id.0,
            Some(&body.0.role_name),
            Action::EndUserRoleChanged,
            permissions::END_USER_UPDATE,
        )
        .await?;
        Ok(Json(dto::summary(&state, app_id.0, user).await?))
    }

    /// Change an end-user's status
    ///
    /// `suspended` and `deactivated` revoke every session at once: the user's access tokens
    /// stop working on `/me` immediately and refresh tokens are dead.
    #[oai(
        path = "/v1/apps/:app_id/end-users/:user_id/status",
        method = "patch",
        operation_id = "end_user_update_status",
        tag = "ApiTags::EndUsers"
    )]
    async fn update_status(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The end-user's account id (the token `sub`).
        user_id: Path<Uuid>,
        body: StrictJson<UpdateEndUserStatus>,
    ) -> Result<Json<EndUserSummary>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let ctx = crate::http::context::origin(req);
        let user = service::set_status(&state, &principal, &ctx, app_id.0, user_id.0, body.0.status.into()).await?;
        Ok(Json(dto::summary(&state, app_id.0, user).await?))
    }

    /// Revoke all sessions of an end-user
    ///
    /// Ends every session at once (sign-out everywhere). Takes no body.
    #[oai(
        path = "/v1/apps/:app_id/end-users/:user_id/sessions/revoke-all",
        method = "post",
        operation_id = "end_user_revoke_sessions",
        tag = "ApiTags::EndUsers"
    )]
    async fn revoke_sessions(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The end-user's account id (the token `sub`).
        user_id: Path<Uuid>,
    ) -> Result<NoContent, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        service::revoke_sessions(&state, &principal, &crate::http::context::origin(req), app_id.0, user_id.0).await?;
        Ok(NoContent::NoContent)
    }

    /// List members
    ///
    /// The app's role holders (end-users with a role), oldest first, by cursor.
    #[oai(path = "/v1/apps/:app_id/members", method = "get", operation_id = "member_list", tag = "ApiTags::Members")]
    async fn members(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id.
        app_id: Path<Uuid>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<AppMemberList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::END_USER_READ).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let filter = service::ListFilter { with_role: true, ..Default::default() };
        let rows = service::list(&state, app_id.0, &filter, page.after, page.fetch()).await?;
        let (rows, pagination) = page.finish(rows, |u| u.id);
        let data = dto::members(&state, app_id.0, rows).await?;
        Ok(Json(AppMemberList { data, pagination }))
    }

    /// Remove a member
    ///
    /// Takes the member's role away; the account stays, without permissions. To delete the
    /// account use `end_user_delete`.
    #[oai(
        path = "/v1/apps/:app_id/members/:account_id",
        method = "delete",
        operation_id = "member_remove",
        tag = "ApiTags::Members"
    )]
    async fn remove_member(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// Account id of the member.
        account_id: Path<Uuid>,
    ) -> Result<NoContent, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let ctx = crate::http::context::origin(req);
        service::set_role(
            &state,
            &principal,
            &ctx,
            app_id.0,
            account_id.0,
            None,
            Action::AppMemberRemoved,
            permissions::END_USER_UPDATE,
        )
        .await?;
        Ok(NoContent::NoContent)
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[
        ("end_user_list", &[]),
        ("end_user_get", &[]),
        ("end_user_update", &[EmailTaken]),
        ("end_user_update_role", &[RoleNotFound]),
        ("end_user_update_status", &[]),
        ("end_user_revoke_sessions", &[]),
        ("end_user_delete", &[]),
        ("member_list", &[]),
        ("member_remove", &[]),
    ]
};
