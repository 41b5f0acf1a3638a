//! `xtask bench-limits`: the raw per-core limits the server's figures are compared with, run by
//! the bench under `taskset -c 0` (the server's core) and printed as one JSON object.
//!
//! They use the server's own primitives where it has them: an RSA-2048 key generated and sealed
//! as the server does, signed through the server's pre-parsed `Signer` (aws-lc-rs `RsaKeyPair`);
//! verification of the signature alone with a pre-parsed aws-lc-rs public key (the fastest way
//! there is; the server does the same plus base64, JSON and claim checks); argon2id with the
//! crate's default parameters (OWASP m=19456 KiB, t=2, p=1), which are what the server uses.
//!
//! A full `jsonwebtoken::decode` of the same token is measured too, for reference: it is what
//! the SDK verifier is compared with, and it shows what per-call key parsing costs.

use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher as _, PasswordVerifier as _, phc::PasswordHash},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use heimdall_server::keys::crypto::{MasterKey, PublicJwk, Signer, SigningAlg, generate_sealed};
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Value, json};

/// A measured rate: operations per second of wall-clock time, and per second of CPU time the
/// measuring thread got (the two agree on an idle core; on a busy machine the second is what
/// the core could do if it were ours).
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub wall: f64,
    pub cpu: f64,
}

impl Rate {
    /// `p`'s rate in `bench-limits` output.
    pub fn from_json(v: &Value, p: Primitive) -> Result<Rate> {
        let get = |k: String| v.get(&k).and_then(Value::as_f64).with_context(|| format!("bench-limits: no `{k}`"));
        Ok(Rate { wall: get(format!("{}_per_s", p.name()))?, cpu: get(format!("{}_per_cpu_s", p.name()))? })
    }
}

/// Measured raw rates on one core.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub rs256_sign: Rate,
    pub rs256_verify: Rate,
    pub argon2_verify: Rate,
    /// For reference: a full `jsonwebtoken::decode` (parses the key on every call).
    pub jsonwebtoken_decode: Rate,
    pub es256_sign: Rate,
    pub eddsa_sign: Rate,
}

const NAMES: [&str; 6] =
    ["rs256_sign", "rs256_verify", "argon2id_verify", "jsonwebtoken_decode", "es256_sign", "eddsa_sign"];

impl Limits {
    pub fn to_json(self) -> Value {
        let mut out = serde_json::Map::new();
        let rates = [
            self.rs256_sign,
            self.rs256_verify,
            self.argon2_verify,
            self.jsonwebtoken_decode,
            self.es256_sign,
            self.eddsa_sign,
        ];
        for (name, r) in NAMES.iter().zip(rates) {
            out.insert(format!("{name}_per_s"), json!(r.wall));
            out.insert(format!("{name}_per_cpu_s"), json!(r.cpu));
        }
        Value::Object(out)
    }

    pub fn from_json(v: &Value) -> Result<Limits> {
        let rate = |p: Primitive| Rate::from_json(v, p);
        Ok(Limits {
            rs256_sign: rate(Primitive::Rs256Sign)?,
            rs256_verify: rate(Primitive::Rs256Verify)?,
            argon2_verify: rate(Primitive::Argon2Verify)?,
            jsonwebtoken_decode: rate(Primitive::JsonwebtokenDecode)?,
            es256_sign: rate(Primitive::Es256Sign)?,
            eddsa_sign: rate(Primitive::EdDsaSign)?,
        })
    }
}

/// CPU time this thread has run (`/proc/thread-self/schedstat`, nanoseconds).
fn thread_cpu() -> Duration {
    let raw = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(raw.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Calls `op` repeatedly for about `budget`.
fn rate(budget: Duration, mut op: impl FnMut()) -> Rate {
    // A short warm-up so caches and CPU frequency settle.
    let warm = Instant::now();
    while warm.elapsed() < budget / 10 {
        op();
    }
    let (start, cpu) = (Instant::now(), thread_cpu());
    let mut n = 0u64;
    while start.elapsed() < budget {
        op();
        n += 1;
    }
    let (wall, cpu) = (start.elapsed().as_secs_f64(), (thread_cpu() - cpu).as_secs_f64());
    Rate { wall: n as f64 / wall, cpu: if cpu > 0.0 { n as f64 / cpu } else { n as f64 / wall } }
}

/// An M2M-shaped JWT signing input, as the server builds it.
fn signing_input(kid: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": kid });
    let claims = json!({
        "iss": "http://127.0.0.1:8080/bench", "aud": "bench", "sub": "m2m_0123456789abcdef0123456789abcdef",
        "aid": "0193a3f0-6b1c-7d2e-9f00-1a2b3c4d5e6f", "type": "m2m", "permissions": ["docs.read"],
        "scope": "docs.read", "iat": now, "exp": now + 3600, "jti": uuid::Uuid::now_v7().to_string(),
    });
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("json")),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("json"))
    )
}

/// One raw operation whose rate is a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primitive {
    Rs256Sign,
    Rs256Verify,
    Argon2Verify,
    JsonwebtokenDecode,
    /// ES256 (P-256) signing through the server's `Signer`, for apps that sign with it.
    Es256Sign,
    /// EdDSA (Ed25519) signing through the server's `Signer`.
    EdDsaSign,
}

impl Primitive {
    const ALL: [Primitive; 6] = [
        Primitive::Rs256Sign,
        Primitive::Rs256Verify,
        Primitive::Argon2Verify,
        Primitive::JsonwebtokenDecode,
        Primitive::Es256Sign,
        Primitive::EdDsaSign,
    ];

    pub fn name(self) -> &'static str {
        NAMES[self as usize]
    }

    fn parse(name: &str) -> Result<Primitive> {
        Primitive::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .with_context(|| format!("unknown primitive `{name}` (one of {})", NAMES.join(", ")))
    }
}

/// Measures each of `which` for about `budget`.
fn measure(budget: Duration, which: &[Primitive]) -> Result<Vec<(Primitive, Rate)>> {
    let master = MasterKey::new(&[7u8; 32]);
    let sealed = generate_sealed(&master, SigningAlg::Rs256)?;
    let signer = Signer::open(&master, &sealed.kid, SigningAlg::Rs256, &sealed.private_key_enc)?;
    let input = signing_input(&sealed.kid);
    let signature = signer.sign(input.as_bytes());
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&signature));
    let mut out = Vec::new();
    for &p in which {
        let rate = match p {
            Primitive::Rs256Sign => rate(budget, || {
                std::hint::black_box(signer.sign(std::hint::black_box(input.as_bytes())));
            }),
            Primitive::Rs256Verify => {
                let public = sealed.public.parse(SigningAlg::Rs256)?;
                public.verify_sig(input.as_bytes(), &signature).map_err(|_| anyhow::anyhow!("raw verify failed"))?;
                rate(budget, || {
                    let ok =
                        public.verify_sig(std::hint::black_box(input.as_bytes()), std::hint::black_box(&signature));
                    std::hint::black_box(ok.is_ok());
                })
            }
            Primitive::JsonwebtokenDecode => {
                let PublicJwk::Rsa { n, e } = &sealed.public else { anyhow::bail!("an RSA key has n and e") };
                let decoding = DecodingKey::from_rsa_components(n, e)?;
                let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
                validation.leeway = 60;
                validation.validate_nbf = true;
                validation.set_issuer(&["http://127.0.0.1:8080/bench"]);
                validation.set_audience(&["bench"]);
                validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
                jsonwebtoken::decode::<Value>(&token, &decoding, &validation).context("raw verify of a fresh token")?;
                rate(budget, || {
                    let token = std::hint::black_box(token.as_str());
                    std::hint::black_box(
                        jsonwebtoken::decode::<Value>(token, &decoding, &validation).expect("verifies"),
                    );
                })
            }
            Primitive::Es256Sign | Primitive::EdDsaSign => {
                let alg = if p == Primitive::Es256Sign { SigningAlg::Es256 } else { SigningAlg::EdDsa };
                let sealed = generate_sealed(&master, alg)?;
                let signer = Signer::open(&master, &sealed.kid, alg, &sealed.private_key_enc)?;
                let input = signing_input(&sealed.kid);
                rate(budget, || {
                    std::hint::black_box(signer.sign(std::hint::black_box(input.as_bytes())));
                })
            }
            Primitive::Argon2Verify => {
                let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default());
                let hash = argon2
                    .hash_password(b"correct horse battery staple")
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                    .to_string();
                rate(budget, || {
                    let parsed = PasswordHash::new(&hash).expect("phc");
                    assert!(argon2.verify_password(b"correct horse battery staple", &parsed).is_ok());
                })
            }
        };
        out.push((p, rate));
    }
    Ok(out)
}

/// `xtask bench-limits [SECONDS [PRIMITIVE…]]`: prints the rates of the named primitives (all by
/// default) as JSON, `<name>_per_s` and `<name>_per_cpu_s`.
pub fn run(args: &[String]) -> Result<ExitCode> {
    let secs: f64 = match args.first() {
        Some(s) => s.parse().context("bench-limits takes the seconds per measurement")?,
        None => 2.0,
    };
    let which = match &args.get(1..) {
        Some(names) if !names.is_empty() => names.iter().map(|n| Primitive::parse(n)).collect::<Result<Vec<_>>>()?,
        _ => Primitive::ALL.to_vec(),
    };
    let mut out = serde_json::Map::new();
    for (p, r) in measure(Duration::from_secs_f64(secs), &which)? {
        out.insert(format!("{}_per_s", p.name()), json!(r.wall));
        out.insert(format!("{}_per_cpu_s", p.name()), json!(r.cpu));
    }
    println!("{}", Value::Object(out));
    Ok(ExitCode::SUCCESS)
}
