//! Local verification throughput with a warm cache, next to a bare `jsonwebtoken::decode` of the
//! same token (see [`heimdall_sdk::bench`]). Creates a throwaway app and user for the token.
//!
//! ```text
//! HEIMDALL_URL=http://127.0.0.1:8080 HEIMDALL_PAK=pcft_live_… \
//!     cargo run --release -p heimdall-sdk --example verify_bench -- 50000
//! ```

use heimdall_sdk::{Credential, Heimdall, bench::Throughput, types};

/// Times `iterations` verifications each way of a fresh end-user token.
pub async fn run(
    base_url: &str,
    pak: &str,
    iterations: u64,
) -> Result<Throughput, Box<dyn std::error::Error + Send + Sync>> {
    let heimdall =
        Heimdall::builder().base_url(base_url).credential(Credential::PlatformKey(pak.to_owned())).build()?;
    let slug = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let app =
        heimdall.apps().create(types::CreateApp::builder().slug(slug.as_str()).display_name("Verify bench")).await?;
    let consumer = heimdall.consumer(&slug);
    let signup =
        types::SignupRequest::builder().username("bench").email("bench@example.com").password("Correct-Horse-42");
    let tokens = consumer.auth().signup(signup).await?;
    let throughput =
        heimdall_sdk::bench::verify_throughput(&consumer.verifier(), &tokens.access_token, iterations).await?;
    heimdall.app(app.id).delete().await?;
    Ok(throughput)
}

#[cfg_attr(test, allow(dead_code))]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let base_url = std::env::var("HEIMDALL_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let pak = std::env::var("HEIMDALL_PAK").map_err(|_| "set HEIMDALL_PAK to a platform API key")?;
    let iterations = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(50_000);
    println!("{}", run(&base_url, &pak, iterations).await?);
    Ok(())
}
