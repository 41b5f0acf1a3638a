//! The composition root of the HTTP surface: every domain's API registered in one service (built
//! without a database or socket, so `cargo xtask codegen` and `heimdall openapi` produce the
//! exact spec served at `/openapi.json`), and the routes that serve it behind the front door.
//! Domains never import this module; it imports them.

use std::sync::Arc;

use std::collections::HashMap;

use poem::{
    EndpointExt, IntoEndpoint, Request, Response, Route,
    endpoint::{BoxEndpoint, make_sync},
    http::{Method, StatusCode, header},
    web::Html,
};
use poem_openapi::{LicenseObject, OpenApi, OpenApiService};

use crate::http::spec::OperationCodes;

use crate::{
    api_keys::api::ApiKeysApi,
    apps::api::AppsApi,
    audit::api::AuditApi,
    auth_config::api::AuthConfigApi,
    authz::api::AuthzApi,
    codes::api::CodesApi,
    end_users::api::EndUsersApi,
    events::api::EventsApi,
    http::{access_log::RouteTemplates, frontdoor::FrontDoor},
    invites::api::InvitesApi,
    keys::api::KeysApi,
    m2m::api::CredentialsApi,
    me::api::MeApi,
    oauth::api::OauthApi,
    rbac::api::RbacApi,
    sessions::api::SessionsApi,
    state::AppState,
    system::SystemApi,
    tenants::api::TenantsApi,
    webhooks::api::WebhooksApi,
    workspaces::api::WorkspacesApi,
};

/// Declares the tuple of every API once, as the type the spec is built from and its value.
/// poem-openapi implements `OpenApi` for tuples of up to 16, so the APIs come in groups
/// (admin, consumer); the spec lists them in this order.
macro_rules! apis {
    ($(($($api:ident),* $(,)?)),* $(,)?) => {
        /// Every API of the server.
        pub type Apis = ($(($($api,)*),)*);

        fn apis() -> Apis {
            ($(($($api,)*),)*)
        }
    };
}

apis!(
    (
        AppsApi,
        WorkspacesApi,
        KeysApi,
        AuditApi,
        EventsApi,
        WebhooksApi,
        AuthConfigApi,
        EndUsersApi,
        InvitesApi,
        TenantsApi,
        RbacApi,
        ApiKeysApi,
        CredentialsApi,
    ),
    (SessionsApi, CodesApi, MeApi, OauthApi, AuthzApi, SystemApi),
);

const DESCRIPTION: &str = "\
Heimdall is a multi-tenant authentication and authorization service.

* **Admin API** (`/v1/...`): manage apps (tenants) and everything in them. Authenticate with \
`Authorization: Bearer pcft_live_…` (platform API key, workspace-wide) or `Bearer hdk_live_…` \
(app API key, limited to one app and its permissions).
* **Consumer API** (`/{app_slug}/v1/...`): what an app's frontends and backends call. Public operations ignore any `Authorization` header sent along; `/me` takes the end-user's access token; the code-minting operations take an API key.
* Every app has its own signing keys (RS256 by default, ES256 or EdDSA per app); tokens are JWTs with \
`iss` = `<public origin>/<slug>` and `aud` = `<slug>`, verifiable offline with the app's JWKS.

Every error is JSON `{statusCode, code, message, request_id}` with a stable snake_case `code`. \
Lists are cursor-paginated: `{data, pagination: {has_more, next_cursor}}`.";

/// The API service, ready to be mounted or to print its spec.
pub fn openapi() -> OpenApiService<Apis, ()> {
    let license = LicenseObject::new("Apache-2.0").url("https://www.apache.org/licenses/LICENSE-2.0");
    OpenApiService::new(apis(), "Heimdall", env!("CARGO_PKG_VERSION")).description(DESCRIPTION).license(license)
}

/// Every domain's table of the error codes its operations answer (see `http::spec`).
pub const ERROR_CODES: &[OperationCodes] = &[
    crate::apps::api::ERROR_CODES,
    crate::workspaces::api::ERROR_CODES,
    crate::events::api::ERROR_CODES,
    crate::webhooks::api::ERROR_CODES,
    crate::tenants::api::ERROR_CODES,
    crate::keys::api::ERROR_CODES,
    crate::audit::api::ERROR_CODES,
    crate::auth_config::api::ERROR_CODES,
    crate::end_users::api::ERROR_CODES,
    crate::invites::api::ERROR_CODES,
    crate::rbac::api::ERROR_CODES,
    crate::api_keys::api::ERROR_CODES,
    crate::m2m::api::ERROR_CODES,
    crate::sessions::api::ERROR_CODES,
    crate::codes::api::ERROR_CODES,
    crate::me::api::ERROR_CODES,
    crate::oauth::api::ERROR_CODES,
    crate::authz::api::ERROR_CODES,
    crate::system::ERROR_CODES,
];

/// The published spec: poem-openapi's output, finished by `http::spec` (each error response
/// with the codes its operation answers, explicit `security: []` on public operations, …).
pub fn spec_json() -> String {
    let raw = openapi().spec();
    let mut spec: serde_json::Value = serde_json::from_str(&raw).expect("poem-openapi emits JSON");
    crate::http::spec::finish(&mut spec, ERROR_CODES);
    let mut out = serde_json::to_string_pretty(&spec).expect("json");
    out.push('\n');
    out
}

/// The whole HTTP surface.
pub fn routes(state: Arc<AppState>) -> impl poem::Endpoint<Output = poem::Response> {
    let api = openapi();
    let docs = api.swagger_ui();
    let spec = spec_json();
    let templates = serde_json::from_str(&spec).map(|s| RouteTemplates::from_spec(&s)).unwrap_or_default();
    let pages = Route::new()
        .at(
            "/openapi.json",
            make_sync({
                let spec = spec.clone();
                move |_| poem::Response::builder().content_type("application/json").body(spec.clone())
            }),
        )
        // Where the product's SDK looks for the spec.
        .at(
            "/docs-json",
            make_sync(move |_| poem::Response::builder().content_type("application/json").body(spec.clone())),
        )
        .nest("/docs", docs)
        .at("/", make_sync(|_| Html("<a href=\"/docs\">Heimdall API docs</a>")));
    Surfaces { api: api.into_endpoint(), allow: allow_index(), pages: pages.boxed(), state: state.clone() }
        .data(state.clone())
        .with(FrontDoor {
            max_body_bytes: state.config.max_body_bytes,
            metrics: state.metrics.clone(),
            trusted_proxies: Arc::new(state.config.trusted_proxies.clone()),
            oauth: crate::http::frontdoor::OauthSurface {
                operations: &crate::oauth::api::OPERATION_IDS,
                path: crate::oauth::api::is_oauth_path,
                parameters: &crate::oauth::api::PARAMETERS,
            },
            routes: Arc::new(templates),
        })
}

/// The API and the few pages beside it (the spec, the docs UI, the root page). API requests go
/// straight to the API's router: nesting it in a second router would match every path twice
/// and rebuild its URI, a measurable share of `/authorize`.
struct Surfaces {
    api: BoxEndpoint<'static>,
    /// The API's paths, each answering with the `Allow` header of its methods.
    allow: Route,
    pages: BoxEndpoint<'static>,
    /// For the app slugs admin paths may name instead of ids.
    state: Arc<AppState>,
}

/// For the `Allow` header every 405 must carry (RFC 9110 §15.5.6): poem's router refuses a
/// method without naming the ones the path has, so a second router over the same paths (the
/// API's own route table, matched the same way) answers that question. `HEAD` is listed with
/// `GET`, which poem serves for it.
fn allow_index() -> Route {
    const ORDER: [Method; 7] =
        [Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS];
    let mut table = HashMap::new();
    apis().add_routes(&mut table);
    table.into_iter().fold(Route::new(), |route, (path, methods)| {
        let mut methods: Vec<Method> = methods.into_keys().collect();
        if methods.contains(&Method::GET) && !methods.contains(&Method::HEAD) {
            methods.push(Method::HEAD);
        }
        methods.sort_by_key(|m| ORDER.iter().position(|o| o == m).unwrap_or(ORDER.len()));
        let allow = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
        route.at(path, make_sync(move |_| Response::builder().header(header::ALLOW, allow.clone()).finish()))
    })
}

impl Surfaces {
    fn is_page(path: &str) -> bool {
        matches!(path, "/" | "/openapi.json" | "/docs-json" | "/docs") || path.starts_with("/docs/")
    }

    /// `/v1/apps/<slug>/…` as `/v1/apps/<id>/…`: admin paths accept the app's slug (or a
    /// recent former slug) where they take its id. An unknown slug becomes the nil id, which
    /// every admin operation answers with its usual 404; a failed lookup leaves the path alone.
    async fn slug_to_id(&self, req: &mut poem::Request) {
        let Some(rest) = req.uri().path().strip_prefix("/v1/apps/") else { return };
        let (segment, tail) = rest.split_once('/').unwrap_or((rest, ""));
        if segment.is_empty() || uuid::Uuid::parse_str(segment).is_ok() {
            return;
        }
        let id = match self.state.directory.resolve(&self.state.db, segment).await {
            Ok(app) => app.id,
            Err(e) if e.code == crate::error::Code::AppNotFound => uuid::Uuid::nil(),
            Err(_) => return,
        };
        let mut path = format!("/v1/apps/{id}");
        if !tail.is_empty() || rest.ends_with('/') {
            path.push('/');
            path.push_str(tail);
        }
        if let Some(query) = req.uri().query() {
            path.push('?');
            path.push_str(query);
        }
        let mut parts = req.uri().clone().into_parts();
        parts.path_and_query = path.parse().ok();
        if let Ok(uri) = poem::http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
}

impl poem::Endpoint for Surfaces {
    type Output = poem::Response;

    async fn call(&self, mut req: poem::Request) -> poem::Result<poem::Response> {
        if Self::is_page(req.uri().path()) {
            return self.pages.call(req).await;
        }
        self.slug_to_id(&mut req).await;
        let uri = req.uri().clone();
        match self.api.call(req).await {
            Err(err) if err.status() == StatusCode::METHOD_NOT_ALLOWED => {
                let mut resp = err.into_response();
                if let Ok(found) = self.allow.call(Request::builder().uri(uri).finish()).await
                    && let Some(allow) = found.headers().get(header::ALLOW)
                {
                    resp.headers_mut().insert(header::ALLOW, allow.clone());
                }
                Ok(resp)
            }
            other => other,
        }
    }
}
