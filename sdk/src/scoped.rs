//! Scopes that pre-bind the app: `heimdall.app(app_id)` for administration and
//! `heimdall.consumer(slug)` for the consumer surface, mirroring the Node SDK's
//! `heimdall.app(appId).endUsers.list(..)` and `heimdall.consumer(slug).auth.signin(..)`.
//!
//! Every method is a thin wrapper over one generated operation: it fills in the app id or slug,
//! sends, and returns the generated response type or [`Error`](crate::Error). List operations come in two
//! forms, `list` for one page and `stream` for every item of every page (see
//! [`paginate`](crate::paginate)). Request bodies accept the generated type or its builder
//! (`types::CreateRole::builder().name("editor")`). For options a wrapper does not expose, use
//! the generated builders through [`Heimdall::client`].

use std::fmt::Display;

use futures::Stream;
use uuid::Uuid;

use crate::{
    Heimdall, ResponseValue,
    error::Result,
    jwks::{Claims, JwksVerifier, VerifyError},
    paginate::paginate_from,
    prelude::*,
    types,
};

/// Unwraps a generated call's answer.
fn ok<T>(result: std::result::Result<ResponseValue<T>, progenitor_client::Error<types::ErrorBody>>) -> Result<T> {
    Ok(result?.into_inner())
}

/// Paging of a list request: page size (1–200, server default 50) and where to start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// Items per page.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page; `None` for the first page.
    pub cursor: Option<String>,
}

impl ListParams {
    /// The first page, server-default size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Starts after the page that returned `cursor`.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }
}

/// Filters and paging of the app list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppListParams {
    /// Paging.
    pub page: ListParams,
    /// Only this workspace; it must be the key's own.
    pub workspace_id: Option<Uuid>,
}

/// Filters and paging of the end-user list.
#[derive(Debug, Clone, Default)]
pub struct EndUserListParams {
    /// Paging.
    pub page: ListParams,
    /// Only end-users with this status.
    pub status: Option<types::EndUserStatus>,
    /// Only end-users whose username, display name or email contains this text.
    pub search: Option<String>,
}

impl From<ListParams> for EndUserListParams {
    fn from(page: ListParams) -> Self {
        EndUserListParams { page, ..Default::default() }
    }
}

/// Filters and paging of the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditLogListParams {
    /// Paging.
    pub page: ListParams,
    /// Only entries with exactly this action, e.g. `app.updated`.
    pub action: Option<String>,
    /// Only entries by this actor.
    pub actor_id: Option<String>,
    /// Only entries about this kind of resource, e.g. `signing_key`.
    pub resource_type: Option<String>,
    /// Only entries about this resource.
    pub resource_id: Option<String>,
}

impl From<ListParams> for AuditLogListParams {
    fn from(page: ListParams) -> Self {
        AuditLogListParams { page, ..Default::default() }
    }
}

/// Sets `limit` and `cursor` on a generated list builder.
macro_rules! paged {
    ($request:expr, $page:expr) => {{
        let page: &ListParams = $page;
        let mut request = $request;
        if let Some(limit) = page.limit {
            request = request.limit(limit);
        }
        if let Some(cursor) = page.cursor.clone() {
            request = request.cursor(cursor);
        }
        request
    }};
}

/// A `stream` method: every item from `$params.page.cursor` on, by calling `list` with the
/// cursor of each next page.
macro_rules! stream_via_list {
    ($scope:expr, $params:expr, |$s:ident, $p:ident| $list:expr) => {{
        let scope = $scope.clone();
        let params = $params;
        let start = params.page.cursor.clone();
        paginate_from(start, move |cursor| {
            let $s = scope.clone();
            let mut $p = params.clone();
            $p.page.cursor = cursor;
            async move { $list.await }
        })
    }};
}

/// `ListParams` seen as a params struct with a `page` field, for [`stream_via_list`].
#[derive(Clone)]
struct Paged {
    page: ListParams,
}

// ---------------------------------------------------------------------------------------------
// Workspace level

/// Workspace-level app administration, from [`Heimdall::apps`].
#[derive(Debug, Clone)]
pub struct AppsScope {
    heimdall: Heimdall,
}

impl AppsScope {
    pub(crate) fn new(heimdall: Heimdall) -> Self {
        AppsScope { heimdall }
    }

    /// One page of the workspace's apps, oldest first.
    pub async fn list(&self, params: AppListParams) -> Result<types::AppList> {
        let mut request = paged!(self.heimdall.client().app_list(), &params.page);
        if let Some(workspace_id) = params.workspace_id {
            request = request.workspace_id(workspace_id);
        }
        ok(request.send().await)
    }

    /// Every app of the workspace.
    pub fn stream(&self, params: AppListParams) -> impl Stream<Item = Result<types::App>> + Send + 'static {
        stream_via_list!(self, params, |scope, params| scope.list(params))
    }

    /// Creates an app with its first signing key, default auth configuration and system roles.
    pub async fn create(&self, body: impl TryInto<types::CreateApp, Error: Display>) -> Result<types::App> {
        ok(self.heimdall.client().app_create().body(body).send().await)
    }

    /// Like [`create`](Self::create); a retry with the same `idempotency_key` and body returns
    /// the first answer instead of creating a second app.
    pub async fn create_idempotent(
        &self,
        body: impl TryInto<types::CreateApp, Error: Display>,
        idempotency_key: impl Into<String>,
    ) -> Result<types::App> {
        ok(self.heimdall.client().app_create().idempotency_key(idempotency_key.into()).body(body).send().await)
    }
}

// ---------------------------------------------------------------------------------------------
// One app's administration

/// Administration of one app, from [`Heimdall::app`]. Sub-scopes group the operations by
/// resource, each with the app id filled in.
#[derive(Debug, Clone)]
pub struct AppScope {
    heimdall: Heimdall,
    app_id: Uuid,
}

/// Defines a sub-scope type of [`AppScope`] and its accessor.
macro_rules! app_sub_scopes {
    ($($(#[$doc:meta])* $accessor:ident => $name:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone)]
            pub struct $name {
                app: AppScope,
            }
        )*

        impl AppScope {
            $(
                $(#[$doc])*
                pub fn $accessor(&self) -> $name {
                    $name { app: self.clone() }
                }
            )*
        }
    };
}

app_sub_scopes! {
    /// The app's authentication settings (sign-up, passwords, sessions, providers).
    auth_config => AuthConfigScope,
    /// Invitations of new end-users.
    invites => InvitesScope,
    /// Role holders of the app.
    members => MembersScope,
    /// The app's end-users.
    end_users => EndUsersScope,
    /// Roles and their permissions.
    roles => RolesScope,
    /// The app's permission catalogue.
    permissions => PermissionsScope,
    /// App API keys (`hdk_live_…`).
    api_keys => ApiKeysScope,
    /// M2M (client credentials) clients.
    credentials => CredentialsScope,
    /// The app's audit log.
    audit_logs => AuditLogsScope,
    /// The app's token signing keys.
    signing_keys => SigningKeysScope,
}

impl AppScope {
    pub(crate) fn new(heimdall: Heimdall, app_id: Uuid) -> Self {
        AppScope { heimdall, app_id }
    }

    /// The app's id.
    pub fn id(&self) -> Uuid {
        self.app_id
    }

    /// The client this scope sends with.
    pub fn heimdall(&self) -> &Heimdall {
        &self.heimdall
    }

    fn client(&self) -> &crate::Client {
        self.heimdall.client()
    }

    /// The app record.
    pub async fn get(&self) -> Result<types::App> {
        ok(self.client().app_get().app_id(self.app_id).send().await)
    }

    /// Changes the display name, metadata or slug.
    pub async fn update(&self, body: impl TryInto<types::UpdateApp, Error: Display>) -> Result<types::App> {
        ok(self.client().app_update().app_id(self.app_id).body(body).send().await)
    }

    /// Sets the app's status; `suspended` and `archived` apps refuse sign-in and sign-up.
    pub async fn update_status(&self, status: types::AppStatus) -> Result<types::App> {
        let body = types::UpdateAppStatus { status };
        ok(self.client().app_update_status().app_id(self.app_id).body(body).send().await)
    }

    /// Deletes the app with everything in it.
    pub async fn delete(&self) -> Result<()> {
        ok(self.client().app_delete().app_id(self.app_id).send().await)
    }
}

impl AuthConfigScope {
    /// The current settings.
    pub async fn get(&self) -> Result<types::AuthConfigResponse> {
        ok(self.app.client().auth_config_get().app_id(self.app.app_id).send().await)
    }

    /// Changes the fields that are set in `body`.
    pub async fn update(
        &self,
        body: impl TryInto<types::UpdateAuthConfig, Error: Display>,
    ) -> Result<types::AuthConfigResponse> {
        ok(self.app.client().auth_config_update().app_id(self.app.app_id).body(body).send().await)
    }
}

impl InvitesScope {
    /// One page of invites.
    pub async fn list(&self, page: ListParams) -> Result<types::InviteList> {
        ok(paged!(self.app.client().invite_list().app_id(self.app.app_id), &page).send().await)
    }

    /// Every invite.
    pub fn stream(&self, page: ListParams) -> impl Stream<Item = Result<types::Invite>> + Send + 'static {
        stream_via_list!(self, Paged { page }, |scope, params| scope.list(params.page))
    }

    /// Invites an address (or `*@domain`) to sign up with a role.
    pub async fn create(&self, body: impl TryInto<types::CreateInvite, Error: Display>) -> Result<types::Invite> {
        ok(self.app.client().invite_create().app_id(self.app.app_id).body(body).send().await)
    }

    /// Like [`create`](Self::create), safe to retry with the same `idempotency_key`.
    pub async fn create_idempotent(
        &self,
        body: impl TryInto<types::CreateInvite, Error: Display>,
        idempotency_key: impl Into<String>,
    ) -> Result<types::Invite> {
        let request = self.app.client().invite_create().app_id(self.app.app_id);
        ok(request.idempotency_key(idempotency_key.into()).body(body).send().await)
    }

    /// Revokes an invite; its code stops working.
    pub async fn revoke(&self, invite_id: Uuid) -> Result<()> {
        ok(self.app.client().invite_revoke().app_id(self.app.app_id).invite_id(invite_id).send().await)
    }
}

impl MembersScope {
    /// One page of role holders.
    pub async fn list(&self, page: ListParams) -> Result<types::AppMemberList> {
        ok(paged!(self.app.client().member_list().app_id(self.app.app_id), &page).send().await)
    }

    /// Every role holder.
    pub fn stream(&self, page: ListParams) -> impl Stream<Item = Result<types::AppMemberSummary>> + Send + 'static {
        stream_via_list!(self, Paged { page }, |scope, params| scope.list(params.page))
    }

    /// Takes the member's role away; the account stays.
    pub async fn remove(&self, account_id: Uuid) -> Result<()> {
        ok(self.app.client().member_remove().app_id(self.app.app_id).account_id(account_id).send().await)
    }
}

impl EndUsersScope {
    /// One page of end-users, optionally filtered by status or a search text.
    pub async fn list(&self, params: impl Into<EndUserListParams>) -> Result<types::EndUserList> {
        let params = params.into();
        let mut request = paged!(self.app.client().end_user_list().app_id(self.app.app_id), &params.page);
        if let Some(status) = params.status {
            request = request.status(status);
        }
        if let Some(search) = params.search {
            request = request.search(search);
        }
        ok(request.send().await)
    }

    /// Every end-user matching the filters.
    pub fn stream(
        &self,
        params: impl Into<EndUserListParams>,
    ) -> impl Stream<Item = Result<types::EndUserSummary>> + Send + 'static {
        stream_via_list!(self, params.into(), |scope, params| scope.list(params))
    }

    /// One end-user.
    pub async fn get(&self, user_id: Uuid) -> Result<types::EndUserSummary> {
        ok(self.app.client().end_user_get().app_id(self.app.app_id).user_id(user_id).send().await)
    }

    /// Changes the display name or email.
    pub async fn update(
        &self,
        user_id: Uuid,
        body: impl TryInto<types::UpdateEndUser, Error: Display>,
    ) -> Result<types::EndUserSummary> {
        ok(self.app.client().end_user_update().app_id(self.app.app_id).user_id(user_id).body(body).send().await)
    }

    /// Gives the end-user another role.
    pub async fn update_role(&self, user_id: Uuid, role_name: impl Into<String>) -> Result<types::EndUserSummary> {
        let body = types::UpdateEndUserRole { role_name: role_name.into() };
        ok(self.app.client().end_user_update_role().app_id(self.app.app_id).user_id(user_id).body(body).send().await)
    }

    /// Sets the status; `suspended` and `deactivated` end every session at once.
    pub async fn update_status(&self, user_id: Uuid, status: types::EndUserStatus) -> Result<types::EndUserSummary> {
        let body = types::UpdateEndUserStatus { status };
        let request = self.app.client().end_user_update_status().app_id(self.app.app_id).user_id(user_id);
        ok(request.body(body).send().await)
    }

    /// Deletes the end-user's account.
    pub async fn delete(&self, user_id: Uuid) -> Result<()> {
        ok(self.app.client().end_user_delete().app_id(self.app.app_id).user_id(user_id).send().await)
    }

    /// Ends every session of the end-user.
    pub async fn revoke_sessions(&self, user_id: Uuid) -> Result<()> {
        ok(self.app.client().end_user_revoke_sessions().app_id(self.app.app_id).user_id(user_id).send().await)
    }
}

impl RolesScope {
    /// One page of roles.
    pub async fn list(&self, page: ListParams) -> Result<types::RoleList> {
        ok(paged!(self.app.client().role_list().app_id(self.app.app_id), &page).send().await)
    }

    /// Every role.
    pub fn stream(&self, page: ListParams) -> impl Stream<Item = Result<types::Role>> + Send + 'static {
        stream_via_list!(self, Paged { page }, |scope, params| scope.list(params.page))
    }

    /// Creates a role with no permissions.
    pub async fn create(&self, body: impl TryInto<types::CreateRole, Error: Display>) -> Result<types::Role> {
        ok(self.app.client().role_create().app_id(self.app.app_id).body(body).send().await)
    }

    /// One role with its permissions.
    pub async fn get(&self, role_name: &str) -> Result<types::RoleWithPermissions> {
        ok(self.app.client().role_get().app_id(self.app.app_id).role_name(role_name).send().await)
    }

    /// Changes the description.
    pub async fn update(
        &self,
        role_name: &str,
        body: impl TryInto<types::UpdateRole, Error: Display>,
    ) -> Result<types::RoleWithPermissions> {
        ok(self.app.client().role_update().app_id(self.app.app_id).role_name(role_name).body(body).send().await)
    }

    /// Deletes a custom role that nobody holds.
    pub async fn delete(&self, role_name: &str) -> Result<()> {
        ok(self.app.client().role_delete().app_id(self.app.app_id).role_name(role_name).send().await)
    }

    /// Gives `account_id` the role `role_name`, replacing their previous role.
    pub async fn assign(&self, account_id: Uuid, role_name: impl Into<String>) -> Result<types::AppMembership> {
        let body = types::AssignRole { account_id, role: role_name.into() };
        ok(self.app.client().role_assign().app_id(self.app.app_id).body(body).send().await)
    }

    /// Replaces the role's permissions (catalogue entries or wildcards like `docs.*`).
    pub async fn set_permissions<P: Into<String>>(
        &self,
        role_name: &str,
        permissions: impl IntoIterator<Item = P>,
    ) -> Result<types::RoleWithPermissions> {
        let body = types::SetPermissions { permissions: permissions.into_iter().map(Into::into).collect() };
        let request = self.app.client().role_set_permissions().app_id(self.app.app_id).role_name(role_name);
        ok(request.body(body).send().await)
    }

    /// Every permission a role can be given, with `is_system`.
    pub async fn permission_catalog(&self) -> Result<Vec<types::PermissionCatalogEntry>> {
        ok(self.app.client().permission_catalog_get().app_id(self.app.app_id).send().await)
    }
}

impl PermissionsScope {
    /// System and custom permissions of the app.
    pub async fn list(&self) -> Result<Vec<types::Permission>> {
        ok(self.app.client().permission_list().app_id(self.app.app_id).send().await)
    }

    /// Adds `resource.action` to the catalogue.
    pub async fn create(
        &self,
        body: impl TryInto<types::CreatePermission, Error: Display>,
    ) -> Result<types::Permission> {
        ok(self.app.client().permission_create().app_id(self.app.app_id).body(body).send().await)
    }

    /// Removes a custom permission from the catalogue and from every role.
    pub async fn delete(&self, permission_key: &str) -> Result<()> {
        let request = self.app.client().permission_delete().app_id(self.app.app_id);
        ok(request.permission_key(permission_key).send().await)
    }
}

impl ApiKeysScope {
    /// One page of the app's API keys (without the keys themselves).
    pub async fn list(&self, page: ListParams) -> Result<types::ApiKeyList> {
        ok(paged!(self.app.client().api_key_list().app_id(self.app.app_id), &page).send().await)
    }

    /// Every API key of the app.
    pub fn stream(&self, page: ListParams) -> impl Stream<Item = Result<types::ApiKeySummary>> + Send + 'static {
        stream_via_list!(self, Paged { page }, |scope, params| scope.list(params.page))
    }

    /// Creates a key; the answer is the only time its secret is shown.
    pub async fn create(
        &self,
        body: impl TryInto<types::CreateApiKey, Error: Display>,
    ) -> Result<types::ApiKeyCreated> {
        ok(self.app.client().api_key_create().app_id(self.app.app_id).body(body).send().await)
    }

    /// Like [`create`](Self::create), safe to retry with the same `idempotency_key`.
    pub async fn create_idempotent(
        &self,
        body: impl TryInto<types::CreateApiKey, Error: Display>,
        idempotency_key: impl Into<String>,
    ) -> Result<types::ApiKeyCreated> {
        let request = self.app.client().api_key_create().app_id(self.app.app_id);
        ok(request.idempotency_key(idempotency_key.into()).body(body).send().await)
    }

    /// Deletes a key; it stops working at once.
    pub async fn delete(&self, key_id: Uuid) -> Result<()> {
        ok(self.app.client().api_key_delete().app_id(self.app.app_id).key_id(key_id).send().await)
    }
}

impl CredentialsScope {
    /// One page of M2M clients.
    pub async fn list(&self, page: ListParams) -> Result<types::M2mClientList> {
        ok(paged!(self.app.client().credential_list().app_id(self.app.app_id), &page).send().await)
    }

    /// Every M2M client.
    pub fn stream(&self, page: ListParams) -> impl Stream<Item = Result<types::M2mClientSummary>> + Send + 'static {
        stream_via_list!(self, Paged { page }, |scope, params| scope.list(params.page))
    }

    /// Creates a client; the answer is the only time its secret is shown.
    pub async fn create(
        &self,
        body: impl TryInto<types::CreateM2mClient, Error: Display>,
    ) -> Result<types::M2mClientCreated> {
        ok(self.app.client().credential_create().app_id(self.app.app_id).body(body).send().await)
    }

    /// Like [`create`](Self::create), safe to retry with the same `idempotency_key`.
    pub async fn create_idempotent(
        &self,
        body: impl TryInto<types::CreateM2mClient, Error: Display>,
        idempotency_key: impl Into<String>,
    ) -> Result<types::M2mClientCreated> {
        let request = self.app.client().credential_create().app_id(self.app.app_id);
        ok(request.idempotency_key(idempotency_key.into()).body(body).send().await)
    }

    /// One client, by row id or `m2m_…` client id.
    pub async fn get(&self, client_id: &str) -> Result<types::M2mClientDetail> {
        ok(self.app.client().credential_get().app_id(self.app.app_id).client_id(client_id).send().await)
    }

    /// Renames or (de)activates a client.
    pub async fn update(
        &self,
        client_id: &str,
        body: impl TryInto<types::UpdateM2mClient, Error: Display>,
    ) -> Result<types::M2mClientDetail> {
        let request = self.app.client().credential_update().app_id(self.app.app_id).client_id(client_id);
        ok(request.body(body).send().await)
    }

    /// Deletes a client.
    pub async fn delete(&self, client_id: &str) -> Result<()> {
        ok(self.app.client().credential_delete().app_id(self.app.app_id).client_id(client_id).send().await)
    }

    /// Issues a new secret; the old one stops working.
    pub async fn rotate_secret(&self, client_id: &str) -> Result<types::M2mSecretRotated> {
        let request = self.app.client().credential_rotate_secret().app_id(self.app.app_id);
        ok(request.client_id(client_id).send().await)
    }

    /// Replaces the client's scopes.
    pub async fn set_scopes<P: Into<String>>(
        &self,
        client_id: &str,
        scopes: impl IntoIterator<Item = P>,
    ) -> Result<types::M2mClientDetail> {
        let body = types::SetScopes { permissions: scopes.into_iter().map(Into::into).collect() };
        let request = self.app.client().credential_set_scopes().app_id(self.app.app_id).client_id(client_id);
        ok(request.body(body).send().await)
    }
}

impl AuditLogsScope {
    /// One page of the audit log, newest first.
    pub async fn list(&self, params: impl Into<AuditLogListParams>) -> Result<types::AuditLogList> {
        let params = params.into();
        let mut request = paged!(self.app.client().audit_log_list().app_id(self.app.app_id), &params.page);
        if let Some(action) = params.action {
            request = request.action(action);
        }
        if let Some(actor_id) = params.actor_id {
            request = request.actor_id(actor_id);
        }
        if let Some(resource_type) = params.resource_type {
            request = request.resource_type(resource_type);
        }
        if let Some(resource_id) = params.resource_id {
            request = request.resource_id(resource_id);
        }
        ok(request.send().await)
    }

    /// Every audit entry matching the filters, newest first.
    pub fn stream(
        &self,
        params: impl Into<AuditLogListParams>,
    ) -> impl Stream<Item = Result<types::AuditLogEntry>> + Send + 'static {
        stream_via_list!(self, params.into(), |scope, params| scope.list(params))
    }
}

impl SigningKeysScope {
    /// The app's signing keys with their lifecycle, newest first.
    pub async fn list(&self) -> Result<types::SigningKeyList> {
        ok(self.app.client().signing_key_list().app_id(self.app.app_id).send().await)
    }

    /// Publishes a new key that starts signing after the publish lead; old tokens keep
    /// verifying while the previous key stays published.
    pub async fn rotate(&self) -> Result<types::SigningKeyList> {
        ok(self.app.client().signing_key_rotate().app_id(self.app.app_id).send().await)
    }

    /// Signs with a new key at once and withdraws every older key: tokens they signed stop
    /// verifying. For a key compromise.
    pub async fn rotate_immediately(&self) -> Result<types::SigningKeyList> {
        ok(self.app.client().signing_key_rotate().app_id(self.app.app_id).immediate(true).send().await)
    }
}

// ---------------------------------------------------------------------------------------------
// The consumer surface

/// The consumer surface of one app, from [`Heimdall::consumer`].
#[derive(Debug, Clone)]
pub struct ConsumerScope {
    heimdall: Heimdall,
    slug: String,
}

/// Defines a sub-scope type of [`ConsumerScope`] and its accessor.
macro_rules! consumer_sub_scopes {
    ($($(#[$doc:meta])* $accessor:ident => $name:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone)]
            pub struct $name {
                consumer: ConsumerScope,
            }
        )*

        impl ConsumerScope {
            $(
                $(#[$doc])*
                pub fn $accessor(&self) -> $name {
                    $name { consumer: self.clone() }
                }
            )*
        }
    };
}

consumer_sub_scopes! {
    /// Sign-up, sign-in, refresh, logout, codes and invites.
    auth => ConsumerAuthScope,
    /// The signed-in end-user; needs an instance whose credential is their access token
    /// ([`Heimdall::with_credential`]).
    me => MeScope,
    /// OAuth 2.0: client credentials, introspection, revocation.
    oauth => OAuthScope,
    /// Server-side token checks: `/verify`, `/authorize`, forward-auth.
    authz => AuthzScope,
}

impl ConsumerScope {
    pub(crate) fn new(heimdall: Heimdall, slug: String) -> Self {
        ConsumerScope { heimdall, slug }
    }

    /// The app's slug.
    pub fn slug(&self) -> &str {
        &self.slug
    }

    /// The client this scope sends with.
    pub fn heimdall(&self) -> &Heimdall {
        &self.heimdall
    }

    fn client(&self) -> &crate::Client {
        self.heimdall.client()
    }

    /// The app's token verifier, shared by every scope of this slug on this client.
    pub fn verifier(&self) -> JwksVerifier {
        self.heimdall.verifier(&self.slug)
    }

    /// Verifies an access token of this app locally against its cached JWKS: signature, RS256,
    /// `iss` = `<origin>/<slug>`, `aud` = slug, `exp`/`nbf`. See [`crate::jwks`].
    pub async fn verify_token(&self, token: &str) -> std::result::Result<Claims, VerifyError> {
        self.verifier().verify(token).await
    }

    /// Like [`verify_token`](Self::verify_token) with claims of the caller's type.
    pub async fn verify_token_as<C: serde::de::DeserializeOwned>(
        &self,
        token: &str,
    ) -> std::result::Result<C, VerifyError> {
        self.verifier().verify_as(token).await
    }

    /// The app's JWKS, fetched now (uncached).
    pub async fn jwks(&self) -> Result<types::JwkSet> {
        ok(self.client().jwks_get().app_slug(&self.slug).send().await)
    }

    /// The app's OpenID Provider metadata.
    pub async fn openid_configuration(&self) -> Result<types::OpenIdConfiguration> {
        ok(self.client().openid_configuration_get().app_slug(&self.slug).send().await)
    }
}

impl ConsumerAuthScope {
    fn client(&self) -> &crate::Client {
        self.consumer.client()
    }

    fn slug(&self) -> &str {
        &self.consumer.slug
    }

    /// Signs in with a username or verified primary email and a password.
    pub async fn signin(
        &self,
        identifier: impl Into<String>,
        password: impl Into<String>,
    ) -> Result<types::TokenResponse> {
        let body = types::SigninRequest { identifier: identifier.into(), password: password.into(), tenant_id: None };
        self.signin_with(body).await
    }

    /// Signs in with every field of the request (e.g. `tenant_id`).
    pub async fn signin_with(
        &self,
        body: impl TryInto<types::SigninRequest, Error: Display>,
    ) -> Result<types::TokenResponse> {
        ok(self.client().auth_signin().app_slug(self.slug()).body(body).send().await)
    }

    /// Creates an account and signs it in.
    pub async fn signup(
        &self,
        body: impl TryInto<types::SignupRequest, Error: Display>,
    ) -> Result<types::TokenResponse> {
        ok(self.client().auth_signup().app_slug(self.slug()).body(body).send().await)
    }

    /// Exchanges a refresh token for new tokens (the old refresh token is used up).
    pub async fn refresh(&self, refresh_token: impl Into<String>) -> Result<types::TokenResponse> {
        let body = types::RefreshRequest { refresh_token: refresh_token.into() };
        ok(self.client().auth_refresh().app_slug(self.slug()).body(body).send().await)
    }

    /// Ends the session that owns the refresh token.
    pub async fn logout(&self, refresh_token: impl Into<String>) -> Result<()> {
        let body = types::RefreshRequest { refresh_token: refresh_token.into() };
        ok(self.client().auth_logout().app_slug(self.slug()).body(body).send().await)
    }

    /// Mints a password-reset code for a verified email or phone (needs an API key).
    pub async fn request_password_reset(
        &self,
        body: impl TryInto<types::ContactRequest, Error: Display>,
    ) -> Result<types::CodeIssued> {
        ok(self.client().auth_request_password_reset().app_slug(self.slug()).body(body).send().await)
    }

    /// Consumes a reset code and sets a new password; every session of the account ends.
    pub async fn reset_password(&self, code: impl Into<String>, new_password: impl Into<String>) -> Result<()> {
        let body = types::ResetPasswordRequest { code: code.into(), new_password: new_password.into() };
        ok(self.client().auth_reset_password().app_slug(self.slug()).body(body).send().await)
    }

    /// Mints a contact-verification code (needs an API key).
    pub async fn request_verification(
        &self,
        body: impl TryInto<types::ContactRequest, Error: Display>,
    ) -> Result<types::CodeIssued> {
        ok(self.client().auth_request_verification().app_slug(self.slug()).body(body).send().await)
    }

    /// Mints a verification code and emails it (needs an API key and SMTP on the server).
    pub async fn send_verification_email(&self, email: impl Into<String>) -> Result<types::CodeDispatched> {
        let body = types::EmailRequest { email: email.into() };
        ok(self.client().auth_send_verification_email().app_slug(self.slug()).body(body).send().await)
    }

    /// Consumes a verification code and marks its contact verified.
    pub async fn verify_contact(&self, code: impl Into<String>) -> Result<types::ContactVerified> {
        let body = types::VerifyCodeRequest { code: code.into() };
        ok(self.client().auth_verify_contact().app_slug(self.slug()).body(body).send().await)
    }

    /// Accepts an invitation: creates the account and signs it in.
    pub async fn accept_invite(
        &self,
        body: impl TryInto<types::AcceptInvite, Error: Display>,
    ) -> Result<types::TokenResponse> {
        ok(self.client().auth_accept_invite().app_slug(self.slug()).body(body).send().await)
    }
}

impl MeScope {
    fn client(&self) -> &crate::Client {
        self.consumer.client()
    }

    fn slug(&self) -> &str {
        &self.consumer.slug
    }

    /// The signed-in end-user's profile.
    pub async fn get(&self) -> Result<types::EndUserSummary> {
        ok(self.client().me_get().app_slug(self.slug()).send().await)
    }

    /// Changes the display name.
    pub async fn update(&self, body: impl TryInto<types::UpdateMe, Error: Display>) -> Result<types::EndUserSummary> {
        ok(self.client().me_update().app_slug(self.slug()).body(body).send().await)
    }

    /// Deletes the signed-in end-user's account.
    pub async fn delete(&self) -> Result<()> {
        ok(self.client().me_delete().app_slug(self.slug()).send().await)
    }

    /// One page of the end-user's sessions (`current` marks this token's).
    pub async fn sessions(&self, page: ListParams) -> Result<types::SessionList> {
        ok(paged!(self.client().me_session_list().app_slug(self.slug()), &page).send().await)
    }

    /// Every session of the end-user.
    pub fn stream_sessions(&self, page: ListParams) -> impl Stream<Item = Result<types::SessionInfo>> + Send + 'static {
        stream_via_list!(self, Paged { page }, |scope, params| scope.sessions(params.page))
    }

    /// Ends one session (the `sid` of its tokens).
    pub async fn revoke_session(&self, session_id: Uuid) -> Result<()> {
        ok(self.client().me_session_revoke().app_slug(self.slug()).session_id(session_id).send().await)
    }

    /// One page of the end-user's own audit trail.
    pub async fn activity(&self, page: ListParams) -> Result<types::AuditLogList> {
        ok(paged!(self.client().me_activity_list().app_slug(self.slug()), &page).send().await)
    }

    /// Every entry of the end-user's audit trail.
    pub fn stream_activity(
        &self,
        page: ListParams,
    ) -> impl Stream<Item = Result<types::AuditLogEntry>> + Send + 'static {
        stream_via_list!(self, Paged { page }, |scope, params| scope.activity(params.page))
    }
}

impl OAuthScope {
    fn client(&self) -> &crate::Client {
        self.consumer.client()
    }

    fn slug(&self) -> &str {
        &self.consumer.slug
    }

    /// A client-credentials token with every scope of the client.
    pub async fn client_credentials(
        &self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<types::OauthTokenResponse> {
        self.token(types::TokenRequest {
            client_id: Some(client_id.into()),
            client_secret: Some(client_secret.into()),
            grant_type: Some("client_credentials".into()),
            scope: None,
        })
        .await
    }

    /// A client-credentials token narrowed to `scope` (space-separated).
    pub async fn client_credentials_with_scope(
        &self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        scope: impl Into<String>,
    ) -> Result<types::OauthTokenResponse> {
        self.token(types::TokenRequest {
            client_id: Some(client_id.into()),
            client_secret: Some(client_secret.into()),
            grant_type: Some("client_credentials".into()),
            scope: Some(scope.into()),
        })
        .await
    }

    /// The token endpoint with a request of the caller's.
    pub async fn token(
        &self,
        body: impl TryInto<types::TokenRequest, Error: Display>,
    ) -> Result<types::OauthTokenResponse> {
        ok(self.client().oauth_token_issue().app_slug(self.slug()).body(body).send().await)
    }

    /// RFC 7662 introspection, authenticated with an M2M client in the body.
    pub async fn introspect(
        &self,
        body: impl TryInto<types::TokenOperationRequest, Error: Display>,
    ) -> Result<types::IntrospectionResponse> {
        ok(self.client().oauth_introspect().app_slug(self.slug()).body(body).send().await)
    }

    /// RFC 7009 revocation, authenticated with an M2M client in the body.
    pub async fn revoke(
        &self,
        body: impl TryInto<types::TokenOperationRequest, Error: Display>,
    ) -> Result<types::RevocationResponse> {
        ok(self.client().oauth_revoke().app_slug(self.slug()).body(body).send().await)
    }
}

impl AuthzScope {
    fn client(&self) -> &crate::Client {
        self.consumer.client()
    }

    fn slug(&self) -> &str {
        &self.consumer.slug
    }

    /// Asks Heimdall whether `token` is valid *now*, session included (a revoked session fails
    /// here but not in [`ConsumerScope::verify_token`]). An invalid token is `valid: false`,
    /// not an error.
    pub async fn verify(&self, token: impl Into<String>) -> Result<types::VerifyResponse> {
        let body = types::VerifyRequest { token: Some(token.into()) };
        ok(self.client().token_verify().app_slug(self.slug()).body(body).send().await)
    }

    /// Whether `token` holds `permission` under the role's current permissions.
    pub async fn authorize(
        &self,
        token: impl Into<String>,
        permission: impl Into<String>,
    ) -> Result<types::AuthorizeResponse> {
        let body = types::AuthorizeRequest {
            permission: Some(permission.into()),
            permissions: None,
            token: Some(token.into()),
        };
        ok(self.client().token_authorize().app_slug(self.slug()).body(body).send().await)
    }

    /// Whether `token` holds every one of `permissions`.
    pub async fn authorize_all<P: Into<String>>(
        &self,
        token: impl Into<String>,
        permissions: impl IntoIterator<Item = P>,
    ) -> Result<types::AuthorizeResponse> {
        let permissions = permissions.into_iter().map(Into::into).collect();
        let body =
            types::AuthorizeRequest { permission: None, permissions: Some(permissions), token: Some(token.into()) };
        ok(self.client().token_authorize().app_slug(self.slug()).body(body).send().await)
    }

    /// Several checks for one token in one request; each answer echoes its check's `id`.
    pub async fn authorize_batch(
        &self,
        body: impl TryInto<types::AuthorizeBatchRequest, Error: Display>,
    ) -> Result<types::AuthorizeBatchResponse> {
        ok(self.client().token_authorize_batch().app_slug(self.slug()).body(body).send().await)
    }

    /// Forward-auth for a reverse proxy, checking this instance's own bearer credential for
    /// `permissions` (all required).
    pub async fn forward_auth<P: Into<String>>(
        &self,
        permissions: impl IntoIterator<Item = P>,
    ) -> Result<types::ForwardAuthBody> {
        let permissions: Vec<String> = permissions.into_iter().map(Into::into).collect();
        ok(self.client().forward_auth_check().app_slug(self.slug()).permission(permissions).send().await)
    }
}
