//! Who the caller is, network-wise. Behind a load balancer the socket peer is the balancer, and
//! per-IP throttling would then put every user in one budget; so when the peer is one of the
//! operator's trusted proxies (`HEIMDALL_TRUSTED_PROXIES`), the client address comes from
//! `X-Forwarded-For`. That header is client-writable up to the first proxy, so it is read from
//! the right: each trusted hop appends the address it saw, and the first address that is not a
//! trusted proxy is the client. Without trusted proxies (the default) the header is ignored.

use std::net::IpAddr;

use ipnet::IpNet;
use poem::http::HeaderMap;

/// The networks whose connections may speak for the client.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR networks (`10.0.0.0/8, ::1`).
    pub fn parse(raw: &str) -> Result<TrustedProxies, String> {
        let nets = raw
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    // A bare IPv4-mapped address (`::ffff:10.0.0.1`) means the IPv4 address: peers are
                    // compared in canonical form.
                    .or_else(|_| item.parse::<IpAddr>().map(|ip| IpNet::from(ip.to_canonical())))
                    .map(|net| net.trunc())
                    .map_err(|_| format!("`{item}` is neither an IP address nor a CIDR network"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedProxies(nets))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: `peer` itself unless it is a trusted proxy, else the rightmost
    /// untrusted `X-Forwarded-For` entry (the leftmost if every entry is trusted). A malformed
    /// entry stops the walk at the last address a trusted hop vouched for.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let mut client = peer?.to_canonical();
        if !self.trusts(client) {
            return Some(client);
        }
        // Right to left: the last header line first, each line's entries from its end. Split as
        // bytes: a line with bytes no proxy writes (client-written, left of what the proxies
        // appended) is malformed only where those bytes are, so the walk still reads the
        // entries the trusted hops appended, and stops at the garbage instead of skipping it.
        let lines = headers.get_all("x-forwarded-for").iter().rev();
        for entry in lines.flat_map(|v| v.as_bytes().rsplit(|&b| b == b',')) {
            match std::str::from_utf8(entry).ok().and_then(|e| parse_hop(e.trim())) {
                Some(ip) => {
                    client = ip;
                    if !self.trusts(ip) {
                        break;
                    }
                }
                None => break,
            }
        }
        Some(client)
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:5678`, `[::1]:80`).
fn parse_hop(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use poem::http::HeaderValue;

    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(Some(ip("10.0.0.5")), &headers(&["203.0.113.7"])), Some(ip("10.0.0.5")));
    }

    #[test]
    fn an_untrusted_peer_cannot_speak_for_anyone() {
        let lb = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(lb.client_ip(Some(ip("198.51.100.9")), &headers(&["203.0.113.7"])), Some(ip("198.51.100.9")));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let lb = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        let peer = Some(ip("10.0.0.5"));
        assert_eq!(lb.client_ip(peer, &headers(&["203.0.113.7"])), Some(ip("203.0.113.7")));
        // The client wrote a fake first entry; the balancer appended what it saw.
        assert_eq!(lb.client_ip(peer, &headers(&["1.1.1.1, 203.0.113.7"])), Some(ip("203.0.113.7")));
        // Two proxies in a row, and the header split over two lines.
        assert_eq!(lb.client_ip(peer, &headers(&["1.1.1.1, 203.0.113.7", "10.0.0.9"])), Some(ip("203.0.113.7")));
        // Only proxies: the leftmost is the best we know.
        assert_eq!(lb.client_ip(peer, &headers(&["10.1.1.1, 10.0.0.9"])), Some(ip("10.1.1.1")));
        // No header: the proxy itself.
        assert_eq!(lb.client_ip(peer, &headers(&[])), Some(ip("10.0.0.5")));
    }

    #[test]
    fn ports_mapped_addresses_and_garbage() {
        let lb = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let peer = Some(ip("::ffff:10.0.0.5"));
        assert_eq!(lb.client_ip(peer, &headers(&["203.0.113.7:5555"])), Some(ip("203.0.113.7")));
        assert_eq!(lb.client_ip(peer, &headers(&["[2001:db8::1]:443"])), Some(ip("2001:db8::1")));
        // A malformed entry stops the walk at the last vouched-for address.
        assert_eq!(lb.client_ip(peer, &headers(&["203.0.113.7, nonsense"])), Some(ip("10.0.0.5")));
    }

    #[test]
    fn parse_names_the_bad_entry() {
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
        assert_eq!(
            TrustedProxies::parse("10.0.0.1/33").unwrap_err(),
            "`10.0.0.1/33` is neither an IP address nor a CIDR network"
        );
        assert!(TrustedProxies::parse("::1, 192.168.0.0/16").is_ok());
    }

    #[test]
    fn parse_tolerates_spaces_and_empty_items_but_not_other_separators_or_names() {
        assert_eq!(TrustedProxies::parse(" 10.0.0.0/8 , ,::1, ").unwrap().0.len(), 2);
        for bad in ["10.0.0.0/8; ::1", "localhost", "10.0.0.0/", "10.0.0", "*"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn without_a_peer_address_there_is_no_client_address() {
        let lb = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(lb.client_ip(None, &headers(&["203.0.113.7"])), None);
        assert_eq!(TrustedProxies::default().client_ip(None, &headers(&[])), None);
    }

    #[test]
    fn a_single_address_trusts_only_itself_and_a_network_its_whole_range() {
        let one = TrustedProxies::parse("10.0.0.5").unwrap();
        assert_eq!(one.client_ip(Some(ip("10.0.0.6")), &headers(&["203.0.113.7"])), Some(ip("10.0.0.6")));
        assert_eq!(one.client_ip(Some(ip("10.0.0.5")), &headers(&["203.0.113.7"])), Some(ip("203.0.113.7")));
        // Host bits in a network are dropped: `10.0.0.5/8` is `10.0.0.0/8`.
        let net = TrustedProxies::parse("10.0.0.5/8").unwrap();
        assert_eq!(net.client_ip(Some(ip("10.255.0.1")), &headers(&["203.0.113.7"])), Some(ip("203.0.113.7")));
        assert_eq!(net.client_ip(Some(ip("11.0.0.1")), &headers(&["203.0.113.7"])), Some(ip("11.0.0.1")));
    }

    #[test]
    fn ipv6_proxies_and_clients_are_walked_the_same_way() {
        let lb = TrustedProxies::parse("2001:db8:100::/48").unwrap();
        let peer = Some(ip("2001:db8:100::1"));
        let xff = headers(&["2001:db8::66, 2001:db8::7, 2001:db8:100::2"]);
        assert_eq!(lb.client_ip(peer, &xff), Some(ip("2001:db8::7")));
        assert_eq!(lb.client_ip(Some(ip("2001:db8:200::1")), &xff), Some(ip("2001:db8:200::1")));
    }

    #[test]
    fn ipv4_mapped_entries_are_read_as_ipv4() {
        let lb = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let peer = Some(ip("10.0.0.5"));
        assert_eq!(lb.client_ip(peer, &headers(&["::ffff:203.0.113.7"])), Some(ip("203.0.113.7")));
        // A mapped proxy address is still a trusted proxy: the walk goes on past it.
        assert_eq!(lb.client_ip(peer, &headers(&["203.0.113.7, ::ffff:10.0.0.9"])), Some(ip("203.0.113.7")));
    }

    #[test]
    fn whitespace_around_entries_is_ignored() {
        let lb = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let peer = Some(ip("10.0.0.5"));
        assert_eq!(lb.client_ip(peer, &headers(&["  203.0.113.7  ,10.0.0.9 "])), Some(ip("203.0.113.7")));
    }

    #[test]
    fn an_empty_or_unparsable_entry_stops_the_walk_where_it_is() {
        let lb = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let peer = Some(ip("10.0.0.5"));
        // Right of any address: the proxy itself is the best we know.
        for xff in ["203.0.113.7,", "203.0.113.7, unknown", "203.0.113.7, example.com", "203.0.113.7, _hidden"] {
            assert_eq!(lb.client_ip(peer, &headers(&[xff])), Some(ip("10.0.0.5")), "{xff}");
        }
        // Behind a trusted hop: that hop, never the entries written before the garbage.
        for xff in ["1.1.1.1,,10.0.0.9", "1.1.1.1, for=203.0.113.7, 10.0.0.9", "1.1.1.1, 203.0.113.7:http, 10.0.0.9"] {
            assert_eq!(lb.client_ip(peer, &headers(&[xff])), Some(ip("10.0.0.9")), "{xff}");
        }
        assert_eq!(lb.client_ip(peer, &headers(&["1.1.1.1", "fe80::1%eth0", "10.0.0.9"])), Some(ip("10.0.0.9")));
    }

    #[test]
    fn a_line_that_is_not_text_stops_the_walk_like_any_malformed_entry() {
        // Found by the `forwarded_for` fuzz target: such a line used to be skipped, and the
        // client-written address left of it was taken as the client.
        let lb = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let peer = Some(ip("10.0.0.5"));
        let mut h = HeaderMap::new();
        for line in [&b"1.1.1.1"[..], b"\xff203.0.113.7", b"10.0.0.9"] {
            h.append("x-forwarded-for", HeaderValue::from_bytes(line).unwrap());
        }
        assert_eq!(lb.client_ip(peer, &h), Some(ip("10.0.0.9")));
        let mut h = HeaderMap::new();
        for line in [&b"1.1.1.1"[..], b"caf\xc3\xa9"] {
            h.append("x-forwarded-for", HeaderValue::from_bytes(line).unwrap());
        }
        assert_eq!(lb.client_ip(peer, &h), Some(ip("10.0.0.5")));
        // Also found by it: garbage written by the client in front of the entry its proxy
        // appended, on the same line, must not hide the client behind the proxy.
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", HeaderValue::from_bytes(b"\xca\xd1, 203.0.113.7").unwrap());
        h.append("x-forwarded-for", HeaderValue::from_static("10.0.0.9"));
        assert_eq!(lb.client_ip(peer, &h), Some(ip("203.0.113.7")));
    }

    #[test]
    fn an_untrusted_hop_ends_the_walk_even_before_garbage() {
        let lb = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let xff = headers(&["nonsense, 1.1.1.1, 203.0.113.7"]);
        assert_eq!(lb.client_ip(Some(ip("10.0.0.5")), &xff), Some(ip("203.0.113.7")));
    }

    #[test]
    fn an_ipv4_mapped_trusted_address_trusts_the_ipv4_peer() {
        let proxies = TrustedProxies::parse("::ffff:10.0.0.1").unwrap();
        let mut headers = poem::http::HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(proxies.client_ip(Some(peer), &headers), Some("203.0.113.9".parse().unwrap()));
    }
}
