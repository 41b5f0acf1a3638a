//! The operation groups of the spec. Each domain's `api.rs` tags its operations with one; each
//! becomes an SDK module. A leaf: it names no domain.

use poem_openapi::Tags;

/// Operation groups; each becomes an SDK module.
#[derive(Tags)]
pub enum ApiTags {
    /// Apps (tenants): create, rename, suspend, delete. Admin API, platform API key.
    Apps,
    /// Workspace statistics. Admin API, platform API key.
    Stats,
    /// The caller's workspace and its own audit log. Admin API, platform API key.
    Workspaces,
    /// Platform API keys (`pcft_live_…`): create, list, revoke. Admin API, platform API key.
    PlatformKeys,
    /// Per-app RSA signing keys and their rotation. Admin API.
    SigningKeys,
    /// The append-only audit log of an app. Admin API.
    AuditLogs,
    /// The change feed of an app: every change as a CloudEvents event, in order. Admin API.
    Events,
    /// Webhook endpoints of an app: its change feed POSTed with Standard Webhooks signatures,
    /// retried, logged, redelivered on request. Admin API.
    Webhooks,
    /// Password policy, sign-up and sign-in switches, sessions. Admin API.
    AuthConfig,
    /// End-user accounts of an app: profiles, roles, status, sessions. Admin API.
    EndUsers,
    /// Role holders of an app. Admin API.
    Members,
    /// Invitations into an app. Admin API.
    Invites,
    /// Organizations inside an app (tenants) and their members with a role each. Admin API.
    Tenants,
    /// End-user sign-up, sign-in, tokens, password reset, verification, invites. Consumer API.
    Auth,
    /// The signed-in end-user (`Authorization: Bearer <access token>`). Consumer API.
    Me,
    /// Roles of an app and their permissions. Admin API.
    Roles,
    /// The permission catalogue of an app. Admin API.
    Permissions,
    /// App API keys (`hdk_live_…`). Admin API.
    ApiKeys,
    /// Machine-to-machine OAuth clients. Admin API.
    Credentials,
    /// OAuth 2.0 token, introspection and revocation endpoints of an app. Consumer API.
    #[oai(rename = "OAuth")]
    OAuth,
    /// Token verification and permission checks for backends and gateways. Consumer API.
    Authorization,
    /// Public JWKS and OpenID discovery documents of each app. No credential.
    Discovery,
    /// Liveness, readiness and metrics for operators. No credential.
    System,
}
