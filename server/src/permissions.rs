//! The catalogue of system permissions that guard Heimdall's own admin API.
//!
//! Permission strings are `resource.action`. A platform API key created by bootstrap holds `*`;
//! app API keys hold an explicit list. `resource.*` grants every action on a resource.

pub const APP_READ: &str = "app.read";
pub const APP_UPDATE: &str = "app.update";
pub const APP_DELETE: &str = "app.delete";
pub const AUDIT_LOG_READ: &str = "audit_log.read";
pub const SIGNING_KEY_READ: &str = "signing_key.read";
pub const SIGNING_KEY_ROTATE: &str = "signing_key.rotate";
pub const AUTH_CONFIG_READ: &str = "auth_config.read";
pub const AUTH_CONFIG_UPDATE: &str = "auth_config.update";
pub const END_USER_READ: &str = "end_user.read";
pub const END_USER_UPDATE: &str = "end_user.update";
pub const END_USER_DELETE: &str = "end_user.delete";
pub const INVITE_READ: &str = "invite.read";
pub const INVITE_CREATE: &str = "invite.create";
pub const INVITE_REVOKE: &str = "invite.revoke";
/// Mint a password-reset code (name as in the product's SDK).
pub const PASSWORD_RESET_CREATE: &str = "auth.user.password-reset.create";
/// Mint a contact-verification code.
pub const VERIFY_CREATE: &str = "auth.user.verify.create";
/// Send a verification email.
pub const VERIFY_SEND_EMAIL: &str = "auth.user.verify.send-email";

/// Every system permission with what it allows.
pub const SYSTEM: &[(&str, &str)] = &[
    (APP_READ, "Read the app record"),
    (APP_UPDATE, "Change the app's name, slug, metadata and status"),
    (APP_DELETE, "Delete the app and everything in it"),
    (AUDIT_LOG_READ, "Read the app's audit log"),
    (SIGNING_KEY_READ, "List the app's signing keys (public data only)"),
    (SIGNING_KEY_ROTATE, "Rotate the app's signing key"),
    (AUTH_CONFIG_READ, "Read the app's auth configuration"),
    (AUTH_CONFIG_UPDATE, "Change the app's auth configuration"),
    (END_USER_READ, "List and read end-users and members"),
    (END_USER_UPDATE, "Change end-users' profiles, roles and status; end their sessions"),
    (END_USER_DELETE, "Delete end-users"),
    (INVITE_READ, "List invites"),
    (INVITE_CREATE, "Create invites"),
    (INVITE_REVOKE, "Revoke invites"),
    (PASSWORD_RESET_CREATE, "Mint password-reset codes for self-delivery"),
    (VERIFY_CREATE, "Mint contact-verification codes for self-delivery"),
    (VERIFY_SEND_EMAIL, "Send verification emails"),
];

/// Whether a set of granted permissions covers `wanted`.
pub fn grants(granted: &[String], wanted: &str) -> bool {
    let resource = wanted.split_once('.').map(|(r, _)| r);
    granted.iter().any(|g| {
        g == "*" || g == wanted || resource.is_some_and(|r| g.strip_suffix(".*") == Some(r))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_grant_only_what_they_name() {
        let g = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(grants(&g(&["*"]), APP_READ));
        assert!(grants(&g(&["app.*"]), APP_DELETE));
        assert!(!grants(&g(&["app.*"]), AUDIT_LOG_READ));
        assert!(!grants(&g(&["app.read"]), APP_UPDATE));
        assert!(!grants(&g(&["APP.READ"]), APP_READ));
    }
}
