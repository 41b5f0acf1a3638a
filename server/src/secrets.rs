//! High-entropy secrets Heimdall hands out: generation, typed prefixes, and hashing at rest.
//!
//! Every secret is shown once and stored only as its SHA-256 (DESIGN §5): 256 bits of randomness
//! need no slow hash, and a fast one keeps lookups by hash cheap. The prefixes let secret
//! scanners recognise leaked keys.

use aws_lc_rs::{digest, rand::SecureRandom};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// Prefix of workspace-scoped platform API keys.
pub const PLATFORM_KEY_PREFIX: &str = "pcft_live_";
/// Prefix of app-scoped API keys.
pub const APP_KEY_PREFIX: &str = "hdk_live_";

/// `n` bytes from the system CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    aws_lc_rs::rand::SystemRandom::new().fill(&mut out).expect("the system random generator is available");
    out
}

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// Lowercase hex SHA-256, the at-rest form of every high-entropy secret.
pub fn hash_secret(secret: &str) -> String {
    let d = digest::digest(&digest::SHA256, secret.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The first 16 characters of a key, stored and shown so operators can tell keys apart.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(16).collect()
}

fn well_formed(body: &str) -> bool {
    body.len() >= 32 && body.len() <= 128 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A syntactically valid platform API key (`pcft_live_…`).
#[derive(Clone, PartialEq, Eq)]
pub struct PlatformKey(String);

impl PlatformKey {
    pub fn generate() -> Self {
        PlatformKey(format!("{PLATFORM_KEY_PREFIX}{}", random_token()))
    }

    pub fn parse(raw: &str) -> Option<Self> {
        raw.strip_prefix(PLATFORM_KEY_PREFIX).filter(|body| well_formed(body)).map(|_| PlatformKey(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PlatformKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PlatformKey({}…)", display_prefix(&self.0))
    }
}

/// A syntactically valid app API key (`hdk_live_…`).
#[derive(Clone, PartialEq, Eq)]
pub struct AppKey(String);

impl AppKey {
    pub fn generate() -> Self {
        AppKey(format!("{APP_KEY_PREFIX}{}", random_token()))
    }

    pub fn parse(raw: &str) -> Option<Self> {
        raw.strip_prefix(APP_KEY_PREFIX).filter(|body| well_formed(body)).map(|_| AppKey(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AppKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AppKey({}…)", display_prefix(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_hash_stably() {
        let key = PlatformKey::generate();
        assert!(PlatformKey::parse(key.expose()).is_some());
        assert!(AppKey::parse(key.expose()).is_none());
        assert_eq!(hash_secret("abc").len(), 64);
        assert_eq!(hash_secret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(!format!("{key:?}").contains(&key.expose()[16..]));
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(PlatformKey::parse("pcft_live_short").is_none());
        assert!(PlatformKey::parse(&format!("pcft_live_{}!", "a".repeat(40))).is_none());
    }
}
