//! The `heimdall` binary; everything it does is in [`heimdall_server::cli`].

fn main() -> std::process::ExitCode {
    heimdall_server::cli::main()
}
