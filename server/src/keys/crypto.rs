//! Key material: RSA-2048 generation (with the `rsa` crate, off the async runtime), envelope
//! encryption of private keys under the master key (AES-256-GCM, the `kid` bound as associated
//! data so a ciphertext cannot be swapped onto another key row), and the parsed forms used to
//! sign and verify.
//!
//! This is the only module that ever holds a plaintext private key.

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    signature::{RSA_PKCS1_SHA256, RsaKeyPair},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rsa::{pkcs1::EncodeRsaPrivateKey, traits::PublicKeyParts};

use crate::secrets::random_bytes;

/// The key-encryption key. `Debug` never shows it.
#[derive(Clone)]
pub struct MasterKey(LessSafeKeyHolder);

#[derive(Clone)]
struct LessSafeKeyHolder(std::sync::Arc<LessSafeKey>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// Decryption failed: wrong master key, or the ciphertext was tampered with or moved.
#[derive(Debug, thiserror::Error)]
#[error("cannot decrypt key material: wrong HEIMDALL_MASTER_KEY or tampered data")]
pub struct DecryptError;

impl MasterKey {
    pub fn new(bytes: &[u8; 32]) -> Self {
        let key = UnboundKey::new(&AES_256_GCM, bytes).expect("32-byte AES key");
        MasterKey(LessSafeKeyHolder(std::sync::Arc::new(LessSafeKey::new(key))))
    }

    /// `nonce || ciphertext || tag`, with `aad` authenticated but not stored.
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let mut buf = plaintext.to_vec();
        self.0
            .0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce_bytes), Aad::from(aad.as_bytes()), &mut buf)
            .expect("AES-GCM seal");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        out
    }

    pub fn open(&self, aad: &str, sealed: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(DecryptError);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| DecryptError)?;
        let mut buf = ct.to_vec();
        let plain = self.0.0.open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buf).map_err(|_| DecryptError)?;
        Ok(plain.to_vec())
    }
}

/// A freshly generated key pair, private half already sealed.
#[derive(Clone)]
pub struct SealedKey {
    pub kid: String,
    /// Modulus, base64url without padding (JWK `n`).
    pub n: String,
    /// Public exponent, base64url without padding (JWK `e`).
    pub e: String,
    pub private_key_enc: Vec<u8>,
}

/// Generates an RSA-2048 key and seals it. CPU-heavy (~170 ms): call from a blocking thread.
pub fn generate_sealed(master: &MasterKey) -> anyhow::Result<SealedKey> {
    let mut rng = rand::rngs::OsRng;
    let private = rsa::RsaPrivateKey::new(&mut rng, 2048)?;
    let der = private.to_pkcs1_der()?;
    let kid = format!("rs256-{}", uuid::Uuid::new_v4().simple());
    Ok(SealedKey {
        n: URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
        e: URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        private_key_enc: master.seal(&kid, der.as_bytes()),
        kid,
    })
}

/// A parsed private key, ready to sign without re-parsing.
pub struct Signer {
    pub kid: String,
    pair: RsaKeyPair,
}

impl Signer {
    pub fn open(master: &MasterKey, kid: &str, sealed: &[u8]) -> anyhow::Result<Signer> {
        let der = master.open(kid, sealed)?;
        let pair = RsaKeyPair::from_der(&der).map_err(|e| anyhow::anyhow!("bad RSA key {kid}: {e}"))?;
        Ok(Signer { kid: kid.to_owned(), pair })
    }

    /// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) over `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), message, &mut sig)
            .expect("RSA signing with a valid key");
        sig
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_their_kid_and_master_key() {
        let master = MasterKey::new(&[1u8; 32]);
        let key = generate_sealed(&master).unwrap();
        assert!(Signer::open(&master, &key.kid, &key.private_key_enc).is_ok());
        assert!(Signer::open(&master, "rs256-other", &key.private_key_enc).is_err());
        let wrong = MasterKey::new(&[2u8; 32]);
        assert!(Signer::open(&wrong, &key.kid, &key.private_key_enc).is_err());
        assert_eq!(key.e, "AQAB");
    }
}
