//! How credentials travel on HTTP: the bearer security schemes of the spec, and the thin bridge
//! from them to the access rules.

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions, SecurityScheme, auth::Bearer, registry::Registry,
};

use super::{admin, end_user, principal::AdminPrincipal};
use crate::{
    apps::AppRef,
    error::{Code, Error},
    state::AppState,
};

pub use super::end_user::SignedIn;

/// A platform API key (`pcft_live_…`) or an app API key (`hdk_live_…`) as a bearer token.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "pcft_live_… | hdk_live_…")]
pub struct AdminKey(pub Bearer);

/// An end-user access token (RS256 JWT issued by this app).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", rename = "EndUserToken")]
struct EndUserBearer(Bearer);

/// An end-user access token: the `EndUserToken` scheme of the spec, whose refusal for a missing
/// or unreadable `Authorization` header carries a `Bearer` challenge naming the app's realm
/// (RFC 6750 §3) like every other 401 of the operations it protects.
pub struct EndUserToken(pub Bearer);

impl<'a> ApiExtractor<'a> for EndUserToken {
    const TYPES: &'static [ApiExtractorType] = EndUserBearer::TYPES;

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        EndUserBearer::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        EndUserBearer::security_schemes()
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        match EndUserBearer::from_request(req, body, param_opts).await {
            Ok(EndUserBearer(bearer)) => Ok(EndUserToken(bearer)),
            Err(err) if err.status() == poem::http::StatusCode::UNAUTHORIZED => {
                // The slug as sent, the first segment of every `/{app_slug}/v1/…` route this
                // scheme protects (poem-openapi renames path parameters, so not by name); the
                // app may not exist, so only slug characters reach the header.
                let realm: String = req
                    .uri()
                    .path()
                    .split('/')
                    .nth(1)
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    .take(64)
                    .collect();
                Err(Error::unauthorized("an access token is required")
                    .with_challenge(format!("Bearer realm=\"{realm}\""))
                    .into())
            }
            Err(err) => Err(err),
        }
    }
}

/// The principal behind an admin request.
pub async fn authenticate(state: &AppState, key: &AdminKey) -> Result<AdminPrincipal, Error> {
    admin::authenticate(state, &key.0.token).await
}

/// The API-key lane of consumer routes (code minting).
pub async fn admin_for_app(
    state: &AppState,
    key: &AdminKey,
    app: &AppRef,
    permission: &str,
) -> Result<AdminPrincipal, Error> {
    admin::for_consumer_app(state, &key.0.token, app, permission).await
}

/// The signed-in end-user behind a `/me` request.
/// A refused token answers 401 with a `Bearer` challenge for the app's realm and
/// `error="invalid_token"` (RFC 6750 §3.1).
pub async fn signed_in(state: &AppState, app: &AppRef, token: &EndUserToken) -> Result<SignedIn, Error> {
    end_user::signed_in(state, app, &token.0.token).await.map_err(|err| match err.code {
        Code::Unauthorized | Code::TokenExpired | Code::SessionRevoked => {
            err.with_challenge(format!("Bearer realm=\"{}\", error=\"invalid_token\"", app.slug))
        }
        _ => err,
    })
}
