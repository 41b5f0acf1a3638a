//! The `heimdall` binary under another name, so the end-to-end tests can start it as a process
//! (`CARGO_BIN_EXE_heimdall-under-test`; a package's tests only see its own binaries).

fn main() -> std::process::ExitCode {
    heimdall_server::cli::main()
}
