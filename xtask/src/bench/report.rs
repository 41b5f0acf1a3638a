//! Results: one row per scenario with its limit, ratio, bar and verdict; printed as a table per
//! database and written as JSON.

use std::time::Duration;

use serde_json::{Value, json};

use super::{limits::Rate, load::Outcome};

/// The bar of DESIGN §10 a scenario is held to.
#[derive(Debug, Clone, Copy)]
pub enum Bar {
    /// At least this fraction of the row's limit.
    AtLeast(f64),
    /// p99 latency below this.
    P99Below(Duration),
    /// Reported only.
    Report,
}

/// Shares of one core used while a scenario ran (warm-up included): by the server, and by the
/// load generator (this process).
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    pub server: Option<f64>,
    pub load: Option<f64>,
}

/// One measured scenario.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub connections: String,
    pub rate: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub ok: u64,
    pub non_2xx: u64,
    pub io_errors: u64,
    pub window: Duration,
    pub cpu: Cpu,
    /// What the rate is compared with: its name and rate.
    pub limit: Option<(String, Rate)>,
    pub bar: Bar,
}

impl Row {
    pub fn new(scenario: &str, connections: impl Into<String>, o: &Outcome, cpu: Cpu) -> Row {
        Row {
            scenario: scenario.to_owned(),
            connections: connections.into(),
            rate: o.rate(),
            p50: o.latency.quantile(0.50),
            p99: o.latency.quantile(0.99),
            ok: o.ok,
            non_2xx: o.non_2xx,
            io_errors: o.io_errors,
            window: o.window,
            cpu,
            limit: None,
            bar: Bar::Report,
        }
    }

    pub fn against(mut self, name: &str, limit: Rate, bar: Bar) -> Row {
        self.limit = Some((name.to_owned(), limit));
        self.bar = bar;
        self
    }

    pub fn bar(mut self, bar: Bar) -> Row {
        self.bar = bar;
        self
    }

    /// Requests per second of server CPU time: what one core would serve if the server had it
    /// to itself.
    pub fn per_cpu(&self) -> Option<f64> {
        self.cpu.server.filter(|c| *c > 0.0).map(|c| self.rate / c)
    }

    /// Rate per server CPU-second over the limit per CPU-second: the figure the bar is checked on.
    pub fn ratio(&self) -> Option<f64> {
        let (_, l) = self.limit.as_ref()?;
        Some(self.per_cpu()? / l.cpu)
    }

    /// Wall-clock rate over wall-clock limit (what an idle machine would show as `ratio` too).
    pub fn wall_ratio(&self) -> Option<f64> {
        self.limit.as_ref().filter(|(_, l)| l.wall > 0.0).map(|(_, l)| self.rate / l.wall)
    }

    /// `Some(pass)` for rows with a bar. Errors fail a row: a bar met with failing requests is not met.
    pub fn verdict(&self) -> Option<bool> {
        let clean = self.non_2xx == 0 && self.io_errors == 0 && self.ok > 0;
        match self.bar {
            Bar::AtLeast(f) => self.ratio().map(|r| clean && r >= f),
            Bar::P99Below(d) => Some(clean && self.p99 < d),
            Bar::Report => None,
        }
    }

    fn bar_text(&self) -> String {
        match self.bar {
            Bar::AtLeast(f) => format!(">= {:.0}%", f * 100.0),
            Bar::P99Below(d) => format!("p99 < {}", ms(d)),
            Bar::Report => "report".into(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "scenario": self.scenario,
            "connections": self.connections,
            "requests_per_s": round(self.rate, 1),
            "p50_ms": round(self.p50.as_secs_f64() * 1e3, 3),
            "p99_ms": round(self.p99.as_secs_f64() * 1e3, 3),
            "ok": self.ok,
            "non_2xx": self.non_2xx,
            "io_errors": self.io_errors,
            "window_s": round(self.window.as_secs_f64(), 3),
            "server_cpu": self.cpu.server.map(|c| round(c, 3)),
            "load_cpu": self.cpu.load.map(|c| round(c, 3)),
            "requests_per_server_cpu_s": self.per_cpu().map(|r| round(r, 1)),
            "limit": self.limit.as_ref().map(|(n, v)| json!({ "name": n, "per_s": round(v.wall, 1), "per_cpu_s": round(v.cpu, 1) })),
            "ratio": self.ratio().map(|r| round(r, 3)),
            "wall_ratio": self.wall_ratio().map(|r| round(r, 3)),
            "bar": self.bar_text(),
            "pass": self.verdict(),
        })
    }
}

/// The results on one database.
#[derive(Debug, Clone, Default)]
pub struct DbReport {
    pub db: String,
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

pub fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1e3;
    if v < 10.0 {
        format!("{v:.2} ms")
    } else if v < 100.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.0} ms")
    }
}

/// `12345.6` as `12,346`.
pub fn thousands(v: f64) -> String {
    let s = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The table of one database, as printed and as pasted into `xtask/README.md`.
pub fn table(report: &DbReport) -> String {
    let header = [
        "scenario",
        "conns",
        "req/s",
        "p50",
        "p99",
        "non-2xx",
        "srv CPU",
        "req/CPU-s",
        "limit (per CPU-s)",
        "ratio",
        "wall ratio",
        "bar",
        "result",
        "gen CPU",
    ];
    let pct = |c: Option<f64>| c.map(|c| format!("{:.0}%", c * 100.0)).unwrap_or_else(|| "-".into());
    let mut lines: Vec<[String; 14]> = Vec::new();
    for r in &report.rows {
        lines.push([
            r.scenario.clone(),
            r.connections.clone(),
            thousands(r.rate),
            ms(r.p50),
            ms(r.p99),
            (r.non_2xx + r.io_errors).to_string(),
            pct(r.cpu.server),
            r.per_cpu().map(thousands).unwrap_or_else(|| "-".into()),
            r.limit.as_ref().map(|(n, v)| format!("{n} {}", thousands(v.cpu))).unwrap_or_else(|| "-".into()),
            pct(r.ratio()),
            pct(r.wall_ratio()),
            r.bar_text(),
            match r.verdict() {
                Some(true) => "PASS".into(),
                Some(false) => "FAIL".into(),
                None => "-".into(),
            },
            pct(r.cpu.load),
        ]);
    }
    let mut widths = header.map(str::len);
    for l in &lines {
        for (w, cell) in widths.iter_mut().zip(l) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let numeric = [false, true, true, true, true, true, true, true, false, true, true, false, false, true];
    let fmt = |cells: &[String]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i > 0 {
                s.push_str("  ");
            }
            if numeric[i] {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            }
        }
        s.trim_end().to_owned()
    };
    let mut out = format!("{}\n", report.db);
    out.push_str(&fmt(&header.map(str::to_owned)));
    out.push('\n');
    for l in &lines {
        out.push_str(&fmt(l));
        out.push('\n');
    }
    for n in &report.notes {
        out.push_str(&format!("  note: {n}\n"));
    }
    out
}

pub fn db_json(report: &DbReport) -> Value {
    json!({
        "db": report.db,
        "rows": report.rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        "notes": report.notes,
    })
}
