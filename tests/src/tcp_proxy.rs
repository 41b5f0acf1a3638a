//! A TCP proxy between a server and its database that a test can break: [`TcpProxy::cut`] is a
//! database that stopped (every connection closed, new ones refused),
//! [`TcpProxy::freeze`] a network that went silent (connections stay open and nothing is
//! forwarded: the half-open connection of a failover), [`TcpProxy::freeze_upstream_port`] one
//! silent connection, and [`TcpProxy::restore`] the way back. The machine's PostgreSQL, which
//! other tests share, is never touched.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpListener, TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    sync::watch,
    task::JoinHandle,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    /// New connections are accepted and left unanswered.
    Frozen,
}

/// One forwarded connection: the pumps of both directions and the switch that stops them.
struct Link {
    frozen: watch::Sender<bool>,
    pumps: [JoinHandle<()>; 2],
}

#[derive(Default)]
struct Links {
    /// By the port of the proxy's end of the upstream connection, which is the `client_port`
    /// PostgreSQL shows for it in `pg_stat_activity`.
    forwarded: HashMap<u16, Link>,
    /// Accepted while frozen, never forwarded: held so they stay open.
    held: Vec<TcpStream>,
}

struct Shared {
    upstream: SocketAddr,
    mode: Mutex<Mode>,
    links: Mutex<Links>,
}

/// A proxy on `127.0.0.1:<port>` in front of one upstream address.
pub struct TcpProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Accepts connections; `None` while cut (the port refuses connections).
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl TcpProxy {
    /// Starts forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared { upstream, mode: Mutex::new(Mode::Forward), links: Mutex::default() });
        let accept = Mutex::new(Some(tokio::spawn(accept(listener, shared.clone()))));
        TcpProxy { addr, shared, accept }
    }

    /// A proxy in front of the host and port of database URL `url`.
    pub async fn in_front_of(url: &str) -> TcpProxy {
        let (_, authority, _) = split_url(url);
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        let upstream = tokio::net::lookup_host(host_port).await.expect("database host").next().expect("an address");
        TcpProxy::start(upstream).await
    }

    /// Database URL `url` with its host and port replaced by the proxy's.
    pub fn route(&self, url: &str) -> String {
        let (scheme, authority, path) = split_url(url);
        let userinfo = authority.rsplit_once('@').map_or(String::new(), |(user, _)| format!("{user}@"));
        format!("{scheme}://{userinfo}{}{path}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The database stops: every connection is closed and new ones are refused, as by a host
    /// where nothing listens on the port.
    pub fn cut(&self) {
        if let Some(accept) = self.accept.lock().expect("proxy accept").take() {
            accept.abort();
        }
        let mut links = self.shared.links.lock().expect("proxy links");
        for (_, link) in links.forwarded.drain() {
            link.pumps.iter().for_each(JoinHandle::abort);
        }
        links.held.clear();
    }

    /// The network goes silent: open connections stop forwarding without closing, and new ones
    /// are accepted and never answered.
    pub fn freeze(&self) {
        *self.shared.mode.lock().expect("proxy mode") = Mode::Frozen;
        for link in self.shared.links.lock().expect("proxy links").forwarded.values() {
            link.frozen.send_replace(true);
        }
    }

    /// Silences the one connection whose upstream end has local port `port`; panics if there is
    /// none.
    pub fn freeze_upstream_port(&self, port: u16) {
        let links = self.shared.links.lock().expect("proxy links");
        let link = links.forwarded.get(&port).unwrap_or_else(|| panic!("no forwarded connection from port {port}"));
        link.frozen.send_replace(true);
    }

    /// Forwarding resumes: new connections go through (on the same port after a cut), frozen
    /// ones deliver what they held (as a healed network would), and connections accepted while
    /// frozen are closed.
    pub async fn restore(&self) {
        if self.accept.lock().expect("proxy accept").is_none() {
            let listener = TcpListener::bind(self.addr).await.expect("bind the proxy's port again");
            *self.accept.lock().expect("proxy accept") = Some(tokio::spawn(accept(listener, self.shared.clone())));
        }
        *self.shared.mode.lock().expect("proxy mode") = Mode::Forward;
        let mut links = self.shared.links.lock().expect("proxy links");
        for link in links.forwarded.values() {
            link.frozen.send_replace(false);
        }
        links.held.clear();
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// `scheme://authority/path?query` as `(scheme, authority, /path?query)`.
fn split_url(url: &str) -> (&str, &str, &str) {
    let (scheme, rest) = url.split_once("://").expect("URL with a scheme");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    (scheme, authority, path)
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((client, _)) = listener.accept().await {
        let mode = *shared.mode.lock().expect("proxy mode");
        match mode {
            Mode::Frozen => shared.links.lock().expect("proxy links").held.push(client),
            Mode::Forward => {
                let Ok(upstream) = TcpStream::connect(shared.upstream).await else { continue };
                let port = upstream.local_addr().expect("upstream address").port();
                let (frozen, watch) = watch::channel(false);
                let (client_read, client_write) = client.into_split();
                let (upstream_read, upstream_write) = upstream.into_split();
                let pumps = [
                    tokio::spawn(pump(client_read, upstream_write, watch.clone())),
                    tokio::spawn(pump(upstream_read, client_write, watch)),
                ];
                shared.links.lock().expect("proxy links").forwarded.insert(port, Link { frozen, pumps });
            }
        }
    }
}

/// Copies `from` to `to` until either closes; while frozen, what was read waits undelivered.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut frozen: watch::Receiver<bool>) {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if frozen.wait_for(|f| !*f).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
