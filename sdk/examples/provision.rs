//! Provisioning with a platform API key: create an app, add a permission to its catalogue and
//! create an M2M credential a backend service can exchange for tokens.
//!
//! ```text
//! HEIMDALL_URL=http://127.0.0.1:8080 HEIMDALL_PAK=pcft_live_… \
//!     cargo run -p heimdall-sdk --example provision -- acme
//! ```
//!
//! Safe to run twice: the app is created with an idempotency key and an existing permission is
//! kept.

use heimdall_sdk::{Credential, Heimdall, types};

/// What provisioning produced.
pub struct Provisioned {
    /// The new app.
    pub app: types::App,
    /// The M2M credential's client id (`m2m_…`).
    pub client_id: String,
    /// Its secret, shown only now.
    pub client_secret: String,
    /// A client-credentials token obtained with it, proving it works.
    pub access_token: String,
}

/// Creates app `slug` with a `reports.read` permission and a `reporting-service` M2M credential
/// holding it, using the platform API key `pak`.
pub async fn run(base_url: &str, pak: &str, slug: &str) -> Result<Provisioned, heimdall_sdk::Error> {
    let heimdall =
        Heimdall::builder().base_url(base_url).credential(Credential::PlatformKey(pak.to_owned())).build()?;

    let create = types::CreateApp::builder().slug(slug).display_name(format!("App {slug}"));
    let app = heimdall.apps().create_idempotent(create, format!("provision-{slug}")).await?;
    let admin = heimdall.app(app.id);

    let permission = types::CreatePermission::builder().resource("reports").action("read");
    match admin.permissions().create(permission).await {
        Ok(_) => {}
        Err(e) if e.code() == Some("permission_exists") => {}
        Err(e) => return Err(e),
    }

    let credential =
        types::CreateM2mClient::builder().name("reporting-service").scopes(vec!["reports.read".to_owned()]);
    let credential = admin.credentials().create(credential).await?;

    let token = heimdall
        .consumer(&app.slug)
        .oauth()
        .client_credentials(&credential.client_id, &credential.client_secret)
        .await?;
    Ok(Provisioned {
        app,
        client_id: credential.client_id,
        client_secret: credential.client_secret,
        access_token: token.access_token,
    })
}

#[cfg_attr(test, allow(dead_code))]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base_url = std::env::var("HEIMDALL_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let pak = std::env::var("HEIMDALL_PAK").map_err(|_| "set HEIMDALL_PAK to a platform API key")?;
    let slug = std::env::args().nth(1).unwrap_or_else(|| "acme".into());
    let provisioned = run(&base_url, &pak, &slug).await?;
    println!("app       {} ({})", provisioned.app.slug, provisioned.app.id);
    println!("client_id {}", provisioned.client_id);
    println!("secret    {}", provisioned.client_secret);
    Ok(())
}
