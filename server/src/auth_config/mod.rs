//! Per-app authentication settings (password policy, signup and signin switches, sessions).
//! Stored as one JSON document per app; every field always has a value.

use serde::{Deserialize, Serialize};

/// The stored auth configuration of an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    pub allowed_redirect_origins: Vec<String>,
    pub enforce_app_permissions: bool,
    pub max_failed_login_attempts: u32,
    pub max_sessions: u32,
    pub oauth_link_policy: String,
    pub password_min_length: u32,
    pub password_require_number: bool,
    pub password_require_symbol: bool,
    pub password_require_uppercase: bool,
    pub session_duration_minutes: u32,
    pub signin_enabled: bool,
    pub signup_allowed_email_domains: Vec<String>,
    pub signup_default_role: String,
    pub signup_enabled: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            allowed_redirect_origins: Vec::new(),
            enforce_app_permissions: false,
            max_failed_login_attempts: 10,
            max_sessions: 10,
            // The contract's DTO and code default to `confirm`: never link accounts silently.
            oauth_link_policy: "confirm".into(),
            password_min_length: 8,
            password_require_number: false,
            password_require_symbol: false,
            password_require_uppercase: false,
            session_duration_minutes: 10_080,
            signin_enabled: true,
            signup_allowed_email_domains: Vec::new(),
            signup_default_role: "member".into(),
            signup_enabled: true,
        }
    }
}
