//! A backend-for-frontend signing users in through Heimdall.
//!
//! The BFF holds one platform-key client for the app's public endpoints (which ignore the key),
//! signs the user in, authenticates the access token locally on each incoming request with an
//! [`Authenticator`], and calls `/me` with the user's own token as the credential.
//!
//! ```text
//! HEIMDALL_URL=http://127.0.0.1:8080 HEIMDALL_PAK=pcft_live_… \
//!     cargo run -p heimdall-sdk --example bff_signin -- acme ada 'Correct-Horse-42'
//! ```

use heimdall_sdk::{Authenticator, Claims, Credential, Heimdall, types};

/// What the BFF learned while signing the user in.
pub struct SignedIn {
    /// The claims of the access token, verified locally.
    pub claims: Claims,
    /// The user's profile from `/me`.
    pub me: types::EndUserSummary,
    /// Tokens after one refresh (what the BFF keeps in its session).
    pub tokens: types::TokenResponse,
}

/// Signs `username` in to app `slug` (signing them up first when they do not exist), checks the
/// token like a request handler would, reads `/me` and refreshes once.
pub async fn run(
    base_url: &str,
    pak: &str,
    slug: &str,
    username: &str,
    password: &str,
) -> Result<SignedIn, Box<dyn std::error::Error + Send + Sync>> {
    let heimdall =
        Heimdall::builder().base_url(base_url).credential(Credential::PlatformKey(pak.to_owned())).build()?;
    let acme = heimdall.consumer(slug);

    let tokens = match acme.auth().signin(username, password).await {
        Ok(tokens) => tokens,
        Err(e) if e.code() == Some("invalid_credentials") => {
            let signup = types::SignupRequest::builder()
                .username(username)
                .email(format!("{username}@example.com"))
                .password(password);
            acme.auth().signup(signup).await?
        }
        Err(e) => return Err(e.into()),
    };

    // What every request handler of the BFF does with the `Authorization` header it receives.
    let authenticator = Authenticator::new(acme.verifier());
    let header = format!("Bearer {}", tokens.access_token);
    let claims = authenticator.authenticate_header(Some(&header)).await?;

    // The user's own view, with their token as the credential.
    let as_user = heimdall.with_credential(Credential::Bearer(tokens.access_token.clone()))?;
    let me = as_user.consumer(slug).me().get().await?;

    // Before the access token expires, the BFF refreshes (each refresh token works once).
    let tokens = acme.auth().refresh(tokens.refresh_token).await?;
    Ok(SignedIn { claims, me, tokens })
}

#[cfg_attr(test, allow(dead_code))]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let base_url = std::env::var("HEIMDALL_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let pak = std::env::var("HEIMDALL_PAK").map_err(|_| "set HEIMDALL_PAK to a platform API key")?;
    let mut args = std::env::args().skip(1);
    let slug = args.next().unwrap_or_else(|| "acme".into());
    let username = args.next().unwrap_or_else(|| "ada".into());
    let password = args.next().unwrap_or_else(|| "Correct-Horse-42".into());
    let signed_in = run(&base_url, &pak, &slug, &username, &password).await?;
    println!("signed in {} ({}) with role {:?}", signed_in.me.username, signed_in.claims.sub, signed_in.claims.role);
    println!("session {:?}, token expires in {} s", signed_in.claims.sid, signed_in.tokens.expires_in);
    Ok(())
}
