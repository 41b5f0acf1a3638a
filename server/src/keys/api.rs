//! HTTP surface of signing keys: the public JWKS and OpenID discovery documents of each app,
//! and the admin listing and rotation.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use crate::access::api::{AdminKey, authenticate};
use crate::tags::ApiTags;
use crate::{
    apps::service as apps,
    entity::signing_key::{self, SigningAlg},
    http::{
        error::{AdminReadErrors, AdminWriteErrors, Errors, PublicErrors},
        responses::PreSerialized,
    },
    permissions,
    state::AppState,
};

/// A JWS algorithm an app signs its tokens with. `RS256` (RSA-2048, the default) is verified by
/// every JWT library; `ES256` (P-256) signs about 6× and `EdDSA` (Ed25519) about 10× faster, with
/// 64-byte signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Serialize, serde::Deserialize)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 over an RSA-2048 key.
    #[oai(rename = "RS256")]
    #[serde(rename = "RS256")]
    Rs256,
    /// ECDSA over P-256 with SHA-256 (RFC 7518 §3.4).
    #[oai(rename = "ES256")]
    #[serde(rename = "ES256")]
    Es256,
    /// Ed25519 (RFC 8037).
    #[oai(rename = "EdDSA")]
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl From<SigningAlg> for SigningAlgorithm {
    fn from(alg: SigningAlg) -> Self {
        match alg {
            SigningAlg::Rs256 => SigningAlgorithm::Rs256,
            SigningAlg::Es256 => SigningAlgorithm::Es256,
            SigningAlg::EdDsa => SigningAlgorithm::EdDsa,
        }
    }
}

impl From<SigningAlgorithm> for SigningAlg {
    fn from(alg: SigningAlgorithm) -> Self {
        match alg {
            SigningAlgorithm::Rs256 => SigningAlg::Rs256,
            SigningAlgorithm::Es256 => SigningAlg::Es256,
            SigningAlgorithm::EdDsa => SigningAlg::EdDsa,
        }
    }
}

/// One public signing key (RFC 7517). Never carries private members. An RSA key has `n` and
/// `e`; an EC key (`crv: P-256`) `x` and `y`; an OKP key (`crv: Ed25519`) `x`.
#[derive(Debug, Clone, Object)]
pub struct Jwk {
    /// `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// `P-256` (EC) or `Ed25519` (OKP); absent for RSA.
    #[oai(skip_serializing_if_is_none)]
    pub crv: Option<String>,
    /// Always `sig`.
    #[oai(rename = "use")]
    pub use_: String,
    /// The key's algorithm, the only one its tokens verify with: `RS256`, `ES256` or `EdDSA`.
    pub alg: SigningAlgorithm,
    /// Key id, matched against the `kid` header of tokens.
    pub kid: String,
    /// RSA modulus, base64url.
    #[oai(skip_serializing_if_is_none)]
    pub n: Option<String>,
    /// RSA public exponent, base64url.
    #[oai(skip_serializing_if_is_none)]
    pub e: Option<String>,
    /// EC x coordinate or Ed25519 public key, base64url.
    #[oai(skip_serializing_if_is_none)]
    pub x: Option<String>,
    /// EC y coordinate, base64url.
    #[oai(skip_serializing_if_is_none)]
    pub y: Option<String>,
}

/// The app's published keys: the one signing now, any about to sign, and retired keys whose
/// tokens may still be live (possibly of another algorithm, after a rotation that changed it).
#[derive(Debug, Clone, Object)]
pub struct JwkSet {
    /// The public keys, each with its `kid` and `alg`.
    pub keys: Vec<Jwk>,
}

#[derive(ApiResponse)]
pub enum JwksResponse {
    /// The key set. Cacheable for an hour; refetch on an unknown `kid`.
    #[oai(status = 200)]
    Ok(PreSerialized<JwkSet>, #[oai(header = "Cache-Control")] String),
}

/// OpenID Provider metadata for the app (OpenID Connect Discovery 1.0).
#[derive(Debug, Clone, Object)]
pub struct OpenIdConfiguration {
    /// `<public origin>/<slug>`: the `iss` of every token of the app.
    pub issuer: String,
    /// Where the app's public keys are published.
    pub jwks_uri: String,
    /// Response types of the authorization endpoint.
    pub response_types_supported: Vec<String>,
    /// Subject identifier types: `public`.
    pub subject_types_supported: Vec<String>,
    /// The algorithms of the app's published keys, the signing key's first: `RS256`, `ES256` or
    /// `EdDSA` (two during a rotation that changes the algorithm).
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// Claims the app's tokens may carry.
    pub claims_supported: Vec<String>,
    /// OAuth 2.0 token endpoint (client credentials).
    pub token_endpoint: String,
    /// RFC 7662 token introspection.
    pub introspection_endpoint: String,
    /// RFC 7009 token revocation.
    pub revocation_endpoint: String,
    /// `client_secret_basic` and `client_secret_post`.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// `client_credentials`.
    pub grant_types_supported: Vec<String>,
}

#[derive(ApiResponse)]
pub enum DiscoveryResponse {
    /// The discovery document.
    #[oai(status = 200)]
    Ok(Json<OpenIdConfiguration>, #[oai(header = "Cache-Control")] String),
}

/// A signing key's public record.
#[derive(Debug, Clone, Object)]
pub struct SigningKey {
    /// Key id, the `kid` header of tokens it signs.
    pub kid: String,
    /// The key's algorithm.
    pub alg: SigningAlgorithm,
    /// `pending` (published, not signing yet), `active` (signing), `retired` (published until
    /// `expires_at` so its tokens verify), `expired` or `revoked` (withdrawn from the JWKS).
    pub status: String,
    /// When the key was created.
    pub created_at: DateTime<Utc>,
    /// When it starts (or started) signing.
    pub activates_at: DateTime<Utc>,
    /// When its successor took or takes over.
    #[oai(nullable)]
    pub retires_at: Option<DateTime<Utc>>,
    /// When it leaves the JWKS.
    #[oai(nullable)]
    pub expires_at: Option<DateTime<Utc>>,
    /// When the key was retired, if it was.
    #[oai(nullable)]
    pub revoked_at: Option<DateTime<Utc>>,
}

fn key_status(k: &signing_key::Model, current_kid: Option<&str>, now: DateTime<Utc>) -> &'static str {
    if k.revoked_at.is_some() {
        "revoked"
    } else if k.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else if current_kid == Some(k.kid.as_str()) {
        "active"
    } else if k.activates_at > now {
        "pending"
    } else {
        "retired"
    }
}

fn key_list(rows: Vec<signing_key::Model>) -> Vec<SigningKey> {
    let now = Utc::now();
    let current = rows
        .iter()
        .filter(|k| k.revoked_at.is_none() && k.activates_at <= now && k.expires_at.is_none_or(|e| e > now))
        .max_by_key(|k| k.activates_at)
        .map(|k| k.kid.clone());
    rows.into_iter()
        .map(|k| SigningKey {
            status: key_status(&k, current.as_deref(), now).to_owned(),
            kid: k.kid,
            alg: k.alg.into(),
            created_at: k.created_at,
            activates_at: k.activates_at,
            retires_at: k.retires_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
        })
        .collect()
}

/// Signing keys of an app, newest first.
#[derive(Debug, Clone, Object)]
pub struct SigningKeyList {
    /// The keys, newest first.
    pub data: Vec<SigningKey>,
}

pub struct KeysApi;

impl KeysApi {
    async fn discovery(state: &AppState, slug: &str) -> Result<DiscoveryResponse, Errors<PublicErrors>> {
        let app = state.directory.resolve(&state.db, slug).await?;
        let issuer = state.issuer(&app.slug);
        let algorithms = state.keys.key_set(app.id).await?.algorithms(Utc::now());
        Ok(DiscoveryResponse::Ok(
            Json(OpenIdConfiguration {
                jwks_uri: format!("{issuer}/v1/.well-known/jwks.json"),
                token_endpoint: format!("{issuer}/v1/oauth/token"),
                introspection_endpoint: format!("{issuer}/v1/oauth/introspect"),
                revocation_endpoint: format!("{issuer}/v1/oauth/revoke"),
                token_endpoint_auth_methods_supported: vec!["client_secret_basic".into(), "client_secret_post".into()],
                grant_types_supported: vec!["client_credentials".into()],
                issuer,
                response_types_supported: vec!["token".into()],
                subject_types_supported: vec!["public".into()],
                id_token_signing_alg_values_supported: algorithms.iter().map(|a| a.as_str().to_owned()).collect(),
                claims_supported: [
                    "iss",
                    "aud",
                    "sub",
                    "aid",
                    "sid",
                    "role",
                    "tid",
                    "trole",
                    "type",
                    "amr",
                    "permissions",
                    "iat",
                    "exp",
                    "jti",
                ]
                .into_iter()
                .map(String::from)
                .collect(),
            }),
            "public, max-age=3600".into(),
        ))
    }
}

#[OpenApi]
impl KeysApi {
    /// App JSON Web Key Set
    ///
    /// Public keys that verify the app's tokens (RS256, ES256 or EdDSA, each key naming its
    /// `alg`). A key is published here before it signs
    /// anything and stays after retirement until its tokens have expired. Also served under a
    /// former slug for 30 days after a rename. Always a direct 200, never a redirect.
    #[oai(
        path = "/:app_slug/v1/.well-known/jwks.json",
        method = "get",
        operation_id = "jwks_get",
        tag = "ApiTags::Discovery"
    )]
    async fn jwks(
        &self,
        state: Data<&Arc<AppState>>,
        /// The app's slug (or a former slug within 30 days of a rename).
        app_slug: Path<String>,
    ) -> Result<JwksResponse, Errors<PublicErrors>> {
        let app = state.directory.resolve(&state.db, &app_slug.0).await?;
        let set = state.keys.key_set(app.id).await?;
        Ok(JwksResponse::Ok(PreSerialized::new(set.jwks.clone()), "public, max-age=3600".into()))
    }

    /// App OpenID configuration
    ///
    /// OpenID Provider metadata: the issuer, where its keys are, and its OAuth 2.0 endpoints
    /// (token, introspection, revocation).
    #[oai(
        path = "/:app_slug/v1/.well-known/openid-configuration",
        method = "get",
        operation_id = "openid_configuration_get",
        tag = "ApiTags::Discovery"
    )]
    async fn openid_configuration(
        &self,
        state: Data<&Arc<AppState>>,
        /// The app's slug.
        app_slug: Path<String>,
    ) -> Result<DiscoveryResponse, Errors<PublicErrors>> {
        Self::discovery(&state, &app_slug.0).await
    }

    /// App OpenID configuration (issuer-relative)
    ///
    /// The same document at `<issuer>/.well-known/openid-configuration`, where OpenID Connect
    /// Discovery §4 says clients configured with only the issuer URL look for it.
    #[oai(
        path = "/:app_slug/.well-known/openid-configuration",
        method = "get",
        operation_id = "openid_configuration_get_by_issuer",
        tag = "ApiTags::Discovery"
    )]
    async fn openid_configuration_by_issuer(
        &self,
        state: Data<&Arc<AppState>>,
        /// The app's slug.
        app_slug: Path<String>,
    ) -> Result<DiscoveryResponse, Errors<PublicErrors>> {
        Self::discovery(&state, &app_slug.0).await
    }

    /// List signing keys
    ///
    /// The app's signing keys with their lifecycle, newest first. Public data only.
    #[oai(
        path = "/v1/apps/:app_id/signing-keys",
        method = "get",
        operation_id = "signing_key_list",
        tag = "ApiTags::SigningKeys"
    )]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id.
        app_id: Path<Uuid>,
    ) -> Result<Json<SigningKeyList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::SIGNING_KEY_READ).await?;
        Ok(Json(SigningKeyList { data: key_list(state.keys.list(app_id.0).await?) }))
    }

    /// Rotate the signing key
    ///
    /// Publishes a new key at once; it starts signing after the publish lead (default one
    /// hour, so cached JWKS copies pick it up first), and the previous key stays published for
    /// 7 days after that. With `immediate=true` the new key signs at once and every older key
    /// is withdrawn: tokens they signed stop verifying. Use that only after a key compromise.
    /// Keys also rotate on their own every 90 days.
    #[oai(
        path = "/v1/apps/:app_id/signing-keys/rotate",
        method = "post",
        operation_id = "signing_key_rotate",
        tag = "ApiTags::SigningKeys"
    )]
    async fn rotate(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// Sign with the new key now and withdraw the old ones (compromise response).
        immediate: Query<Option<bool>>,
        /// The new key's algorithm, which the app keeps for later rotations; default: the
        /// app's current one. Tokens of the old key keep verifying through the overlap.
        alg: Query<Option<SigningAlgorithm>>,
    ) -> Result<Json<SigningKeyList>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let ctx = crate::http::context::origin(req);
        let (immediate, alg) = (immediate.0.unwrap_or(false), alg.0.map(SigningAlg::from));
        apps::rotate_key(&state, &principal, &ctx, app_id.0, immediate, alg).await?;
        Ok(Json(SigningKeyList { data: key_list(state.keys.list(app_id.0).await?) }))
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[
        ("signing_key_list", &[]),
        ("signing_key_rotate", &[RotationInProgress]),
        ("jwks_get", &[]),
        ("openid_configuration_get", &[]),
        ("openid_configuration_get_by_issuer", &[]),
    ]
};
