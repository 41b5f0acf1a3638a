//! `cargo xtask bench --scale`: PostgreSQL with 100,000 apps and 1,000,000 end-users, the largest
//! app holding 100,000 tenants with 1,000,000 memberships.
//!
//! One template app is created through the API (so it has exactly what creation gives an app:
//! auth config, the three system roles, a signing key). The other apps are copies of it written
//! with COPY: their own ids, slugs, roles and auth config, and a signing-key row each (the
//! template's RSA key sealed under a new kid per app — a seeding shortcut; keys are only read
//! when an app signs or serves its JWKS). End-users (verified email, the bench password's argon2id
//! hash, role `member`) go in with COPY too: half into the template app, the rest spread over the
//! others. The template app's tenants and memberships go in with COPY as well: one big tenant
//! (the first 100,000 of its users, for deep member pages), and the rest of the memberships spread
//! so each user joins one or two of the other tenants. Then the server is started cold and
//! measured with single-connection loads.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use heimdall_server::entity::{app, auth_config, role, signing_key};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Options,
    limits::Limits,
    load::{self, Load, Requests},
    provision,
    report::{self, Bar, DbReport, Row, ms, thousands},
    server::{Database, DbKind, Server},
};

/// One line of the scale table.
pub struct Measure {
    pub name: String,
    pub value: String,
    pub bar: String,
    pub pass: Option<bool>,
}

pub struct ScaleReport {
    pub apps: usize,
    pub users: usize,
    pub tenants: usize,
    pub memberships: usize,
    pub seed_time: Duration,
    pub measures: Vec<Measure>,
    pub rows: DbReport,
}

impl ScaleReport {
    pub fn table(&self) -> String {
        let mut out = format!(
            "Scale (PostgreSQL): {} apps, {} end-users, {} tenants with {} memberships, seeded in {:.0?}\n",
            thousands(self.apps as f64),
            thousands(self.users as f64),
            thousands(self.tenants as f64),
            thousands(self.memberships as f64),
            self.seed_time
        );
        let w = self.measures.iter().map(|m| m.name.len()).max().unwrap_or(0);
        let v = self.measures.iter().map(|m| m.value.len()).max().unwrap_or(0);
        for m in &self.measures {
            let verdict = match m.pass {
                Some(true) => "PASS",
                Some(false) => "FAIL",
                None => "-",
            };
            out.push_str(&format!("{:<w$}  {:>v$}  {:<14}  {verdict}\n", m.name, m.value, m.bar));
        }
        out.push('\n');
        out.push_str(&report::table(&self.rows));
        out
    }

    pub fn to_json(&self) -> Value {
        json!({
            "apps": self.apps,
            "end_users": self.users,
            "tenants": self.tenants,
            "memberships": self.memberships,
            "seed_seconds": self.seed_time.as_secs_f64(),
            "measures": self.measures.iter().map(|m| json!({ "name": m.name, "value": m.value, "bar": m.bar, "pass": m.pass })).collect::<Vec<_>>(),
            "latency": report::db_json(&self.rows),
        })
    }
}

pub async fn run(opts: &Options, limits: Limits, bin: &Path) -> Result<ScaleReport> {
    let db = Database::create(DbKind::Postgres, "scale").await?;
    let result = run_on(&db, opts, limits, bin).await;
    let cleanup = db.destroy().await;
    let report = result?;
    cleanup?;
    Ok(report)
}

async fn run_on(db: &Database, opts: &Options, limits: Limits, bin: &Path) -> Result<ScaleReport> {
    // First start: bootstrap the workspace and create the template app through the API.
    let server = Server::start(bin, db, &[]).await?;
    let template = provision::call(
        server.addr,
        "POST",
        "/v1/apps",
        Some(&db.pak),
        Some(json!({ "display_name": "Scale 0", "slug": "scale-0" })),
    )
    .await;
    server.stop()?;
    let template: Uuid = template?["id"].as_str().context("app id")?.parse()?;

    let started = Instant::now();
    let conn = db.connect().await?;
    let big_app_users = opts.scale_users / 2;
    let mut seeded = seed(db, &conn, template, opts.scale_apps, opts.scale_users).await?;
    seed_tenants(&conn, template, opts, &mut seeded).await?;
    // A bulk load leaves the planner's statistics describing empty tables until autovacuum gets
    // round to them; production tables grow gradually. Refresh them as autovacuum would.
    conn.execute_unprepared("ANALYZE").await?;
    conn.close().await?;
    let seed_time = started.elapsed();
    eprintln!("[scale] seeded in {seed_time:.1?}");

    let server = Server::start(bin, db, &[]).await?;
    let result = measure(&server, db, opts, limits, template, big_app_users, &seeded).await;
    server.stop()?;
    let (measures, rows) = result?;
    Ok(ScaleReport {
        apps: opts.scale_apps,
        users: opts.scale_users,
        tenants: opts.scale_tenants,
        memberships: opts.scale_memberships,
        seed_time,
        measures,
        rows,
    })
}

/// What the seeding made that the measurements need.
struct Seeded {
    /// A small app's id and how many users it has.
    small_app: (Uuid, usize),
    /// The ids of the template app's users, in order (`user-0`, `user-1`, …).
    big_users: Vec<Uuid>,
    /// The template app's tenants, oldest first.
    tenants: Vec<Uuid>,
    /// The members of the big tenant (`tenants[0]`), by id.
    big_tenant_members: Vec<Uuid>,
}

fn csv(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339()
}

/// Streams CSV rows into `COPY table (columns) FROM STDIN`.
async fn copy_in(
    conn: &DatabaseConnection,
    table: &str,
    columns: &str,
    rows: impl Iterator<Item = String>,
) -> Result<u64> {
    let pool = conn.get_postgres_connection_pool();
    let mut pg = pool.acquire().await?;
    let mut copy = pg.copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)")).await?;
    let mut buf = String::with_capacity(4 << 20);
    for row in rows {
        buf.push_str(&row);
        buf.push('\n');
        if buf.len() > (4 << 20) - 4096 {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_bytes()).await?;
    }
    Ok(copy.finish().await?)
}

async fn seed(db: &Database, conn: &DatabaseConnection, template: Uuid, apps: usize, users: usize) -> Result<Seeded> {
    let t_app = app::Entity::find_by_id(template).one(conn).await?.context("template app")?;
    let t_config = auth_config::Entity::find_by_id(template).one(conn).await?.context("template auth config")?;
    let t_roles = role::Entity::find().filter(role::Column::AppId.eq(template)).all(conn).await?;
    let t_key = signing_key::Entity::find()
        .filter(signing_key::Column::AppId.eq(template))
        .one(conn)
        .await?
        .context("template key")?;
    let master = db.master_key();
    let der = master.open(&t_key.kid, &t_key.private_key_enc)?;
    let now = chrono::Utc::now();

    let ids: Vec<Uuid> = (1..apps).map(|_| Uuid::now_v7()).collect();
    let started = Instant::now();
    copy_in(
        conn,
        "apps",
        "id, workspace_id, slug, display_name, status, metadata, created_by, created_at, updated_at, keys_rotated_at",
        ids.iter().enumerate().map(|(i, id)| {
            format!(
                "{id},{},scale-{},{},active,{},{},{},{},{}",
                t_app.workspace_id,
                i + 1,
                csv(&format!("Scale {}", i + 1)),
                csv(&t_app.metadata.to_string()),
                csv(&t_app.created_by),
                ts(now),
                ts(now),
                ts(now)
            )
        }),
    )
    .await?;
    copy_in(
        conn,
        "auth_configs",
        "app_id, config, updated_at",
        ids.iter().map(|id| format!("{id},{},{}", csv(&t_config.config.to_string()), ts(now))),
    )
    .await?;
    let mut member_of = std::collections::HashMap::new();
    let mut role_rows = Vec::with_capacity(ids.len() * t_roles.len());
    for id in &ids {
        for r in &t_roles {
            let rid = Uuid::now_v7();
            if r.name == "member" {
                member_of.insert(*id, rid);
            }
            role_rows.push(format!(
                "{rid},{id},{},{},{},{},{}",
                csv(&r.name),
                r.description.as_deref().map(csv).unwrap_or_default(),
                r.is_system,
                ts(now),
                ts(now)
            ));
        }
    }
    copy_in(conn, "roles", "id, app_id, name, description, is_system, created_at, updated_at", role_rows.into_iter())
        .await?;
    copy_in(
        conn,
        "signing_keys",
        "id, app_id, kid, jwk_n, jwk_e, private_key_enc, created_at, activates_at, retires_at, expires_at, revoked_at",
        ids.iter().map(|id| {
            let kid = format!("rs256-{}", Uuid::new_v4().simple());
            let sealed = master.seal(&kid, &der);
            let hex: String = sealed.iter().map(|b| format!("{b:02x}")).collect();
            format!("{},{id},{kid},{},{},\\x{hex},{},{},,,", Uuid::now_v7(), t_key.jwk_n, t_key.jwk_e, ts(now), ts(now))
        }),
    )
    .await?;
    eprintln!("[scale] {} apps copied in {:.1?}", thousands(apps as f64), started.elapsed());

    // Users: half into the template app, the rest round-robin over the copies.
    let started = Instant::now();
    let template_member = provision::member_role(conn, template).await?;
    let hash = provision::password_hash()?;
    let big = users / 2;
    let rest = users - big;
    let small_app = ids.first().copied().unwrap_or(template);
    let per_small = if ids.is_empty() { 0 } else { rest.div_ceil(ids.len()) };
    let user_ids: Vec<Uuid> = (0..users).map(|_| Uuid::now_v7()).collect();
    let rows = (0..users).map(|i| {
        let (app_id, role_id) = if i < big || ids.is_empty() {
            (template, template_member)
        } else {
            let a = ids[(i - big) % ids.len()];
            (a, member_of[&a])
        };
        let name = format!("user-{i}");
        let email = format!("{name}@example.com");
        format!(
            "{},{app_id},{name},{name},{email},{email},{},,{},active,{role_id},{},{},",
            user_ids[i],
            ts(now),
            csv(&hash),
            ts(now),
            ts(now)
        )
    });
    copy_in(
        conn,
        "end_users",
        "id, app_id, username, username_key, email, email_key, email_verified_at, display_name, password_hash, status, role_id, created_at, updated_at, last_used_at",
        rows,
    )
    .await?;
    eprintln!("[scale] {} end-users copied in {:.1?}", thousands(users as f64), started.elapsed());
    let started = Instant::now();
    sea_orm::ConnectionTrait::execute_unprepared(conn, "ANALYZE").await?;
    eprintln!("[scale] ANALYZE in {:.1?}", started.elapsed());
    let big_users = if ids.is_empty() { user_ids } else { user_ids[..big].to_vec() };
    Ok(Seeded { small_app: (small_app, per_small), big_users, tenants: Vec::new(), big_tenant_members: Vec::new() })
}

/// How many members the big tenant gets.
const BIG_TENANT: usize = 100_000;

/// The tenants of membership `j` past the big tenant's: user `j % users` joins, in round
/// `j / users`, the tenant `1 + (u + round · (T-1)/2) mod (T-1)` — two different tenants for its
/// two rounds, never the big tenant.
fn spread_tenant(j: usize, users: usize, tenants: usize) -> (usize, usize) {
    let (u, round) = (j % users, j / users);
    let others = tenants - 1;
    (u, 1 + (u + round * (others / 2)) % others)
}

/// Seeds the template app's tenants and memberships (role `member`).
async fn seed_tenants(conn: &DatabaseConnection, template: Uuid, opts: &Options, seeded: &mut Seeded) -> Result<()> {
    let started = Instant::now();
    let now = chrono::Utc::now();
    let count = opts.scale_tenants;
    let tenants: Vec<Uuid> = (0..count).map(|_| Uuid::now_v7()).collect();
    copy_in(
        conn,
        "tenants",
        "id, app_id, slug, display_name, status, metadata, created_at, updated_at",
        tenants.iter().enumerate().map(|(i, id)| {
            format!(
                "{id},{template},tenant-{i},{},active,{},{},{}",
                csv(&format!("Tenant {i}")),
                csv("{}"),
                ts(now),
                ts(now)
            )
        }),
    )
    .await?;
    let role = provision::member_role(conn, template).await?;
    let users = &seeded.big_users;
    let in_big = BIG_TENANT.min(users.len()).min(opts.scale_memberships);
    let spread = opts.scale_memberships - in_big;
    anyhow::ensure!(spread <= 2 * users.len(), "too many memberships for the largest app's users");
    let rows = (0..opts.scale_memberships).map(|m| {
        let (user, tenant) = if m < in_big { (m, 0) } else { spread_tenant(m - in_big, users.len(), count) };
        format!("{},{},{template},{role},{},{}", tenants[tenant], users[user], ts(now), ts(now))
    });
    copy_in(conn, "tenant_members", "tenant_id, end_user_id, app_id, role_id, created_at, updated_at", rows).await?;
    let mut members = users[..in_big].to_vec();
    members.sort();
    seeded.big_tenant_members = members;
    seeded.tenants = tenants;
    eprintln!(
        "[scale] {} tenants and {} memberships copied in {:.1?}",
        thousands(count as f64),
        thousands(opts.scale_memberships as f64),
        started.elapsed()
    );
    Ok(())
}

async fn measure(
    server: &Server,
    db: &Database,
    opts: &Options,
    limits: Limits,
    big_app: Uuid,
    big_users: usize,
    seeded: &Seeded,
) -> Result<(Vec<Measure>, DbReport)> {
    let addr = server.addr;
    let rss_ready = server.rss_kib().unwrap_or(0);
    let mut measures = vec![
        Measure {
            name: "cold start to ready".into(),
            value: format!("{:.0?}", server.ready_after),
            bar: "< 2 s".into(),
            pass: Some(server.ready_after < Duration::from_secs(2)),
        },
        Measure {
            name: "RSS when ready".into(),
            value: format!("{:.1} MB", rss_ready as f64 / 1024.0),
            bar: "< 300 MB".into(),
            pass: Some(rss_ready < 300 * 1024),
        },
    ];

    let conn = db.connect().await?;
    let deep_big = provision::cursor_at(&conn, big_app, big_users.saturating_sub(50).max(1) as u64).await?;
    let (small_app, small_users) = seeded.small_app;
    let deep_small = provision::cursor_at(&conn, small_app, small_users.saturating_sub(10).max(1) as u64).await?;
    conn.close().await?;

    let auth = vec![format!("Authorization: Bearer {}", db.pak)];
    let list = |app: Uuid, cursor: Option<&str>| {
        let mut path = format!("/v1/apps/{app}/end-users?limit=50");
        if let Some(c) = cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        load::request(&addr, "GET", &path, &auth, None)
    };
    let signin = |identifier: String, tenant: Option<Uuid>| {
        let mut body = json!({ "identifier": identifier, "password": provision::PASSWORD });
        if let Some(t) = tenant {
            body["tenant_id"] = json!(t);
        }
        load::request(&addr, "POST", "/scale-0/v1/auth/signin", &[], Some(body.to_string().as_bytes()))
    };
    let get = |path: String| load::request(&addr, "GET", &path, &auth, None);
    let cursor = |id: Uuid| URL_SAFE_NO_PAD.encode(id.as_bytes());
    let mid = big_users / 2;
    let big = thousands(big_users as f64);
    let tenants = &seeded.tenants;
    let tenant_count = thousands(tenants.len() as f64);
    let deep_tenant = cursor(tenants[tenants.len().saturating_sub(51)]);
    let members = &seeded.big_tenant_members;
    let member_count = thousands(members.len() as f64);
    let deep_member = cursor(members[members.len().saturating_sub(51)]);
    // `user-{mid}`'s first tenant past the big one (the seeding's first round).
    let (_, mid_tenant) = spread_tenant(mid, seeded.big_users.len(), tenants.len());
    let (t0, mid_user) = (tenants[0], seeded.big_users[mid]);
    let cases: Vec<(String, Requests)> = vec![
        (
            format!("tenant list first page ({tenant_count} tenants)"),
            Requests::Fixed(get(format!("/v1/apps/{big_app}/tenants?limit=50"))),
        ),
        (
            format!("tenant list last page ({tenant_count} tenants)"),
            Requests::Fixed(get(format!("/v1/apps/{big_app}/tenants?limit=50&cursor={deep_tenant}"))),
        ),
        (
            format!("member list first page (tenant of {member_count})"),
            Requests::Fixed(get(format!("/v1/apps/{big_app}/tenants/{t0}/members?limit=50"))),
        ),
        (
            format!("member list last page (tenant of {member_count})"),
            Requests::Fixed(get(format!("/v1/apps/{big_app}/tenants/{t0}/members?limit=50&cursor={deep_member}"))),
        ),
        (
            "list a user's tenants".into(),
            Requests::Fixed(get(format!("/v1/apps/{big_app}/end-users/{mid_user}/tenants?limit=50"))),
        ),
        (format!("list_first (app of {big})"), Requests::Fixed(list(big_app, None))),
        (format!("list_deep (app of {big}, last page)"), Requests::Fixed(list(big_app, Some(&deep_big)))),
        (format!("list_deep (app of {small_users})"), Requests::Fixed(list(small_app, Some(&deep_small)))),
        ("signin by email".into(), Requests::Fixed(signin(format!("user-{mid}@example.com"), None))),
        ("signin by username".into(), Requests::Fixed(signin(format!("user-{}", mid + 1), None))),
        (
            "signin by email with tenant_id".into(),
            Requests::Fixed(signin(format!("user-{mid}@example.com"), Some(tenants[mid_tenant]))),
        ),
    ];
    let mut rows = DbReport { db: "Scale latency, one connection, sequential requests".into(), ..Default::default() };
    let duration = opts.duration.min(Duration::from_secs(5));
    for (name, requests) in cases {
        eprintln!("[scale] {name}");
        let o = load::run(addr, vec![Load::new(1, requests)], Duration::from_millis(500), duration).await?;
        let mut row = Row::new(&name, "1", &o[0], Default::default());
        if name.contains("list") {
            row = row.bar(Bar::P99Below(Duration::from_millis(20)));
        } else {
            let argon2 = Duration::from_secs_f64(1.0 / limits.argon2_verify.cpu);
            rows.notes.push(format!(
                "{name}: p50 {} is {} above one raw argon2id verify ({} of CPU): the rest of a sign-in (lookups and writes, token signing, HTTP) at this size",
                ms(row.p50),
                ms(row.p50.saturating_sub(argon2)),
                ms(argon2)
            ));
        }
        rows.rows.push(row);
    }
    // Sign-in into a tenant adds one membership read to a sign-in: no slower, within noise (10 %).
    let p50 = |name: &str| rows.rows.iter().find(|r| r.scenario == name).map(|r| r.p50);
    if let (Some(plain), Some(tenant)) = (p50("signin by email"), p50("signin by email with tenant_id")) {
        measures.push(Measure {
            name: "signin with tenant_id vs without (p50)".into(),
            value: format!("{} vs {}", ms(tenant), ms(plain)),
            bar: "within 10 %".into(),
            pass: Some(tenant.as_secs_f64() <= plain.as_secs_f64() * 1.1),
        });
    }
    let rss_after = server.rss_kib().unwrap_or(0);
    measures.push(Measure {
        name: "RSS after the measurements".into(),
        value: format!("{:.1} MB", rss_after as f64 / 1024.0),
        bar: "< 300 MB".into(),
        pass: Some(rss_after < 300 * 1024),
    });
    Ok((measures, rows))
}
