//! An app's signing key (RS256, ES256 or EdDSA); the private half encrypted under the master key.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub app_id: Uuid,
    pub kid: String,
    /// The key's algorithm: the only one a token under this key is verified with.
    pub alg: SigningAlg,
    /// RSA modulus and exponent (base64url); empty for EC and OKP keys.
    pub jwk_n: String,
    pub jwk_e: String,
    /// EC `x` and `y` (P-256), or the OKP `x` (Ed25519), base64url.
    pub jwk_x: Option<String>,
    pub jwk_y: Option<String>,
    #[sea_orm(column_type = "VarBinary(StringLen::None)")]
    pub private_key_enc: Vec<u8>,
    pub created_at: DateTimeUtc,
    pub activates_at: DateTimeUtc,
    pub retires_at: Option<DateTimeUtc>,
    pub expires_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

/// A JWS signing algorithm Heimdall signs with, stored as its JOSE name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 over an RSA-2048 key: what every JWT library verifies.
    #[default]
    #[sea_orm(string_value = "RS256")]
    Rs256,
    /// ECDSA over P-256 with SHA-256: about 6× faster signing than RS256, 64-byte signatures.
    #[sea_orm(string_value = "ES256")]
    Es256,
    /// Ed25519: the fastest to sign, deterministic signatures.
    #[sea_orm(string_value = "EdDSA")]
    EdDsa,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::Rs256, SigningAlg::Es256, SigningAlg::EdDsa];

    /// The JOSE `alg` name (RFC 7518 §3.1, RFC 8037 §3.1).
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Rs256 => "RS256",
            SigningAlg::Es256 => "ES256",
            SigningAlg::EdDsa => "EdDSA",
        }
    }

    /// The algorithm named `alg` exactly (JOSE names are case-sensitive).
    pub fn from_jose(alg: &str) -> Option<SigningAlg> {
        SigningAlg::ALL.into_iter().find(|a| a.as_str() == alg)
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
