//! Login sessions. Revocation is a flag rather than a time: the ports give
//! no clock here, and reading the database's own clock would make a second
//! source of time that tests cannot fix.

use diesel::prelude::*;
use mfa_ports::model::{SessionId, SessionRecord, UserId};
use mfa_ports::ports::{SessionStore, StoreError};

use crate::Database;
use crate::conn::with_connection;
use crate::rows::{SessionRow, db_uuid};
use crate::schema::sessions;

/// Revokes every live session of a user except those in `keep` (a slice of
/// at most one id); evaluates to the number revoked. A macro so that
/// `disable_mfa` runs the very same statement inside its transaction.
macro_rules! revoke_sessions_query {
    ($conn:expr, $user:expr, $keep:expr) => {
        ::diesel::update(
            $crate::schema::sessions::table
                .filter($crate::schema::sessions::user_id.eq($user))
                .filter($crate::schema::sessions::revoked.eq(false))
                .filter($crate::schema::sessions::id.ne_all($keep)),
        )
        .set($crate::schema::sessions::revoked.eq(true))
        .execute($conn)
    };
}
pub(crate) use revoke_sessions_query;

impl SessionStore for Database {
    fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let row = SessionRow::from(session);
        with_connection!(self, |conn| {
            diesel::insert_into(sessions::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn session(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let id = db_uuid(id.0);
        let row: Option<SessionRow> = with_connection!(self, |conn| {
            sessions::table
                .find(&id)
                .select(SessionRow::as_select())
                .first(conn)
                .optional()
        })?;
        row.map(SessionRecord::try_from).transpose()
    }

    fn revoke_session(&self, id: SessionId) -> Result<(), StoreError> {
        let id = db_uuid(id.0);
        with_connection!(self, |conn| {
            diesel::update(sessions::table.find(&id))
                .set(sessions::revoked.eq(true))
                .execute(conn)?;
            Ok(())
        })
    }

    fn revoke_user_sessions(
        &self,
        user: UserId,
        keep: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        let user = db_uuid(user.0);
        let keep: Vec<String> = keep.map(|k| db_uuid(k.0)).into_iter().collect();
        let revoked =
            with_connection!(self, |conn| { revoke_sessions_query!(conn, &user, &keep) })?;
        Ok(u64::try_from(revoked).unwrap_or_default())
    }
}
