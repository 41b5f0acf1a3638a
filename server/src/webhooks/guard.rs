//! Where webhooks may go: `http(s)` URLs whose host is not a loopback, private, link-local or
//! otherwise internal address, unless the operator allowed that network
//! (`HEIMDALL_WEBHOOK_ALLOW_NETWORKS`). The address is checked when an endpoint is saved (an
//! address in the URL) and again on every delivery, on the addresses the host name resolves to
//! then (a resolver that refuses the forbidden ones), so DNS cannot point an accepted name at an
//! internal service later. Redirects are not followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;
use reqwest::Url;

use crate::error::{Code, Error};

/// Longest URL accepted.
const MAX_URL: usize = 2000;

/// Parses an endpoint URL: absolute `http(s)`, a host, no credentials; an address in it must be
/// permitted.
pub fn check_url(raw: &str, allow: &[IpNet]) -> Result<Url, Error> {
    let invalid = |why: &str| Error::new(Code::WebhookUrlInvalid, format!("url: {why}"));
    if raw.len() > MAX_URL {
        return Err(invalid("must be at most 2000 characters"));
    }
    let url = Url::parse(raw.trim()).map_err(|_| invalid("must be an absolute http(s) URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must use http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry credentials"));
    }
    let Some(host) = url.host() else { return Err(invalid("must name a host")) };
    let literal = match host {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(name) if name.eq_ignore_ascii_case("localhost") || name.ends_with(".localhost") => {
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        }
        url::Host::Domain(_) => None,
    };
    if let Some(ip) = literal
        && !permitted(ip, allow)
    {
        return Err(forbidden(ip));
    }
    Ok(url)
}

pub fn forbidden(ip: IpAddr) -> Error {
    Error::new(
        Code::WebhookDestinationForbidden,
        format!("url: {ip} is a loopback, private or link-local address, which webhooks are not sent to"),
    )
}

/// Whether a webhook may be sent to `ip`.
pub fn permitted(ip: IpAddr, allow: &[IpNet]) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    allow.iter().any(|net| net.contains(&ip)) || !internal(ip)
}

fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // 100.64.0.0/10 (carrier-grade NAT), 192.0.0.0/24 (protocol assignments),
                // 198.18.0.0/15 (benchmarking), 240.0.0.0/4 (reserved).
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
                || (v4.octets()[0..3] == [192, 0, 0])
                || (v4.octets()[0] == 198 && (v4.octets()[1] & 0xfe) == 18)
                || v4.octets()[0] >= 240
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local.
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6 == Ipv6Addr::LOCALHOST
        }
    }
}

/// The resolver of the webhook client: the host's addresses that are permitted, or an error
/// when there are none.
pub struct Resolver {
    pub allow: Vec<IpNet>,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ok: Vec<SocketAddr> = all.iter().copied().filter(|a| permitted(a.ip(), &allow)).collect();
            if ok.is_empty() {
                let refused = all.first().map_or_else(|| "no address".to_owned(), |a| a.ip().to_string());
                return Err(format!(
                    "{host} resolves to {refused}: a loopback, private or link-local address, which webhooks are not sent to"
                )
                .into());
            }
            Ok(Box::new(ok.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_destinations_are_refused_unless_allowed() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "100.64.0.1",
        ] {
            assert!(!permitted(ip.parse().unwrap(), &[]), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(permitted(ip.parse().unwrap(), &[]), "{ip}");
        }
        let allow = ["127.0.0.0/8".parse().unwrap()];
        assert!(permitted("127.0.0.1".parse().unwrap(), &allow));
        assert!(!permitted("10.0.0.1".parse().unwrap(), &allow));
    }

    #[test]
    fn urls_must_be_http_without_credentials() {
        assert!(check_url("https://hooks.example.com/x", &[]).is_ok());
        for bad in ["ftp://example.com", "/relative", "https://user:pw@example.com/", "javascript:alert(1)"] {
            assert_eq!(check_url(bad, &[]).unwrap_err().code, Code::WebhookUrlInvalid, "{bad}");
        }
        for internal in ["http://127.0.0.1:8080/", "http://localhost/", "http://[::1]/", "http://169.254.169.254/"] {
            assert_eq!(check_url(internal, &[]).unwrap_err().code, Code::WebhookDestinationForbidden, "{internal}");
        }
        assert!(check_url("http://127.0.0.1:9/", &["127.0.0.1/32".parse().unwrap()]).is_ok());
    }
}
