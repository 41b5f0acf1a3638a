//! App lifecycle rules: creation with everything an app needs, renames with a JWKS alias,
//! status, deletion, and the workspace statistics.

use chrono::Duration;
use uuid::Uuid;

use super::{slug::AppSlug, store};
use crate::access::AdminPrincipal;
use crate::access::Origin;
use crate::audit::Action;
use crate::entity::app::AppStatus;
use crate::entity::signing_key::SigningAlg;
use crate::error::Code;
use crate::{
    audit::Entry, auth_config::AuthConfig, clock, coherence::Change, entity::app, error::Error, state::AppState, write,
};

/// How long a former slug keeps resolving the app's JWKS.
pub const SLUG_ALIAS_DAYS: i64 = 30;

/// The system roles every app starts with.
pub const SYSTEM_ROLES: [(&str, &str); 3] = [
    ("owner", "Full control of the app"),
    ("admin", "Administers the app's users and settings"),
    ("member", "Default role for new end-users"),
];

/// What a new app is made of.
pub struct NewApp {
    pub display_name: String,
    pub slug: String,
    pub workspace_id: Option<Uuid>,
    pub metadata: Option<serde_json::Value>,
    /// The algorithm of the app's keys (RS256 unless asked).
    pub signing_alg: SigningAlg,
}

#[derive(Default)]
pub struct AppChanges {
    pub display_name: Option<String>,
    pub slug: Option<String>,
    pub metadata: Option<serde_json::Value>,
}

fn slug_taken(slug: &str) -> Error {
    Error::new(Code::SlugTaken, format!("the slug '{slug}' is already in use"))
}

/// The app `app_id`, whoever asks (callers check visibility: `access::admin::visible`).
pub async fn find(state: &AppState, app_id: Uuid) -> Result<Option<app::Model>, Error> {
    Ok(store::find(&state.db, app_id).await?)
}

/// The app `app_id` if the caller may see it and holds `permission`.
async fn visible(
    state: &AppState,
    principal: &AdminPrincipal,
    app_id: Uuid,
    permission: &str,
) -> Result<app::Model, Error> {
    principal.visible(store::find(&state.db, app_id).await?, permission)
}

/// Creates an app with its signing key, default auth config and system roles, atomically.
pub async fn create(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    new: NewApp,
) -> Result<app::Model, Error> {
    let workspace_id = principal.require_platform()?;
    if new.workspace_id.is_some_and(|w| w != workspace_id) {
        return Err(Error::forbidden("this key cannot create apps in that workspace"));
    }
    let slug = AppSlug::parse(&new.slug)?;
    let display_name = Error::check_name("display_name", &new.display_name)?;
    let metadata = new.metadata.unwrap_or_else(|| serde_json::json!({}));
    // Claimed before the transaction: key generation must never run under a database lock.
    let key = state.keys.claim(new.signing_alg).await?;
    let result = async {
        let now = clock::now();
        let mut unit = write::begin(&state.db, &state.bus).await?;
        if store::slug_taken(unit.conn(), slug.as_str(), None, now).await? {
            return Err(slug_taken(slug.as_str()));
        }
        let row = app::Model {
            id: Uuid::now_v7(),
            workspace_id,
            slug: slug.as_str().to_owned(),
            display_name,
            status: AppStatus::Active,
            metadata,
            created_by: principal.actor().id.unwrap_or_default(),
            created_at: now,
            updated_at: now,
            keys_rotated_at: now,
            signing_alg: new.signing_alg,
        };
        let model = store::insert(unit.conn(), row).await?.ok_or_else(|| slug_taken(slug.as_str()))?;
        let config = serde_json::to_value(AuthConfig::default()).expect("config serializes");
        store::insert_auth_config(unit.conn(), model.id, config, now).await?;
        for (name, description) in SYSTEM_ROLES {
            store::insert_system_role(unit.conn(), model.id, name, description, now).await?;
        }
        state.keys.provision(&unit, model.id, &key, now).await?;
        unit.audit(
            Entry::new(model.id, &principal.actor(), Action::AppCreated, ctx)
                .resource("app", model.id)
                .details(serde_json::json!({ "slug": model.slug, "display_name": model.display_name })),
        )
        .await?;
        unit.announce(Change::App(model.id));
        unit.commit().await?;
        Ok(model)
    }
    .await;
    if result.is_err() {
        state.keys.give_back(&key).await;
    }
    result
}

/// Applies profile changes; a slug change leaves the old slug as a JWKS alias for 30 days.
pub async fn update(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    changes: AppChanges,
) -> Result<app::Model, Error> {
    let current = visible(state, principal, app_id, crate::permissions::APP_UPDATE).await?;
    let now = clock::now();
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let mut changed = serde_json::Map::new();
    let mut profile = store::Profile::default();
    if let Some(name) = changes.display_name {
        let name = Error::check_name("display_name", &name)?;
        if name != current.display_name {
            changed.insert("display_name".into(), name.clone().into());
            profile.display_name = Some(name);
        }
    }
    if let Some(metadata) = changes.metadata {
        if !metadata.is_object() {
            return Err(Error::validation("metadata", "must be a JSON object"));
        }
        changed.insert("metadata".into(), serde_json::Value::Bool(true));
        profile.metadata = Some(metadata);
    }
    if let Some(raw) = changes.slug {
        let slug = AppSlug::parse(&raw)?;
        if slug.as_str() != current.slug {
            if store::slug_taken(unit.conn(), slug.as_str(), Some(app_id), now).await? {
                return Err(slug_taken(slug.as_str()));
            }
            store::drop_alias(unit.conn(), slug.as_str()).await?;
            store::put_alias(unit.conn(), &current.slug, app_id, now + Duration::days(SLUG_ALIAS_DAYS)).await?;
            changed.insert("slug".into(), serde_json::json!({ "from": current.slug, "to": slug.as_str() }));
            profile.slug = Some(slug.into_inner());
        }
    }
    if changed.is_empty() {
        unit.commit_unaudited("no change: nothing was written").await?;
        return Ok(current);
    }
    let updated = store::update_profile(unit.conn(), current, profile, now)
        .await?
        .ok_or_else(|| Error::new(Code::SlugTaken, "the slug is already in use"))?;
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::AppUpdated, ctx)
            .resource("app", app_id)
            .details(serde_json::Value::Object(changed)),
    )
    .await?;
    unit.announce(Change::App(app_id));
    unit.commit().await?;
    Ok(updated)
}

pub async fn set_status(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    status: AppStatus,
) -> Result<app::Model, Error> {
    let current = visible(state, principal, app_id, crate::permissions::APP_UPDATE).await?;
    if current.status == status {
        return Ok(current);
    }
    let from = current.status;
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let updated = store::set_status(unit.conn(), current, status, clock::now()).await?;
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::AppStatusChanged, ctx)
            .resource("app", app_id)
            .details(serde_json::json!({ "from": from.as_str(), "to": status.as_str() })),
    )
    .await?;
    unit.announce(Change::App(app_id));
    unit.commit().await?;
    Ok(updated)
}

/// Deletes the app and everything in it. The audit log keeps its entries, ending with this one.
pub async fn delete(state: &AppState, principal: &AdminPrincipal, ctx: &Origin, app_id: Uuid) -> Result<(), Error> {
    let current = visible(state, principal, app_id, crate::permissions::APP_DELETE).await?;
    let mut unit = write::begin(&state.db, &state.bus).await?;
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::AppDeleted, ctx)
            .resource("app", app_id)
            .details(serde_json::json!({ "slug": current.slug })),
    )
    .await?;
    if !store::delete(unit.conn(), app_id).await? {
        return Err(Error::not_found("app"));
    }
    unit.announce(Change::App(app_id));
    unit.commit().await
}

/// Rotates the app's signing key on request.
pub async fn rotate_key(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    immediate: bool,
    alg: Option<SigningAlg>,
) -> Result<crate::entity::signing_key::Model, Error> {
    let app = visible(state, principal, app_id, crate::permissions::SIGNING_KEY_ROTATE).await?;
    let entry = Entry::new(app_id, &principal.actor(), Action::SigningKeyRotated, ctx);
    let alg = alg.unwrap_or(app.signing_alg);
    // The rotation announces the app's change after its commit.
    let rotation = state.keys.rotate(app_id, app.keys_rotated_at, immediate, alg, entry).await?.ok_or_else(|| {
        Error::new(Code::RotationInProgress, "another rotation of this app's key just happened; retry")
    })?;
    Ok(rotation.new_key)
}
