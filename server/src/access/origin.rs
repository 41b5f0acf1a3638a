//! Where a request came from: what audit entries and sessions record about the caller's
//! connection. Plain data with no dependencies, so the audit log can name it without depending
//! on the rest of access.

/// Where a request came from, as audit entries and sessions record it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub request_id: Option<String>,
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
}

impl Origin {
    pub fn ip_string(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}
