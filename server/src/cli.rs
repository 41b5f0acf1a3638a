//! The command line of the `heimdall` binary: `serve` (default), `migrate`, `bootstrap`,
//! `openapi`. `main.rs` only calls [`main`], so the end-to-end tests can build the same program
//! under another name and start it as an operator would.

use crate::{
    config::{Cli, Command, Config},
    db,
    startup::Application,
    telemetry, workspaces,
};
use clap::Parser;

/// Parses the command line and the environment, runs the command, and says how it ended.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let command = cli.command.clone().unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        print!("{}", crate::routes::spec_json());
        return std::process::ExitCode::SUCCESS;
    }
    let config = match Config::from_settings(&cli.settings) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init_logging(&config.log, config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(command, config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            // Held until the process ends.
            let _lock = db::lock_sqlite_file(&config.database_url)?;
            let mut app = Application::build(config).await?;
            if let Some(key) = app.take_generated_key() {
                print_key_once(&key, "first start of an empty database");
            }
            tracing::info!(port = app.port(), public_url = %app.state().public_url, "heimdall listening");
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let db = db::connect(&config.database_url).await?;
            db::migrate(&db).await?;
            println!("migrations applied");
        }
        Command::Bootstrap { workspace_name, new_workspace } => {
            let db = db::connect(&config.database_url).await?;
            db::migrate(&db).await?;
            let issued = workspaces::bootstrap_key(&db, &workspace_name, new_workspace).await?;
            let verb = if issued.created { "created" } else { "exists; new key issued for it" };
            println!("workspace {} ({}) {verb}", issued.workspace_id, issued.workspace_name);
            print_key_once(issued.key.expose(), "bootstrap");
        }
        Command::Openapi => unreachable!("handled before the runtime starts"),
    }
    Ok(())
}

/// Prints a new platform API key to stdout (never to the log). It is not stored in clear and
/// cannot be shown again.
fn print_key_once(key: &str, why: &str) {
    println!();
    println!("  Platform API key ({why}); shown once, store it now:");
    println!();
    println!("    {key}");
    println!();
}
