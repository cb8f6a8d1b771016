//! Accounts, their MFA columns, backup codes and pending setups.

use diesel::prelude::*;
use mfa_core::{BackupCodeHash, Failures, UnixTime};
use mfa_ports::model::{
    NewUser, PendingSetupRecord, SealedSecret, SecretSlot, SessionId, SetupId, UserId, UserRecord,
};
use mfa_ports::ports::{StoreError, UserStore};

use super::sessions::revoke_sessions_query;
use crate::Database;
use crate::conn::{BackendConnection, with_connection};
use crate::rows::{
    CodeColumns, NewUserRow, PendingRow, PendingSetupRow, UserRow, code_rows, db_step, db_time,
    db_uuid, read_uuid, user_record,
};
use crate::schema::{backup_codes, mfa_pending_setups as pending, users};

/// Runs the query of one user with all its backup codes: a single
/// statement, so the user row and the codes come from one snapshot.
macro_rules! load_user {
    ($db:expr, $filter:expr) => {{
        let rows: Vec<(UserRow, CodeColumns)> = with_connection!($db, |conn| {
            users::table
                .left_join(backup_codes::table)
                .filter($filter)
                .select((
                    UserRow::as_select(),
                    (backup_codes::code_hash, backup_codes::used_at).nullable(),
                ))
                .load(conn)
        })?;
        user_record(rows)
    }};
}

impl UserStore for Database {
    fn create_user(&self, user: &NewUser) -> Result<(), StoreError> {
        let row = NewUserRow::from(user);
        with_connection!(self, |conn| {
            diesel::insert_into(users::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn user_by_email(&self, canonical_email: &str) -> Result<Option<UserRecord>, StoreError> {
        load_user!(self, users::email_canonical.eq(canonical_email))
    }

    fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let id = db_uuid(id.0);
        load_user!(self, users::id.eq(&id))
    }

    /// `UPDATE … WHERE id = ? AND mfa_failed_attempts = seen`: of concurrent
    /// claims with the same `seen`, only the first to write matches.
    fn claim_second_factor_attempt(
        &self,
        id: UserId,
        seen: Failures,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        // A count past i32::MAX is never stored, so it cannot be the current one.
        let Ok(seen) = i32::try_from(seen.consecutive) else {
            return Ok(false);
        };
        let Some(next) = seen.checked_add(1) else {
            return Ok(false);
        };
        let id = db_uuid(id.0);
        let now = db_time(now);
        let claimed = with_connection!(self, |conn| {
            diesel::update(
                users::table
                    .filter(users::id.eq(&id))
                    .filter(users::mfa_failed_attempts.eq(seen)),
            )
            .set((
                users::mfa_failed_attempts.eq(next),
                users::mfa_last_failure_at.eq(Some(now)),
            ))
            .execute(conn)
        })?;
        Ok(claimed == 1)
    }

    fn reset_second_factor_failures(&self, id: UserId) -> Result<(), StoreError> {
        let id = db_uuid(id.0);
        with_connection!(self, |conn| {
            diesel::update(users::table.find(&id))
                .set((
                    users::mfa_failed_attempts.eq(0),
                    users::mfa_last_failure_at.eq(None::<i64>),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    /// `UPDATE … WHERE id = ? AND mfa_enabled AND (mfa_last_step IS NULL OR
    /// mfa_last_step < step)`: a step is accepted once, and never after a
    /// newer one.
    fn accept_totp_step(&self, id: UserId, step: u64) -> Result<bool, StoreError> {
        let step = db_step(step)?;
        let id = db_uuid(id.0);
        let accepted = with_connection!(self, |conn| {
            diesel::update(
                users::table
                    .filter(users::id.eq(&id))
                    .filter(users::mfa_enabled.eq(true))
                    .filter(
                        users::mfa_last_step
                            .is_null()
                            .or(users::mfa_last_step.lt(step)),
                    ),
            )
            .set(users::mfa_last_step.eq(Some(step)))
            .execute(conn)
        })?;
        Ok(accepted == 1)
    }

    /// `UPDATE backup_codes SET used_at = now WHERE … AND used_at IS NULL`:
    /// of concurrent uses of one code, only the first to write matches.
    /// Codes exist only while MFA is on (`disable_mfa` deletes them in the
    /// same transaction that turns it off), so no MFA check is needed here.
    fn consume_backup_code(
        &self,
        id: UserId,
        hash: &BackupCodeHash,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let id = db_uuid(id.0);
        let now = db_time(now);
        let spent = with_connection!(self, |conn| {
            diesel::update(
                backup_codes::table
                    .filter(backup_codes::user_id.eq(&id))
                    .filter(backup_codes::code_hash.eq(hash.as_bytes().as_slice()))
                    .filter(backup_codes::used_at.is_null()),
            )
            .set(backup_codes::used_at.eq(Some(now)))
            .execute(conn)
        })?;
        Ok(spent == 1)
    }

    fn replace_backup_codes(
        &self,
        id: UserId,
        hashes: &[BackupCodeHash],
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let id = db_uuid(id.0);
        let rows = code_rows(&id, hashes, now);
        with_connection!(self, |conn| {
            conn.write_transaction(|conn| {
                if conn.lock_user_mfa(&id)? != Some(true) {
                    return Ok(false);
                }

                diesel::delete(backup_codes::table.filter(backup_codes::user_id.eq(&id)))
                    .execute(conn)?;
                diesel::insert_into(backup_codes::table)
                    .values(&rows)
                    .execute(conn)?;
                Ok(true)
            })
        })
    }

    /// One upsert on the user's id: a new setup replaces the old one whole,
    /// its failure count included.
    fn put_pending_setup(&self, id: UserId, setup: &PendingSetupRecord) -> Result<(), StoreError> {
        let row = PendingRow::new(id, setup);
        with_connection!(self, |conn| {
            diesel::insert_into(pending::table)
                .values(&row)
                .on_conflict(pending::user_id)
                .do_update()
                .set(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn pending_setup(&self, id: UserId) -> Result<Option<PendingSetupRecord>, StoreError> {
        let id = db_uuid(id.0);
        let row: Option<PendingSetupRow> = with_connection!(self, |conn| {
            pending::table
                .find(&id)
                .select(PendingSetupRow::as_select())
                .first(conn)
                .optional()
        })?;
        row.map(PendingSetupRecord::try_from).transpose()
    }

    /// `UPDATE … SET failed_attempts = failed_attempts + 1 WHERE user_id = ?
    /// AND setup_id = ? RETURNING failed_attempts`.
    fn record_setup_failure(&self, id: UserId, setup: SetupId) -> Result<Option<u32>, StoreError> {
        let id = db_uuid(id.0);
        let setup = db_uuid(setup.0);
        let count: Option<i32> = with_connection!(self, |conn| {
            diesel::update(
                pending::table
                    .filter(pending::user_id.eq(&id))
                    .filter(pending::setup_id.eq(&setup)),
            )
            .set(pending::failed_attempts.eq(pending::failed_attempts + 1))
            .returning(pending::failed_attempts)
            .get_result(conn)
            .optional()
        })?;
        count
            .map(|c| {
                u32::try_from(c).map_err(|_| {
                    StoreError::Corrupt("mfa_pending_setups.failed_attempts is negative".into())
                })
            })
            .transpose()
    }

    fn discard_pending_setup(&self, id: UserId, setup: SetupId) -> Result<(), StoreError> {
        let id = db_uuid(id.0);
        let setup = db_uuid(setup.0);
        with_connection!(self, |conn| {
            diesel::delete(
                pending::table
                    .filter(pending::user_id.eq(&id))
                    .filter(pending::setup_id.eq(&setup)),
            )
            .execute(conn)?;
            Ok(())
        })
    }

    /// One write transaction: lock the user (MFA must be off), delete the
    /// pending setup by user and setup id (it must still be there), turn MFA
    /// on, store the codes. Any step that finds nothing to do ends it with
    /// nothing changed.
    fn enable_mfa(
        &self,
        id: UserId,
        setup: &PendingSetupRecord,
        enabled_at: UnixTime,
        accepted_step: u64,
    ) -> Result<bool, StoreError> {
        let step = db_step(accepted_step)?;
        let id = db_uuid(id.0);
        let setup_id = db_uuid(setup.id.0);
        let rows = code_rows(&id, &setup.backup_codes, enabled_at);
        let enabled_at = db_time(enabled_at);
        with_connection!(self, |conn| {
            let outcome = conn.write_transaction(|conn| {
                if conn.lock_user_mfa(&id)? != Some(false) {
                    return Ok(false);
                }

                let taken = diesel::delete(
                    pending::table
                        .filter(pending::user_id.eq(&id))
                        .filter(pending::setup_id.eq(&setup_id)),
                )
                .execute(conn)?;
                if taken != 1 {
                    return Ok(false);
                }

                let turned_on = diesel::update(
                    users::table
                        .filter(users::id.eq(&id))
                        .filter(users::mfa_enabled.eq(false)),
                )
                .set((
                    users::mfa_enabled.eq(true),
                    users::mfa_secret.eq(Some(setup.sealed_secret.0.as_slice())),
                    users::mfa_enabled_at.eq(Some(enabled_at)),
                    users::mfa_last_step.eq(Some(step)),
                    users::mfa_failed_attempts.eq(0),
                    users::mfa_last_failure_at.eq(None::<i64>),
                ))
                .execute(conn)?;
                if turned_on != 1 {
                    // The setup is already deleted: undo that too.
                    return Err(diesel::result::Error::RollbackTransaction);
                }

                // A row left behind by hand while MFA was off must not
                // become a valid code: the set is exactly the setup's.
                diesel::delete(backup_codes::table.filter(backup_codes::user_id.eq(&id)))
                    .execute(conn)?;
                diesel::insert_into(backup_codes::table)
                    .values(&rows)
                    .execute(conn)?;
                Ok(true)
            });
            match outcome {
                Err(diesel::result::Error::RollbackTransaction) => Ok(false),
                other => other,
            }
        })
    }

    /// A keyset page in id order: interrupted passes resume where they
    /// stopped, whatever was written meanwhile.
    fn sealed_secrets_after(
        &self,
        slot: SecretSlot,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<(UserId, SealedSecret)>, StoreError> {
        let after = after.map(|u| db_uuid(u.0)).unwrap_or_default();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<(String, Option<Vec<u8>>)> = match slot {
            SecretSlot::Active => with_connection!(self, |conn| {
                users::table
                    .select((users::id, users::mfa_secret))
                    .filter(users::mfa_secret.is_not_null())
                    .filter(users::id.gt(&after))
                    .order(users::id.asc())
                    .limit(limit)
                    .load(conn)
            })?,
            SecretSlot::Pending => with_connection!(self, |conn| {
                pending::table
                    .select((pending::user_id, pending::sealed_secret.nullable()))
                    .filter(pending::user_id.gt(&after))
                    .order(pending::user_id.asc())
                    .limit(limit)
                    .load(conn)
            })?,
        };
        rows.into_iter()
            .filter_map(|(id, sealed)| Some((id, sealed?)))
            .map(|(id, sealed)| Ok((UserId(read_uuid(&id, "user id")?), SealedSecret(sealed))))
            .collect()
    }

    /// `UPDATE … SET secret = new WHERE user = ? AND secret = old`: a secret
    /// changed meanwhile (MFA off, a new setup) is left as it is.
    fn replace_sealed_secret(
        &self,
        id: UserId,
        slot: SecretSlot,
        old: &SealedSecret,
        new: &SealedSecret,
    ) -> Result<bool, StoreError> {
        let id = db_uuid(id.0);
        let replaced = match slot {
            SecretSlot::Active => with_connection!(self, |conn| {
                diesel::update(
                    users::table
                        .filter(users::id.eq(&id))
                        .filter(users::mfa_secret.eq(&old.0)),
                )
                .set(users::mfa_secret.eq(Some(&new.0)))
                .execute(conn)
            })?,
            SecretSlot::Pending => with_connection!(self, |conn| {
                diesel::update(
                    pending::table
                        .filter(pending::user_id.eq(&id))
                        .filter(pending::sealed_secret.eq(&old.0)),
                )
                .set(pending::sealed_secret.eq(&new.0))
                .execute(conn)
            })?,
        };
        Ok(replaced == 1)
    }

    /// One write transaction: lock the user and read whether MFA was on,
    /// clear every MFA column and the failure count, delete the codes and
    /// any pending setup, and revoke every live session but `keep`.
    fn disable_mfa(&self, id: UserId, keep: Option<SessionId>) -> Result<bool, StoreError> {
        let id = db_uuid(id.0);
        let keep: Vec<String> = keep.map(|k| db_uuid(k.0)).into_iter().collect();
        with_connection!(self, |conn| {
            conn.write_transaction(|conn| {
                let Some(was_on) = conn.lock_user_mfa(&id)? else {
                    return Ok(false);
                };

                diesel::update(users::table.find(&id))
                    .set((
                        users::mfa_enabled.eq(false),
                        users::mfa_secret.eq(None::<Vec<u8>>),
                        users::mfa_enabled_at.eq(None::<i64>),
                        users::mfa_last_step.eq(None::<i64>),
                        users::mfa_failed_attempts.eq(0),
                        users::mfa_last_failure_at.eq(None::<i64>),
                    ))
                    .execute(conn)?;
                diesel::delete(backup_codes::table.filter(backup_codes::user_id.eq(&id)))
                    .execute(conn)?;
                diesel::delete(pending::table.filter(pending::user_id.eq(&id))).execute(conn)?;
                revoke_sessions_query!(conn, &id, &keep)?;
                Ok(was_on)
            })
        })
    }
}
