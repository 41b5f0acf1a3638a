//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): secrets are `whsec_` +
//! base64 of random bytes; a delivery carries `webhook-id`, `webhook-timestamp` (Unix seconds)
//! and `webhook-signature`, a space-separated list of `v1,<base64 HMAC-SHA256 of
//! "<id>.<timestamp>.<body>">`, one per valid secret (two during a rotation's overlap).

use aws_lc_rs::hmac;
use base64::{Engine, engine::general_purpose::STANDARD};

/// Prefix of a webhook signing secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes of a secret (the standard asks for 24 to 64).
const SECRET_BYTES: usize = 32;

/// A signing secret's raw bytes; `Debug` shows nothing of them.
#[derive(Clone)]
pub struct Secret(pub(super) Vec<u8>);

impl Secret {
    pub fn generate() -> Self {
        Secret(crate::secrets::random_bytes::<SECRET_BYTES>().to_vec())
    }

    /// `whsec_<base64>`, the form shown to the admin once.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// `v1,<base64 signature>` of `body` sent as message `id` at `timestamp`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(id.as_bytes());
        ctx.update(b".");
        ctx.update(timestamp.to_string().as_bytes());
        ctx.update(b".");
        ctx.update(body);
        format!("v1,{}", STANDARD.encode(ctx.sign().as_ref()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The associated data an endpoint's secrets are sealed with under the master key.
pub fn aad(endpoint_id: uuid::Uuid) -> String {
    format!("webhook:{endpoint_id}")
}

/// The `webhook-signature` header value: one signature per secret, space-separated.
pub fn header(secrets: &[Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| s.sign(id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signatures_match_the_standard_webhooks_reference_example() {
        let secret = Secret(STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap());
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert!(format!("{secret:?}").contains("redacted"));
        assert!(Secret::generate().expose().starts_with("whsec_"));
    }
}
