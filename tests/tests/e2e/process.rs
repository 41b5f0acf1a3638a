//! The `heimdall` binary started as a process, the way an operator starts it: settings in the
//! environment, judged by its exit code, its stderr (the log) and its answers.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use base64::Engine;

/// The same program as `heimdall`, built by this package (`tests/src/bin`).
pub const BIN: &str = env!("CARGO_BIN_EXE_heimdall-under-test");

/// A command for the binary with none of the caller's `HEIMDALL_*` settings, its data dir in
/// `data_dir`, the database at `database_url` and an explicit master key.
pub fn heimdall(data_dir: &Path, database_url: &str, master_key: [u8; 32]) -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HEIMDALL_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("HEIMDALL_DATA_DIR", data_dir)
        .env("HEIMDALL_DATABASE_URL", database_url)
        .env("HEIMDALL_MASTER_KEY", base64::engine::general_purpose::STANDARD.encode(master_key))
        .env("HEIMDALL_LISTEN", "127.0.0.1:0")
        .env("HEIMDALL_SHUTDOWN_GRACE_SECONDS", "0")
        .env("HEIMDALL_KEY_POOL_SIZE", "0")
        .stdin(Stdio::null());
    cmd
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A started process whose stdout and stderr go to files.
pub struct Running {
    pub child: Child,
    pub port: u16,
    stderr: PathBuf,
}

/// How a process that was expected to stop ended.
pub struct Exited {
    pub status: ExitStatus,
    pub stderr: String,
}

/// Runs `cmd` to its end (at most `limit`), capturing stderr.
pub fn run_to_exit(mut cmd: Command, limit: Duration) -> Exited {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stderr");
    cmd.stdout(Stdio::null()).stderr(std::fs::File::create(&path).expect("stderr file"));
    let mut child = cmd.spawn().expect("start heimdall");
    let status = wait(&mut child, limit).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("heimdall still running after {limit:?}:\n{}", std::fs::read_to_string(&path).unwrap_or_default())
    });
    Exited { status, stderr: std::fs::read_to_string(&path).unwrap_or_default() }
}

fn wait(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Running {
    /// Starts `cmd` listening on a free port and waits until `/readyz` answers 200.
    pub fn start(mut cmd: Command, logs: &Path) -> Running {
        let port = free_port();
        let stderr = logs.join(format!("stderr-{port}"));
        cmd.env("HEIMDALL_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(std::fs::File::create(logs.join(format!("stdout-{port}"))).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        let mut running = Running { child: cmd.spawn().expect("start heimdall"), port, stderr };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = running.child.try_wait().expect("wait") {
                panic!("heimdall exited with {status} before it was ready:\n{}", running.stderr());
            }
            if running.try_request("GET", "/readyz", &[], None).is_ok_and(|(status, _)| status == 200) {
                return running;
            }
            assert!(Instant::now() < deadline, "heimdall not ready after 60 s:\n{}", running.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// One HTTP/1.1 request on a connection of its own: `(status, body)`.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> (u16, String) {
        self.try_request(method, path, headers, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() {
            head.push_str("Content-Type: application/json\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(head.as_bytes())?;
        let mut raw = String::new();
        stream.read_to_string(&mut raw)?;
        let status = raw.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        Ok((status, body))
    }

    /// Sends SIGTERM and waits for the process to end.
    pub fn terminate(mut self) -> Exited {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc_kill(self.child.id() as i32, 15);
        }
        let status = wait(&mut self.child, Duration::from_secs(60)).expect("heimdall stops within 60 s of SIGTERM");
        Exited { status, stderr: self.stderr() }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, signal: i32) -> i32;
}
