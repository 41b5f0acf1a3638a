//! Logging and metrics. Logs are structured (tracing) and never carry secrets; metrics are kept
//! in-process and rendered in the Prometheus text format at `/metrics`.

use std::{collections::BTreeMap, fmt::Write, io::IsTerminal, sync::Mutex, time::Duration};

use tracing_subscriber::EnvFilter;

/// The target of the access log: one line per request (`HEIMDALL_LOG=info,heimdall::access=warn`
/// silences it).
pub const ACCESS: &str = "heimdall::access";
/// The target of the change log: one line per committed audit entry (who did what, never the
/// entry's details beyond a failure's reason).
pub const AUDIT: &str = "heimdall::audit";

/// How log lines are written (`HEIMDALL_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, the event's fields at the top level (for log shippers).
    Json,
}

/// Installs the global subscriber, writing to stderr (stdout is for what a command prints, such
/// as a new platform key), with colours only when stderr is a terminal. Safe to call more than
/// once (later calls do nothing).
pub fn init_logging(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Text => builder.with_target(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
    };
}

const BUCKETS: [f64; 11] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request counters and latency histograms, labelled by operation id and status.
#[derive(Default)]
pub struct Metrics {
    /// Keys are operation ids (static strings from poem-openapi): no allocation per request.
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
    events: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    pub fn observe_request(&self, operation: &'static str, status: u16, elapsed: Duration) {
        *self.requests.lock().expect("metrics lock").entry((operation, status)).or_default() += 1;
        let secs = elapsed.as_secs_f64();
        let mut latency = self.latency.lock().expect("metrics lock");
        let h = latency.entry(operation).or_default();
        h.count += 1;
        h.sum += secs;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
    }

    /// Counts a domain event, e.g. `signing_key_generated`.
    pub fn event(&self, name: &'static str) {
        *self.events.lock().expect("metrics lock").entry(name).or_default() += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP heimdall_http_requests_total HTTP requests by operation and status.\n");
        out.push_str("# TYPE heimdall_http_requests_total counter\n");
        for ((op, status), n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(out, "heimdall_http_requests_total{{operation=\"{op}\",status=\"{status}\"}} {n}");
        }
        out.push_str("# HELP heimdall_http_request_duration_seconds Request latency by operation.\n");
        out.push_str("# TYPE heimdall_http_request_duration_seconds histogram\n");
        for (op, h) in self.latency.lock().expect("metrics lock").iter() {
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "heimdall_http_request_duration_seconds_bucket{{operation=\"{op}\",le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "heimdall_http_request_duration_seconds_bucket{{operation=\"{op}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "heimdall_http_request_duration_seconds_sum{{operation=\"{op}\"}} {}", h.sum);
            let _ = writeln!(out, "heimdall_http_request_duration_seconds_count{{operation=\"{op}\"}} {}", h.count);
        }
        out.push_str("# HELP heimdall_events_total Domain events.\n");
        out.push_str("# TYPE heimdall_events_total counter\n");
        for (name, n) in self.events.lock().expect("metrics lock").iter() {
            let _ = writeln!(out, "heimdall_events_total{{event=\"{name}\"}} {n}");
        }
        out
    }
}
