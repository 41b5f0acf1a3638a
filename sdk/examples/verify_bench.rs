//! Local verification throughput with a warm cache: how many tokens per second
//! [`JwksVerifier::verify`](heimdall_sdk::JwksVerifier::verify) checks, next to a bare
//! `jsonwebtoken::decode` of the same token with the same key and rules. The difference is the
//! verifier's own cost (header parse, cache lookup, error mapping); the target is under 10 %.
//! Creates a throwaway app and user for the token.
//!
//! ```text
//! HEIMDALL_URL=http://127.0.0.1:8080 HEIMDALL_PAK=pcft_live_… \
//!     cargo run --release -p heimdall-sdk --example verify_bench -- 50000
//! ```
//!
//! `cargo xtask bench` includes this file for its `sdk_verify` row, so both time the same code;
//! the measurement lives here rather than in the SDK, whose API it is not part of.

use std::{
    fmt,
    hint::black_box,
    time::{Duration, Instant},
};

use heimdall_sdk::{Claims, Credential, Heimdall, scoped::ConsumerScope, types};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};

/// Whatever went wrong: the bench reports it and stops.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Result of [`verify_throughput`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    /// Verifications timed for each side.
    pub iterations: u64,
    /// Verifications per second through `JwksVerifier::verify`.
    pub verifier_per_sec: f64,
    /// Verifications per second through `jsonwebtoken::decode` alone.
    pub raw_per_sec: f64,
}

impl Throughput {
    /// The verifier's extra cost per verification relative to the raw decode, as a fraction
    /// (`0.05` is 5 % slower; negative when the noise favours the verifier).
    pub fn overhead(&self) -> f64 {
        self.raw_per_sec / self.verifier_per_sec - 1.0
    }
}

impl fmt::Display for Throughput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "verifier {:.0}/s, raw jsonwebtoken {:.0}/s, overhead {:+.1}% ({} iterations each)",
            self.verifier_per_sec,
            self.raw_per_sec,
            self.overhead() * 100.0,
            self.iterations
        )
    }
}

/// Times `iterations` verifications of `token` both ways on the calling thread, after warming
/// the verifier's cache (its only fetch). The raw side gets its key from a JWKS fetched
/// separately and the rules of the default [`VerifierOptions`](heimdall_sdk::VerifierOptions),
/// as a service without the SDK would. The two sides alternate in ten rounds, taking turns to go
/// first, so that drift in CPU speed affects both alike. Run it on a current-thread runtime for
/// a one-core figure.
pub async fn verify_throughput(consumer: &ConsumerScope, token: &str, iterations: u64) -> Result<Throughput, BoxError> {
    let verifier = consumer.verifier();
    verifier.verify(token).await?;

    let kid = jsonwebtoken::decode_header(token)?.kid.ok_or("the token names no key")?;
    let keys: JwkSet = serde_json::from_value(serde_json::to_value(consumer.jwks().await?)?)?;
    let key = DecodingKey::from_jwk(keys.find(&kid).ok_or("the token's key is not in the JWKS")?)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 5;
    validation.validate_nbf = true;
    validation.set_issuer(verifier.issuers());
    validation.set_audience(&[verifier.audience()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    jsonwebtoken::decode::<Claims>(token, &key, &validation)?;

    const ROUNDS: u64 = 10;
    let per_round = iterations.div_ceil(ROUNDS).max(1);
    let (mut raw, mut ours) = (Duration::ZERO, Duration::ZERO);
    for round in 0..ROUNDS {
        // Alternate which side goes first, so neither always runs on the warmer CPU.
        for side in [round % 2, 1 - round % 2] {
            let start = Instant::now();
            if side == 0 {
                for _ in 0..per_round {
                    let decoded = jsonwebtoken::decode::<Claims>(black_box(token), &key, &validation);
                    black_box(decoded.is_ok());
                }
                raw += start.elapsed();
            } else {
                for _ in 0..per_round {
                    let verified = verifier.verify(black_box(token)).await;
                    black_box(verified.is_ok());
                }
                ours += start.elapsed();
            }
        }
    }
    let iterations = per_round * ROUNDS;
    let rate = |elapsed: Duration| iterations as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
    Ok(Throughput { iterations, verifier_per_sec: rate(ours), raw_per_sec: rate(raw) })
}

/// Times `iterations` verifications each way of a fresh end-user token.
pub async fn run(base_url: &str, pak: &str, iterations: u64) -> Result<Throughput, BoxError> {
    let heimdall =
        Heimdall::builder().base_url(base_url).credential(Credential::PlatformKey(pak.to_owned())).build()?;
    let slug = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let app =
        heimdall.apps().create(types::CreateApp::builder().slug(slug.as_str()).display_name("Verify bench")).await?;
    let consumer = heimdall.consumer(&slug);
    let signup =
        types::SignupRequest::builder().username("bench").email("bench@example.com").password("Correct-Horse-42");
    let tokens = consumer.auth().signup(signup).await?;
    let throughput = verify_throughput(&consumer, &tokens.access_token, iterations).await?;
    heimdall.app(app.id).delete().await?;
    Ok(throughput)
}

#[cfg_attr(test, allow(dead_code))]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let base_url = std::env::var("HEIMDALL_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let pak = std::env::var("HEIMDALL_PAK").map_err(|_| "set HEIMDALL_PAK to a platform API key")?;
    let iterations = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(50_000);
    println!("{}", run(&base_url, &pak, iterations).await?);
    Ok(())
}
