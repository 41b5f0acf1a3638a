//! Micro-benchmark of local token verification, for `cargo xtask bench` or the
//! `verify_bench` example: how many tokens per second [`JwksVerifier::verify`] checks with a warm
//! cache, next to a bare `jsonwebtoken::decode` of the same token with the same key and rules.
//! The difference is the verifier's own cost (header parse, cache lookup, error mapping); the
//! target is under 10 %.

use std::{
    fmt,
    hint::black_box,
    time::{Duration, Instant},
};

use crate::jwks::{Claims, InvalidToken, JwksVerifier, VerifyError};

/// Result of [`verify_throughput`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    /// Verifications timed for each side.
    pub iterations: u64,
    /// Verifications per second through [`JwksVerifier::verify`].
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
/// the verifier's cache (the only fetch). The two sides alternate in ten rounds, taking turns to
/// go first, so that drift in CPU speed affects both alike. Run it on a current-thread runtime for a one-core figure.
pub async fn verify_throughput(
    verifier: &JwksVerifier,
    token: &str,
    iterations: u64,
) -> Result<Throughput, VerifyError> {
    verifier.verify(token).await?;
    let kid = jsonwebtoken::decode_header(token)
        .ok()
        .and_then(|h| h.kid)
        .ok_or(VerifyError::Invalid(InvalidToken::MissingKeyId))?;
    let key = verifier.cached_key(&kid).ok_or(VerifyError::KeyNotFound { kid })?;
    let validation = verifier.validation().clone();

    const ROUNDS: u64 = 10;
    let per_round = iterations.div_ceil(ROUNDS).max(1);
    let (mut raw, mut ours) = (Duration::ZERO, Duration::ZERO);
    for round in 0..ROUNDS {
        // Alternate which side goes first, so neither always runs on the warmer CPU.
        for side in [round % 2, 1 - round % 2] {
            let start = Instant::now();
            if side == 0 {
                for _ in 0..per_round {
                    let decoded = jsonwebtoken::decode::<Claims>(black_box(token), &key.decoding, &validation);
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
