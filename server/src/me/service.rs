//! The signed-in end-user's own account: profile, sessions and deletion, through the owning
//! domains' services.

use uuid::Uuid;

use crate::{
    access::{Origin, end_user::SignedIn},
    end_users,
    entity::{end_user, session},
    error::Error,
    sessions,
    state::AppState,
};

/// Changes the user's own profile (the display name; `None` changes nothing).
pub async fn update_profile(
    state: &AppState,
    ctx: &Origin,
    app_id: Uuid,
    me: SignedIn,
    display_name: Option<String>,
) -> Result<end_user::Model, Error> {
    end_users::service::update_own_profile(state, ctx, app_id, me.user, display_name).await
}

/// A page of the user's live sessions, oldest first.
pub async fn sessions(
    state: &AppState,
    app_id: Uuid,
    me: &SignedIn,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<session::Model>, Error> {
    sessions::service::live(state, app_id, me.user.id, after, Some(limit)).await
}

/// Ends one of the user's own live sessions; 404 for anyone else's or one already ended.
pub async fn revoke_session(
    state: &AppState,
    ctx: &Origin,
    app_id: Uuid,
    me: &SignedIn,
    session_id: Uuid,
) -> Result<(), Error> {
    let target = sessions::service::find(state, app_id, session_id)
        .await?
        .filter(|s| s.end_user_id == me.user.id && s.revoked_at.is_none())
        .ok_or_else(|| Error::not_found("session"))?;
    let actor = sessions::service::user_actor(me.user.id);
    sessions::service::revoke_session(state, app_id, target.id, "user_revoked", &actor, ctx).await?;
    Ok(())
}

/// Deletes the user's own account.
pub async fn delete(state: &AppState, ctx: &Origin, app_id: Uuid, me: &SignedIn) -> Result<(), Error> {
    let actor = sessions::service::user_actor(me.user.id);
    end_users::service::delete(state, &actor, ctx, app_id, me.user.id).await
}
