//! A service verifying Heimdall access tokens offline: one JWKS fetch, then every token is
//! checked locally (signature, issuer, audience, expiry) without calling Heimdall.
//!
//! ```text
//! HEIMDALL_URL=http://127.0.0.1:8080 cargo run -p heimdall-sdk --example offline_verify -- acme "$TOKEN"
//! ```

use heimdall_sdk::{Claims, JwksVerifier, VerifyError};

/// Verifies each of `tokens` for app `slug`, after warming the key cache once.
pub async fn run(
    base_url: &str,
    slug: &str,
    tokens: &[String],
) -> Result<Vec<Result<Claims, VerifyError>>, heimdall_sdk::Error> {
    let verifier = JwksVerifier::builder(base_url, slug).build()?;
    // Fetch the keys at start-up, so a misconfiguration shows at once rather than on the first
    // request.
    verifier.refresh().await?;
    let mut outcomes = Vec::with_capacity(tokens.len());
    for token in tokens {
        outcomes.push(verifier.verify(token).await);
    }
    Ok(outcomes)
}

#[cfg_attr(test, allow(dead_code))]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base_url = std::env::var("HEIMDALL_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let mut args = std::env::args().skip(1);
    let slug = args.next().ok_or("usage: offline_verify <slug> <token>…")?;
    let tokens: Vec<String> = args.collect();
    for (token, outcome) in tokens.iter().zip(run(&base_url, &slug, &tokens).await?) {
        let short = &token[..token.len().min(16)];
        match outcome {
            Ok(claims) => println!("{short}… valid: {} {} {:?}", claims.token_type, claims.sub, claims.permissions),
            Err(e) => println!("{short}… refused: {} ({e})", e.code()),
        }
    }
    Ok(())
}
