//! The access-token verifier (`tokens::Unverified`) against a fixed key ring of one key.
//!
//! An input is a mode byte and its text. `T`: the text is a token string, as a caller sends
//! it. `S`: the text is `header JSON` newline `claims JSON`, which the target encodes and signs
//! with the ring's key, so the fuzzer reaches the claims checks past the signature. Whatever
//! the verifier accepts must be what a strict reading accepts: RS256, the ring's `kid`, a good
//! signature, claims that parse and pass the time, issuer and audience checks.

#![no_main]

use std::sync::LazyLock;

use aws_lc_rs::signature::ParsedPublicKey;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use heimdall_server::{
    keys::crypto::{MasterKey, Signer, SigningAlg, generate_sealed},
    tokens::{AccessClaims, LEEWAY_SECS, TokenError, Unverified, expired},
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const KID: &str = "app-key";
const ISSUER: &str = "https://auth.example.com/acme";
const AUDIENCE: &str = "acme";
const NOW: i64 = 1_700_000_000;

struct Ring {
    signer: Signer,
    public: ParsedPublicKey,
}

/// One RSA key per process: generation takes a fraction of a second.
static RING: LazyLock<Ring> = LazyLock::new(|| {
    let master = MasterKey::new(&[7; 32]);
    let sealed = generate_sealed(&master, SigningAlg::Rs256).expect("key generation");
    let signer = Signer::open(&master, &sealed.kid, SigningAlg::Rs256, &sealed.private_key_enc).expect("sealed key opens");
    let public = sealed.public.parse(SigningAlg::Rs256).expect("public key parses");
    Ring { signer, public }
});

/// What `tokens::verify` does, with the app's key set reduced to the ring.
fn verify(token: &str) -> Result<AccessClaims, TokenError> {
    let unverified = Unverified::split(token)?;
    if unverified.kid() != KID {
        return Err(TokenError::UnknownKid);
    }
    unverified.check(SigningAlg::Rs256, &RING.public, |iss| iss == ISSUER, AUDIENCE, NOW)
}

fn sign(header: &[u8], claims: &[u8]) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let signature = URL_SAFE_NO_PAD.encode(RING.signer.sign(input.as_bytes()));
    format!("{input}.{signature}")
}

/// Whether the header, read on its own as JSON, names RS256 and the ring's key without `crit`.
fn strict_header(header: &[u8]) -> bool {
    let Ok(Value::Object(h)) = serde_json::from_slice::<Value>(header) else { return false };
    h.get("alg") == Some(&Value::from("RS256")) && h.get("kid") == Some(&Value::from(KID)) && !h.contains_key("crit")
}

/// Whether claims pass the checks that follow the signature.
fn claims_hold(c: &AccessClaims) -> bool {
    !expired(c, NOW)
        && c.nbf.is_none_or(|nbf| nbf.saturating_sub(LEEWAY_SECS as i64) <= NOW)
        // Issued in the future (a clock running ahead) beyond the leeway: refused.
        && c.iat.saturating_sub(LEEWAY_SECS as i64) <= NOW
        && c.iss == ISSUER
        && c.aud == AUDIENCE
}

/// Accepted claims are exactly the signed payload's, and they survive a round trip.
fn assert_sound(claims: &AccessClaims, payload: &[u8]) {
    let reread: AccessClaims = serde_json::from_slice(payload).expect("accepted claims parse on their own");
    assert_eq!(&reread, claims);
    assert!(claims_hold(claims), "accepted claims fail a check: {claims:?}");
    let json = serde_json::to_vec(claims).expect("claims serialize");
    assert_eq!(&serde_json::from_slice::<AccessClaims>(&json).expect("claims reparse"), claims);
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode {
        b'T' => {
            let Ok(token) = std::str::from_utf8(rest) else { return };
            let Ok(claims) = verify(token) else { return };
            // Accepted: three unpadded base64url parts, a strict header, a signature that holds.
            let parts: Vec<&str> = token.split('.').collect();
            assert_eq!(parts.len(), 3, "{token:?}");
            let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).expect("accepted parts are base64url");
            assert!(strict_header(&decode(parts[0])), "{token:?}");
            let signed = &token[..parts[0].len() + 1 + parts[1].len()];
            RING.public.verify_sig(signed.as_bytes(), &decode(parts[2])).expect("accepted signature verifies");
            assert_sound(&claims, &decode(parts[1]));
        }
        b'S' => {
            let (header, payload) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &b""[..]),
            };
            match verify(&sign(header, payload)) {
                Ok(claims) => {
                    assert!(strict_header(header), "accepted header {:?}", String::from_utf8_lossy(header));
                    assert_sound(&claims, payload);
                }
                Err(TokenError::Signature) => panic!("a token signed by the ring's key failed its signature"),
                Err(_) => {
                    // Refused: then claims that hold under the plainest header must be accepted,
                    // or the refusal came from the claims.
                    if let Ok(claims) = serde_json::from_slice::<AccessClaims>(payload) {
                        let plain = serde_json::to_vec(&serde_json::json!({ "alg": "RS256", "kid": KID })).unwrap();
                        let again = verify(&sign(&plain, payload));
                        assert_eq!(again.is_ok(), claims_hold(&claims), "{claims:?}: {again:?}");
                    }
                }
            }
        }
        _ => {}
    }
});
