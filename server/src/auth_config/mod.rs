//! Per-app authentication settings (password policy, signup and signin switches, sessions).
//! Stored as one JSON document per app; every field always has a value.

pub mod api;
mod common_passwords;
pub mod service;
mod store;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    db::Db,
    error::{Code, Error},
};

/// The stored auth configuration of an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    pub allowed_redirect_origins: Vec<String>,
    /// Refuse passwords on the shipped list of commonly used passwords (on by default; a
    /// document stored before the setting existed reads as on).
    pub block_common_passwords: bool,
    pub enforce_app_permissions: bool,
    pub max_failed_login_attempts: u32,
    pub max_sessions: u32,
    pub oauth_link_policy: String,
    pub password_min_length: u32,
    pub password_require_number: bool,
    pub password_require_symbol: bool,
    pub password_require_uppercase: bool,
    /// Seconds after a refresh token's rotation during which presenting it again is refused
    /// without revoking the session; 0 (the default) revokes on any reuse.
    pub refresh_reuse_grace_seconds: u32,
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
            // NIST SP 800-63B §3.1.1.2: check new passwords against commonly used ones.
            block_common_passwords: true,
            enforce_app_permissions: false,
            max_failed_login_attempts: 10,
            max_sessions: 10,
            // The contract's DTO and code default to `confirm`: never link accounts silently.
            oauth_link_policy: "confirm".into(),
            password_min_length: 8,
            password_require_number: false,
            password_require_symbol: false,
            password_require_uppercase: false,
            // RFC 9700 §4.14.2: a used refresh token presented again revokes the session.
            refresh_reuse_grace_seconds: 0,
            session_duration_minutes: 10_080,
            signin_enabled: true,
            signup_allowed_email_domains: Vec::new(),
            signup_default_role: "member".into(),
            signup_enabled: true,
        }
    }
}

/// Why a password on the common-password list is refused (the password itself is never echoed).
const COMMON_PASSWORD: &str = "it is a commonly used password, easy to guess: choose another";

impl AuthConfig {
    /// 400 `weak_password` listing every rule the password breaks, and saying so when it is a
    /// commonly used password (`block_common_passwords`).
    pub fn check_password(&self, password: &str) -> Result<(), Error> {
        let mut broken = Vec::new();
        if password.chars().count() < self.password_min_length as usize {
            broken.push(format!("at least {} characters", self.password_min_length));
        }
        if password.len() > crate::passwords::MAX_PASSWORD_BYTES {
            broken.push(format!("at most {} bytes", crate::passwords::MAX_PASSWORD_BYTES));
        }
        if self.password_require_number && !password.chars().any(|c| c.is_ascii_digit()) {
            broken.push("a number".into());
        }
        if self.password_require_uppercase && !password.chars().any(char::is_uppercase) {
            broken.push("an uppercase letter".into());
        }
        if self.password_require_symbol && !password.chars().any(|c| !c.is_alphanumeric() && !c.is_whitespace()) {
            broken.push("a symbol".into());
        }
        let common = self.block_common_passwords && common_passwords::is_common(password);
        let message = match (broken.is_empty(), common) {
            (true, false) => return Ok(()),
            (true, true) => COMMON_PASSWORD.to_owned(),
            (false, false) => format!("the password needs {}", broken.join(", ")),
            (false, true) => format!("the password needs {}, and {COMMON_PASSWORD}", broken.join(", ")),
        };
        Err(Error::new(Code::WeakPassword, message)
            .with_details(serde_json::json!({ "field": "password", "requirements": broken, "common": common })))
    }

    /// Whether sign-up accepts an address in `domain`.
    pub fn allows_signup_domain(&self, domain: &str) -> bool {
        self.signup_allowed_email_domains.is_empty()
            || self.signup_allowed_email_domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// The leeway for a client racing itself with one refresh token (zero: none).
    pub fn refresh_reuse_grace(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.refresh_reuse_grace_seconds.into())
    }

    pub fn session_duration(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.session_duration_minutes.into())
    }
}

/// The app's configuration (defaults if the row is missing).
pub async fn load(db: &Db, app_id: Uuid) -> Result<AuthConfig, Error> {
    Ok(store::load(db, app_id).await?.and_then(|doc| serde_json::from_value(doc).ok()).unwrap_or_default())
}
