//! The client address behind trusted proxies (`http::client_ip::TrustedProxies`).
//!
//! An input is lines: the first is a prefix the client writes in front of the header, the
//! rest are `X-Forwarded-For` header lines, and the first byte picks the socket peer. The
//! proxies trusted are fixed. The client address must be the peer or an address of the
//! header; every entry right of the chosen one must be a trusted proxy (someone trusted vouched
//! for it); and whatever the client writes left of what the proxies appended changes nothing.

#![no_main]

use std::net::IpAddr;

use heimdall_server::http::client_ip::TrustedProxies;
use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;
use poem::http::{HeaderMap, HeaderValue};

const TRUSTED: &str = "10.0.0.0/8, 2001:db8:100::/48, 127.0.0.1, ::ffff:192.168.1.1";
const PEERS: [&str; 6] = ["10.0.0.5", "::ffff:10.0.0.5", "127.0.0.1", "203.0.113.7", "2001:db8:100::1", "192.168.1.1"];

fn trusted(ip: IpAddr) -> bool {
    let nets: [IpNet; 4] =
        ["10.0.0.0/8", "2001:db8:100::/48", "127.0.0.1/32", "192.168.1.1/32"].map(|n| n.parse().unwrap());
    nets.iter().any(|n| n.contains(&ip.to_canonical()))
}

/// One entry as a trusted hop writes it (an address, perhaps with a port), or `None`.
fn address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .map(|ip| ip.to_canonical())
}

fn header(lines: &[&[u8]]) -> Option<HeaderMap> {
    let mut headers = HeaderMap::new();
    for line in lines {
        headers.append("x-forwarded-for", HeaderValue::from_bytes(line).ok()?);
    }
    Some(headers)
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let proxies = TrustedProxies::parse(TRUSTED).unwrap();
    let peer: IpAddr = PEERS[pick as usize % PEERS.len()].parse().unwrap();
    let mut lines = rest.split(|&b| b == b'\n');
    let prefix = lines.next().unwrap_or_default();
    let lines: Vec<&[u8]> = lines.collect();
    let Some(headers) = header(&lines) else { return };
    let client = proxies.client_ip(Some(peer), &headers).expect("a peer gives an address");
    if !trusted(peer) {
        assert_eq!(client, peer.to_canonical(), "an untrusted peer spoke for someone");
        return;
    }
    // Every entry, left to right; one that is not text is malformed like any other.
    let entries: Vec<Option<IpAddr>> = lines
        .iter()
        .flat_map(|line| line.split(|&b| b == b','))
        .map(|entry| std::str::from_utf8(entry).ok().and_then(address))
        .collect();
    // Right to left, the trusted hops; then the first entry that is not one is the client if it
    // is an address, else the walk stops at the last trusted hop (or the peer).
    let vouched = entries.iter().rev().take_while(|e| e.is_some_and(trusted)).count();
    let last_trusted = if vouched == 0 { peer.to_canonical() } else { entries[entries.len() - vouched].unwrap() };
    let expected = match entries.len().checked_sub(vouched + 1).map(|i| entries[i]) {
        Some(Some(untrusted)) => untrusted,
        Some(None) | None => last_trusted,
    };
    assert_eq!(client, expected, "{entries:?}");
    // What the client writes in front changes nothing once an untrusted hop is found.
    if !trusted(client) && !lines.is_empty() {
        let first = [prefix, b",", lines[0]].concat();
        let Some(forged) = header(&[&[&first[..]], &lines[1..]].concat()) else { return };
        assert_eq!(proxies.client_ip(Some(peer), &forged), Some(client), "a client-written prefix moved the answer");
    }
});
