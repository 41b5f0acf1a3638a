//! Key material: generation of RSA-2048 (with the `rsa` crate, off the async runtime), P-256 and
//! Ed25519 keys (aws-lc-rs, microseconds), envelope
//! encryption of private keys under the master key (AES-256-GCM, the `kid` bound as associated
//! data so a ciphertext cannot be swapped onto another key row), and the parsed forms used to
//! sign and verify.
//!
//! This is the only module that ever holds a plaintext private key.

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::SystemRandom,
    signature::{
        ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
        ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
    },
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rsa::{pkcs1::EncodeRsaPrivateKey, traits::PublicKeyParts};

pub use crate::entity::signing_key::SigningAlg;
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

/// The public half of a key as its JWK members (base64url without padding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicJwk {
    /// `kty: RSA`: modulus and exponent.
    Rsa { n: String, e: String },
    /// `kty: EC, crv: P-256`: the point's coordinates.
    Ec { x: String, y: String },
    /// `kty: OKP, crv: Ed25519`: the public key.
    Okp { x: String },
}

impl PublicJwk {
    /// The JWK of this key for the JWKS, with its `kid` and `alg`.
    pub fn to_jwk(&self, kid: &str, alg: SigningAlg) -> serde_json::Value {
        let (alg, kid) = (alg.as_str(), kid);
        match self {
            PublicJwk::Rsa { n, e } => {
                serde_json::json!({ "kty": "RSA", "use": "sig", "alg": alg, "kid": kid, "n": n, "e": e })
            }
            PublicJwk::Ec { x, y } => {
                serde_json::json!({ "kty": "EC", "crv": "P-256", "use": "sig", "alg": alg, "kid": kid, "x": x, "y": y })
            }
            PublicJwk::Okp { x } => {
                serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": alg, "kid": kid, "x": x })
            }
        }
    }

    /// Parses the public key once, for the algorithm `alg` only: a token under this key is
    /// verified with that algorithm whatever its header says.
    pub fn parse(&self, alg: SigningAlg) -> anyhow::Result<ParsedPublicKey> {
        let b64 = |v: &str| URL_SAFE_NO_PAD.decode(v);
        Ok(match (alg, self) {
            (SigningAlg::Rs256, PublicJwk::Rsa { n, e }) => {
                let (n, e) = (b64(n)?, b64(e)?);
                RsaPublicKeyComponents { n: &n[..], e: &e[..] }.to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)?
            }
            (SigningAlg::Es256, PublicJwk::Ec { x, y }) => {
                // SEC 1 uncompressed point: 0x04 || x || y.
                let mut point = vec![0x04];
                point.extend(b64(x)?);
                point.extend(b64(y)?);
                ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)?
            }
            (SigningAlg::EdDsa, PublicJwk::Okp { x }) => ParsedPublicKey::new(&ED25519, b64(x)?)?,
            (alg, jwk) => anyhow::bail!("a {} key cannot be a {jwk:?} key", alg.as_str()),
        })
    }
}

/// A freshly generated key pair, private half already sealed.
#[derive(Clone)]
pub struct SealedKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub public: PublicJwk,
    pub private_key_enc: Vec<u8>,
}

/// A new `kid`: the algorithm's prefix and a random id.
fn new_kid(alg: SigningAlg) -> String {
    let prefix = match alg {
        SigningAlg::Rs256 => "rs256",
        SigningAlg::Es256 => "es256",
        SigningAlg::EdDsa => "eddsa",
    };
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Generates a key for `alg` and seals it. RSA is CPU-heavy (~170 ms): call that from a blocking
/// thread; P-256 and Ed25519 keys take microseconds.
pub fn generate_sealed(master: &MasterKey, alg: SigningAlg) -> anyhow::Result<SealedKey> {
    let kid = new_kid(alg);
    let b64 = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
    let (public, private) = match alg {
        SigningAlg::Rs256 => {
            let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)?;
            let public = PublicJwk::Rsa { n: b64(&private.n().to_bytes_be()), e: b64(&private.e().to_bytes_be()) };
            (public, private.to_pkcs1_der()?.as_bytes().to_vec())
        }
        SigningAlg::Es256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| anyhow::anyhow!("P-256 key generation failed"))?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())?;
            let point = pair.public_key().as_ref();
            anyhow::ensure!(point.len() == 65 && point[0] == 0x04, "unexpected P-256 public key encoding");
            (PublicJwk::Ec { x: b64(&point[1..33]), y: b64(&point[33..]) }, pkcs8.as_ref().to_vec())
        }
        SigningAlg::EdDsa => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| anyhow::anyhow!("Ed25519 key generation failed"))?;
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())?;
            (PublicJwk::Okp { x: b64(pair.public_key().as_ref()) }, pkcs8.as_ref().to_vec())
        }
    };
    Ok(SealedKey { private_key_enc: master.seal(&kid, &private), kid, alg, public })
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A parsed private key, ready to sign without re-parsing.
pub struct Signer {
    pub kid: String,
    pub alg: SigningAlg,
    pair: Pair,
}

impl Signer {
    pub fn open(master: &MasterKey, kid: &str, alg: SigningAlg, sealed: &[u8]) -> anyhow::Result<Signer> {
        let der = master.open(kid, sealed)?;
        let bad = |e: aws_lc_rs::error::KeyRejected| anyhow::anyhow!("bad {} key {kid}: {e}", alg.as_str());
        let pair = match alg {
            SigningAlg::Rs256 => Pair::Rsa(RsaKeyPair::from_der(&der).map_err(bad)?),
            SigningAlg::Es256 => {
                Pair::Ec(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).map_err(bad)?)
            }
            SigningAlg::EdDsa => Pair::Ed(Ed25519KeyPair::from_pkcs8(&der).map_err(bad)?),
        };
        Ok(Signer { kid: kid.to_owned(), alg, pair })
    }

    /// The JWS signature of `message` with this key's algorithm (for ES256 the 64-byte `r || s`
    /// of RFC 7518 §3.4, not DER).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.pair {
            Pair::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
                    .expect("RSA signing with a valid key");
                sig
            }
            Pair::Ec(pair) => {
                pair.sign(&SystemRandom::new(), message).expect("ECDSA signing with a valid key").as_ref().to_vec()
            }
            Pair::Ed(pair) => pair.sign(message).as_ref().to_vec(),
        }
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
        for alg in SigningAlg::ALL {
            let key = generate_sealed(&master, alg).unwrap();
            assert!(Signer::open(&master, &key.kid, alg, &key.private_key_enc).is_ok());
            assert!(Signer::open(&master, "rs256-other", alg, &key.private_key_enc).is_err());
            let wrong = MasterKey::new(&[2u8; 32]);
            assert!(Signer::open(&wrong, &key.kid, alg, &key.private_key_enc).is_err());
        }
    }

    #[test]
    fn each_algorithm_signs_what_its_public_key_verifies_and_nothing_else() {
        let master = MasterKey::new(&[1u8; 32]);
        for alg in SigningAlg::ALL {
            let key = generate_sealed(&master, alg).unwrap();
            assert!(key.kid.starts_with(&alg.as_str().to_ascii_lowercase()), "{}", key.kid);
            let signer = Signer::open(&master, &key.kid, alg, &key.private_key_enc).unwrap();
            let public = key.public.parse(alg).unwrap();
            let signature = signer.sign(b"header.payload");
            assert!(public.verify_sig(b"header.payload", &signature).is_ok(), "{alg:?}");
            assert!(public.verify_sig(b"header.payload!", &signature).is_err(), "{alg:?}");
            let expected_len = match alg {
                SigningAlg::Rs256 => 256,
                SigningAlg::Es256 => 64,
                SigningAlg::EdDsa => 64,
            };
            assert_eq!(signature.len(), expected_len, "{alg:?}");
            // A key is never parsed for another algorithm.
            for other in SigningAlg::ALL.into_iter().filter(|a| *a != alg) {
                assert!(key.public.parse(other).is_err(), "{alg:?} as {other:?}");
            }
        }
        let rsa = generate_sealed(&master, SigningAlg::Rs256).unwrap();
        assert!(matches!(&rsa.public, PublicJwk::Rsa { e, .. } if e == "AQAB"));
    }

    #[test]
    fn the_jwk_names_its_key_type_curve_and_algorithm() {
        let master = MasterKey::new(&[1u8; 32]);
        let ec = generate_sealed(&master, SigningAlg::Es256).unwrap();
        let jwk = ec.public.to_jwk(&ec.kid, ec.alg);
        assert_eq!(
            (jwk["kty"].as_str(), jwk["crv"].as_str(), jwk["alg"].as_str()),
            (Some("EC"), Some("P-256"), Some("ES256"))
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap().len(), 32);
        let ed = generate_sealed(&master, SigningAlg::EdDsa).unwrap();
        let jwk = ed.public.to_jwk(&ed.kid, ed.alg);
        assert_eq!(
            (jwk["kty"].as_str(), jwk["crv"].as_str(), jwk["alg"].as_str()),
            (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
        );
        assert_eq!(jwk["use"], "sig");
    }
}
