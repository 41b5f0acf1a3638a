//! The load generator: raw HTTP/1.1 over keep-alive TCP connections on a current-thread tokio
//! runtime (the bench process is pinned to one core, so one thread is all it gets).
//!
//! Every request is serialised before the run starts; a connection writes those bytes, reads
//! the response head, and skips the body by `Content-Length` (or chunk sizes) into a buffer it
//! reuses. Latencies go into a per-connection log-linear histogram merged at the end. Only
//! responses completed inside the measured window count; 2xx responses are throughput,
//! everything else is counted apart.

use std::{
    cell::{Cell, RefCell},
    collections::BTreeMap,
    net::SocketAddr,
    rc::Rc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Sub-buckets per power of two: values are kept to within 1/64 (1.6%).
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Enough buckets for any latency up to 2^41 ns (~36 min).
const BUCKETS: usize = ((41 - SUB_BITS as usize) + 1) * SUB as usize;

/// A latency histogram in nanoseconds with a fixed array of log-linear buckets.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: Box::new([0; BUCKETS]), total: 0, max: 0 }
    }
}

impl Histogram {
    fn index(v: u64) -> usize {
        if v < SUB {
            return v as usize;
        }
        let p = 63 - v.leading_zeros();
        let idx = ((p - SUB_BITS + 1) as u64 * SUB + ((v >> (p - SUB_BITS)) - SUB)) as usize;
        idx.min(BUCKETS - 1)
    }

    /// Lowest value that lands in bucket `idx`.
    fn lower(idx: usize) -> u64 {
        let idx = idx as u64;
        if idx < SUB {
            return idx;
        }
        let e = idx / SUB;
        (idx % SUB + SUB) << (e - 1)
    }

    pub fn record(&mut self, nanos: u64) {
        self.counts[Self::index(nanos)] += 1;
        self.total += 1;
        self.max = self.max.max(nanos);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// The value at quantile `q` (0–1), as the middle of its bucket.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (idx, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, hi) = (Self::lower(idx), Self::lower(idx + 1));
                return Duration::from_nanos(((lo + hi) / 2).min(self.max));
            }
        }
        Duration::from_nanos(self.max)
    }
}

/// Where a connection's request bytes come from.
pub enum Requests {
    /// The same request every time.
    Fixed(Vec<u8>),
    /// Each request once, in order, shared by all connections; the run ends when they are used up.
    Pool { items: Vec<Vec<u8>>, next: Cell<usize> },
    /// The items round-robin, for as long as the run lasts.
    Cycle { items: Vec<Vec<u8>>, next: Cell<usize> },
}

impl Requests {
    pub fn pool(items: Vec<Vec<u8>>) -> Self {
        Requests::Pool { items, next: Cell::new(0) }
    }

    pub fn cycle(items: Vec<Vec<u8>>) -> Self {
        Requests::Cycle { items, next: Cell::new(0) }
    }

    fn take(&self) -> Option<&[u8]> {
        match self {
            Requests::Fixed(r) => Some(r),
            Requests::Cycle { items, next } => {
                let i = next.get();
                next.set((i + 1) % items.len().max(1));
                items.get(i).map(Vec::as_slice)
            }
            Requests::Pool { items, next } => {
                let i = next.get();
                next.set(i + 1);
                items.get(i).map(Vec::as_slice)
            }
        }
    }
}

/// Serialises one request. `headers` are complete lines without the trailing CRLF.
pub fn request(host: &SocketAddr, method: &str, path: &str, headers: &[String], body: Option<&[u8]>) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    if let Some(body) = body {
        out.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    bytes
}

/// One load to drive.
pub struct Load {
    pub connections: usize,
    pub requests: Rc<Requests>,
    /// Total request rate across connections; `None` sends as fast as responses come back.
    pub pace: Option<f64>,
    /// Keeps `access_token` values of 2xx JSON answers (used to collect minted tokens).
    pub capture: Option<Rc<RefCell<Vec<String>>>>,
    /// Keeps `refresh_token` values of 2xx JSON answers (the soak refreshes them).
    pub capture_refresh: Option<Rc<RefCell<Vec<String>>>>,
    /// Stop once this many 2xx answers were seen (minting), whatever the window.
    pub stop_after_ok: Option<u64>,
}

impl Load {
    pub fn new(connections: usize, requests: Requests) -> Self {
        Load {
            connections,
            requests: Rc::new(requests),
            pace: None,
            capture: None,
            capture_refresh: None,
            stop_after_ok: None,
        }
    }
}

/// What one load did inside the measured window.
#[derive(Clone, Default)]
pub struct Outcome {
    pub ok: u64,
    pub non_2xx: u64,
    pub io_errors: u64,
    pub statuses: BTreeMap<u16, u64>,
    /// Latency of 2xx answers.
    pub latency: Histogram,
    /// Length of the measured window.
    pub window: Duration,
    /// A request pool ran out before the window's end.
    pub exhausted: bool,
}

impl Outcome {
    /// Adds another window's counts to this one's.
    pub fn merge(&mut self, o: &Outcome) {
        self.ok += o.ok;
        self.non_2xx += o.non_2xx;
        self.io_errors += o.io_errors;
        for (status, n) in &o.statuses {
            *self.statuses.entry(*status).or_default() += n;
        }
        self.latency.merge(&o.latency);
        self.window += o.window;
        self.exhausted |= o.exhausted;
    }

    pub fn rate(&self) -> f64 {
        if self.window.is_zero() { 0.0 } else { self.ok as f64 / self.window.as_secs_f64() }
    }
}

/// The shared clock of one run: warm-up until `measure_from`, then until `stop` (which a
/// running-out pool or a reached `stop_after_ok` brings forward).
struct Window {
    measure_from: Instant,
    stop: Cell<Instant>,
    ok: Cell<u64>,
}

/// Where a connection keeps the tokens it sees.
struct Capture {
    access: Option<Rc<RefCell<Vec<String>>>>,
    refresh: Option<Rc<RefCell<Vec<String>>>>,
}

impl Capture {
    fn keep(&self, body: &[u8]) {
        for (into, key) in [(&self.access, "access_token"), (&self.refresh, "refresh_token")] {
            if let Some(into) = into
                && let Some(token) = string_field(body, key)
            {
                into.borrow_mut().push(token);
            }
        }
    }
}

struct Conn {
    outcome: Outcome,
    exhausted: bool,
}

/// Drives `loads` together against `addr`: `warmup`, then `duration` measured. Must run inside
/// a `LocalSet`.
pub async fn run(addr: SocketAddr, loads: Vec<Load>, warmup: Duration, duration: Duration) -> Result<Vec<Outcome>> {
    let start = Instant::now();
    let measure_from = start + warmup;
    let mut all = Vec::new();
    let mut windows = Vec::new();
    for load in &loads {
        let window = Rc::new(Window { measure_from, stop: Cell::new(measure_from + duration), ok: Cell::new(0) });
        windows.push(window.clone());
        let mut handles = Vec::new();
        for i in 0..load.connections {
            let offset = load.pace.map(|rate| Duration::from_secs_f64(i as f64 / rate));
            let interval = load.pace.map(|rate| Duration::from_secs_f64(load.connections as f64 / rate));
            let (requests, window) = (load.requests.clone(), window.clone());
            let capture = Capture { access: load.capture.clone(), refresh: load.capture_refresh.clone() };
            let stop_after = load.stop_after_ok;
            handles.push(tokio::task::spawn_local(async move {
                connection(addr, &requests, &capture, &window, stop_after, start, offset.zip(interval)).await
            }));
        }
        all.push(handles);
    }
    let mut outcomes = Vec::new();
    for (handles, window) in all.into_iter().zip(windows) {
        let mut total = Outcome::default();
        for h in handles {
            let conn = h.await.context("load task panicked")??;
            let o = conn.outcome;
            total.ok += o.ok;
            total.non_2xx += o.non_2xx;
            total.io_errors += o.io_errors;
            for (s, n) in o.statuses {
                *total.statuses.entry(s).or_default() += n;
            }
            total.latency.merge(&o.latency);
            total.exhausted |= conn.exhausted;
        }
        total.window = window.stop.get().saturating_duration_since(window.measure_from);
        outcomes.push(total);
    }
    Ok(outcomes)
}

async fn connect(addr: SocketAddr) -> Result<TcpStream> {
    let stream = TcpStream::connect(addr).await.with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

async fn connection(
    addr: SocketAddr,
    requests: &Requests,
    capture: &Capture,
    window: &Window,
    stop_after_ok: Option<u64>,
    start: Instant,
    pace: Option<(Duration, Duration)>,
) -> Result<Conn> {
    let mut stream = connect(addr).await?;
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut outcome = Outcome::default();
    let mut exhausted = false;
    let mut next_send = pace.map(|(offset, _)| start + offset);
    loop {
        if let Some(at) = next_send {
            tokio::time::sleep_until(at.into()).await;
        }
        let sent = Instant::now();
        if sent >= window.stop.get() {
            break;
        }
        let Some(req) = requests.take() else {
            // Out of requests: the measured window ends now for everyone.
            exhausted = true;
            if sent < window.stop.get() {
                window.stop.set(sent.max(window.measure_from));
            }
            break;
        };
        if let (Some(at), Some((_, interval))) = (next_send.as_mut(), pace) {
            *at += interval;
        }
        let result = exchange(&mut stream, req, &mut buf).await;
        let done = Instant::now();
        let counted = done >= window.measure_from && done <= window.stop.get();
        match result {
            Ok(resp) => {
                let ok = (200..300).contains(&resp.status);
                if ok {
                    capture.keep(&buf[resp.body.clone()]);
                    window.ok.set(window.ok.get() + 1);
                    if stop_after_ok.is_some_and(|n| window.ok.get() >= n) && window.stop.get() > done {
                        window.stop.set(done.max(window.measure_from));
                    }
                }
                if counted {
                    *outcome.statuses.entry(resp.status).or_default() += 1;
                    if ok {
                        outcome.ok += 1;
                        outcome.latency.record((done - sent).as_nanos() as u64);
                    } else {
                        outcome.non_2xx += 1;
                    }
                }
                if resp.close {
                    stream = connect(addr).await?;
                }
            }
            Err(_) => {
                if counted {
                    outcome.io_errors += 1;
                }
                stream = connect(addr).await?;
            }
        }
    }
    Ok(Conn { outcome, exhausted })
}

/// A parsed response: its status, where its body sits in the buffer, and whether the server
/// closes the connection after it.
pub struct Response {
    pub status: u16,
    pub body: std::ops::Range<usize>,
    pub close: bool,
}

/// Writes `req` and reads one whole response into `buf`.
pub async fn exchange(stream: &mut TcpStream, req: &[u8], buf: &mut Vec<u8>) -> Result<Response> {
    stream.write_all(req).await?;
    buf.clear();
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i + 4;
        }
        read_more(stream, buf).await?;
    };
    let head = &buf[..head_end];
    let status = head
        .get(9..12)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse::<u16>().ok())
        .context("malformed status line")?;
    let mut length = None;
    let mut chunked = false;
    let mut close = false;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        if name.eq_ignore_ascii_case(b"content-length") {
            length = std::str::from_utf8(value).ok().and_then(|v| v.parse::<usize>().ok());
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            chunked = value.eq_ignore_ascii_case(b"chunked");
        } else if name.eq_ignore_ascii_case(b"connection") {
            close = value.eq_ignore_ascii_case(b"close");
        }
    }
    if chunked {
        // Rare here (every JSON answer has a length); decode in place into a contiguous body.
        let mut pos = head_end;
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = find(&buf[pos..], b"\r\n") {
                    break pos + i;
                }
                read_more(stream, buf).await?;
            };
            let size_text = std::str::from_utf8(&buf[pos..line_end])?.split(';').next().unwrap_or("").trim().to_owned();
            let size = usize::from_str_radix(&size_text, 16).context("bad chunk size")?;
            let data = line_end + 2;
            while buf.len() < data + size + 2 {
                read_more(stream, buf).await?;
            }
            body.extend_from_slice(&buf[data..data + size]);
            pos = data + size + 2;
            if size == 0 {
                // Trailers are not expected; the final CRLF was consumed above.
                break;
            }
        }
        buf.truncate(head_end);
        buf.extend_from_slice(&body);
        return Ok(Response { status, body: head_end..buf.len(), close });
    }
    let Some(length) = length else {
        bail!("response without Content-Length");
    };
    while buf.len() < head_end + length {
        read_more(stream, buf).await?;
    }
    Ok(Response { status, body: head_end..head_end + length, close })
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<()> {
    if buf.capacity() - buf.len() < 16 * 1024 {
        buf.reserve(64 * 1024);
    }
    let n = stream.read_buf(buf).await?;
    if n == 0 {
        bail!("connection closed by the server");
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r'] = s {
        s = rest;
    }
    s
}

/// The string `key` of a JSON body, without a full parse.
fn string_field(body: &[u8], key: &str) -> Option<String> {
    let key = format!("\"{key}\":\"");
    let start = find(body, key.as_bytes())? + key.len();
    let len = body[start..].iter().position(|&b| b == b'"')?;
    String::from_utf8(body[start..start + len].to_vec()).ok()
}

/// One request on a fresh connection, for provisioning: status and body.
pub async fn once(addr: SocketAddr, req: &[u8]) -> Result<(u16, Vec<u8>)> {
    let mut stream = connect(addr).await?;
    let mut buf = Vec::with_capacity(16 * 1024);
    let resp = exchange(&mut stream, req, &mut buf).await?;
    Ok((resp.status, buf[resp.body].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_continuous_and_quantiles_close() {
        for v in [0u64, 1, 63, 64, 65, 127, 128, 129, 1000, 123_456, 9_876_543_210] {
            let i = Histogram::index(v);
            assert!(Histogram::lower(i) <= v && v < Histogram::lower(i + 1), "{v}");
        }
        let mut h = Histogram::default();
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5).as_nanos() as f64;
        let p99 = h.quantile(0.99).as_nanos() as f64;
        assert!((p50 / 5_000_000.0 - 1.0).abs() < 0.02, "{p50}");
        assert!((p99 / 9_900_000.0 - 1.0).abs() < 0.02, "{p99}");
    }

    #[test]
    fn access_tokens_are_found_without_parsing() {
        let body = br#"{"access_token":"abc.def.ghi","token_type":"Bearer"}"#;
        assert_eq!(string_field(body, "access_token").as_deref(), Some("abc.def.ghi"));
        assert_eq!(string_field(body, "refresh_token"), None);
        assert_eq!(string_field(b"{}", "access_token"), None);
    }
}
