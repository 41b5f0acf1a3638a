//! Delivery cursors (`delivery_cursors`): which sinks have work, and the claim that lets exactly
//! one instance deliver a sink's events of one app at a time.
//!
//! On PostgreSQL a claim is a transaction holding the cursor row `FOR UPDATE SKIP LOCKED`: an
//! instance that finds the row locked moves on, and the lock goes with the connection when an
//! instance dies. SQLite has one process per database file and one delivering task per sink, so
//! a claim there is a plain read and every update commits at once.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    QueryFilter, QuerySelect, TransactionTrait,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType, OnConflict, Query},
};
use uuid::Uuid;

use crate::entity::{delivery_cursor, event_sequence};

/// Opens the cursor of `sink` on the app at `start` unless it has one.
pub(super) async fn open(conn: &impl ConnectionTrait, sink: &str, app_id: Uuid, start: i64) -> Result<(), DbErr> {
    use delivery_cursor::Column as C;
    let insert = Query::insert()
        .into_table(delivery_cursor::Entity)
        .columns([C::Sink, C::AppId, C::LastSeq, C::Attempts, C::UpdatedAt])
        .values_panic([sink.into(), app_id.into(), start.into(), 0i32.into(), crate::clock::now().into()])
        .on_conflict(OnConflict::columns([C::Sink, C::AppId]).do_nothing().to_owned())
        .to_owned();
    conn.execute(&insert).await?;
    Ok(())
}

/// Opens the cursor of `sink` at the start of the feed on every app that has a feed and no
/// cursor of `sink` yet.
pub(super) async fn open_everywhere(conn: &impl ConnectionTrait, sink: &str) -> Result<(), DbErr> {
    use delivery_cursor::Column as C;
    let missing = Query::select()
        .expr(Expr::val(1))
        .from(delivery_cursor::Entity)
        .and_where(Expr::col((delivery_cursor::Entity, C::Sink)).eq(sink))
        .and_where(
            Expr::col((delivery_cursor::Entity, C::AppId))
                .equals((event_sequence::Entity, event_sequence::Column::AppId)),
        )
        .to_owned();
    let rows = Query::select()
        .expr(Expr::val(sink))
        .column((event_sequence::Entity, event_sequence::Column::AppId))
        .expr(Expr::val(0i64))
        .expr(Expr::val(0i32))
        .expr(Expr::val(crate::clock::now()))
        .from(event_sequence::Entity)
        // Also settles SQLite's reading of `INSERT … SELECT … ON CONFLICT` (it needs a WHERE).
        .and_where(Expr::exists(missing).not())
        .to_owned();
    let insert = Query::insert()
        .into_table(delivery_cursor::Entity)
        .columns([C::Sink, C::AppId, C::LastSeq, C::Attempts, C::UpdatedAt])
        .select_from(rows)
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .on_conflict(OnConflict::columns([C::Sink, C::AppId]).do_nothing().to_owned())
        .to_owned();
    conn.execute(&insert).await?;
    Ok(())
}

/// Clears the retry state of `sink`'s cursor on the app: its next event is due now.
pub(super) async fn retry_now(conn: &impl ConnectionTrait, sink: &str, app_id: Uuid) -> Result<(), DbErr> {
    use delivery_cursor::Column as C;
    delivery_cursor::Entity::update_many()
        .col_expr(C::Attempts, Expr::value(0i32))
        .col_expr(C::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(C::FailingSince, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(C::UpdatedAt, Expr::value(crate::clock::now()))
        .filter(C::Sink.eq(sink))
        .filter(C::AppId.eq(app_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Removes every cursor of `sink`.
pub(super) async fn close(conn: &impl ConnectionTrait, sink: &str) -> Result<(), DbErr> {
    delivery_cursor::Entity::delete_many().filter(delivery_cursor::Column::Sink.eq(sink)).exec(conn).await?;
    Ok(())
}

/// Cursors whose sink starts with `prefix`, that are behind their app's feed and due at `now`.
pub(super) async fn due(
    conn: &impl ConnectionTrait,
    prefix: &str,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Uuid)>, DbErr> {
    use delivery_cursor::Column as C;
    let rows = delivery_cursor::Entity::find()
        .filter(C::Sink.starts_with(prefix))
        .filter(Condition::any().add(C::NextAttemptAt.is_null()).add(C::NextAttemptAt.lte(now)))
        .filter(Expr::cust(
            "delivery_cursors.last_seq < \
             (SELECT s.last_seq FROM event_sequences s WHERE s.app_id = delivery_cursors.app_id)",
        ))
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.sink, r.app_id)).collect())
}

/// The right to deliver one sink's events of one app until it is released.
pub struct Claim {
    conn: DatabaseConnection,
    /// PostgreSQL: the transaction holding the cursor row's lock.
    tx: Option<DatabaseTransaction>,
    pub(super) cursor: delivery_cursor::Model,
}

/// Claims the cursor of `sink` on the app when it is due at `now` and no other instance holds
/// it; `None` otherwise.
pub(super) async fn claim(
    conn: &DatabaseConnection,
    sink: &str,
    app_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Claim>, DbErr> {
    use delivery_cursor::Column as C;
    let find = delivery_cursor::Entity::find()
        .filter(C::Sink.eq(sink))
        .filter(C::AppId.eq(app_id))
        .filter(Condition::any().add(C::NextAttemptAt.is_null()).add(C::NextAttemptAt.lte(now)));
    if conn.get_database_backend() == DbBackend::Postgres {
        let tx = conn.begin().await?;
        let found = find.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked).one(&tx).await?;
        let Some(cursor) = found else {
            tx.rollback().await?;
            return Ok(None);
        };
        Ok(Some(Claim { conn: conn.clone(), tx: Some(tx), cursor }))
    } else {
        Ok(find.one(conn).await?.map(|cursor| Claim { conn: conn.clone(), tx: None, cursor }))
    }
}

impl Claim {
    async fn update(&mut self, cursor: delivery_cursor::Model) -> Result<(), DbErr> {
        use delivery_cursor::Column as C;
        let update = delivery_cursor::Entity::update_many()
            .col_expr(C::LastSeq, Expr::value(cursor.last_seq))
            .col_expr(C::Attempts, Expr::value(cursor.attempts))
            .col_expr(C::NextAttemptAt, Expr::value(cursor.next_attempt_at))
            .col_expr(C::FailingSince, Expr::value(cursor.failing_since))
            .col_expr(C::LastError, Expr::value(cursor.last_error.clone()))
            .col_expr(C::UpdatedAt, Expr::value(cursor.updated_at))
            .filter(C::Sink.eq(cursor.sink.clone()))
            .filter(C::AppId.eq(cursor.app_id));
        match &self.tx {
            Some(tx) => update.exec(tx).await?,
            None => update.exec(&self.conn).await?,
        };
        self.cursor = cursor;
        Ok(())
    }

    /// Records the cursor's new state (kept when the claim is released).
    pub(super) async fn save(&mut self, cursor: delivery_cursor::Model) -> Result<(), DbErr> {
        self.update(cursor).await
    }

    /// Ends the claim, keeping what was saved.
    pub(super) async fn release(self) -> Result<(), DbErr> {
        match self.tx {
            Some(tx) => tx.commit().await,
            None => Ok(()),
        }
    }
}
