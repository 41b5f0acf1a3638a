//! `AppSlug`: the URL name of an app, valid by construction.

use crate::error::Error;

/// Names that would shadow Heimdall's own routes or confuse readers of a URL.
const RESERVED: &[&str] = &[
    "v1",
    "v2",
    "v3",
    "api",
    "admin",
    "apps",
    "app",
    "auth",
    "oauth",
    "docs",
    "docs-json",
    "health",
    "healthz",
    "readyz",
    "livez",
    "metrics",
    "openapi",
    "well-known",
    "static",
    "assets",
    "login",
    "logout",
    "www",
    "heimdall",
    "system",
    "root",
    "console",
    "status",
    "null",
    "undefined",
];

pub const MIN_LEN: usize = 3;
pub const MAX_LEN: usize = 64;

/// Lowercase letters, digits and inner hyphens; 3–64 characters; not reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSlug(String);

impl AppSlug {
    pub fn parse(raw: &str) -> Result<AppSlug, Error> {
        let err = |m: &str| Error::validation("slug", m.to_owned());
        if raw.len() < MIN_LEN || raw.len() > MAX_LEN {
            return Err(err("must be 3 to 64 characters"));
        }
        if !raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(err("may contain only lowercase letters, digits and hyphens"));
        }
        if raw.starts_with('-') || raw.ends_with('-') {
            return Err(err("must start and end with a letter or digit"));
        }
        if RESERVED.contains(&raw) {
            return Err(Error::validation("slug", format!("'{raw}' is reserved"))
                .with_details(serde_json::json!({ "field": "slug", "reason": "reserved" })));
        }
        Ok(AppSlug(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_rules() {
        assert!(AppSlug::parse("acme").is_ok());
        assert!(AppSlug::parse("acme-2").is_ok());
        for bad in ["ab", "Acme", "acme_x", "-acme", "acme-", "v1", "docs", "a".repeat(65).as_str(), "ac me"] {
            assert!(AppSlug::parse(bad).is_err(), "{bad}");
        }
    }
}
