//! Everything the scenarios need, made through the public API (app, permission, role grant, M2M
//! client, end-users via sign-up) except bulk end-users, which go straight into the database
//! because 20,000 sign-ups would be 20,000 argon2 hashes.

use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use argon2::{Algorithm, Argon2, Params, Version, password_hash::PasswordHasher as _};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use heimdall_server::entity::{end_user, role};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use super::load;

/// Password of every bench user.
pub const PASSWORD: &str = "Bench-password-1234!";
/// The permission the bench grants and asks about.
pub const PERMISSION: &str = "docs.read";

/// A JSON call to the API on a fresh connection; fails unless the answer is 2xx.
pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Result<Value> {
    let headers: Vec<String> = bearer.map(|b| format!("Authorization: Bearer {b}")).into_iter().collect();
    let body = body.map(|b| serde_json::to_vec(&b).expect("json"));
    let req = load::request(&addr, method, path, &headers, body.as_deref());
    let (status, resp) = load::once(addr, &req).await.with_context(|| format!("{method} {path}"))?;
    if !(200..300).contains(&status) {
        bail!("{method} {path} answered {status}: {}", String::from_utf8_lossy(&resp));
    }
    if resp.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&resp).with_context(|| format!("{method} {path}: answer is not JSON"))
}

fn text(v: &Value, key: &str) -> Result<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned).with_context(|| format!("no `{key}` in {v}"))
}

/// What provisioning made.
pub struct Fixture {
    pub pak: String,
    pub app_id: String,
    pub slug: String,
    pub client_id: String,
    pub client_secret: String,
    /// Usernames of the signed-up users (all with [`PASSWORD`]).
    pub users: Vec<String>,
    /// An access token of the first user (role `member`, which holds [`PERMISSION`]).
    pub user_token: String,
}

/// Creates the bench app with a permission granted to `member`, an M2M client holding it, and
/// `users` end-users through sign-up.
pub async fn fixture(addr: SocketAddr, pak: &str, slug: &str, users: usize) -> Result<Fixture> {
    let app = call(addr, "POST", "/v1/apps", Some(pak), Some(json!({ "display_name": "Bench", "slug": slug }))).await?;
    let app_id = text(&app, "id")?;
    let (resource, action) = PERMISSION.split_once('.').expect("resource.action");
    call(
        addr,
        "POST",
        &format!("/v1/apps/{app_id}/permissions"),
        Some(pak),
        Some(json!({ "resource": resource, "action": action })),
    )
    .await?;
    call(
        addr,
        "PUT",
        &format!("/v1/apps/{app_id}/roles/member/permissions"),
        Some(pak),
        Some(json!({ "permissions": [PERMISSION] })),
    )
    .await?;
    let client = call(
        addr,
        "POST",
        &format!("/v1/apps/{app_id}/credentials"),
        Some(pak),
        Some(json!({ "name": "bench", "scopes": [PERMISSION] })),
    )
    .await?;
    let mut names = Vec::new();
    let mut user_token = String::new();
    for i in 0..users {
        let username = format!("bench-user-{i}");
        let tokens = call(
            addr,
            "POST",
            &format!("/{slug}/v1/auth/signup"),
            None,
            Some(json!({ "username": username, "email": format!("{username}@example.com"), "password": PASSWORD })),
        )
        .await?;
        if i == 0 {
            user_token = text(&tokens, "access_token")?;
        }
        names.push(username);
    }
    Ok(Fixture {
        pak: pak.to_owned(),
        app_id,
        slug: slug.to_owned(),
        client_id: text(&client, "client_id")?,
        client_secret: text(&client, "client_secret")?,
        users: names,
        user_token,
    })
}

/// An argon2id hash of [`PASSWORD`] with the server's parameters, shared by seeded users.
pub fn password_hash() -> Result<String> {
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default());
    Ok(argon2.hash_password(PASSWORD.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?.to_string())
}

/// The `member` role of an app.
pub async fn member_role(conn: &DatabaseConnection, app_id: Uuid) -> Result<Uuid> {
    let row = role::Entity::find()
        .filter(role::Column::AppId.eq(app_id))
        .filter(role::Column::Name.eq("member"))
        .one(conn)
        .await?
        .context("app has no member role")?;
    Ok(row.id)
}

/// Inserts `count` active end-users into `app_id` with multi-row INSERTs (works on both
/// databases; the scale mode uses COPY instead). Emails are verified so sign-in by email works.
pub async fn seed_users(conn: &DatabaseConnection, app_id: Uuid, prefix: &str, count: usize) -> Result<()> {
    let role_id = member_role(conn, app_id).await?;
    let hash = password_hash()?;
    let now = chrono::Utc::now();
    let mut made = 0;
    while made < count {
        let n = (count - made).min(1000);
        let rows = (made..made + n).map(|i| {
            let username = format!("{prefix}{i}");
            end_user::ActiveModel {
                id: Set(Uuid::now_v7()),
                app_id: Set(app_id),
                username_key: Set(username.clone()),
                email: Set(Some(format!("{username}@example.com"))),
                email_key: Set(Some(format!("{username}@example.com"))),
                email_verified_at: Set(Some(now)),
                display_name: Set(None),
                password_hash: Set(Some(hash.clone())),
                status: Set(heimdall_server::entity::end_user::EndUserStatus::Active),
                role_id: Set(Some(role_id)),
                created_at: Set(now),
                updated_at: Set(now),
                last_used_at: Set(None),
                username: Set(username),
            }
        });
        end_user::Entity::insert_many(rows).exec(conn).await?;
        made += n;
    }
    Ok(())
}

/// The cursor that starts the page after the `depth`-th end-user (oldest first), as the API
/// would hand it out.
pub async fn cursor_at(conn: &DatabaseConnection, app_id: Uuid, depth: u64) -> Result<String> {
    let id: Uuid = end_user::Entity::find()
        .select_only()
        .column(end_user::Column::Id)
        .filter(end_user::Column::AppId.eq(app_id))
        .order_by_asc(end_user::Column::Id)
        .offset(depth.saturating_sub(1))
        .limit(1)
        .into_tuple()
        .one(conn)
        .await?
        .context("fewer end-users than the cursor depth")?;
    Ok(URL_SAFE_NO_PAD.encode(id.as_bytes()))
}
