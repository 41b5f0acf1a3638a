//! Hand-written wrappers: conveniences whose shape no rule derives from the spec (a body with
//! one field fixed, or partly filled, or an optional query parameter set). The operations they
//! send are placed `HandWritten` in `xtask/src/codegen/scopes.rs` when no generated method
//! reaches them, and a test there checks that a wrapper here (or in `client.rs`) does.

use crate::{
    error::Result,
    prelude::*,
    scoped::{AuthzScope, ConsumerAuthScope, ListParams, OAuthScope, SigningKeysScope, TenantsScope, ok},
    types,
};

impl ConsumerAuthScope {
    /// Signs in with a username or verified primary email and a password. For the other fields
    /// (`tenant_id`), use [`signin_with`](Self::signin_with).
    pub async fn signin(
        &self,
        identifier: impl Into<String>,
        password: impl Into<String>,
    ) -> Result<types::TokenResponse> {
        let body = types::SigninRequest { identifier: identifier.into(), password: password.into(), tenant_id: None };
        self.signin_with(body).await
    }
}

impl TenantsScope {
    /// A page of a tenant's members with the role each holds there, by end-user id.
    ///
    /// Sends `GET /v1/apps/{app_id}/tenants/{tenant_id}/members` (`tenant_member_list`).
    pub async fn members(&self, tenant_id: uuid::Uuid, page: ListParams) -> Result<types::TenantMemberList> {
        let mut request = self.app.heimdall.client().tenant_member_list().app_id(self.app.app_id).tenant_id(tenant_id);
        if let Some(limit) = page.limit {
            request = request.limit(limit);
        }
        if let Some(cursor) = page.cursor {
            request = request.cursor(cursor);
        }
        ok(request.send().await)
    }

    /// A page of the tenants an end-user belongs to, with the role they hold in each.
    ///
    /// Sends `GET /v1/apps/{app_id}/end-users/{user_id}/tenants` (`tenant_list_for_user`).
    pub async fn list_for_user(&self, user_id: uuid::Uuid, page: ListParams) -> Result<types::UserTenantList> {
        let mut request = self.app.heimdall.client().tenant_list_for_user().app_id(self.app.app_id).user_id(user_id);
        if let Some(limit) = page.limit {
            request = request.limit(limit);
        }
        if let Some(cursor) = page.cursor {
            request = request.cursor(cursor);
        }
        ok(request.send().await)
    }
}

impl OAuthScope {
    /// A client-credentials token with every scope of the client.
    pub async fn client_credentials(
        &self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<types::OauthTokenResponse> {
        self.token(client_credentials(client_id.into(), client_secret.into(), None)).await
    }

    /// A client-credentials token narrowed to `scope` (space-separated).
    pub async fn client_credentials_with_scope(
        &self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        scope: impl Into<String>,
    ) -> Result<types::OauthTokenResponse> {
        self.token(client_credentials(client_id.into(), client_secret.into(), Some(scope.into()))).await
    }
}

/// The token request of the client-credentials grant, with the secret in the body.
fn client_credentials(client_id: String, client_secret: String, scope: Option<String>) -> types::TokenRequest {
    types::TokenRequest {
        client_id: Some(client_id),
        client_secret: Some(client_secret),
        grant_type: Some("client_credentials".into()),
        scope,
    }
}

impl AuthzScope {
    /// Asks Heimdall whether `token` is valid *now*, session included (a revoked session fails
    /// here but not in [`ConsumerScope::verify_token`](crate::scoped::ConsumerScope::verify_token)).
    /// An invalid token is `valid: false`, not an error.
    pub async fn verify(&self, token: impl Into<String>) -> Result<types::VerifyResponse> {
        let body = types::VerifyRequest { token: Some(token.into()) };
        let request = self.consumer.heimdall.client().token_verify().app_slug(self.consumer.slug.as_str());
        ok(request.body(body).send().await)
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
        self.send_authorize(body).await
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
        self.send_authorize(body).await
    }

    async fn send_authorize(&self, body: types::AuthorizeRequest) -> Result<types::AuthorizeResponse> {
        let request = self.consumer.heimdall.client().token_authorize().app_slug(self.consumer.slug.as_str());
        ok(request.body(body).send().await)
    }
}

impl SigningKeysScope {
    /// Signs with a new key at once and withdraws every older key: tokens they signed stop
    /// verifying. For a key compromise.
    pub async fn rotate_immediately(&self) -> Result<types::SigningKeyList> {
        let request = self.app.heimdall.client().signing_key_rotate().app_id(self.app.app_id);
        ok(request.immediate(true).send().await)
    }

    /// Rotates to a key of another algorithm (`ES256`, `EdDSA` or `RS256`), which the app keeps
    /// for later rotations. Scheduled like [`rotate`](Self::rotate): tokens of the old key keep
    /// verifying through the overlap.
    pub async fn rotate_to(&self, alg: types::SigningAlgorithm) -> Result<types::SigningKeyList> {
        let request = self.app.heimdall.client().signing_key_rotate().app_id(self.app.app_id);
        ok(request.alg(alg).send().await)
    }
}
