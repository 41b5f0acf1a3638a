//! Usernames and email addresses, valid by construction, with the lowercase keys that make them
//! case-insensitively unique per app.

use crate::error::Error;

/// 3–64 characters of letters, digits, `_`, `.`, `-`; never contains `@`, so an identifier is a
/// username or an email address by shape alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let v = raw.trim();
        if v.chars().count() < 3 || v.chars().count() > 64 {
            return Err(Error::validation("username", "must be 3 to 64 characters"));
        }
        if !v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
            return Err(Error::validation("username", "may contain only letters, digits, '_', '.' and '-'"));
        }
        Ok(Username(v.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive uniqueness key.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// A plausible email address (one `@`, a dotted domain, no spaces, at most 254 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        Self::parse_field("email", raw)
    }

    pub fn parse_field(field: &str, raw: &str) -> Result<Self, Error> {
        let v = raw.trim();
        let bad = || Error::validation(field, "is not a valid email address");
        if v.len() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = v.split_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.len() > 64 || domain.contains('@') || !domain.contains('.') {
            return Err(bad());
        }
        if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
            return Err(bad());
        }
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    pub fn domain(&self) -> &str {
        self.0.split_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map(|(l, _)| l).unwrap_or_default()
    }
}

/// Lowercase lookup key for a sign-in identifier (username or email).
pub fn identifier_key(raw: &str) -> String {
    raw.trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_emails_parse_strictly() {
        assert_eq!(Username::parse(" Alice_1 ").unwrap().key(), "alice_1");
        assert!(Username::parse("al").is_err());
        assert!(Username::parse("a@b.co").is_err());
        assert_eq!(Email::parse("Bob@Example.COM").unwrap().as_str(), "Bob@example.com");
        assert_eq!(Email::parse("Bob@Example.COM").unwrap().key(), "bob@example.com");
        for bad in ["bob", "bob@", "@x.io", "bob@localhost", "b ob@x.io", "a@b@c.io", "bob@x..io"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
