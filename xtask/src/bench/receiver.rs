//! A webhook receiver on 127.0.0.1 for the `events` scenario: answers every POST with 204 over
//! keep-alive connections and records, for each event of the watched type, how long after the
//! event's CloudEvents `time` (stamped in the transaction that wrote the change) it arrived.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use anyhow::Result;
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use super::load::Histogram;

/// Delivery lags of the watched event type, and how many arrived.
#[derive(Default)]
pub struct Arrivals {
    pub lag: Histogram,
    pub count: u64,
    /// When the first and the latest of them arrived.
    pub span: Option<(std::time::Instant, std::time::Instant)>,
}

impl Arrivals {
    /// Events received per second between the first arrival and the last.
    pub fn rate(&self) -> f64 {
        match self.span {
            Some((first, last)) if last > first => (self.count - 1) as f64 / (last - first).as_secs_f64(),
            _ => 0.0,
        }
    }
}

pub struct Receiver {
    pub addr: SocketAddr,
    pub arrivals: Arc<Mutex<Arrivals>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Listens on an ephemeral port of 127.0.0.1, recording events whose `type` is `watched`.
    pub async fn start(watched: &str) -> Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let arrivals = Arc::new(Mutex::new(Arrivals::default()));
        let (shared, watched) = (arrivals.clone(), watched.to_owned());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone(), watched.clone()));
            }
        });
        Ok(Receiver { addr, arrivals, task })
    }

    pub fn count(&self) -> u64 {
        self.arrivals.lock().expect("arrivals").count
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One keep-alive connection: requests until the peer closes.
async fn serve(mut stream: TcpStream, arrivals: Arc<Mutex<Arrivals>>, watched: String) {
    let mut buf = Vec::with_capacity(8192);
    loop {
        let Some(head_end) = read_until_head(&mut stream, &mut buf).await else { return };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let arrived = chrono::Utc::now();
        if let Ok(event) = serde_json::from_slice::<Value>(&buf[head_end..head_end + length])
            && event["type"] == watched.as_str()
            && let Some(time) = event["time"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        {
            let lag = (arrived - time.with_timezone(&chrono::Utc)).num_nanoseconds().unwrap_or(0).max(0);
            let mut a = arrivals.lock().expect("arrivals");
            a.lag.record(lag as u64);
            a.count += 1;
            let now = std::time::Instant::now();
            a.span = Some((a.span.map_or(now, |(first, _)| first), now));
        }
        buf.drain(..head_end + length);
        if stream.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await.is_err() {
            return;
        }
    }
}

/// Reads until `buf` holds a request head; the index just past its blank line.
async fn read_until_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(i + 4);
        }
        let mut chunk = [0u8; 8192];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}
