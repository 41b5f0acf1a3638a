//! Pins the public shape of the scope wrappers: every method's name, argument order and types,
//! and the type it resolves to. Most wrappers are generated from the spec, so a spec change can
//! change them silently; this file is where such a change stops compiling and shows up in review.
//!
//! Nothing is sent: the futures and streams are built and dropped unpolled.

use std::{future::Future, marker::PhantomData};

use futures::Stream;
use heimdall_sdk::{
    Heimdall, ListParams, Result,
    scoped::{AppListParams, AuditLogListParams, EndUserListParams},
    types,
};
use uuid::Uuid;

/// The type a wrapper's future resolves to, without polling it.
fn resolves<T>(_: impl Future<Output = Result<T>>) -> PhantomData<T> {
    PhantomData
}

/// The claims type a local verification resolves to.
fn verifies<T>(_: impl Future<Output = std::result::Result<T, heimdall_sdk::VerifyError>>) -> PhantomData<T> {
    PhantomData
}

/// The item type of a wrapper's stream, which must be `Send + 'static` to move into a task.
fn streams<T>(_: impl Stream<Item = Result<T>> + Send + 'static) -> PhantomData<T> {
    PhantomData
}

fn offline() -> Heimdall {
    Heimdall::builder().base_url("http://127.0.0.1:9").build().expect("no I/O at build")
}

#[test]
fn workspace_and_app_scopes_keep_their_signatures() {
    let heimdall = offline();
    let id = Uuid::nil();

    let apps = heimdall.apps();
    let _: PhantomData<types::AppList> = resolves(apps.list(AppListParams::default()));
    let _: PhantomData<types::AppList> = resolves(apps.list(Default::default()));
    let _: PhantomData<types::App> = streams(apps.stream(AppListParams::default()));
    let _: PhantomData<types::App> = resolves(apps.create(types::CreateApp::builder().slug("acme").display_name("A")));
    let _: PhantomData<types::App> =
        resolves(apps.create_idempotent(types::CreateApp::builder().slug("acme").display_name("A"), "key"));
    let _: PhantomData<types::PlatformStats> = resolves(heimdall.stats(None));

    let app = heimdall.app(id);
    let _: Uuid = app.id();
    let _: &Heimdall = app.heimdall();
    let _: PhantomData<types::App> = resolves(app.get());
    let _: PhantomData<types::App> = resolves(app.update(types::UpdateApp::builder()));
    let _: PhantomData<types::App> = resolves(app.update_status(types::AppStatus::Suspended));
    let _: PhantomData<()> = resolves(app.delete());

    let auth_config = app.auth_config();
    let _: PhantomData<types::AuthConfigResponse> = resolves(auth_config.get());
    let _: PhantomData<types::AuthConfigResponse> = resolves(auth_config.update(types::UpdateAuthConfig::builder()));

    let invites = app.invites();
    let _: PhantomData<types::InviteList> = resolves(invites.list(ListParams::new()));
    let _: PhantomData<types::Invite> = streams(invites.stream(ListParams::new().limit(5).cursor("c")));
    let _: PhantomData<types::Invite> = resolves(invites.create(types::CreateInvite::builder().email("a@b.c")));
    let _: PhantomData<types::Invite> =
        resolves(invites.create_idempotent(types::CreateInvite::builder().email("a@b.c"), String::from("key")));
    let _: PhantomData<()> = resolves(invites.revoke(id));

    let members = app.members();
    let _: PhantomData<types::AppMemberList> = resolves(members.list(ListParams::new()));
    let _: PhantomData<types::AppMemberSummary> = streams(members.stream(ListParams::new()));
    let _: PhantomData<()> = resolves(members.remove(id));

    let end_users = app.end_users();
    let _: PhantomData<types::EndUserList> = resolves(end_users.list(ListParams::new()));
    let _: PhantomData<types::EndUserList> = resolves(end_users.list(EndUserListParams {
        page: ListParams::new(),
        status: Some(types::EndUserStatus::Active),
        search: Some("ada".into()),
    }));
    let _: PhantomData<types::EndUserSummary> = streams(end_users.stream(ListParams::new()));
    let _: PhantomData<types::EndUserSummary> = streams(end_users.stream(EndUserListParams::default()));
    let _: PhantomData<types::EndUserSummary> = resolves(end_users.get(id));
    let _: PhantomData<types::EndUserSummary> = resolves(end_users.update(id, types::UpdateEndUser::builder()));
    let _: PhantomData<types::EndUserSummary> = resolves(end_users.update_role(id, "editor"));
    let _: PhantomData<types::EndUserSummary> = resolves(end_users.update_status(id, types::EndUserStatus::Suspended));
    let _: PhantomData<()> = resolves(end_users.delete(id));
    let _: PhantomData<()> = resolves(end_users.revoke_sessions(id));

    let roles = app.roles();
    let _: PhantomData<types::RoleList> = resolves(roles.list(ListParams::new()));
    let _: PhantomData<types::Role> = streams(roles.stream(ListParams::new()));
    let _: PhantomData<types::Role> = resolves(roles.create(types::CreateRole::builder().name("editor")));
    let _: PhantomData<types::RoleWithPermissions> = resolves(roles.get("editor"));
    let _: PhantomData<types::RoleWithPermissions> = resolves(roles.update("editor", types::UpdateRole::builder()));
    let _: PhantomData<()> = resolves(roles.delete("editor"));
    let _: PhantomData<types::AppMembership> = resolves(roles.assign(id, "editor"));
    let _: PhantomData<types::RoleWithPermissions> = resolves(roles.set_permissions("editor", ["docs.read"]));
    let _: PhantomData<types::RoleWithPermissions> =
        resolves(roles.set_permissions::<String>("editor", vec!["docs.read".to_owned()]));
    let _: PhantomData<Vec<types::PermissionCatalogEntry>> = resolves(roles.permission_catalog());

    let permissions = app.permissions();
    let _: PhantomData<Vec<types::Permission>> = resolves(permissions.list());
    let _: PhantomData<types::Permission> =
        resolves(permissions.create(types::CreatePermission::builder().resource("docs").action("read")));
    let _: PhantomData<()> = resolves(permissions.delete("docs.read"));

    let api_keys = app.api_keys();
    let _: PhantomData<types::ApiKeyList> = resolves(api_keys.list(ListParams::new()));
    let _: PhantomData<types::ApiKeySummary> = streams(api_keys.stream(ListParams::new()));
    let _: PhantomData<types::ApiKeyCreated> = resolves(api_keys.create(types::CreateApiKey::builder().name("ci")));
    let _: PhantomData<types::ApiKeyCreated> =
        resolves(api_keys.create_idempotent(types::CreateApiKey::builder().name("ci"), "key"));
    let _: PhantomData<()> = resolves(api_keys.delete(id));

    let credentials = app.credentials();
    let _: PhantomData<types::M2mClientList> = resolves(credentials.list(ListParams::new()));
    let _: PhantomData<types::M2mClientSummary> = streams(credentials.stream(ListParams::new()));
    let _: PhantomData<types::M2mClientCreated> =
        resolves(credentials.create(types::CreateM2mClient::builder().name("svc")));
    let _: PhantomData<types::M2mClientCreated> =
        resolves(credentials.create_idempotent(types::CreateM2mClient::builder().name("svc"), "key"));
    let _: PhantomData<types::M2mClientDetail> = resolves(credentials.get("m2m_x"));
    let _: PhantomData<types::M2mClientDetail> =
        resolves(credentials.update("m2m_x", types::UpdateM2mClient::builder()));
    let _: PhantomData<()> = resolves(credentials.delete("m2m_x"));
    let _: PhantomData<types::M2mSecretRotated> = resolves(credentials.rotate_secret("m2m_x"));
    let _: PhantomData<types::M2mClientDetail> = resolves(credentials.set_scopes("m2m_x", ["docs.read"]));

    let audit_logs = app.audit_logs();
    let _: PhantomData<types::AuditLogList> = resolves(audit_logs.list(ListParams::new()));
    let _: PhantomData<types::AuditLogList> = resolves(audit_logs.list(AuditLogListParams {
        page: ListParams::new(),
        action: Some("app.updated".into()),
        actor_id: None,
        resource_type: None,
        resource_id: None,
    }));
    let _: PhantomData<types::AuditLogEntry> = streams(audit_logs.stream(ListParams::new()));
    let _: PhantomData<types::AuditLogEntry> = streams(audit_logs.stream(AuditLogListParams::default()));

    let signing_keys = app.signing_keys();
    let _: PhantomData<types::SigningKeyList> = resolves(signing_keys.list());
    let _: PhantomData<types::SigningKeyList> = resolves(signing_keys.rotate());
    let _: PhantomData<types::SigningKeyList> = resolves(signing_keys.rotate_immediately());
}

#[test]
fn consumer_scopes_keep_their_signatures() {
    let heimdall = offline();
    let consumer = heimdall.consumer("acme");
    let _: &str = consumer.slug();
    let _: &Heimdall = consumer.heimdall();
    let _: heimdall_sdk::JwksVerifier = consumer.verifier();
    let _: PhantomData<heimdall_sdk::Claims> = verifies(consumer.verify_token("t"));
    let _: PhantomData<serde_json::Value> = verifies(consumer.verify_token_as::<serde_json::Value>("t"));
    let _: PhantomData<types::JwkSet> = resolves(consumer.jwks());
    let _: PhantomData<types::OpenIdConfiguration> = resolves(consumer.openid_configuration());

    let auth = consumer.auth();
    let _: PhantomData<types::TokenResponse> = resolves(auth.signin("ada", "pw"));
    let _: PhantomData<types::TokenResponse> =
        resolves(auth.signin_with(types::SigninRequest::builder().identifier("ada").password("pw")));
    let _: PhantomData<types::TokenResponse> =
        resolves(auth.signup(types::SignupRequest::builder().username("ada").email("a@b.c").password("pw")));
    let _: PhantomData<types::TokenResponse> = resolves(auth.refresh("rt"));
    let _: PhantomData<()> = resolves(auth.logout(String::from("rt")));
    let _: PhantomData<types::CodeIssued> =
        resolves(auth.request_password_reset(types::ContactRequest::builder().email(Some("a@b.c".to_owned()))));
    let _: PhantomData<()> = resolves(auth.reset_password("code", "new password"));
    let _: PhantomData<types::CodeIssued> = resolves(auth.request_verification(types::ContactRequest::builder()));
    let _: PhantomData<types::CodeDispatched> = resolves(auth.send_verification_email("a@b.c"));
    let _: PhantomData<types::ContactVerified> = resolves(auth.verify_contact("code"));
    let _: PhantomData<types::TokenResponse> =
        resolves(auth.accept_invite(types::AcceptInvite::builder().code("c").password("pw")));

    let me = consumer.me();
    let _: PhantomData<types::EndUserSummary> = resolves(me.get());
    let _: PhantomData<types::EndUserSummary> = resolves(me.update(types::UpdateMe::builder()));
    let _: PhantomData<()> = resolves(me.delete());
    let _: PhantomData<types::SessionList> = resolves(me.sessions(ListParams::new()));
    let _: PhantomData<types::SessionInfo> = streams(me.stream_sessions(ListParams::new()));
    let _: PhantomData<()> = resolves(me.revoke_session(Uuid::nil()));
    let _: PhantomData<types::AuditLogList> = resolves(me.activity(ListParams::new()));
    let _: PhantomData<types::AuditLogEntry> = streams(me.stream_activity(ListParams::new()));

    let oauth = consumer.oauth();
    let _: PhantomData<types::OauthTokenResponse> = resolves(oauth.client_credentials("m2m_x", "secret"));
    let _: PhantomData<types::OauthTokenResponse> =
        resolves(oauth.client_credentials_with_scope("m2m_x", "secret", "docs.read"));
    let _: PhantomData<types::OauthTokenResponse> = resolves(oauth.token(types::TokenRequest::builder()));
    let _: PhantomData<types::IntrospectionResponse> =
        resolves(oauth.introspect(types::TokenOperationRequest::builder().token("t")));
    let _: PhantomData<types::RevocationResponse> =
        resolves(oauth.revoke(types::TokenOperationRequest::builder().token("t")));

    let authz = consumer.authz();
    let _: PhantomData<types::VerifyResponse> = resolves(authz.verify("t"));
    let _: PhantomData<types::AuthorizeResponse> = resolves(authz.authorize("t", "docs.read"));
    let _: PhantomData<types::AuthorizeResponse> = resolves(authz.authorize_all("t", ["docs.read", "docs.write"]));
    let _: PhantomData<types::AuthorizeBatchResponse> =
        resolves(authz.authorize_batch(types::AuthorizeBatchRequest::builder().checks(Vec::new())));
    let _: PhantomData<types::ForwardAuthBody> = resolves(authz.forward_auth(["docs.read"]));
}
