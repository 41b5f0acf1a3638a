//! The claims of a Heimdall access token and Heimdall's wildcard rule for its permissions.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

/// The claims of a Heimdall access token (contract §8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Claims {
    /// Issuer: `<public origin>/<slug>`.
    pub iss: String,
    /// Audience: the app's slug (a single string in Heimdall's tokens; an array is accepted).
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// End-user account id, or the M2M `client_id`.
    pub sub: String,
    /// The app's id.
    pub aid: Uuid,
    /// Session id (end-user tokens); the id `me().revoke_session` takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    /// The end-user's role name when the token was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `end_user` or `m2m`.
    #[serde(rename = "type")]
    pub token_type: TokenType,
    /// Authentication methods (end-user tokens), e.g. `["pwd"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The role's permissions (end-users) or the granted scopes (M2M) when the token was issued,
    /// possibly with wildcards (`docs.*`, `*`).
    #[serde(default)]
    pub permissions: Vec<String>,
    /// M2M tokens: the granted scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Issued at (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Not before (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Tenant id, after a tenant sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<Uuid>,
    /// Role within the tenant, after a tenant sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trole: Option<String>,
    /// The end-user's email, when the token carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether that email is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl Claims {
    /// Whether the token's permissions cover `permission`, with Heimdall's wildcard rules:
    /// `*` covers everything, `docs.*` covers `docs.<anything>`.
    ///
    /// This reflects the permissions at issuance; ask `consumer.authz().authorize(..)` for the
    /// live answer after a role change.
    pub fn has_permission(&self, permission: &str) -> bool {
        grants(&self.permissions, permission)
    }

    /// The permissions in `wanted` that the token does not cover.
    pub fn missing_permissions<'a>(&self, wanted: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        wanted.into_iter().filter(|p| !self.has_permission(p)).map(str::to_owned).collect()
    }

    /// Whether this is an end-user's token.
    pub fn is_end_user(&self) -> bool {
        self.token_type == TokenType::EndUser
    }

    /// Whether this is a machine-to-machine (client credentials) token.
    pub fn is_m2m(&self) -> bool {
        self.token_type == TokenType::M2m
    }

    /// `exp` as a timestamp.
    pub fn expires_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::from_timestamp(self.exp, 0)
    }
}

/// Whether `granted` covers `wanted`, as Heimdall's server decides it: `*` covers everything,
/// `p.*` everything under `p.`, any other grant only itself.
fn grants(granted: &[String], wanted: &str) -> bool {
    granted.iter().any(|g| {
        g == "*"
            || g == wanted
            || g.strip_suffix('*').is_some_and(|under| under.ends_with('.') && wanted.starts_with(under))
    })
}

/// The `type` claim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TokenType {
    /// An end-user's access token.
    EndUser,
    /// A client-credentials token.
    M2m,
    /// A value this SDK version does not know.
    Other(String),
}

impl TokenType {
    /// The claim's value.
    pub fn as_str(&self) -> &str {
        match self {
            TokenType::EndUser => "end_user",
            TokenType::M2m => "m2m",
            TokenType::Other(other) => other,
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TokenType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TokenType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(match value.as_ref() {
            "end_user" => TokenType::EndUser,
            "m2m" => TokenType::M2m,
            _ => TokenType::Other(value.into_owned()),
        })
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_grant_only_what_they_name() {
        let granted = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(grants(&granted(&["*"]), "docs.read"));
        assert!(grants(&granted(&["docs.*"]), "docs.delete"));
        assert!(!grants(&granted(&["docs.*"]), "audit.read"));
        assert!(!grants(&granted(&["docs.read"]), "docs.write"));
        assert!(!grants(&granted(&["DOCS.READ"]), "docs.read"));
    }

    #[test]
    fn claims_accept_a_single_audience_or_an_array() {
        let base = serde_json::json!({
            "iss": "http://h/acme", "sub": "u", "aid": Uuid::nil(), "type": "end_user", "exp": 1
        });
        let mut one = base.clone();
        one["aud"] = "acme".into();
        let claims: Claims = serde_json::from_value(one).unwrap();
        assert_eq!(claims.aud, ["acme"]);
        assert!(claims.is_end_user());
        let mut many = base;
        many["aud"] = serde_json::json!(["acme", "other"]);
        many["type"] = "robot".into();
        let claims: Claims = serde_json::from_value(many).unwrap();
        assert_eq!(claims.aud, ["acme", "other"]);
        assert_eq!(claims.token_type, TokenType::Other("robot".into()));
    }
}
