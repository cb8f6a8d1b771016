//! Wrong passwords per canonical email.

use diesel::prelude::*;
use mfa_core::{Failures, UnixTime};
use mfa_ports::ports::{LoginThrottleStore, StoreError};

use crate::Database;
use crate::conn::with_connection;
use crate::rows::{db_time, read_failures};
use crate::schema::login_throttles as lt;

impl LoginThrottleStore for Database {
    fn password_failures(&self, canonical_email: &str) -> Result<Failures, StoreError> {
        let row: Option<(i32, i64)> = with_connection!(self, |conn| {
            lt::table
                .find(canonical_email)
                .select((lt::failed_attempts, lt::last_failure_at))
                .first(conn)
                .optional()
        })?;
        row.map_or(Ok(Failures::default()), |(count, at)| {
            read_failures(count, Some(at), "login_throttles.failed_attempts")
        })
    }

    /// One upsert: the first failure inserts a row with a count of one,
    /// later ones increment it in place, and `RETURNING` reads the count
    /// this statement wrote.
    fn record_password_failure(
        &self,
        canonical_email: &str,
        now: UnixTime,
    ) -> Result<Failures, StoreError> {
        let now = db_time(now);
        let (count, at): (i32, i64) = with_connection!(self, |conn| {
            diesel::insert_into(lt::table)
                .values((
                    lt::email_canonical.eq(canonical_email),
                    lt::failed_attempts.eq(1),
                    lt::last_failure_at.eq(now),
                ))
                .on_conflict(lt::email_canonical)
                .do_update()
                .set((
                    lt::failed_attempts.eq(lt::failed_attempts + 1),
                    lt::last_failure_at.eq(now),
                ))
                .returning((lt::failed_attempts, lt::last_failure_at))
                .get_result(conn)
        })?;
        read_failures(count, Some(at), "login_throttles.failed_attempts")
    }

    fn reset_password_failures(&self, canonical_email: &str) -> Result<(), StoreError> {
        with_connection!(self, |conn| {
            diesel::delete(lt::table.find(canonical_email)).execute(conn)?;
            Ok(())
        })
    }
}
