//! What an audit entry says: who acted, what happened, on what, from where; and the filters
//! of the admin listing.

use uuid::Uuid;

use crate::access::origin::Origin;
use crate::events::{Draft, TYPE_PREFIX};

/// Declares a closed set of names stored as strings.
macro_rules! names {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stored and published name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)*
                }
            }
        }
    };
}

names! {
    /// What kind of caller acted.
    ActorKind {
        PlatformApiKey = "platform_api_key",
        AppApiKey = "app_api_key",
        EndUser = "end_user",
        M2mClient = "m2m_client",
        /// Someone who named no account (a failed sign-in with an unknown identifier).
        Anonymous = "anonymous",
        /// Heimdall on its own (e.g. scheduled key rotation).
        System = "system",
    }
}

names! {
    /// What happened: `<resource>.<verb>`, the `action` of an audit entry.
    Action {
    ApiKeyCreated = "api_key.created",
    ApiKeyDeleted = "api_key.deleted",
    AppCreated = "app.created",
    AppMemberRemoved = "app.member.removed",
    AppDeleted = "app.deleted",
    AppStatusChanged = "app.status_changed",
    AppUpdated = "app.updated",
    AuthConfigUpdated = "auth_config.updated",
    CredentialActivated = "credential.activated",
    CredentialCreated = "credential.created",
    CredentialDeactivated = "credential.deactivated",
    CredentialDeleted = "credential.deleted",
    CredentialScopesSet = "credential.scopes_set",
    CredentialSecretRotated = "credential.secret_rotated",
    CredentialUpdated = "credential.updated",
    EndUserDeleted = "end_user.deleted",
    EndUserEmailVerified = "end_user.email_verified",
    EndUserPasswordReset = "end_user.password_reset",
    EndUserProfileUpdated = "end_user.profile_updated",
    EndUserRoleChanged = "end_user.role_changed",
    EndUserSessionsRevoked = "end_user.sessions_revoked",
    EndUserSignin = "end_user.signin",
    EndUserSigninFailed = "end_user.signin_failed",
    EndUserSignup = "end_user.signup",
    EndUserStatusChanged = "end_user.status_changed",
    EndUserUpdated = "end_user.updated",
    InviteAccepted = "invite.accepted",
    InviteCreated = "invite.created",
    InviteRevoked = "invite.revoked",
    OauthClientAuthFailed = "oauth.client_auth_failed",
    OauthTokenRevoked = "oauth.token_revoked",
    PermissionCreated = "permission.created",
    PermissionDeleted = "permission.deleted",
    RoleAssigned = "role.assigned",
    RoleCreated = "role.created",
    RoleDeleted = "role.deleted",
    RolePermissionsSet = "role.permissions_set",
    RoleUpdated = "role.updated",
    SessionLogout = "session.logout",
    SessionRefreshReuseDetected = "session.refresh_reuse_detected",
    SessionRevoked = "session.revoked",
    SessionTenantSwitched = "session.tenant_switched",
    SigningKeyRotated = "signing_key.rotated",
    PlatformKeyCreated = "platform_key.created",
    PlatformKeyRevoked = "platform_key.revoked",
    TenantCreated = "tenant.created",
    TenantDeleted = "tenant.deleted",
    TenantMemberRemoved = "tenant.member_removed",
    TenantMemberSet = "tenant.member_set",
    TenantStatusChanged = "tenant.status_changed",
    TenantUpdated = "tenant.updated",
    WebhookCreated = "webhook.created",
    WebhookDeleted = "webhook.deleted",
    /// Heimdall disabled an endpoint that failed through its whole retry schedule.
    WebhookDisabled = "webhook.disabled",
    WebhookSecretRotated = "webhook.secret_rotated",
    WebhookUpdated = "webhook.updated",
    }
}

/// Who did something.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<String>,
}

impl Actor {
    pub fn new(kind: ActorKind, id: impl ToString) -> Self {
        Actor { kind, id: Some(id.to_string()) }
    }

    /// A caller without an id.
    pub fn unnamed(kind: ActorKind) -> Self {
        Actor { kind, id: None }
    }

    pub fn system() -> Self {
        Actor::unnamed(ActorKind::System)
    }
}

/// Whose log an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// An app's log (`audit_logs`), what almost every change writes to.
    App(Uuid),
    /// The workspace's own log (`workspace_audit_logs`): changes no app owns (platform keys).
    Workspace(Uuid),
}

/// One audit entry under construction.
#[derive(Debug, Clone)]
pub struct Entry {
    pub(super) scope: Scope,
    pub(super) actor: Actor,
    pub(super) action: Action,
    pub(super) resource_type: Option<String>,
    pub(super) resource_id: Option<String>,
    pub(super) details: Option<serde_json::Value>,
    pub(super) request_id: Option<String>,
    pub(super) ip: Option<String>,
}

impl Entry {
    pub fn new(app_id: Uuid, actor: &Actor, action: Action, origin: &Origin) -> Self {
        Entry::scoped(Scope::App(app_id), actor, action, origin)
    }

    /// An entry of the workspace's own log, for changes no app owns.
    pub fn workspace(workspace_id: Uuid, actor: &Actor, action: Action, origin: &Origin) -> Self {
        Entry::scoped(Scope::Workspace(workspace_id), actor, action, origin)
    }

    fn scoped(scope: Scope, actor: &Actor, action: Action, origin: &Origin) -> Self {
        Entry {
            scope,
            actor: actor.clone(),
            action,
            resource_type: None,
            resource_id: None,
            details: None,
            request_id: origin.request_id.clone(),
            ip: origin.ip_string(),
        }
    }

    /// An entry for something Heimdall did on its own (e.g. scheduled key rotation).
    pub fn system(app_id: Uuid, action: Action) -> Self {
        Entry::new(app_id, &Actor::system(), action, &Origin::default())
    }

    pub fn resource(mut self, kind: &str, id: impl ToString) -> Self {
        self.resource_type = Some(kind.to_owned());
        self.resource_id = Some(id.to_string());
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The app whose log and feed the entry belongs to; `None` for a workspace entry.
    pub fn app_id(&self) -> Option<Uuid> {
        match self.scope {
            Scope::App(id) => Some(id),
            Scope::Workspace(_) => None,
        }
    }

    /// The change event this entry announces on its app's feed: type `heimdall.<action>`,
    /// subject `<resource type>/<resource id>`, and the entry's facts as data — never the
    /// caller's address (personal data the feed's consumers have no need for).
    /// Workspace entries have no app, hence no feed: `None`.
    pub fn event(&self) -> Option<Draft> {
        let app_id = self.app_id()?;
        let subject = match (&self.resource_type, &self.resource_id) {
            (Some(kind), Some(id)) => Some(format!("{kind}/{id}")),
            (Some(kind), None) => Some(kind.clone()),
            _ => None,
        };
        Some(Draft {
            app_id,
            kind: format!("{TYPE_PREFIX}{}", self.action.as_str()),
            subject,
            data: serde_json::json!({
                "actor": { "type": self.actor.kind.as_str(), "id": self.actor.id },
                "resource": { "type": self.resource_type, "id": self.resource_id },
                "details": self.details,
                "request_id": self.request_id,
            }),
        })
    }
}

impl Entry {
    /// Writes the entry to the change log (target `heimdall::audit`) once its unit committed:
    /// who did what, to what, in which app or workspace, under which request id. Of the details
    /// only a failure's `reason` is written (they may name people); the client address never is.
    /// Failures (`*_failed`, a refresh token reused) are warnings, every other change `info`.
    pub fn log_committed(&self) {
        let (app_id, workspace_id) = match self.scope {
            Scope::App(id) => (Some(id), None),
            Scope::Workspace(id) => (None, Some(id)),
        };
        let action = self.action.as_str();
        let reason = self.details.as_ref().and_then(|d| d.get("reason")).and_then(|r| r.as_str());
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    target: crate::telemetry::AUDIT,
                    action,
                    actor_type = self.actor.kind.as_str(),
                    actor_id = self.actor.id.as_deref(),
                    app_id = app_id.map(tracing::field::display),
                    workspace_id = workspace_id.map(tracing::field::display),
                    resource_type = self.resource_type.as_deref(),
                    resource_id = self.resource_id.as_deref(),
                    reason,
                    request_id = self.request_id.as_deref(),
                    "audit"
                )
            };
        }
        if action.ends_with("_failed") || self.action == Action::SessionRefreshReuseDetected {
            line!(warn);
        } else {
            line!(info);
        }
    }
}

/// Filters of the admin listing.
#[derive(Debug, Default)]
pub struct Filter {
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
}

impl Filter {
    /// Entries by one actor.
    pub fn by_actor(actor_id: String) -> Self {
        Filter { actor_id: Some(actor_id), ..Default::default() }
    }
}
