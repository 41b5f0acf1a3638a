//! `sdk/src/scoped/generated.rs`: the SDK's scope wrappers (`heimdall.app(id).roles().create(..)`,
//! `heimdall.consumer(slug).me().get()`), derived from the spec so that a new operation gets its
//! wrapper with the next `cargo xtask codegen` and no wrapper can drift from the operation it
//! sends.
//!
//! Where an operation goes follows from the spec. Its path binds the app by id
//! (`/v1/apps/{app_id}/…`: under `heimdall.app(id)`), by slug (`/{app_slug}/…`: under
//! `heimdall.consumer(slug)`) or not at all (`heimdall.apps()`), and its tag picks the scope in
//! [`SCOPES`]. The method is the operation id without the scope's noun (`role_create` →
//! `roles().create`). What it takes follows from the operation too: the path parameters the scope
//! does not bind, then the required query parameters, then the body (its type or its builder);
//! a list (`limit` and `cursor` in the query) takes `ListParams` or, when it has filters, a
//! generated `…ListParams` struct around one, and gets a `stream` twin; an operation with an
//! optional `Idempotency-Key` header gets a `…_idempotent` twin. Optional query parameters of
//! other operations (`signing_key_rotate`'s `immediate`) stay on the generated builders.
//!
//! [`PLACEMENTS`] lists the operations that differ from those rules, each with its reason;
//! convenience shapes no rule yields (`signin(identifier, password)`) are written by hand in
//! `sdk/src/scoped/extras.rs`. An operation that fits no scope and is not listed fails
//! generation, so none is forgotten.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, anyhow, bail};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use serde_json::Value;

use super::METHODS;

/// Where the scope wrappers are committed, relative to the workspace root.
pub(super) const PATH: &str = "sdk/src/scoped/generated.rs";

/// Files whose hand-written wrappers reach the operations placed [`Placement::HandWritten`]; the
/// reachability test reads them.
#[cfg(test)]
const HAND_WRITTEN: [&str; 2] = ["sdk/src/scoped/extras.rs", "sdk/src/client.rs"];

/// What an operation's path binds, and so which family of scopes it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binding {
    /// Nothing: workspace-level (`heimdall.apps()`).
    Workspace,
    /// `{app_id}`: administration of one app (`heimdall.app(id)`).
    AppId,
    /// `{app_slug}`: the consumer surface of one app (`heimdall.consumer(slug)`).
    AppSlug,
}

/// One scope type. The root scopes of each binding (`AppsScope`, `AppScope`, `ConsumerScope`)
/// are written by hand in `sdk/src/scoped/mod.rs`; the others are generated with an accessor on
/// their root.
struct Scope {
    /// The Rust type.
    name: &'static str,
    binding: Binding,
    /// The tag of the operations it holds.
    tag: &'static str,
    /// The prefix of those operations' ids, which their method names drop.
    noun: &'static str,
    /// For a sub-scope, its accessor on the root scope and the doc of both.
    sub: Option<(&'static str, &'static str)>,
}

const SCOPES: &[Scope] = &[
    Scope { name: "AppsScope", binding: Binding::Workspace, tag: "Apps", noun: "app_", sub: None },
    Scope { name: "AppScope", binding: Binding::AppId, tag: "Apps", noun: "app_", sub: None },
    Scope { name: "WorkspacesScope", binding: Binding::Workspace, tag: "Workspaces", noun: "workspace_", sub: None },
    Scope {
        name: "PlatformKeysScope",
        binding: Binding::Workspace,
        tag: "PlatformKeys",
        noun: "platform_key_",
        sub: None,
    },
    Scope {
        name: "AuthConfigScope",
        binding: Binding::AppId,
        tag: "AuthConfig",
        noun: "auth_config_",
        sub: Some(("auth_config", "The app's authentication settings (sign-up, passwords, sessions, providers).")),
    },
    Scope {
        name: "InvitesScope",
        binding: Binding::AppId,
        tag: "Invites",
        noun: "invite_",
        sub: Some(("invites", "Invitations of new end-users.")),
    },
    Scope {
        name: "TenantsScope",
        binding: Binding::AppId,
        tag: "Tenants",
        noun: "tenant_",
        sub: Some(("tenants", "Organizations (tenants) inside the app and their members.")),
    },
    Scope {
        name: "MembersScope",
        binding: Binding::AppId,
        tag: "Members",
        noun: "member_",
        sub: Some(("members", "Role holders of the app.")),
    },
    Scope {
        name: "EndUsersScope",
        binding: Binding::AppId,
        tag: "EndUsers",
        noun: "end_user_",
        sub: Some(("end_users", "The app's end-users.")),
    },
    Scope {
        name: "RolesScope",
        binding: Binding::AppId,
        tag: "Roles",
        noun: "role_",
        sub: Some(("roles", "Roles and their permissions.")),
    },
    Scope {
        name: "PermissionsScope",
        binding: Binding::AppId,
        tag: "Permissions",
        noun: "permission_",
        sub: Some(("permissions", "The app's permission catalogue.")),
    },
    Scope {
        name: "ApiKeysScope",
        binding: Binding::AppId,
        tag: "ApiKeys",
        noun: "api_key_",
        sub: Some(("api_keys", "App API keys (`hdk_live_…`).")),
    },
    Scope {
        name: "CredentialsScope",
        binding: Binding::AppId,
        tag: "Credentials",
        noun: "credential_",
        sub: Some(("credentials", "M2M (client credentials) clients.")),
    },
    Scope {
        name: "AuditLogsScope",
        binding: Binding::AppId,
        tag: "AuditLogs",
        noun: "audit_log_",
        sub: Some(("audit_logs", "The app's audit log.")),
    },
    Scope {
        name: "EventsScope",
        binding: Binding::AppId,
        tag: "Events",
        noun: "event_",
        sub: Some(("events", "The app's change feed (CloudEvents, in order, resumable by `seq`).")),
    },
    Scope {
        name: "WebhooksScope",
        binding: Binding::AppId,
        tag: "Webhooks",
        noun: "webhook_",
        sub: Some(("webhooks", "The app's webhook endpoints and their delivery logs.")),
    },
    Scope {
        name: "SigningKeysScope",
        binding: Binding::AppId,
        tag: "SigningKeys",
        noun: "signing_key_",
        sub: Some(("signing_keys", "The app's token signing keys.")),
    },
    Scope { name: "ConsumerScope", binding: Binding::AppSlug, tag: "Discovery", noun: "", sub: None },
    Scope {
        name: "ConsumerAuthScope",
        binding: Binding::AppSlug,
        tag: "Auth",
        noun: "auth_",
        sub: Some(("auth", "Sign-up, sign-in, refresh, logout, codes and invites.")),
    },
    Scope {
        name: "MeScope",
        binding: Binding::AppSlug,
        tag: "Me",
        noun: "me_",
        sub: Some((
            "me",
            "The signed-in end-user; needs an instance whose credential is their access token \
             ([`Heimdall::with_credential`](crate::Heimdall::with_credential)).",
        )),
    },
    Scope {
        name: "OAuthScope",
        binding: Binding::AppSlug,
        tag: "OAuth",
        noun: "oauth_",
        sub: Some(("oauth", "OAuth 2.0: client credentials, introspection, revocation.")),
    },
    Scope {
        name: "AuthzScope",
        binding: Binding::AppSlug,
        tag: "Authorization",
        noun: "token_",
        sub: Some(("authz", "Server-side token checks: `/verify`, `/authorize`, forward-auth.")),
    },
];

/// How an operation departs from the default rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// In its scope under another name than its id without the scope's noun.
    Named(&'static str),
    /// The body's fields (all required, in the schema's order) are the method's arguments, for
    /// bodies that are just a value or two (`roles().assign(account_id, role)`).
    FieldsAsArguments,
    /// A list whose method takes its `…ListParams` struct itself rather than `impl Into` of it.
    FiltersByValue,
    /// No generated method: a hand-written wrapper in `sdk/src/scoped/extras.rs` or
    /// `sdk/src/client.rs` reaches it (the text says which and why).
    HandWritten(&'static str),
    /// In no scope: only the generated client (`heimdall.client()`) reaches it (the text says
    /// why).
    Excluded(&'static str),
}

/// The operations that do not follow the default rules, and why.
const PLACEMENTS: &[(&str, Placement)] = &[
    // Names that read better than the operation id (or whose id has no scope noun).
    ("permission_catalog_get", Placement::Named("permission_catalog")),
    ("me_session_list", Placement::Named("sessions")),
    ("me_session_revoke", Placement::Named("revoke_session")),
    ("me_activity_list", Placement::Named("activity")),
    ("me_tenant_list", Placement::Named("tenants")),
    ("me_tenant_join", Placement::Named("join_tenant")),
    ("oauth_token_issue", Placement::Named("token")),
    ("forward_auth_check", Placement::Named("forward_auth")),
    ("jwks_get", Placement::Named("jwks")),
    ("openid_configuration_get", Placement::Named("openid_configuration")),
    // `signin(identifier, password)` is the hand-written everyday form (extras.rs).
    ("auth_signin", Placement::Named("signin_with")),
    // Bodies that are only the value(s) the call is about.
    ("app_update_status", Placement::FieldsAsArguments),
    ("end_user_update_role", Placement::FieldsAsArguments),
    ("end_user_update_status", Placement::FieldsAsArguments),
    ("role_assign", Placement::FieldsAsArguments),
    ("role_set_permissions", Placement::FieldsAsArguments),
    ("credential_set_scopes", Placement::FieldsAsArguments),
    ("auth_refresh", Placement::FieldsAsArguments),
    ("auth_logout", Placement::FieldsAsArguments),
    ("auth_reset_password", Placement::FieldsAsArguments),
    ("auth_send_verification_email", Placement::FieldsAsArguments),
    ("auth_verify_contact", Placement::FieldsAsArguments),
    // `apps().list(Default::default())` must infer the parameter type.
    ("app_list", Placement::FiltersByValue),
    (
        "token_verify",
        Placement::HandWritten(
            "`authz().verify(token)`: the body's `token` is optional on the wire (it may come from the \
             Authorization header instead), but the wrapper always sends it",
        ),
    ),
    (
        "token_authorize",
        Placement::HandWritten(
            "`authz().authorize(token, permission)` and `authorize_all(token, permissions)`: the body \
             takes `permission` or `permissions`, and each wrapper fills exactly one",
        ),
    ),
    (
        "webhook_attempt_list",
        Placement::Excluded(
            "a list with a path argument (the endpoint), which the generator has no shape for; the \
             generated client's `webhook_attempt_list()` reaches it until a wrapper is written",
        ),
    ),
    (
        "tenant_member_list",
        Placement::HandWritten(
            "`tenants().members(tenant_id, page)` in extras.rs: a list with a path argument, which the \
             generator has no shape for",
        ),
    ),
    (
        "tenant_list_for_user",
        Placement::HandWritten(
            "`tenants().list_for_user(user_id, page)` in extras.rs: a list with a path argument, which the \
             generator has no shape for",
        ),
    ),
    (
        "stats_get",
        Placement::HandWritten("`Heimdall::stats(workspace_id)` in client.rs: one workspace-level read, no scope"),
    ),
    (
        "token_authorize_any_app",
        Placement::Excluded(
            "it binds no app: the app comes from the token's `aud`, so it fits neither `app(id)` nor \
             `consumer(slug)`, whose calls are all about the app they name",
        ),
    ),
    (
        "openid_configuration_get_by_issuer",
        Placement::Excluded(
            "the same document as `openid_configuration_get` (`consumer(slug).openid_configuration()`), \
             served again at the issuer-relative path OpenID Connect Discovery clients look for",
        ),
    ),
    (
        "liveness_check",
        Placement::Excluded("an operator's probe for orchestrators and load balancers, not an application call"),
    ),
    (
        "readiness_check",
        Placement::Excluded("an operator's probe for orchestrators and load balancers, not an application call"),
    ),
    ("metrics_get", Placement::Excluded("Prometheus text for a scraper, not an application call")),
];

/// The placement of `operation_id`, if it departs from the default rules.
fn placement(operation_id: &str) -> Option<Placement> {
    PLACEMENTS.iter().find(|(id, _)| *id == operation_id).map(|(_, placement)| *placement)
}

/// One operation of the spec, as the generator needs it.
struct Operation<'a> {
    id: &'a str,
    method: &'a str,
    path: &'a str,
    tag: &'a str,
    op: &'a Value,
}

impl Operation<'_> {
    fn binding(&self) -> Binding {
        if self.path.contains("{app_id}") {
            Binding::AppId
        } else if self.path.contains("{app_slug}") {
            Binding::AppSlug
        } else {
            Binding::Workspace
        }
    }

    /// `role_create (POST /v1/apps/{app_id}/roles)`, for error messages.
    fn describe(&self) -> String {
        format!("{} ({} {})", self.id, self.method.to_uppercase(), self.path)
    }

    fn parameters(&self) -> impl Iterator<Item = &Value> {
        self.op.get("parameters").and_then(Value::as_array).into_iter().flatten()
    }

    fn parameter(&self, location: &str, name: &str) -> Option<&Value> {
        self.parameters().find(|p| p["in"] == location && p["name"] == name)
    }
}

/// The generated file, for `spec` (the copy progenitor was given, so builder and spec agree).
pub(super) fn generate(spec: &Value, banner: &str) -> Result<String> {
    let generator = Generator::new(spec)?;
    let file = generator.file()?;
    let syntax: syn::File = syn::parse2(file).context("the scope generator emitted code syn cannot parse")?;
    // As for the client: blank lines between items, so the file reads (and diffs) like
    // hand-written code.
    let code = progenitor_impl::space_out_items(prettyplease::unparse(&syntax))
        .context("cannot space out the generated scope items")?;
    Ok(format!("{banner}\n{code}"))
}

/// The spec and its operations, in spec order.
struct Generator<'a> {
    spec: &'a Value,
    operations: Vec<Operation<'a>>,
}

/// Items the wrappers need outside their scopes, emitted once after them: the filter structs of
/// lists, and the list answers to implement `Page` for (by name, with their item's name).
#[derive(Default)]
struct Shared {
    filters: Vec<TokenStream>,
    pages: BTreeMap<String, String>,
}

/// The methods of one scope, in spec order, and their names (which must not repeat).
#[derive(Default)]
struct ScopeCode {
    methods: Vec<TokenStream>,
    names: BTreeSet<String>,
}

impl<'a> Generator<'a> {
    fn new(spec: &'a Value) -> Result<Self> {
        let paths = spec.get("paths").and_then(Value::as_object).context("the spec has no paths")?;
        let mut operations = Vec::new();
        for (path, item) in paths {
            let Some(item) = item.as_object() else { continue };
            for (method, op) in item.iter().filter(|(method, _)| METHODS.contains(&method.as_str())) {
                let id = op.get("operationId").and_then(Value::as_str);
                let id = id.with_context(|| format!("{} {path} has no operationId", method.to_uppercase()))?;
                let tag = op.pointer("/tags/0").and_then(Value::as_str).unwrap_or("");
                operations.push(Operation { id, method, path, tag, op });
            }
        }
        for (id, _) in PLACEMENTS {
            if !operations.iter().any(|op| op.id == *id) {
                bail!("PLACEMENTS in {} names `{id}`, which the spec does not have", file!());
            }
        }
        Ok(Generator { spec, operations })
    }

    /// The whole file: each scope's type, accessor and methods in [`SCOPES`] order, then the
    /// list filters and `Page` impls.
    fn file(&self) -> Result<TokenStream> {
        let mut scopes: BTreeMap<&str, ScopeCode> = BTreeMap::new();
        let mut shared = Shared::default();
        for op in &self.operations {
            let placement = placement(op.id);
            if matches!(placement, Some(Placement::HandWritten(_) | Placement::Excluded(_))) {
                continue;
            }
            let scope = SCOPES.iter().find(|s| s.binding == op.binding() && s.tag == op.tag).with_context(|| {
                format!(
                    "{} (tag `{}`) belongs to no scope: add one to SCOPES in {}, or place the \
                     operation in PLACEMENTS there",
                    op.describe(),
                    op.tag,
                    file!()
                )
            })?;
            let name = match placement {
                Some(Placement::Named(name)) => name.to_owned(),
                _ => op.id.strip_prefix(scope.noun).map(str::to_owned).with_context(|| {
                    format!(
                        "{} does not start with `{}`, the noun of {}: name its method in PLACEMENTS in {}",
                        op.describe(),
                        scope.noun,
                        scope.name,
                        file!()
                    )
                })?,
            };
            let code = scopes.entry(scope.name).or_default();
            for (method_name, method) in self.methods(op, scope, &name, placement, &mut shared)? {
                if !code.names.insert(method_name.clone()) {
                    bail!(
                        "{} would be a second `{}::{method_name}`: rename one in PLACEMENTS",
                        op.describe(),
                        scope.name
                    );
                }
                code.methods.push(method);
            }
        }

        let mut items = Vec::new();
        for scope in SCOPES {
            let code = scopes.remove(scope.name).unwrap_or_default();
            if code.methods.is_empty() {
                bail!("{} holds no operation (tag `{}`): remove it from SCOPES in {}", scope.name, scope.tag, file!());
            }
            items.push(scope_items(scope, code.methods));
        }
        let filters = &shared.filters;
        let page_impls = shared.pages.iter().map(|(list, item)| {
            let (list, item) = (format_ident!("{list}"), format_ident!("{item}"));
            quote! {
                impl crate::paginate::Page for crate::types::#list {
                    type Item = crate::types::#item;

                    fn pagination(&self) -> &crate::types::Pagination {
                        &self.pagination
                    }

                    fn into_items(self) -> Vec<Self::Item> {
                        self.data
                    }
                }
            }
        });
        let module_doc = doc_lines(
            "The scope wrappers, generated from `openapi.json` by `cargo xtask codegen`\n\
             (`xtask/src/codegen/scopes.rs`); `cargo xtask check` fails when this file drifts from the\n\
             spec. Change the spec or the generator, never this file; hand-written wrappers are in\n\
             `extras.rs`.",
        );
        let module_doc = module_doc.iter().map(|line| quote!(#![doc = #line]));
        Ok(quote! {
            #(#module_doc)*

            use crate::prelude::*;

            #(#items)*
            #(#filters)*
            #(#page_impls)*
        })
    }

    /// The method(s) wrapping `op` in `scope` as `name`, with their names. What they need
    /// outside their scope goes to `shared`.
    fn methods(
        &self,
        op: &Operation<'_>,
        scope: &Scope,
        name: &str,
        placement: Option<Placement>,
        shared: &mut Shared,
    ) -> Result<Vec<(String, TokenStream)>> {
        let call = self.call(op, scope, placement)?;
        let is_list = op.parameter("query", "limit").is_some() && op.parameter("query", "cursor").is_some();
        if is_list {
            self.list_methods(op, scope, name, placement, call, shared)
        } else {
            Ok(call_methods(op, name, call))
        }
    }

    /// What the wrappers of `op` share: the request up to `send`, with the scope's binding, the
    /// path parameters it does not bind (in path order), the required and repeatable query
    /// parameters and the body, each fed by an argument.
    fn call(&self, op: &Operation<'_>, scope: &Scope, placement: Option<Placement>) -> Result<Call> {
        let access = Access::of(scope);
        let client = &access.client;
        let op_ident = format_ident!("{}", op.id);
        let mut request = quote!(#client.#op_ident());
        if let Some(bind) = &access.bind {
            request = quote!(#request #bind);
        }

        let mut args = Vec::new();
        let mut generics = Vec::new();
        let mut path_params: Vec<&Value> = op
            .parameters()
            .filter(|p| p["in"] == "path" && !matches!(p["name"].as_str(), Some("app_id" | "app_slug")))
            .collect();
        path_params.sort_by_key(|p| op.path.find(&format!("{{{}}}", p["name"].as_str().unwrap_or(""))));
        let query_params = op.parameters().filter(|p| p["in"] == "query" && takes_query(p));
        for param in path_params.into_iter().map(|p| (p, true)).chain(query_params.map(|p| (p, false))) {
            let (param, in_path) = param;
            let (arg, ty, value) = argument(op, param_name(param)?, &param["schema"], in_path, &mut generics)?;
            args.push(quote!(#arg: #ty));
            let setter = setter(param_name(param)?);
            request = quote!(#request.#setter(#value));
        }
        if let Some(param) = op.parameters().find(|p| p["in"] == "header" && p["required"] == true) {
            bail!("{} requires the header `{}`, which the generator cannot supply", op.describe(), param["name"]);
        }

        let mut body_setup = quote!();
        match (self.body_schema(op)?, placement) {
            (Some(schema), Some(Placement::FieldsAsArguments)) => {
                let (fields, builder) = self.body_fields(op, schema, &mut generics)?;
                args.extend(fields);
                body_setup = quote!(let body = #builder;);
                request = quote!(#request.body(body));
            }
            (Some(schema), _) => {
                let ty = format_ident!("{schema}");
                args.push(quote!(body: impl TryInto<crate::types::#ty, Error: std::fmt::Display>));
                request = quote!(#request.body(body));
            }
            (None, Some(Placement::FieldsAsArguments)) => bail!("{} has no body to take apart", op.describe()),
            (None, _) => {}
        }

        let generics = if generics.is_empty() { quote!() } else { quote!(<#(#generics: Into<String>),*>) };
        Ok(Call { request, args, generics, body_setup, output: self.output(op)?, doc: operation_doc(op) })
    }

    /// `list` (one page) and `stream` (every item) for a list operation. A plain list takes
    /// `page: ListParams`; one with query filters takes `params`, a generated struct of the
    /// filters around a `ListParams`.
    fn list_methods(
        &self,
        op: &Operation<'_>,
        scope: &Scope,
        name: &str,
        placement: Option<Placement>,
        call: Call,
        shared: &mut Shared,
    ) -> Result<Vec<(String, TokenStream)>> {
        if !call.args.is_empty() {
            bail!("{} is a list with arguments; the generator has no shape for it", op.describe());
        }
        let item = self.list_item(op, &call.output.schema)?;
        shared.pages.insert(call.output.schema.clone(), item.clone());
        let filter_params: Vec<&Value> = op
            .parameters()
            .filter(|p| p["in"] == "query" && !matches!(p["name"].as_str(), Some("limit" | "cursor")))
            .collect();
        let (arg, arg_ty, into, page) = if filter_params.is_empty() {
            (format_ident!("page"), quote!(super::ListParams), false, quote!(page))
        } else {
            let struct_name = format!("{}Params", pascal(op.id));
            shared.filters.push(filter_struct(op, &struct_name, scope.name, name, &filter_params)?);
            let ty = format_ident!("{struct_name}");
            let by_value = placement == Some(Placement::FiltersByValue);
            let arg_ty = if by_value { quote!(#ty) } else { quote!(impl Into<#ty>) };
            (format_ident!("params"), arg_ty, !by_value, quote!(params.page))
        };
        let into_line = if into { quote!(let params = params.into();) } else { quote!() };
        let start = if into { quote!(#arg.into()) } else { quote!(#arg) };
        let mut filters_applied = Vec::new();
        for param in &filter_params {
            let field = format_ident!("{}", rust_name(param_name(param)?));
            let setter = setter(param_name(param)?);
            filters_applied.push(quote! {
                if let Some(#field) = params.#field {
                    request = request.#setter(#field);
                }
            });
        }

        let Call { request, output, mut doc, .. } = call;
        let output_ty = &output.ty;
        let method = format_ident!("{name}");
        let stream = stream_name(name);
        doc.push(String::new());
        doc.push(format!("One page; [`{stream}`](Self::{stream}) yields every item."));
        let list_doc = doc_attrs(&doc);
        let list = quote! {
            #(#list_doc)*
            pub async fn #method(&self, #arg: #arg_ty) -> crate::Result<#output_ty> {
                #into_line
                let mut request = #request;
                if let Some(limit) = #page.limit {
                    request = request.limit(limit);
                }
                if let Some(cursor) = #page.cursor {
                    request = request.cursor(cursor);
                }
                #(#filters_applied)*
                super::ok(request.send().await)
            }
        };
        let stream_doc = doc_attrs(&[
            format!("Every item of [`{name}`](Self::{name}), page after page, from the given cursor on."),
            String::new(),
            format!("Pages through `{}` (`{}`).", endpoint(op), op.id),
        ]);
        let stream_ident = format_ident!("{stream}");
        let item_ty = format_ident!("{item}");
        let stream_method = quote! {
            #(#stream_doc)*
            pub fn #stream_ident(
                &self,
                #arg: #arg_ty,
            ) -> impl futures::Stream<Item = crate::Result<crate::types::#item_ty>> + Send + 'static {
                super::stream_pages(self, #start, |scope, params| async move { scope.#method(params).await })
            }
        };
        Ok(vec![(name.to_owned(), list), (stream, stream_method)])
    }

    /// The name of the body's schema, if the operation takes one.
    fn body_schema(&self, op: &Operation<'_>) -> Result<Option<String>> {
        let Some(content) = op.op.pointer("/requestBody/content").and_then(Value::as_object) else {
            return Ok(None);
        };
        let [(_, media)] = content.iter().collect::<Vec<_>>()[..] else {
            bail!("{} takes several body types; narrow it in spec_for_progenitor", op.describe());
        };
        schema_ref(&media["schema"])
            .map(Some)
            .with_context(|| format!("{}: the body is not a named schema", op.describe()))
    }

    /// The arguments and the builder expression of a body taken apart.
    fn body_fields(
        &self,
        op: &Operation<'_>,
        schema: String,
        generics: &mut Vec<Ident>,
    ) -> Result<(Vec<TokenStream>, TokenStream)> {
        let definition = self.schema(&schema)?;
        let properties = definition.get("properties").and_then(Value::as_object);
        let required: Vec<&str> = definition
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let properties = properties.with_context(|| format!("{}: {schema} has no properties", op.describe()))?;
        if properties.keys().any(|key| !required.contains(&key.as_str())) {
            bail!("{}: {schema} has optional fields, so its fields cannot all be arguments", op.describe());
        }
        let ty = format_ident!("{schema}");
        let mut builder = quote!(crate::types::#ty::builder());
        let mut args = Vec::new();
        for field in required {
            let (arg, arg_ty, value) = argument(op, field, &properties[field], false, generics)?;
            args.push(quote!(#arg: #arg_ty));
            let setter = setter(field);
            builder = quote!(#builder.#setter(#value));
        }
        Ok((args, builder))
    }

    fn schema(&self, name: &str) -> Result<&Value> {
        self.spec.pointer(&format!("/components/schemas/{name}")).with_context(|| format!("no schema {name}"))
    }

    /// The success type: a named schema, an array of one, or nothing.
    fn output(&self, op: &Operation<'_>) -> Result<Output> {
        let responses = op.op.get("responses").and_then(Value::as_object).context("no responses")?;
        let (_, success) = responses
            .iter()
            .find(|(status, _)| status.starts_with('2'))
            .with_context(|| format!("{} has no success response", op.describe()))?;
        let Some(content) = success.get("content").and_then(Value::as_object) else {
            return Ok(Output { ty: quote!(()), schema: String::new() });
        };
        let schema = &content.values().next().context("empty content")?["schema"];
        if let Some(name) = schema_ref(schema) {
            let ident = format_ident!("{name}");
            return Ok(Output { ty: quote!(crate::types::#ident), schema: name });
        }
        if schema["type"] == "array"
            && let Some(name) = schema_ref(&schema["items"])
        {
            let ident = format_ident!("{name}");
            return Ok(Output { ty: quote!(Vec<crate::types::#ident>), schema: String::new() });
        }
        bail!("{} answers a shape the generator has no type for: {schema}", op.describe())
    }

    /// The item type of a list answer: the schema of its `data` array.
    fn list_item(&self, op: &Operation<'_>, list: &str) -> Result<String> {
        let definition = self.schema(list)?;
        if definition.pointer("/properties/pagination").is_none() {
            bail!("{}: {list} has no `pagination`, so it cannot be paged", op.describe());
        }
        definition
            .pointer("/properties/data/items")
            .and_then(schema_ref)
            .with_context(|| format!("{}: {list} has no `data` array of a named schema", op.describe()))
    }
}

/// What the wrappers of one operation share (see [`Generator::call`]).
struct Call {
    request: TokenStream,
    args: Vec<TokenStream>,
    generics: TokenStream,
    body_setup: TokenStream,
    output: Output,
    doc: Vec<String>,
}

/// The wrapper of an operation that is not a list, and its `…_idempotent` twin when the
/// operation takes an optional `Idempotency-Key`.
fn call_methods(op: &Operation<'_>, name: &str, call: Call) -> Vec<(String, TokenStream)> {
    let Call { request, args, generics, body_setup, output, mut doc } = call;
    // Optional parameters the wrapper does not take, so its doc does not promise them.
    let left_out: Vec<String> = op
        .parameters()
        .filter(|p| p["required"] != true && p["in"] != "path" && p["name"] != "Idempotency-Key" && !takes_query(p))
        .filter_map(|p| Some(format!("`{}`", p["name"].as_str()?)))
        .collect();
    if !left_out.is_empty() {
        doc.push(String::new());
        doc.push(format!(
            "Not taken here: {}; set it on the generated builder,\n`heimdall.client().{}()`.",
            left_out.join(", "),
            op.id
        ));
    }
    let output_ty = &output.ty;
    let method = format_ident!("{name}");
    let method_doc = doc_attrs(&doc);
    let mut methods = vec![(
        name.to_owned(),
        quote! {
            #(#method_doc)*
            pub async fn #method #generics(&self, #(#args),*) -> crate::Result<#output_ty> {
                #body_setup
                super::ok(#request.send().await)
            }
        },
    )];
    if op.parameter("header", "Idempotency-Key").is_some() {
        let idempotent = format_ident!("{name}_idempotent");
        let doc = doc_attrs(&[
            format!(
                "Like [`{name}`](Self::{name}), with an `Idempotency-Key`: a retry with the same key \
                 and body\nanswers like the first call instead of acting twice."
            ),
            String::new(),
            format!("Sends `{}` (`{}`) with an `Idempotency-Key` header.", endpoint(op), op.id),
        ]);
        methods.push((
            format!("{name}_idempotent"),
            quote! {
                #(#doc)*
                pub async fn #idempotent #generics(
                    &self,
                    #(#args,)*
                    idempotency_key: impl Into<String>,
                ) -> crate::Result<#output_ty> {
                    #body_setup
                    super::ok(#request.idempotency_key(idempotency_key.into()).send().await)
                }
            },
        ));
    }
    methods
}

/// The success type of an operation, and its schema's name when it is a named schema.
struct Output {
    ty: TokenStream,
    schema: String,
}

/// How a scope reaches the client and the app it binds.
struct Access {
    client: TokenStream,
    bind: Option<TokenStream>,
}

impl Access {
    fn of(scope: &Scope) -> Access {
        let root = match (scope.binding, scope.sub) {
            (_, None) => quote!(self),
            (Binding::AppId, Some(_)) => quote!(self.app),
            (Binding::AppSlug, Some(_)) => quote!(self.consumer),
            (Binding::Workspace, Some(_)) => unreachable!("workspace sub-scopes have no root to hold"),
        };
        let bind = match scope.binding {
            Binding::Workspace => None,
            Binding::AppId => Some(quote!(.app_id(#root.app_id))),
            Binding::AppSlug => Some(quote!(.app_slug(#root.slug.as_str()))),
        };
        Access { client: quote!(#root.heimdall.client()), bind }
    }
}

/// The type, accessor and methods of one scope.
fn scope_items(scope: &Scope, methods: Vec<TokenStream>) -> TokenStream {
    let name = format_ident!("{}", scope.name);
    let Some((accessor, doc)) = scope.sub else {
        return quote! {
            impl super::#name {
                #(#methods)*
            }
        };
    };
    let (root, field) = match scope.binding {
        Binding::AppId => (format_ident!("AppScope"), format_ident!("app")),
        Binding::AppSlug => (format_ident!("ConsumerScope"), format_ident!("consumer")),
        Binding::Workspace => unreachable!("workspace sub-scopes have no root to hold"),
    };
    let doc = doc_attrs(&[doc.to_owned()]);
    let accessor = format_ident!("{accessor}");
    quote! {
        #(#doc)*
        #[derive(Debug, Clone)]
        pub struct #name {
            pub(super) #field: super::#root,
        }

        impl super::#root {
            #(#doc)*
            pub fn #accessor(&self) -> #name {
                #name { #field: self.clone() }
            }
        }

        impl #name {
            #(#methods)*
        }
    }
}

/// The filters-and-paging struct of a list with query filters.
fn filter_struct(op: &Operation<'_>, name: &str, scope: &str, method: &str, params: &[&Value]) -> Result<TokenStream> {
    let ident = format_ident!("{name}");
    let mut fields = Vec::new();
    for param in params {
        if param["required"] == true {
            bail!(
                "{}: the filter `{}` is required; the generator only has optional filters",
                op.describe(),
                param["name"]
            );
        }
        let field = format_ident!("{}", rust_name(param_name(param)?));
        let ty = filter_type(op, &param["schema"])?;
        let doc = param
            .get("description")
            .and_then(Value::as_str)
            .map_or_else(|| format!("Only items matching `{}`.", param["name"].as_str().unwrap_or("")), str::to_owned);
        let doc = doc_attrs(&[doc]);
        fields.push(quote! {
            #(#doc)*
            pub #field: Option<#ty>,
        });
    }
    let doc = doc_attrs(&[format!("Filters and paging of [`{scope}::{method}`](super::{scope}::{method}).")]);
    Ok(quote! {
        #(#doc)*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct #ident {
            /// Paging.
            pub page: super::ListParams,
            #(#fields)*
        }

        impl From<super::ListParams> for #ident {
            fn from(page: super::ListParams) -> Self {
                #ident { page, ..Default::default() }
            }
        }

        impl super::Paging for #ident {
            fn page_mut(&mut self) -> &mut super::ListParams {
                &mut self.page
            }
        }
    })
}

/// The field type of a query filter.
fn filter_type(op: &Operation<'_>, schema: &Value) -> Result<TokenStream> {
    if let Some(name) = schema_ref(schema) {
        let ident = format_ident!("{name}");
        return Ok(quote!(crate::types::#ident));
    }
    Ok(match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("string"), Some("uuid")) => quote!(uuid::Uuid),
        (Some("string"), _) => quote!(String),
        (Some("boolean"), _) => quote!(bool),
        (Some("integer"), Some("uint32")) => quote!(u32),
        _ => bail!("{}: no filter type for the schema {schema}", op.describe()),
    })
}

/// A method argument for a parameter or body field: its name, type and the value handed to the
/// generated builder. Strings in the path are borrowed (`&str`); elsewhere they are `impl
/// Into<String>`, and string arrays any iterable of such.
fn argument(
    op: &Operation<'_>,
    name: &str,
    schema: &Value,
    in_path: bool,
    generics: &mut Vec<Ident>,
) -> Result<(Ident, TokenStream, TokenStream)> {
    let arg = format_ident!("{}", rust_name(name));
    if let Some(name) = schema_ref(schema) {
        let ident = format_ident!("{name}");
        return Ok((arg.clone(), quote!(crate::types::#ident), quote!(#arg)));
    }
    let (ty, value) = match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("string"), Some("uuid")) => (quote!(uuid::Uuid), quote!(#arg)),
        (Some("string"), _) if in_path => (quote!(&str), quote!(#arg)),
        (Some("string"), _) => (quote!(impl Into<String>), quote!(#arg.into())),
        (Some("boolean"), _) => (quote!(bool), quote!(#arg)),
        (Some("array"), _) if schema["items"]["type"] == "string" && schema["items"].get("format").is_none() => {
            let generic = format_ident!("{}", ["P", "Q", "R"].get(generics.len()).context("too many list arguments")?);
            generics.push(generic.clone());
            (
                quote!(impl IntoIterator<Item = #generic>),
                quote!(#arg.into_iter().map(Into::into).collect::<Vec<String>>()),
            )
        }
        _ => bail!("{}: no argument type for `{name}` with the schema {schema}", op.describe()),
    };
    Ok((arg, ty, value))
}

/// Whether a wrapper takes the query parameter as an argument: a required one, or a repeatable
/// one (an array), where an empty list means "none" and so needs no `Option`.
fn takes_query(param: &Value) -> bool {
    param["in"] == "query" && (param["required"] == true || param["schema"]["type"] == "array")
}

/// The `$ref`'d schema name of `schema`, also through a one-element `allOf` (how poem-openapi
/// attaches a description to a reference).
fn schema_ref(schema: &Value) -> Option<String> {
    let reference =
        schema.get("$ref").or_else(|| schema.get("allOf")?.as_array()?.iter().find_map(|s| s.get("$ref")))?.as_str()?;
    reference.strip_prefix("#/components/schemas/").map(str::to_owned)
}

fn param_name(param: &Value) -> Result<&str> {
    param["name"].as_str().ok_or_else(|| anyhow!("a parameter without a name: {param}"))
}

/// The builder method progenitor generates for a parameter or field name.
fn setter(name: &str) -> Ident {
    format_ident!("{}", rust_name(name))
}

/// A spec name as a Rust identifier, as progenitor spells it: `Idempotency-Key` → `idempotency_key`.
fn rust_name(name: &str) -> String {
    let snake = name.replace('-', "_").to_lowercase();
    if matches!(snake.as_str(), "type" | "ref" | "self" | "match" | "use" | "mod" | "fn" | "struct") {
        format!("{snake}_")
    } else {
        snake
    }
}

/// `end_user_list` → `EndUserList`.
fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

/// The stream twin of a list method: `list` → `stream`, `sessions` → `stream_sessions`.
fn stream_name(list: &str) -> String {
    if list == "list" { "stream".to_owned() } else { format!("stream_{list}") }
}

/// `POST /v1/apps/{app_id}/roles`.
fn endpoint(op: &Operation<'_>) -> String {
    format!("{} {}", op.method.to_uppercase(), op.path)
}

/// The doc of an operation's wrapper: the spec's summary and description, and what it sends.
fn operation_doc(op: &Operation<'_>) -> Vec<String> {
    let mut doc = Vec::new();
    if let Some(summary) = op.op.get("summary").and_then(Value::as_str) {
        let summary = summary.trim();
        doc.push(if summary.ends_with(['.', '?', '!']) { summary.to_owned() } else { format!("{summary}.") });
    }
    if let Some(description) = op.op.get("description").and_then(Value::as_str) {
        doc.push(String::new());
        doc.extend(description.trim().lines().map(str::to_owned));
    }
    doc.push(String::new());
    doc.push(format!("Sends `{}` (`{}`).", endpoint(op), op.id));
    doc
}

/// `///` lines for `paragraphs` (each may hold several lines).
fn doc_attrs(paragraphs: &[String]) -> Vec<TokenStream> {
    paragraphs.iter().flat_map(|p| doc_lines(p)).map(|line| quote!(#[doc = #line])).collect()
}

/// The lines of a doc text, each with the space `///` puts before it.
fn doc_lines(text: &str) -> Vec<String> {
    if text.is_empty() {
        return vec![String::new()];
    }
    text.lines().map(|line| if line.is_empty() { String::new() } else { format!(" {line}") }).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{
        codegen::{BANNER, operations, spec_for_progenitor},
        workspace_root,
    };

    /// The server's spec as the generator is given it.
    fn server_spec() -> Value {
        let spec = heimdall_server::routes::spec_json();
        spec_for_progenitor(&serde_json::from_str(&spec).expect("the server's spec is JSON"))
    }

    /// `spec` with one more operation.
    fn with_operation(mut spec: Value, path: &str, operation: Value) -> Value {
        spec["paths"][path] = json!({ "post": operation });
        spec
    }

    #[test]
    fn every_operation_is_reachable_from_a_scope_or_excluded_with_a_reason() {
        let spec = server_spec();
        let generated = generate(&spec, BANNER).expect("every operation fits a scope or is placed");
        let root = workspace_root();
        let hand_written: String = HAND_WRITTEN
            .iter()
            .map(|path| std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}")))
            .collect();
        for (path, method, id) in operations(&spec) {
            let call = format!(".{id}()");
            let at = format!("{id} ({} {path})", method.to_uppercase());
            match placement(&id) {
                Some(Placement::Excluded(reason)) => {
                    assert!(!reason.trim().is_empty(), "{at} is excluded without a reason");
                    assert!(!generated.contains(&call), "{at} is excluded but has a generated wrapper");
                }
                Some(Placement::HandWritten(reason)) => {
                    assert!(!reason.trim().is_empty(), "{at} is hand-written without a reason");
                    assert!(
                        hand_written.contains(&call),
                        "{at} is placed HandWritten, but nothing in {HAND_WRITTEN:?} calls `{call}`"
                    );
                }
                _ => assert!(generated.contains(&call), "{at} has no generated wrapper"),
            }
        }
    }

    #[test]
    fn a_new_operation_of_a_known_tag_gets_its_wrapper_without_configuration() {
        let spec = with_operation(
            server_spec(),
            "/v1/apps/{app_id}/roles/{role_name}/copy",
            json!({
                "operationId": "role_copy",
                "tags": ["Roles"],
                "summary": "Copy a role",
                "parameters": [
                    { "name": "app_id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } },
                    { "name": "role_name", "in": "path", "required": true, "schema": { "type": "string" } }
                ],
                "requestBody": { "required": true, "content": { "application/json; charset=utf-8": {
                    "schema": { "$ref": "#/components/schemas/CreateRole" } } } },
                "responses": { "201": { "description": "copied", "content": { "application/json; charset=utf-8": {
                    "schema": { "$ref": "#/components/schemas/Role" } } } } }
            }),
        );
        let generated = generate(&spec, BANNER).unwrap();
        let wrapper = generated.split("pub async fn copy(").nth(1).expect("RolesScope::copy is generated");
        let signature = &wrapper[..wrapper.find(')').unwrap()];
        assert!(signature.contains("role_name: &str"), "{signature}");
        assert!(signature.contains("body: impl TryInto<crate::types::CreateRole"), "{signature}");
    }

    #[test]
    fn an_operation_of_an_unknown_tag_fails_generation_and_is_named() {
        let spec = with_operation(
            server_spec(),
            "/v1/widgets",
            json!({
                "operationId": "widget_create",
                "tags": ["Widgets"],
                "responses": { "204": { "description": "created" } }
            }),
        );
        let err = generate(&spec, BANNER).unwrap_err().to_string();
        assert!(err.contains("widget_create (POST /v1/widgets)") && err.contains("belongs to no scope"), "{err}");
    }
}
