//! The OpenAPI document: every API struct registered in one service, built without a database
//! or socket, so `cargo xtask codegen` and `heimdall openapi` produce the exact spec served at
//! `/openapi.json`.

use poem_openapi::{OpenApiService, Tags};

use crate::{
    api_keys::api::ApiKeysApi,
    apps::api::AppsApi,
    audit::api::AuditApi,
    auth_config::api::AuthConfigApi,
    authz::api::AuthzApi,
    codes::api::CodesApi,
    end_users::api::EndUsersApi,
    invites::api::InvitesApi,
    keys::api::KeysApi,
    m2m::{api::CredentialsApi, oauth::OauthApi},
    me::api::MeApi,
    rbac::api::RbacApi,
    sessions::api::SessionsApi,
    system::SystemApi,
};

/// Operation groups; each becomes an SDK module.
#[derive(Tags)]
pub enum ApiTags {
    /// Apps (tenants): create, rename, suspend, delete. Admin API, platform API key.
    Apps,
    /// Workspace statistics. Admin API, platform API key.
    Stats,
    /// Per-app RSA signing keys and their rotation. Admin API.
    SigningKeys,
    /// The append-only audit log of an app. Admin API.
    AuditLogs,
    /// Password policy, sign-up and sign-in switches, sessions. Admin API.
    AuthConfig,
    /// End-user accounts of an app: profiles, roles, status, sessions. Admin API.
    EndUsers,
    /// Role holders of an app. Admin API.
    Members,
    /// Invitations into an app. Admin API.
    Invites,
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

/// Every API of the server.
pub type Apis = (
    AppsApi,
    KeysApi,
    AuditApi,
    AuthConfigApi,
    EndUsersApi,
    InvitesApi,
    RbacApi,
    ApiKeysApi,
    CredentialsApi,
    SessionsApi,
    CodesApi,
    MeApi,
    OauthApi,
    AuthzApi,
    SystemApi,
);

const DESCRIPTION: &str = "\
Heimdall is a multi-tenant authentication and authorization service.

* **Admin API** (`/v1/...`): manage apps (tenants) and everything in them. Authenticate with \
`Authorization: Bearer pcft_live_…` (platform API key, workspace-wide) or `Bearer hdk_live_…` \
(app API key, limited to one app and its permissions).
* **Consumer API** (`/{app_slug}/v1/...`): what an app's frontends and backends call. Public operations ignore any `Authorization` header sent along; `/me` takes the end-user's access token; the code-minting operations take an API key.
* Every app has its own RSA keys; tokens are RS256 JWTs with `iss` = `<public origin>/<slug>` and \
`aud` = `<slug>`, verifiable offline with the app's JWKS.

Every error is JSON `{statusCode, code, message, request_id}` with a stable snake_case `code`. \
Lists are cursor-paginated: `{data, pagination: {has_more, next_cursor}}`.";

/// The API service, ready to be mounted or to print its spec.
pub fn openapi() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            AppsApi,
            KeysApi,
            AuditApi,
            AuthConfigApi,
            EndUsersApi,
            InvitesApi,
            RbacApi,
            ApiKeysApi,
            CredentialsApi,
            SessionsApi,
            CodesApi,
            MeApi,
            OauthApi,
            AuthzApi,
            SystemApi,
        ),
        "Heimdall",
        env!("CARGO_PKG_VERSION"),
    )
    .description(DESCRIPTION)
    .license("Apache-2.0")
}

/// The published spec: poem-openapi's output, with `security: []` made explicit on public
/// operations so readers (and the tidy test) can tell "public" from "forgot to declare".
pub fn spec_json() -> String {
    let raw = openapi().spec();
    let mut spec: serde_json::Value = serde_json::from_str(&raw).expect("poem-openapi emits JSON");
    if let Some(paths) = spec.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for item in paths.values_mut().filter_map(|i| i.as_object_mut()) {
            for op in item.values_mut().filter_map(|o| o.as_object_mut()) {
                op.entry("security").or_insert_with(|| serde_json::json!([]));
            }
        }
    }
    let mut out = serde_json::to_string_pretty(&spec).expect("json");
    out.push('\n');
    out
}
