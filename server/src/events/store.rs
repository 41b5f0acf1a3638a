//! Change-feed queries: the outbox append (counter row + events) and the ordered reads; every
//! read is filtered by app.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, IdenStatic, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, ExprTrait, OnConflict, Query},
};
use uuid::Uuid;

use super::feed::Draft;
use crate::{
    clock,
    entity::{app, change_event, event_sequence},
};

/// The app's slug (the one read the feed makes of the apps table: an event's `source`).
pub(crate) async fn slug_of(tx: &DatabaseTransaction, app_id: Uuid) -> Result<Option<String>, DbErr> {
    Ok(app::Entity::find_by_id(app_id).one(tx).await?.map(|a| a.slug))
}

/// The app's last sequence number, 0 before its first event.
pub(crate) async fn head(conn: &DatabaseTransaction, app_id: Uuid) -> Result<i64, DbErr> {
    Ok(event_sequence::Entity::find_by_id(app_id).one(conn).await?.map_or(0, |s| s.last_seq))
}

/// Takes `count` numbers of the app's sequence in one statement; returns the last. The updated
/// row stays locked until the transaction ends, which orders the app's writers.
async fn take(tx: &DatabaseTransaction, app_id: Uuid, count: i64) -> Result<i64, DbErr> {
    use event_sequence::Column::{AppId, LastSeq};
    let upsert = Query::insert()
        .into_table(event_sequence::Entity)
        .columns([AppId, LastSeq])
        .values_panic([app_id.into(), count.into()])
        .on_conflict(
            OnConflict::column(AppId)
                .value(LastSeq, Expr::col((event_sequence::Entity, LastSeq)).add(count))
                .to_owned(),
        )
        .returning(Query::returning().column(LastSeq))
        .to_owned();
    let row = tx.query_one(&upsert).await?.ok_or_else(|| DbErr::RecordNotFound("event sequence".into()))?;
    row.try_get("", LastSeq.as_str())
}

/// Numbers `drafts` from each app's counter and writes them (`slugs` names each app as the
/// write unit found it); returns the apps whose feed moved.
pub(crate) async fn append(
    tx: &DatabaseTransaction,
    drafts: Vec<Draft>,
    slugs: &[(Uuid, String)],
) -> Result<Vec<Uuid>, DbErr> {
    // Apps in a fixed order, so two units touching the same apps lock their counters alike.
    let mut apps: Vec<Uuid> = drafts.iter().map(|d| d.app_id).collect();
    apps.sort();
    apps.dedup();
    let now = clock::now();
    for &app_id in &apps {
        let mine: Vec<&Draft> = drafts.iter().filter(|d| d.app_id == app_id).collect();
        let last = take(tx, app_id, mine.len() as i64).await?;
        let first = last - mine.len() as i64 + 1;
        let slug = slugs.iter().find(|(id, _)| *id == app_id).map_or_else(|| app_id.to_string(), |(_, s)| s.clone());
        let rows = mine.into_iter().enumerate().map(|(i, d)| change_event::ActiveModel {
            app_id: sea_orm::Set(app_id),
            seq: sea_orm::Set(first + i as i64),
            id: sea_orm::Set(Uuid::now_v7()),
            app_slug: sea_orm::Set(slug.clone()),
            r#type: sea_orm::Set(d.kind.clone()),
            subject: sea_orm::Set(d.subject.clone()),
            time: sea_orm::Set(now),
            data: sea_orm::Set(d.data.clone()),
        });
        change_event::Entity::insert_many(rows).exec(tx).await?;
    }
    Ok(apps)
}

/// Up to `limit` events of the app after `after`, oldest first, of one of `types` when given.
pub(super) async fn list(
    conn: &impl ConnectionTrait,
    app_id: Uuid,
    after: i64,
    types: &[String],
    limit: u64,
) -> Result<Vec<change_event::Model>, DbErr> {
    use change_event::Column as C;
    let mut q = change_event::Entity::find().filter(C::AppId.eq(app_id)).filter(C::Seq.gt(after));
    if !types.is_empty() {
        q = q.filter(C::Type.is_in(types.iter().cloned()));
    }
    q.order_by_asc(C::Seq).limit(limit).all(conn).await
}

/// Deletes events written before `cutoff`; returns how many.
pub(super) async fn prune(conn: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(change_event::Entity::delete_many()
        .filter(change_event::Column::Time.lt(cutoff))
        .exec(conn)
        .await?
        .rows_affected)
}
