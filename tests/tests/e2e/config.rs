//! Configuration as the operator sees it: invalid settings name their variable, and the public
//! URL setting becomes the issuer of every app.

use heimdall_server::config::{Cli, Config};
use heimdall_tests::{TestServer, db_test};

/// Parses a command line the way the binary does (flags override the environment).
fn config_from(args: &[&str]) -> Result<Config, String> {
    use clap::Parser;
    let mut argv = vec!["heimdall"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
    Config::from_settings(&cli.settings).map_err(|e| e.to_string())
}

#[test]
fn invalid_settings_name_the_variable_at_fault() {
    for (args, variable) in [
        (&["--listen", "localhost"][..], "HEIMDALL_LISTEN"),
        (&["--public-url", "https://auth.example.com/base"], "HEIMDALL_PUBLIC_URL"),
        (&["--public-url", "ftp://auth.example.com"], "HEIMDALL_PUBLIC_URL"),
        (&["--database-url", "mysql://db/heimdall"], "HEIMDALL_DATABASE_URL"),
        (&["--master-key", "c2hvcnQ="], "HEIMDALL_MASTER_KEY"),
        (&["--master-key", "not base64!"], "HEIMDALL_MASTER_KEY"),
        (&["--bootstrap-pak", "pcft_live_short"], "HEIMDALL_BOOTSTRAP_PAK"),
        (&["--bootstrap-pak", "hdk_live_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], "HEIMDALL_BOOTSTRAP_PAK"),
        (&["--max-body-bytes", "lots"], "HEIMDALL_MAX_BODY_BYTES"),
        (&["--max-body-bytes", "10"], "HEIMDALL_MAX_BODY_BYTES"),
        (&["--key-rotation-days", "0"], "HEIMDALL_KEY_ROTATION_DAYS"),
        (&["--key-pool-size=-1"], "HEIMDALL_KEY_POOL_SIZE"),
    ] {
        let err = config_from(args).expect_err(&format!("{args:?} must be refused"));
        // Our checks start with the variable; clap's (numbers) name it as the flag's value.
        let line = err.lines().next().unwrap_or_default();
        assert!(
            line.starts_with(&format!("{variable}:")) || line.contains(&format!(" <{variable}>'")),
            "{args:?} → {err}"
        );
    }
    let ok = config_from(&["--public-url", "HTTPS://Auth.Example.com:443/", "--key-pool-size", "0"]).expect("valid");
    assert_eq!(ok.public_url.as_deref(), Some("https://auth.example.com"));
    assert_eq!(ok.key_pool_size, 0);
}

db_test!(
    async fn the_public_url_is_the_origin_of_every_issuer(db: Db) {
        let server =
            TestServer::spawn_with(db, |config| config.public_url = Some("https://auth.example.com".into())).await;
        server.create_app("branded").await;
        let doc = server.get_public("/branded/.well-known/openid-configuration").await;
        assert_eq!(doc.expect(200)["issuer"], "https://auth.example.com/branded");
        assert_eq!(doc["jwks_uri"], "https://auth.example.com/branded/v1/.well-known/jwks.json");
    }
);
