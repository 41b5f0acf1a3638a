//! HTTP surface of invites: admin create/list/revoke and the public accept.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::{Request, web::Data};
use poem_openapi::{
    Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::service::{self, Acceptance, NewInvite};
use crate::access::api::{AdminKey, authenticate};
use crate::http::strict_json::StrictJson;
use crate::tags::ApiTags;
use crate::{
    created_response,
    entity::invite,
    http::{
        error::{AdminCreateErrors, AdminReadErrors, AdminWriteErrors, Errors},
        pagination::PageRequest,
        responses::NoContent,
    },
    idempotency, page_type, rbac,
    sessions::api::{SignupErrors, TokenCreated},
    state::AppState,
};

/// An invitation.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct Invite {
    /// The invite's id.
    pub id: Uuid,
    /// The accept code `inv_…`: in full only in the create response; lists show its first 12
    /// characters followed by `…` (only a hash is stored).
    pub code: String,
    /// The invited address, or `*@domain` for anyone at that domain.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Id of the role given on acceptance.
    pub role_id: Uuid,
    /// Name of the role given on acceptance.
    #[oai(nullable)]
    pub role_name: Option<String>,
    /// How many accounts may accept it; absent for no limit.
    #[oai(nullable)]
    pub max_uses: Option<u32>,
    /// How many times it has been accepted.
    pub use_count: u32,
    /// When the invite stops being accepted, if it expires.
    #[oai(nullable)]
    pub expires_at: Option<DateTime<Utc>>,
    /// When the invite was revoked, if it was.
    #[oai(nullable)]
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the invite was created.
    pub created_at: DateTime<Utc>,
    /// The tenant the invitee joins with the invite's role (`null`: the app only).
    #[oai(nullable)]
    pub tenant_id: Option<Uuid>,
}

impl Invite {
    fn new(m: invite::Model, code: String, role_name: Option<String>) -> Self {
        Invite {
            id: m.id,
            code,
            email: Some(m.email),
            role_id: m.role_id,
            role_name,
            max_uses: Some(m.max_uses.max(0) as u32),
            use_count: m.use_count.max(0) as u32,
            expires_at: Some(m.expires_at),
            revoked_at: m.revoked_at,
            created_at: m.created_at,
            tenant_id: m.tenant_id,
        }
    }
}

/// A new invitation.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct CreateInvite {
    /// The address the invite is locked to, or `*@example.com` to admit anyone at a domain
    /// (then the accepting user sends their address).
    pub email: String,
    /// 1–720 hours; default 72.
    #[oai(validator(minimum(value = "1"), maximum(value = "720")))]
    #[oai(nullable)]
    pub expires_in_hours: Option<u32>,
    /// 1–10000; default 1.
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    #[oai(nullable)]
    pub max_uses: Option<u32>,
    /// Name shown in the invitation email.
    #[oai(nullable)]
    pub name: Option<String>,
    /// Role of the accepting user; default `member`. For a tenant invite, the role the user
    /// holds in the tenant (their app-wide role too).
    #[oai(nullable)]
    pub role_name: Option<String>,
    /// A tenant of the app (404 `tenant_not_found` otherwise): accepting makes the new account
    /// a member of it with `role_name` and signs it in to it (`tid`, `trole`).
    #[oai(nullable)]
    pub tenant_id: Option<Uuid>,
}

/// Accepting an invitation.
#[derive(Debug, Clone, Object)]
pub struct AcceptInvite {
    /// The `inv_…` code.
    pub code: String,
    /// Checked against the app's password policy, the common-password list included (400
    /// `weak_password`).
    pub password: String,
    /// Default: derived from the email's local part.
    #[oai(nullable)]
    pub username: Option<String>,
    /// Name shown to others, 0–120 characters; optional.
    #[oai(nullable)]
    pub display_name: Option<String>,
    /// Required for a domain invite (`*@domain`); for an address invite it may be left out and
    /// must match when given.
    #[oai(nullable)]
    pub email: Option<String>,
}

page_type!(InviteList, Invite, "A page of invites, oldest first.");
created_response!(InviteCreated, Invite);

pub struct InvitesApi;

#[OpenApi]
impl InvitesApi {
    /// List invites
    ///
    /// The app's invites, oldest first, by cursor, including used-up, expired and revoked ones.
    /// Codes show only their first 12 characters.
    #[oai(
        path = "/v1/apps/:app_id/end-users/invites",
        method = "get",
        operation_id = "invite_list",
        tag = "ApiTags::Invites"
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
    ) -> Result<Json<InviteList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = service::list(&state, &principal, app_id.0, page.after, page.fetch()).await?;
        let (rows, pagination) = page.finish(rows, |r| r.id);
        let roles = rbac::service::names(&state, app_id.0).await?;
        let data = rows
            .into_iter()
            .map(|r| {
                let masked = format!("{}…", r.code_prefix);
                let role = roles.get(&r.role_id).cloned();
                Invite::new(r, masked, role)
            })
            .collect();
        Ok(Json(InviteList { data, pagination }))
    }

    /// Create an invite
    ///
    /// Invites an address (or anyone at a domain) into the app with a role. The response is the
    /// only time the full code is shown. When the server has SMTP settings, an invitation email
    /// is sent to a single invited address. Send an `Idempotency-Key` to make retries safe.
    #[oai(
        path = "/v1/apps/:app_id/end-users/invites",
        method = "post",
        operation_id = "invite_create",
        tag = "ApiTags::Invites"
    )]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// Retries with the same key and body return the first response (24 hours).
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: StrictJson<CreateInvite>,
    ) -> Result<InviteCreated, Errors<AdminCreateErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let ctx = crate::http::context::origin(req);
        let b = body.0;
        let op = format!("invite_create:{}", app_id.0);
        let invite: Invite = idempotency::run(&state, &principal, idempotency_key.0.as_deref(), &op, &b, || async {
            let new = NewInvite {
                email: b.email.clone(),
                expires_in_hours: b.expires_in_hours.unwrap_or(72),
                max_uses: b.max_uses.unwrap_or(1),
                name: b.name.clone(),
                role_name: b.role_name.clone().unwrap_or_else(|| "member".into()),
                tenant_id: b.tenant_id,
            };
            let role_name = new.role_name.clone();
            let (row, code) = service::create(&state, &principal, &ctx, app_id.0, new).await?;
            Ok(Invite::new(row, code, Some(role_name)))
        })
        .await?;
        Ok(InviteCreated::Created(Json(invite)))
    }

    /// Revoke an invite
    ///
    /// The invite stops working; it stays listed with `revoked_at` set.
    #[oai(
        path = "/v1/apps/:app_id/end-users/invites/:invite_id",
        method = "delete",
        operation_id = "invite_revoke",
        tag = "ApiTags::Invites"
    )]
    async fn revoke(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The invite's id.
        invite_id: Path<Uuid>,
    ) -> Result<NoContent, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        service::revoke(&state, &principal, &crate::http::context::origin(req), app_id.0, invite_id.0).await?;
        Ok(NoContent::NoContent)
    }

    /// Accept an invite
    ///
    /// Creates the account with a verified email and the invite's role, and signs it in; a
    /// tenant invite also makes it a member of the tenant with that role and signs it in to the
    /// tenant (the tokens carry `tid` and `trole`). 404
    /// `invite_not_found` for an unknown code, 409 when the email or username is registered, 410
    /// `invite_unusable` when the invite is revoked, expired or used up, or its tenant was deleted
    /// or suspended.
    #[oai(
        path = "/:app_slug/v1/auth/accept-invite",
        method = "post",
        operation_id = "auth_accept_invite",
        tag = "ApiTags::Auth"
    )]
    async fn accept(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        body: StrictJson<AcceptInvite>,
    ) -> Result<TokenCreated, Errors<SignupErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let b = body.0;
        let acceptance = Acceptance {
            code: b.code,
            password: b.password,
            username: b.username,
            display_name: b.display_name,
            email: b.email,
        };
        Ok(TokenCreated::new(service::accept(&state, &app, &crate::http::context::origin(req), acceptance).await?))
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[
        ("invite_list", &[]),
        ("invite_create", &[RoleNotFound]),
        ("invite_revoke", &[]),
        (
            "auth_accept_invite",
            &[
                InviteNotFound,
                InviteUnusable,
                AppInactive,
                EmailDomainNotAllowed,
                AccountExists,
                UsernameTaken,
                EmailTaken,
                WeakPassword,
            ],
        ),
    ]
};
