//! The catalogue of system permissions that guard Heimdall's own admin API.
//!
//! Permission strings are `resource.action`. A platform API key created by bootstrap holds `*`;
//! app API keys hold an explicit list. `resource.*` grants every action on a resource.

use crate::error::Code;
pub const APP_READ: &str = "app.read";
pub const APP_UPDATE: &str = "app.update";
pub const APP_DELETE: &str = "app.delete";
pub const AUDIT_LOG_READ: &str = "audit_log.read";
pub const EVENT_READ: &str = "event.read";
pub const WEBHOOK_READ: &str = "webhook.read";
pub const WEBHOOK_WRITE: &str = "webhook.write";
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
pub const TENANT_READ: &str = "tenant.read";
pub const TENANT_WRITE: &str = "tenant.write";
/// Mint a password-reset code (name as in the product's SDK).
pub const PASSWORD_RESET_CREATE: &str = "auth.user.password-reset.create";
/// Mint a contact-verification code.
pub const VERIFY_CREATE: &str = "auth.user.verify.create";
/// Send a verification email.
pub const VERIFY_SEND_EMAIL: &str = "auth.user.verify.send-email";

pub const ROLE_READ: &str = "role.read";
pub const ROLE_WRITE: &str = "role.write";
pub const ROLE_ASSIGN: &str = "role.assign";
pub const PERMISSION_READ: &str = "permission.read";
pub const PERMISSION_WRITE: &str = "permission.write";
pub const API_KEY_READ: &str = "api_key.read";
pub const API_KEY_WRITE: &str = "api_key.write";
pub const CREDENTIAL_READ: &str = "credential.read";
pub const CREDENTIAL_WRITE: &str = "credential.write";
/// Workspace-level: list platform API keys and the workspace's audit log.
pub const PLATFORM_KEY_READ: &str = "platform_key.read";
/// Workspace-level: create and revoke platform API keys.
pub const PLATFORM_KEY_WRITE: &str = "platform_key.write";

/// Every system permission with what it allows.
pub const SYSTEM: &[(&str, &str)] = &[
    (APP_READ, "Read the app record"),
    (APP_UPDATE, "Change the app's name, slug, metadata and status"),
    (APP_DELETE, "Delete the app and everything in it"),
    (AUDIT_LOG_READ, "Read the app's audit log"),
    (EVENT_READ, "Read the app's change feed"),
    (WEBHOOK_READ, "List webhook endpoints and their delivery logs"),
    (WEBHOOK_WRITE, "Create, change, delete webhook endpoints, rotate their secrets and redeliver events"),
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
    (TENANT_READ, "List and read tenants, their members and a user's tenants"),
    (TENANT_WRITE, "Create, change, suspend and delete tenants and manage their members"),
    (PASSWORD_RESET_CREATE, "Mint password-reset codes for self-delivery"),
    (VERIFY_CREATE, "Mint contact-verification codes for self-delivery"),
    (VERIFY_SEND_EMAIL, "Send verification emails"),
    (ROLE_READ, "List and read roles"),
    (ROLE_WRITE, "Create, change and delete roles and set their permissions"),
    (ROLE_ASSIGN, "Assign roles to end-users"),
    (PERMISSION_READ, "Read the permission catalogues"),
    (PERMISSION_WRITE, "Create and delete custom permissions"),
    (API_KEY_READ, "List app API keys"),
    (API_KEY_WRITE, "Create and delete app API keys"),
    (CREDENTIAL_READ, "List and read M2M credentials"),
    (CREDENTIAL_WRITE, "Create, change, rotate and delete M2M credentials and set their scopes"),
];

/// Whether a set of granted permissions covers `wanted`: `*` covers everything, `p.*` everything
/// under `p.` at any depth (`auth.*` covers `auth.user.password-reset.create`, `auth.user.*`
/// covers `auth.user.create`), any other grant only itself. The SDK's verifier keeps a copy.
pub fn grants(granted: &[String], wanted: &str) -> bool {
    granted.iter().any(|g| {
        g == "*"
            || g == wanted
            || g.strip_suffix('*').is_some_and(|under| under.ends_with('.') && wanted.starts_with(under))
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

/// Checks a permission that is being *granted* (to a role, key or client): `resource.action`
/// with dot-separated lowercase segments of `[a-z0-9_-]`, or an explicit wildcard `resource.*`
/// or `*`. Returns it unchanged.
pub fn parse_grant(raw: &str) -> Result<String, crate::error::Error> {
    if raw == "*" {
        return Ok(raw.to_owned());
    }
    let ok = match raw.strip_suffix(".*") {
        Some(resource) => resource.split('.').all(is_word),
        None => raw.split('.').count() >= 2 && raw.split('.').all(is_word),
    };
    if !ok {
        return Err(crate::error::Error::validation(
            "permissions",
            format!("'{raw}' is not resource.action (lowercase letters, digits, '_', '-'), resource.* or *"),
        ));
    }
    Ok(raw.to_owned())
}

/// One segment of a permission or a role name: non-empty, lowercase letters, digits, `_`, `-`.
pub fn is_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A permission asked about (`/authorize`, forward-auth): `resource.action` or deeper, never a
/// wildcard — wildcards are grants, not questions.
pub fn parse_permission(raw: &str) -> Result<String, crate::error::Error> {
    if raw.split('.').count() < 2 || !raw.split('.').all(is_word) {
        return Err(crate::error::Error::new(
            Code::InvalidPermission,
            format!("'{raw}' is not a permission: expected resource.action in lowercase letters, digits, '_' and '-'"),
        ));
    }
    Ok(raw.to_owned())
}

/// `resource` and `action` of a permission: the action is the last segment.
pub fn split(permission: &str) -> (String, String) {
    match permission.rsplit_once('.') {
        Some((r, a)) => (r.to_owned(), a.to_owned()),
        None => (permission.to_owned(), "*".to_owned()),
    }
}

#[cfg(test)]
mod grant_tests {
    use super::*;

    #[test]
    fn grants_are_validated() {
        for ok in ["docs.read", "docs.*", "*", "auth.user.password-reset.create", "a_b.c-d"] {
            assert!(parse_grant(ok).is_ok(), "{ok}");
        }
        for bad in ["docs", "Docs.read", "docs.read ", " docs.read", "docs..read", "*.read", "docs.re*d", ""] {
            assert!(parse_grant(bad).is_err(), "{bad}");
        }
        assert_eq!(split("auth.user.verify.create"), ("auth.user.verify".into(), "create".into()));
    }

    fn held(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn nothing_is_granted_by_an_empty_set() {
        for wanted in ["docs.read", "*", "docs.*", ""] {
            assert!(!grants(&[], wanted), "{wanted:?}");
        }
    }

    #[test]
    fn the_star_grants_everything_even_wildcards() {
        for wanted in ["docs.read", "auth.user.verify.create", "docs.*", "*", "docs"] {
            assert!(grants(&held(&["*"]), wanted), "{wanted:?}");
        }
    }

    #[test]
    fn an_exact_permission_grants_only_itself() {
        let g = held(&["docs.read"]);
        assert!(grants(&g, "docs.read"));
        for wanted in ["docs.write", "docs.read.all", "docs", "docs.*", "*", "Docs.read", "docs.read "] {
            assert!(!grants(&g, wanted), "{wanted:?}");
        }
    }

    #[test]
    fn a_resource_wildcard_grants_every_action_of_that_resource_only() {
        let g = held(&["docs.*"]);
        assert!(grants(&g, "docs.read"));
        assert!(grants(&g, "docs.delete"));
        // Held as such, it covers itself: a client holding `docs.*` may ask for `docs.*`.
        assert!(grants(&g, "docs.*"));
        for wanted in ["doc.read", "docs2.read", "documents.read", "xdocs.read", "docs", "*", "other.docs"] {
            assert!(!grants(&g, wanted), "{wanted:?}");
        }
    }

    #[test]
    fn a_resource_wildcard_matches_the_first_segment_of_deeper_permissions() {
        assert!(grants(&held(&["auth.*"]), PASSWORD_RESET_CREATE));
        assert!(grants(&held(&["auth.*"]), VERIFY_SEND_EMAIL));
        assert!(!grants(&held(&["user.*"]), PASSWORD_RESET_CREATE));
    }

    #[test]
    fn wildcards_in_other_places_grant_nothing_but_themselves() {
        // `parse_grant` refuses these; should one be stored anyway, it matches only literally.
        for g in ["*.read", "docs.re*", "docs*", "*.*"] {
            assert!(!grants(&held(&[g]), "docs.read"), "{g}");
            assert!(grants(&held(&[g]), g), "{g}");
        }
    }

    #[test]
    fn any_one_held_permission_is_enough() {
        let g = held(&["role.read", "docs.*", "billing.read"]);
        assert!(grants(&g, "billing.read"));
        assert!(grants(&g, "docs.write"));
        assert!(!grants(&g, "billing.write"));
    }

    #[test]
    fn words_are_lowercase_ascii_letters_digits_underscores_and_hyphens() {
        for ok in ["a", "docs", "a_b", "a-b", "v2", "0", "-", "_"] {
            assert!(is_word(ok), "{ok:?}");
        }
        for bad in ["", "Docs", "a.b", "a b", "a*", "*", "ä", "a\n", "a/b", "a:b"] {
            assert!(!is_word(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_permission_asked_about_is_resource_action_never_a_wildcard() {
        for ok in ["docs.read", "auth.user.password-reset.create", "a_b.c-d", "v1.read", "0.0"] {
            assert_eq!(parse_permission(ok).unwrap(), ok);
        }
        for bad in [
            "",
            "docs",
            "*",
            "docs.*",
            ".read",
            "docs.",
            "docs..read",
            "Docs.read",
            "DOCS.READ",
            " docs.read",
            "docs.read ",
            "docs. read",
            "docs.re*d",
            "docs.rëad",
            "docs/read",
        ] {
            let err = parse_permission(bad).unwrap_err();
            assert_eq!(
                (crate::http::error::status(err.code).as_u16(), err.code.as_str()),
                (400, "invalid_permission"),
                "{bad:?}"
            );
            assert!(err.message.contains(&format!("'{bad}'")), "{}", err.message);
        }
    }

    #[test]
    fn a_refused_grant_names_the_permissions_field() {
        let err = parse_grant("docs").unwrap_err();
        assert_eq!((crate::http::error::status(err.code).as_u16(), err.code.as_str()), (400, "validation_failed"));
        assert!(err.message.starts_with("permissions: 'docs'"), "{}", err.message);
        for bad in [".*", "Docs.*", "docs.*.*", "*.*", "**", "docs.*x"] {
            assert!(parse_grant(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_wildcard_grant_covers_everything_under_its_prefix() {
        // Found by the `permission` fuzz target: `auth.user.*` was accepted, yet matched against
        // the first segment only, so it covered nothing but itself.
        for (grant, wanted) in [
            ("auth.user.*", "auth.user.create"),
            ("auth.user.*", "auth.user.password-reset.create"),
            ("auth.*", "auth.user.password-reset.create"),
            ("docs.*", "docs.read"),
            ("auth.*", "auth.user.*"),
        ] {
            assert!(parse_grant(grant).is_ok(), "{grant}");
            assert!(grants(&held(&[grant]), wanted), "{grant} covers {wanted}");
        }
        for (grant, wanted) in [
            ("auth.user.*", "auth.users.create"),
            ("auth.user.*", "auth.read"),
            ("auth.user.*", "auth.*"),
            ("doc.*", "docs.read"),
        ] {
            assert!(!grants(&held(&[grant]), wanted), "{grant} must not cover {wanted}");
        }
        for bad in ["auth..*", ".*", "auth.*.*", "Auth.*"] {
            assert!(parse_grant(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_dotless_permission_splits_into_the_resource_and_any_action() {
        assert_eq!(split("docs"), ("docs".into(), "*".into()));
        assert_eq!(split("docs.read"), ("docs".into(), "read".into()));
    }

    #[test]
    fn the_system_catalogue_is_valid_and_without_duplicates() {
        let mut seen = std::collections::HashSet::new();
        for (permission, description) in SYSTEM {
            assert!(parse_permission(permission).is_ok(), "{permission}");
            assert!(parse_grant(permission).is_ok(), "{permission}");
            assert!(seen.insert(*permission), "{permission} is listed twice");
            assert!(!description.is_empty() && !description.ends_with('.'), "{permission}: {description:?}");
        }
    }
}
