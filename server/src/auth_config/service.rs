//! Auth configuration rules: validating a change and applying it with its audit entry.

use uuid::Uuid;

use super::{AuthConfig, store};
use crate::{
    access::{AdminPrincipal, Origin},
    audit::{Action, Entry},
    clock,
    config::normalize_origin,
    end_users::identity::Email,
    error::Error,
    rbac,
    state::AppState,
    write,
};

/// Changes to the configuration; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct Changes {
    pub allowed_redirect_origins: Option<Vec<String>>,
    pub block_common_passwords: Option<bool>,
    pub enforce_app_permissions: Option<bool>,
    pub max_failed_login_attempts: Option<u32>,
    pub max_sessions: Option<u32>,
    /// `auto`, `confirm` or `reject`.
    pub oauth_link_policy: Option<&'static str>,
    pub password_min_length: Option<u32>,
    pub password_require_number: Option<bool>,
    pub password_require_symbol: Option<bool>,
    pub password_require_uppercase: Option<bool>,
    pub refresh_reuse_grace_seconds: Option<u32>,
    pub session_duration_minutes: Option<u32>,
    pub signin_enabled: Option<bool>,
    pub signup_allowed_email_domains: Option<Vec<String>>,
    pub signup_default_role: Option<String>,
    pub signup_enabled: Option<bool>,
}

fn in_range(field: &str, v: u32, min: u32, max: u32) -> Result<u32, Error> {
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(Error::validation(field, format!("must be between {min} and {max}")))
    }
}

/// `changes` applied to `c`, every value checked (400 on the first that is out of range or
/// malformed). The default role's existence is checked by the caller.
fn apply(mut c: AuthConfig, changes: Changes) -> Result<AuthConfig, Error> {
    if let Some(origins) = changes.allowed_redirect_origins {
        c.allowed_redirect_origins = origins
            .iter()
            .map(|o| match normalize_origin(o) {
                // No wildcards: `*` parses as a host character but never names one origin.
                Ok(n) if !n.contains('*') && n == o.trim().trim_end_matches('/').to_ascii_lowercase() => Ok(n),
                _ => Err(Error::validation(
                    "allowed_redirect_origins",
                    format!("'{o}' is not an exact origin like https://app.example.com"),
                )),
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(v) = changes.block_common_passwords {
        c.block_common_passwords = v;
    }
    if let Some(v) = changes.enforce_app_permissions {
        c.enforce_app_permissions = v;
    }
    if let Some(v) = changes.max_failed_login_attempts {
        c.max_failed_login_attempts = in_range("max_failed_login_attempts", v, 1, 100)?;
    }
    if let Some(v) = changes.max_sessions {
        c.max_sessions = in_range("max_sessions", v, 1, 50)?;
    }
    if let Some(v) = changes.oauth_link_policy {
        c.oauth_link_policy = v.into();
    }
    if let Some(v) = changes.password_min_length {
        c.password_min_length = in_range("password_min_length", v, 8, 128)?;
    }
    if let Some(v) = changes.password_require_number {
        c.password_require_number = v;
    }
    if let Some(v) = changes.password_require_symbol {
        c.password_require_symbol = v;
    }
    if let Some(v) = changes.password_require_uppercase {
        c.password_require_uppercase = v;
    }
    if let Some(v) = changes.refresh_reuse_grace_seconds {
        c.refresh_reuse_grace_seconds = in_range("refresh_reuse_grace_seconds", v, 0, 60)?;
    }
    if let Some(v) = changes.session_duration_minutes {
        c.session_duration_minutes = in_range("session_duration_minutes", v, 1, 43_200)?;
    }
    if let Some(v) = changes.signin_enabled {
        c.signin_enabled = v;
    }
    if let Some(v) = changes.signup_enabled {
        c.signup_enabled = v;
    }
    if let Some(domains) = changes.signup_allowed_email_domains {
        c.signup_allowed_email_domains = domains
            .iter()
            .map(|d| {
                Email::parse_field("signup_allowed_email_domains", &format!("x@{}", d.trim()))
                    .map(|e| e.domain().to_owned())
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(role) = changes.signup_default_role {
        c.signup_default_role = role.trim().to_owned();
    }
    Ok(c)
}

/// Applies `changes` to the app's configuration and audits which fields changed (nothing is
/// written when nothing changes). Returns the configuration now in force.
pub async fn update(
    state: &AppState,
    principal: &AdminPrincipal,
    origin: &Origin,
    app_id: Uuid,
    changes: Changes,
) -> Result<AuthConfig, Error> {
    let role_changed = changes.signup_default_role.is_some();
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let before: AuthConfig =
        store::load(unit.conn(), app_id).await?.and_then(|doc| serde_json::from_value(doc).ok()).unwrap_or_default();
    let c = apply(before.clone(), changes)?;
    if role_changed {
        let role = &c.signup_default_role;
        if rbac::service::find_by_name_in(&unit, app_id, role).await?.is_none() {
            return Err(Error::validation("signup_default_role", format!("no role named '{role}'")));
        }
    }
    if c == before {
        unit.commit_unaudited("no change: nothing was written").await?;
        return Ok(c);
    }
    let (old, new) = (serde_json::to_value(&before).unwrap_or_default(), serde_json::to_value(&c).unwrap_or_default());
    store::save(unit.conn(), app_id, new.clone(), clock::now()).await?;
    let changed: Vec<&String> = new
        .as_object()
        .map(|n| n.iter().filter(|(k, v)| old.get(k.as_str()) != Some(v)).map(|(k, _)| k).collect())
        .unwrap_or_default();
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::AuthConfigUpdated, origin)
            .resource("auth_config", app_id)
            .details(serde_json::json!({ "changed": changed })),
    )
    .await?;
    unit.commit().await?;
    Ok(c)
}
