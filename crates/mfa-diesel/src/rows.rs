//! Rows as diesel reads and writes them, and their conversion to and from
//! the ports' records. Times are unix seconds in a signed 64-bit column;
//! UUIDs are their hyphenated text.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use mfa_core::{BackupCodeHash, Failures, StoredBackupCode, UnixTime};
use mfa_ports::model::{
    AuditEvent, AuditKind, NewUser, PendingSetupRecord, SealedSecret, SessionId, SessionRecord,
    SetupId, StoredMfa, User, UserId, UserRecord,
};
use mfa_ports::ports::StoreError;
use uuid::Uuid;

use crate::schema::{audit_events, backup_codes, mfa_pending_setups, sessions, users};

/// Bytes in one backup-code hash.
const HASH_LEN: usize = 32;

/// A time for a BIGINT column. Past `i64::MAX` (year 292 billion) it is
/// stored as `i64::MAX`, which still compares as the far future.
pub(crate) fn db_time(t: UnixTime) -> i64 {
    i64::try_from(t.0).unwrap_or(i64::MAX)
}

pub(crate) fn read_time(value: i64, what: &str) -> Result<UnixTime, StoreError> {
    u64::try_from(value)
        .map(UnixTime)
        .map_err(|_| StoreError::Corrupt(format!("{what} is negative")))
}

/// A TOTP step for a BIGINT column; steps of real times are far below
/// `i64::MAX`, so one above it is refused rather than stored wrong.
pub(crate) fn db_step(step: u64) -> Result<i64, StoreError> {
    i64::try_from(step).map_err(|_| {
        StoreError::Unavailable("a TOTP step past the range of a BIGINT column".into())
    })
}

pub(crate) fn db_uuid(id: Uuid) -> String {
    id.hyphenated().to_string()
}

pub(crate) fn read_uuid(text: &str, what: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(format!("{what} is not a UUID")))
}

fn read_count(value: i32, what: &str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} is negative")))
}

pub(crate) fn read_hash(bytes: &[u8]) -> Result<BackupCodeHash, StoreError> {
    <[u8; HASH_LEN]>::try_from(bytes)
        .map(BackupCodeHash::from_bytes)
        .map_err(|_| StoreError::Corrupt("a backup code hash is not 32 bytes".into()))
}

pub(crate) fn read_failures(
    count: i32,
    last_at: Option<i64>,
    what: &str,
) -> Result<Failures, StoreError> {
    Ok(Failures {
        consecutive: read_count(count, what)?,
        last_at: last_at.map(|t| read_time(t, what)).transpose()?,
    })
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub(crate) struct NewUserRow<'a> {
    id: String,
    email: &'a str,
    email_canonical: &'a str,
    name: &'a str,
    password_hash: &'a str,
    created_at: i64,
}

impl<'a> From<&'a NewUser> for NewUserRow<'a> {
    fn from(new: &'a NewUser) -> Self {
        Self {
            id: db_uuid(new.user.id.0),
            email: &new.user.email,
            email_canonical: &new.canonical_email,
            name: &new.user.name,
            password_hash: &new.password_hash,
            created_at: db_time(new.created_at),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(Sqlite, Pg))]
pub(crate) struct UserRow {
    id: String,
    email: String,
    name: String,
    password_hash: String,
    mfa_enabled: bool,
    mfa_secret: Option<Vec<u8>>,
    mfa_enabled_at: Option<i64>,
    mfa_last_step: Option<i64>,
    mfa_failed_attempts: i32,
    mfa_last_failure_at: Option<i64>,
}

/// A backup code as the user query's outer join yields it: absent for a
/// user without codes.
pub(crate) type CodeColumns = Option<(Vec<u8>, Option<i64>)>;

/// Builds a user from the rows of `users LEFT JOIN backup_codes`, one per
/// code (or one with no code). `None` for no rows.
pub(crate) fn user_record(
    rows: Vec<(UserRow, CodeColumns)>,
) -> Result<Option<UserRecord>, StoreError> {
    let mut rows = rows.into_iter();
    let Some((row, first_code)) = rows.next() else {
        return Ok(None);
    };
    let codes = first_code
        .into_iter()
        .chain(rows.filter_map(|(_, code)| code))
        .map(|(hash, used_at)| {
            Ok(StoredBackupCode {
                hash: read_hash(&hash)?,
                used: used_at.is_some(),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    row.into_record(codes).map(Some)
}

impl UserRow {
    fn into_record(self, backup_codes: Vec<StoredBackupCode>) -> Result<UserRecord, StoreError> {
        let mfa = if self.mfa_enabled {
            let (Some(sealed), Some(enabled_at)) = (self.mfa_secret, self.mfa_enabled_at) else {
                return Err(StoreError::Corrupt(
                    "a user has MFA on without a secret or an enabled-at time".into(),
                ));
            };
            StoredMfa::Enabled {
                sealed_secret: SealedSecret(sealed),
                enabled_at: read_time(enabled_at, "mfa_enabled_at")?,
                last_accepted_step: self
                    .mfa_last_step
                    .map(|s| {
                        u64::try_from(s)
                            .map_err(|_| StoreError::Corrupt("mfa_last_step is negative".into()))
                    })
                    .transpose()?,
                backup_codes,
            }
        } else {
            StoredMfa::Disabled
        };
        Ok(UserRecord {
            user: User {
                id: UserId(read_uuid(&self.id, "users.id")?),
                email: self.email,
                name: self.name,
            },
            password_hash: self.password_hash,
            mfa,
            second_factor_failures: read_failures(
                self.mfa_failed_attempts,
                self.mfa_last_failure_at,
                "mfa_failed_attempts",
            )?,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = backup_codes)]
pub(crate) struct NewCodeRow<'a> {
    user_id: &'a str,
    code_hash: &'a [u8],
    created_at: i64,
}

/// Fresh, unused rows for a set of hashes. A hash given twice is one row:
/// the same code cannot be spent twice either way.
pub(crate) fn code_rows<'a>(
    user_id: &'a str,
    hashes: &'a [BackupCodeHash],
    now: UnixTime,
) -> Vec<NewCodeRow<'a>> {
    let mut rows: Vec<NewCodeRow<'a>> = hashes
        .iter()
        .map(|h| NewCodeRow {
            user_id,
            code_hash: h.as_bytes(),
            created_at: db_time(now),
        })
        .collect();
    rows.sort_unstable_by_key(|r| r.code_hash);
    rows.dedup_by_key(|r| r.code_hash);
    rows
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = mfa_pending_setups, primary_key(user_id))]
pub(crate) struct PendingRow {
    user_id: String,
    setup_id: String,
    sealed_secret: Vec<u8>,
    code_hashes: Vec<u8>,
    created_at: i64,
    expires_at: i64,
    failed_attempts: i32,
}

impl PendingRow {
    pub(crate) fn new(user: UserId, setup: &PendingSetupRecord) -> Self {
        Self {
            user_id: db_uuid(user.0),
            setup_id: db_uuid(setup.id.0),
            sealed_secret: setup.sealed_secret.0.clone(),
            code_hashes: setup
                .backup_codes
                .iter()
                .flat_map(|h| h.as_bytes().iter().copied())
                .collect(),
            created_at: db_time(setup.created_at),
            expires_at: db_time(setup.expires_at),
            failed_attempts: i32::try_from(setup.failed_attempts).unwrap_or(i32::MAX),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = mfa_pending_setups, check_for_backend(Sqlite, Pg))]
pub(crate) struct PendingSetupRow {
    setup_id: String,
    sealed_secret: Vec<u8>,
    code_hashes: Vec<u8>,
    created_at: i64,
    expires_at: i64,
    failed_attempts: i32,
}

impl TryFrom<PendingSetupRow> for PendingSetupRecord {
    type Error = StoreError;

    fn try_from(row: PendingSetupRow) -> Result<Self, StoreError> {
        let chunks = row.code_hashes.chunks_exact(HASH_LEN);
        if !chunks.remainder().is_empty() {
            return Err(StoreError::Corrupt(
                "a pending setup's code hashes are not a whole number of hashes".into(),
            ));
        }
        Ok(Self {
            id: SetupId(read_uuid(&row.setup_id, "mfa_pending_setups.setup_id")?),
            sealed_secret: SealedSecret(row.sealed_secret),
            backup_codes: chunks.map(read_hash).collect::<Result<_, _>>()?,
            created_at: read_time(row.created_at, "mfa_pending_setups.created_at")?,
            expires_at: read_time(row.expires_at, "mfa_pending_setups.expires_at")?,
            failed_attempts: read_count(row.failed_attempts, "mfa_pending_setups.failed_attempts")?,
        })
    }
}

#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(Sqlite, Pg))]
pub(crate) struct SessionRow {
    id: String,
    user_id: String,
    created_at: i64,
    expires_at: i64,
    revoked: bool,
}

impl From<&SessionRecord> for SessionRow {
    fn from(s: &SessionRecord) -> Self {
        Self {
            id: db_uuid(s.id.0),
            user_id: db_uuid(s.user_id.0),
            created_at: db_time(s.created_at),
            expires_at: db_time(s.expires_at),
            revoked: s.revoked,
        }
    }
}

impl TryFrom<SessionRow> for SessionRecord {
    type Error = StoreError;

    fn try_from(row: SessionRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: SessionId(read_uuid(&row.id, "sessions.id")?),
            user_id: UserId(read_uuid(&row.user_id, "sessions.user_id")?),
            created_at: read_time(row.created_at, "sessions.created_at")?,
            expires_at: read_time(row.expires_at, "sessions.expires_at")?,
            revoked: row.revoked,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
pub(crate) struct NewAuditRow<'a> {
    event: &'static str,
    user_id: Option<String>,
    at: i64,
    client: Option<&'a str>,
    detail: &'a str,
}

impl<'a> From<&'a AuditEvent> for NewAuditRow<'a> {
    fn from(e: &'a AuditEvent) -> Self {
        Self {
            event: e.kind.as_str(),
            user_id: e.user_id.map(|u| db_uuid(u.0)),
            at: db_time(e.at),
            client: e.client.as_deref(),
            detail: &e.detail,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_events, check_for_backend(Sqlite, Pg))]
pub(crate) struct AuditRow {
    event: String,
    user_id: Option<String>,
    at: i64,
    client: Option<String>,
    detail: String,
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<Self, StoreError> {
        Ok(Self {
            kind: AuditKind::from_name(&row.event)
                .ok_or_else(|| StoreError::Corrupt("an audit event has an unknown kind".into()))?,
            user_id: row
                .user_id
                .map(|u| read_uuid(&u, "audit_events.user_id").map(UserId))
                .transpose()?,
            at: read_time(row.at, "audit_events.at")?,
            client: row.client,
            detail: row.detail,
        })
    }
}
