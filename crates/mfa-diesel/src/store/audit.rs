//! The append-only audit table, and the health check.

use diesel::prelude::*;
use mfa_core::UnixTime;
use mfa_ports::model::{AuditEvent, UserId};
use mfa_ports::ports::{AuditLog, HealthCheck, StoreError};

use crate::Database;
use crate::conn::with_connection;
use crate::rows::{AuditRow, NewAuditRow, db_time, db_uuid};
use crate::schema::audit_events;

impl AuditLog for Database {
    fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let row = NewAuditRow::from(event);
        with_connection!(self, |conn| {
            diesel::insert_into(audit_events::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn audit_events(
        &self,
        user: Option<UserId>,
        since: Option<UnixTime>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let user = user.map(|u| db_uuid(u.0));
        let since = since.map(db_time);
        let rows: Vec<AuditRow> = with_connection!(self, |conn| {
            let mut query = audit_events::table
                .select(AuditRow::as_select())
                .order((audit_events::at.asc(), audit_events::id.asc()))
                .into_boxed();
            if let Some(user) = &user {
                query = query.filter(audit_events::user_id.eq(user));
            }
            if let Some(since) = since {
                query = query.filter(audit_events::at.ge(since));
            }
            query.load(conn)
        })?;
        rows.into_iter().map(AuditEvent::try_from).collect()
    }
}

impl HealthCheck for Database {
    fn ping(&self) -> Result<(), StoreError> {
        with_connection!(self, |conn| {
            diesel::sql_query("SELECT 1").execute(conn)?;
            Ok(())
        })
    }
}
